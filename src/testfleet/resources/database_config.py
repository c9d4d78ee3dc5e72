"""Configuration of per-worker databases: ``[tool.testfleet.databases.NAME]``.

In ``pyproject.toml``::

    [tool.testfleet.databases.main]
    url = "postgresql://postgres@127.0.0.1:5432/webbly"   # or sqlite:///db/webbly.sqlite3
    setup = "webbly.testing:create_schema"                # called once with the template's URL
    key_files = ["webbly/schema.sql", "webbly/migrations/*.py"]

or ``[databases.main]`` in ``testfleet.toml`` (whose ``databases`` table, when it
has one, wins over ``pyproject.toml``'s).  ``${VAR}`` in ``url`` is replaced by
the environment variable ``VAR``.  The TOML files are read by the categories'
loader, so both features report syntax errors alike.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: Keys a database table may hold.
ALLOWED_KEYS = ("key_files", "setup", "url")
#: URL schemes testfleet can make copies for.
SCHEMES = ("postgresql", "postgres", "sqlite")

_NAME = re.compile(r"[A-Za-z0-9_-]+")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_SETUP = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")


class DatabaseConfigError(ValueError):
    """Database configuration testfleet cannot use: a usage error (exit code 4)."""

    def __init__(self, source: str, key: str | None, problem: str) -> None:
        #: The file the configuration came from.
        self.source = source
        #: The dotted key at fault, e.g. ``tool.testfleet.databases.main.url``.
        self.key = key
        #: What is wrong and what to do.
        self.problem = problem
        where = f"{source}: {key}: " if key else f"{source}: "
        super().__init__(where + problem)

    def __reduce__(self) -> tuple[type[DatabaseConfigError], tuple[str, str | None, str]]:
        return (type(self), (self.source, self.key, self.problem))


@dataclass(frozen=True)
class DatabaseSpec:
    """One configured database, with its URL's variables expanded."""

    #: The table's name: the key of ``worker_databases``.
    name: str
    #: ``postgresql://...`` or ``sqlite:///path`` (a relative path is under the rootdir).
    url: str
    #: ``"module:function"``, called once with the template's URL.
    setup: str
    #: Globs relative to the rootdir; while their contents are unchanged the
    #: template is kept across runs.  Empty: one template per run.
    key_files: tuple[str, ...] = ()
    #: The file it was configured in, and the dotted key of its table, for messages.
    source: str = field(default="configuration", compare=False)
    where: str = field(default="databases", compare=False)

    @property
    def is_postgres(self) -> bool:
        """Whether this database lives on a PostgreSQL server (else a SQLite file)."""
        return not self.url.startswith("sqlite:")


