"""Settings from the environment and database URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from webbly.config import DEFAULT_PASSWORD_ITERATIONS, Settings
from webbly.db.connection import Dialect, parse_database_url, to_pyformat
from webbly.errors import ConfigError


def test_defaults_without_environment() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///webbly-data/webbly.sqlite3"
    assert settings.password_iterations == DEFAULT_PASSWORD_ITERATIONS
    assert settings.media_dir == Path("webbly-data/media")
    assert settings.search_index_path == Path("webbly-data/search.sqlite3")


def test_environment_overrides() -> None:
    settings = Settings.from_env({
        "WEBBLY_DATABASE_URL": "postgresql://u@h/db",
        "WEBBLY_DATA_DIR": "/srv/site",
        "WEBBLY_SITE_TITLE": "My Site",
        "WEBBLY_BASE_URL": "https://example.org/",
        "WEBBLY_PASSWORD_ITERATIONS": "5000",
        "WEBBLY_MAX_UPLOAD_BYTES": "1024",
        "WEBBLY_PAGE_SIZE": "7",
    })
    assert settings == Settings("postgresql://u@h/db", Path("/srv/site"), "My Site",
                                "https://example.org", 5000, 1024, 7)


def test_data_dir_moves_default_database() -> None:
    assert Settings.from_env({"WEBBLY_DATA_DIR": "/x"}).database_url == "sqlite:////x/webbly.sqlite3"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WEBBLY_PAGE_SIZE", "ten", "must be an integer"),
        ("WEBBLY_PAGE_SIZE", "0", "must be positive"),
        ("WEBBLY_PASSWORD_ITERATIONS", "-5", "must be positive"),
        ("WEBBLY_MAX_UPLOAD_BYTES", "1.5", "must be an integer"),
    ],
)
def test_bad_integers(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"{name} {message}"):
        Settings.from_env({name: value})


def test_blank_integer_keeps_default() -> None:
    assert Settings.from_env({"WEBBLY_PAGE_SIZE": " "}).page_size == 20


def test_for_directory_keeps_everything_inside(tmp_path: Path) -> None:
    settings = Settings.for_directory(tmp_path, page_size=3)
    assert settings.database_url == f"sqlite:///{tmp_path}/webbly.sqlite3"
    assert settings.media_dir.parent == tmp_path
    assert settings.page_size == 3


@pytest.mark.parametrize(
    ("url", "dialect", "location"),
    [
        ("sqlite://", Dialect.SQLITE, ":memory:"),
        ("sqlite:///:memory:", Dialect.SQLITE, ":memory:"),
        ("sqlite:///site.db", Dialect.SQLITE, "site.db"),
        ("sqlite:////var/lib/site.db", Dialect.SQLITE, "/var/lib/site.db"),
        ("postgresql://u@localhost:5432/webbly", Dialect.POSTGRES,
         "postgresql://u@localhost:5432/webbly"),
        ("postgres://u:p@db/webbly", Dialect.POSTGRES, "postgres://u:p@db/webbly"),
        ("  sqlite:///trimmed.db  ", Dialect.SQLITE, "trimmed.db"),
    ],
)
def test_parse_database_url(url: str, dialect: Dialect, location: str) -> None:
    target = parse_database_url(url)
    assert (target.dialect, target.location) == (dialect, location)


@pytest.mark.parametrize(
    "url",
    ["mysql://x/y", "sqlite:/relative.db", "sqlite:///", "postgresql://host", "", "db.sqlite"],
)
def test_bad_database_urls(url: str) -> None:
    with pytest.raises(ConfigError):
        parse_database_url(url)


def test_memory_target() -> None:
    assert parse_database_url("sqlite://").is_memory
    assert not parse_database_url("sqlite:///x.db").is_memory


@pytest.mark.parametrize(
    ("sql", "converted"),
    [
        ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s"),
        ("SELECT '?' , ?", "SELECT '?' , %s"),
        ("SELECT 5 % 2", "SELECT 5 %% 2"),
        ("SELECT '100%' WHERE x LIKE ?", "SELECT '100%%' WHERE x LIKE %s"),
        ('SELECT "odd?col" FROM t', 'SELECT "odd?col" FROM t'),
        ("no placeholders", "no placeholders"),
    ],
)
def test_to_pyformat(sql: str, converted: str) -> None:
    assert to_pyformat(sql) == converted
