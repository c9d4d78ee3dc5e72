"""Unit tests of per-worker database naming, configuration and template keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from testfleet.resources.database_config import (
    DatabaseConfigError,
    DatabaseSpec,
    expand_variables,
    load_databases,
    load_setup,
    parse_databases,
    template_key,
)
from testfleet.resources.databases import (
    MAX_NAME_BYTES,
    SqliteStore,
    base_name,
    copy_name,
    name_prefix,
    run_of,
    run_tag,
    template_name,
)

GOOD = {"url": "postgresql://u@h/app", "setup": "app.db:seed"}


def spec(**changes: object) -> DatabaseSpec:
    return parse_databases({"main": {**GOOD, **changes}}, "pyproject.toml", {})[0]


@pytest.mark.parametrize(
    ("base", "worker"),
    [
        ("app", "gw0"),
        ("a" * 80, "gw1"),
        ("é" * 40, "master"),
        ("app", "w" * 40),
    ],
)
def test_names_fit_postgresql(base: str, worker: str) -> None:
    """Every name made for a database fits PostgreSQL's 63 bytes, whatever the base and worker."""
    run = "f" * 32
    for name in (copy_name(base, run, worker), template_name(base, "a" * 64, run)):
        assert len(name.encode()) <= MAX_NAME_BYTES
        assert name.startswith(name_prefix(base))


def test_long_names_stay_distinct() -> None:
    """Two long bases that share their start get different hash-shortened prefixes."""
    assert name_prefix("x" * 40 + "one") != name_prefix("x" * 40 + "two")
    assert name_prefix("short") == "short"


def test_copy_names_carry_the_run() -> None:
    """A copy's and a run template's run tag can be read back; a kept template has none."""
    prefix = name_prefix("app")
    assert run_of(prefix, copy_name("app", "run-1", "gw3")) == run_tag("run-1")
    assert run_of(prefix, template_name("app", None, "run-1")) == run_tag("run-1")
    assert run_of(prefix, template_name("app", "0" * 64, "run-1")) is None
    assert copy_name("app", "run-1", "gw0") != copy_name("app", "run-2", "gw0")
    assert copy_name("app", "run-1", "master") == f"app_tfc_{run_tag('run-1')}_master"


def test_base_names() -> None:
    """The base is the URL's database, or the SQLite file's stem."""
    assert base_name(spec()) == "app"
    assert base_name(spec(url="sqlite:///data/site.sqlite3")) == "site"


def test_parse_accepts_a_full_table() -> None:
    """A table with url, setup and key_files gives a spec with the URL's variables expanded."""
    table = {"main": {**GOOD, "url": "postgresql://u@${HOST}/app", "key_files": ["*.sql"]}}
    (parsed,) = parse_databases(table, "f", {"HOST": "db.local"})
    assert parsed == DatabaseSpec("main", "postgresql://u@db.local/app", "app.db:seed", ("*.sql",))
    assert parsed.is_postgres


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({**GOOD, "urll": "x"}, "main.urll: unknown key"),
        ({"setup": "a:b"}, "main.url: missing"),
        ({"url": GOOD["url"]}, "main.setup: missing"),
        ({**GOOD, "url": "mysql://h/app"}, "unsupported URL scheme 'mysql'"),
        ({**GOOD, "url": "postgresql://h"}, "needs a database name"),
        ({**GOOD, "url": "sqlite:///"}, "needs a file path"),
        ({**GOOD, "url": "postgresql://${NOPE}/x"}, "environment variable 'NOPE' is not set"),
        ({**GOOD, "setup": "no_function"}, "must be a string 'module:function'"),
        ({**GOOD, "key_files": "x.sql"}, "main.key_files: must be an array"),
        (3, "must be a table"),
    ],
)
def test_parse_rejects(table: object, message: str) -> None:
    """Bad configuration raises an error naming the key at fault and the problem."""
    with pytest.raises(DatabaseConfigError, match=message):
        parse_databases({"main": table}, "pyproject.toml", {})


def test_expand_variables() -> None:
    """``${VAR}`` is replaced from the environment; a missing one raises KeyError naming it."""
    assert expand_variables("a${X}b${X}", {"X": "1"}) == "a1b1"
    with pytest.raises(KeyError, match="Y"):
        expand_variables("${Y}", {})


def test_load_reads_pyproject_and_testfleet_toml(tmp_path: Path) -> None:
    """testfleet.toml's ``[databases]`` wins over pyproject.toml's ``[tool.testfleet...]``."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.testfleet.databases.main]\nurl = "sqlite:///a.db"\nsetup = "m:f"\n'
    )
    assert [s.url for s in load_databases(tmp_path, {})] == ["sqlite:///a.db"]
    (tmp_path / "testfleet.toml").write_text(
        '[databases.other]\nurl = "sqlite:///b.db"\nsetup = "m:f"\n'
    )
    assert [s.name for s in load_databases(tmp_path, {})] == ["other"]


def test_load_reports_toml_syntax_errors(tmp_path: Path) -> None:
    """A TOML syntax error is a configuration error naming the file."""
    (tmp_path / "pyproject.toml").write_text("[tool.testfleet.databases.main\n")
    with pytest.raises(DatabaseConfigError, match="invalid TOML"):
        load_databases(tmp_path, {})


def test_load_without_databases(tmp_path: Path) -> None:
    """No configuration means no databases."""
    assert load_databases(tmp_path, {}) == []


def test_load_setup_names_what_cannot_be_imported() -> None:
    """A setup whose module or function is missing is an error naming it."""
    with pytest.raises(DatabaseConfigError, match="cannot import 'no_such_module_x'"):
        load_setup(spec(setup="no_such_module_x:f"))
    with pytest.raises(DatabaseConfigError, match="has no function 'nope'"):
        load_setup(spec(setup="os.path:nope"))
    assert load_setup(spec(setup="os.path:join")) is not None


def test_template_key_follows_key_files_and_setup(tmp_path: Path) -> None:
    """The key changes when a key file's content, the set of files or the setup changes."""
    assert template_key(spec(), tmp_path) is None
    (tmp_path / "schema.sql").write_text("create table a();")
    keyed = spec(key_files=["*.sql"])
    first = template_key(keyed, tmp_path)
    assert first is not None
    assert template_key(keyed, tmp_path) == first
    assert template_key(spec(key_files=["*.sql"], setup="app.db:other"), tmp_path) != first
    (tmp_path / "schema.sql").write_text("create table b();")
    second = template_key(keyed, tmp_path)
    assert second != first
    (tmp_path / "more.sql").write_text("")
    assert template_key(keyed, tmp_path) not in (first, second)


def test_sqlite_run_lock(tmp_path: Path) -> None:
    """A run is alive while a process holds its lock; once free, its lock file is removed."""
    sqlite = spec(url="sqlite:///db/site.sqlite3")
    holder, checker = SqliteStore(sqlite, tmp_path), SqliteStore(sqlite, tmp_path)
    holder.hold_run("abc")
    assert checker.run_alive("abc")
    holder.close()
    assert not checker.run_alive("abc")
    assert list((tmp_path / "db").glob(".*_tfr_*")) == []
    holder.hold_run("abc")  # a new lock file after the old one was removed
    assert checker.run_alive("abc")
    holder.close()