def expand_variables(text: str, environ: Mapping[str, str]) -> str:
    """``text`` with each ``${VAR}`` replaced; a variable that is not set raises KeyError."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise KeyError(name)
        return environ[name]

    return _VARIABLE.sub(value, text)


def parse_databases(
    table: Mapping[str, object],
    source: str,
    environ: Mapping[str, str],
    *,
    key: str = "tool.testfleet.databases",
) -> list[DatabaseSpec]:
    """Validate a ``databases`` table; return its databases sorted by name.

    Raises :class:`DatabaseConfigError` on the first problem found.  Whether
    ``setup`` can be imported is checked by :func:`load_setup`, not here.
    """
    specs = []
    for name, value in table.items():
        where = f"{key}.{name}"
        if not _NAME.fullmatch(name):
            raise DatabaseConfigError(
                source, where, "bad database name; allowed: letters, digits, '_' and '-'"
            )
        if not isinstance(value, Mapping):
            raise DatabaseConfigError(
                source, where, f"must be a table with keys {', '.join(ALLOWED_KEYS)}"
            )
        for unknown in sorted(set(value) - set(ALLOWED_KEYS)):
            raise DatabaseConfigError(
                source, f"{where}.{unknown}", f"unknown key; allowed: {', '.join(ALLOWED_KEYS)}"
            )
        specs.append(_spec(name, value, source, where, environ))
    return sorted(specs, key=lambda spec: spec.name)


def _spec(
    name: str, table: Mapping[str, object], source: str, where: str, environ: Mapping[str, str]
) -> DatabaseSpec:
    for required in ("url", "setup"):
        if required not in table:
            raise DatabaseConfigError(source, f"{where}.{required}", "missing; it is required")
    url, setup = table["url"], table["setup"]
    if not isinstance(url, str):
        raise DatabaseConfigError(source, f"{where}.url", "must be a string")
    try:
        url = expand_variables(url, environ)
    except KeyError as missing:
        raise DatabaseConfigError(
            source,
            f"{where}.url",
            f"environment variable {missing.args[0]!r} is not set; set it or write the URL out",
        ) from None
    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme not in SCHEMES:
        raise DatabaseConfigError(
            source,
            f"{where}.url",
            f"unsupported URL scheme {scheme or '(none)'!r}; "
            "use postgresql://user@host:port/name or sqlite:///path",
        )
    if scheme == "sqlite" and not url.removeprefix("sqlite:///").strip("/"):
        raise DatabaseConfigError(source, f"{where}.url", "needs a file path: sqlite:///path")
    if scheme != "sqlite" and not url.split("://", 1)[1].partition("?")[0].partition("/")[2]:
        raise DatabaseConfigError(
            source, f"{where}.url", "needs a database name: postgresql://user@host:port/name"
        )
    if not isinstance(setup, str) or not _SETUP.fullmatch(setup):
        raise DatabaseConfigError(
            source, f"{where}.setup", "must be a string 'module:function', e.g. 'myapp.db:seed'"
        )
    key_files = table.get("key_files", [])
    if not isinstance(key_files, list) or not all(isinstance(g, str) for g in key_files):
        raise DatabaseConfigError(
            source, f"{where}.key_files", "must be an array of glob strings (rootdir-relative)"
        )
    return DatabaseSpec(name, url, setup, tuple(key_files), source=source, where=where)


def load_databases(rootdir: Path, environ: Mapping[str, str] | None = None) -> list[DatabaseSpec]:
    """The databases configured in ``rootdir``'s ``testfleet.toml`` or ``pyproject.toml``.

    Raises :class:`DatabaseConfigError` (a TOML syntax error included).
    """
    env = os.environ if environ is None else environ
    places = (("testfleet.toml", ("databases",)), ("pyproject.toml", ("tool", "testfleet")))
    for filename, path in places:
        file = rootdir / filename
        # Most projects configure no databases: spare them parsing TOML on every run.
        if not file.is_file() or "databases" not in file.read_text(errors="replace"):
            continue
        from testfleet.categories.config import CategoryConfigError, read_toml

        try:
            document: Mapping[str, object] = read_toml(file)
        except CategoryConfigError as error:
            raise DatabaseConfigError(error.source, error.key, error.problem) from None
        table: object = document
        for part in path[:-1] if filename == "testfleet.toml" else path:
            table = table.get(part, {}) if isinstance(table, Mapping) else {}
        if not isinstance(table, Mapping) or "databases" not in table:
            continue
        databases = table["databases"]
        key = "databases" if filename == "testfleet.toml" else "tool.testfleet.databases"
        if not isinstance(databases, Mapping):
            raise DatabaseConfigError(str(file), key, "must be a table of [NAME] tables")
        return parse_databases(databases, str(file), env, key=key)
    return []


def load_setup(spec: DatabaseSpec) -> Callable[[str], object]:
    """Import ``spec.setup``; raises :class:`DatabaseConfigError` saying why it cannot."""
    module_name, _, function_name = spec.setup.partition(":")
    source, where = spec.source, f"{spec.where}.setup"
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # any import failure is the user's setup being unusable
        raise DatabaseConfigError(
            source,
            where,
            f"cannot import {module_name!r} ({type(error).__name__}: {error}); "
            "make it importable from the rootdir (or pythonpath)",
        ) from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise DatabaseConfigError(
            source, where, f"module {module_name!r} has no function {function_name!r}"
        )
    return function  # type: ignore[no-any-return]


def template_key(spec: DatabaseSpec, rootdir: Path) -> str | None:
    """A hash of ``spec.setup`` and the contents of its ``key_files``; None without any.

    Files are taken in sorted rootdir-relative order, each hashed with its name,
    so renaming, adding or editing a matched file changes the key.
    """
    if not spec.key_files:
        return None
    digest = hashlib.sha256(spec.setup.encode())
    files = sorted({p for pattern in spec.key_files for p in rootdir.glob(pattern) if p.is_file()})
    for file in files:
        digest.update(b"\0" + file.relative_to(rootdir).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()
