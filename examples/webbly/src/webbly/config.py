"""Settings, read from the environment or given directly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from webbly.errors import ConfigError

DEFAULT_PASSWORD_ITERATIONS = 240_000


@dataclass(frozen=True)
class Settings:
    """Everything a Webbly site needs to open its database, files and index."""

    database_url: str = "sqlite:///webbly.sqlite3"
    data_dir: Path = Path("webbly-data")
    site_title: str = "Webbly"
    base_url: str = "http://localhost:8000"
    password_iterations: int = DEFAULT_PASSWORD_ITERATIONS
    max_upload_bytes: int = 5 * 1024 * 1024
    page_size: int = 20
    #: The SMTP server publish notices go through; None (the default): send no mail.
    smtp_host: str | None = None
    smtp_port: int = 25
    mail_from: str = "webbly@localhost"

    @property
    def media_dir(self) -> Path:
        """Directory holding uploaded files."""
        return self.data_dir / "media"

    @property
    def search_index_path(self) -> Path:
        """SQLite file holding the FTS5 search index."""
        return self.data_dir / "search.sqlite3"

    def with_changes(self, **changes: object) -> Settings:
        """Return a copy with some fields replaced."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def for_directory(cls, data_dir: Path, **overrides: object) -> Settings:
        """Settings keeping the database, index and media all inside ``data_dir``."""
        url = f"sqlite:///{data_dir / 'webbly.sqlite3'}"
        base = cls(database_url=url, data_dir=data_dir)
        return base.with_changes(**overrides)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``WEBBLY_*`` variables; unset ones keep their defaults."""
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("WEBBLY_DATA_DIR", str(cls.data_dir)))
        default_url = f"sqlite:///{data_dir / 'webbly.sqlite3'}"
        return cls(
            database_url=env.get("WEBBLY_DATABASE_URL", default_url),
            data_dir=data_dir,
            site_title=env.get("WEBBLY_SITE_TITLE", cls.site_title),
            base_url=env.get("WEBBLY_BASE_URL", cls.base_url).rstrip("/"),
            password_iterations=_int(env, "WEBBLY_PASSWORD_ITERATIONS", cls.password_iterations),
            max_upload_bytes=_int(env, "WEBBLY_MAX_UPLOAD_BYTES", cls.max_upload_bytes),
            page_size=_int(env, "WEBBLY_PAGE_SIZE", cls.page_size),
            smtp_host=env.get("WEBBLY_SMTP_HOST", "").strip() or None,
            smtp_port=_int(env, "WEBBLY_SMTP_PORT", cls.smtp_port),
            mail_from=env.get("WEBBLY_MAIL_FROM", cls.mail_from),
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value
