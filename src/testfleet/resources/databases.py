"""Per-worker databases: one template per configured database, one copy per worker.

The first process of a run that needs a copy builds the template (the user's
``setup`` function, called once with the template's URL) while holding a lock
that every other process of every run takes too: an advisory lock on the
PostgreSQL server, a file lock beside a SQLite file.  The others wait for it and
clone the template: ``CREATE DATABASE copy TEMPLATE template`` (under the same
lock, as PostgreSQL refuses a template that has another session) or a file copy.

Names, all within PostgreSQL's 63 bytes, start with the configured database's
name (its *prefix*, hash-shortened when long):

- ``<prefix>_tfk_<key>``: a template kept across runs while its key (a hash of
  ``setup`` and the ``key_files``) is unchanged;
- ``<prefix>_tft_<run>``: the template of one run (no ``key_files``);
- ``<prefix>_tfc_<run>_<worker>``: a worker's copy;
- ``<prefix>_tfb_<random>``: a template being built (renamed when done).

Every process holding a copy holds a shared *run lock* for its run's id until
it ends, so a run's copies whose lock nobody holds are left by a killed run:
the next process that takes the template lock drops them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

from testfleet.resources.database_config import DatabaseSpec

#: PostgreSQL's limit on identifiers, in bytes.
MAX_NAME_BYTES = 63
#: Longest prefix kept as it is; longer ones are cut and given a hash.
MAX_PREFIX_BYTES = 30
#: Longest worker name kept as it is (``gw12``, ``master``).
MAX_WORKER_BYTES = MAX_NAME_BYTES - MAX_PREFIX_BYTES - len("_tfc_") - 12 - 1


class DatabaseError(Exception):
    """A per-worker database testfleet could not make or drop; ``str()`` says why in one line."""


@dataclass(frozen=True)
class DatabaseCopy:
    """One worker's own copy of a configured database."""

    #: The database's (PostgreSQL) or file's base (SQLite) name.
    name: str
    #: Where to connect: ``postgresql://.../name`` or ``sqlite:////abs/path``.
    url: str
    #: The SQLite file; None for PostgreSQL.
    path: Path | None = None


def _digest(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _cut(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` bytes, else its start and a hash of all of it."""
    if len(text.encode()) <= limit:
        return text
    head = text.encode()[: limit - 9].decode(errors="ignore")
    return f"{head}_{_digest(text)}"


def run_tag(run_id: str) -> str:
    """12 hex digits naming the run ``run_id`` in database names and lock keys."""
    return _digest(run_id, 12)


def name_prefix(base: str) -> str:
    """The start of every name made for the database named ``base``."""
    return _cut(base, MAX_PREFIX_BYTES)


def copy_name(base: str, run_id: str, worker: str) -> str:
    """The name of ``worker``'s copy in run ``run_id``."""
    return f"{name_prefix(base)}_tfc_{run_tag(run_id)}_{_cut(worker, MAX_WORKER_BYTES)}"


def template_name(base: str, key: str | None, run_id: str) -> str:
    """The template: kept across runs under ``key``, or (``key`` None) this run's own."""
    if key is not None:
        return f"{name_prefix(base)}_tfk_{key[:12]}"
    return f"{name_prefix(base)}_tft_{run_tag(run_id)}"


def run_of(prefix: str, name: str) -> str | None:
    """The run tag in a copy's or run template's ``name``; None for other names."""
    for kind in ("_tfc_", "_tft_"):
        if name.startswith(prefix + kind):
            return name[len(prefix + kind) :][:12]
    return None


def lock_key(text: str) -> int:
    """A positive 60-bit PostgreSQL advisory lock key for ``text``."""
    return int(hashlib.sha256(f"testfleet-db:{text}".encode()).hexdigest()[:15], 16)


class Store(Protocol):
    """Where the databases of one spec live: a PostgreSQL server or a directory."""

    def hold_run(self, tag: str) -> None: ...
    def run_alive(self, tag: str) -> bool: ...
    def locked(self) -> contextlib.AbstractContextManager[None]: ...
    def names(self) -> list[str]: ...
    def create_empty(self, name: str) -> None: ...
    def finish_build(self, build: str, template: str) -> None: ...
    def clone(self, template: str, copy: str) -> None: ...
    def drop(self, name: str, *, force: bool = True) -> None: ...
    def copy_of(self, name: str) -> DatabaseCopy: ...
    def close(self) -> None: ...


def base_name(spec: DatabaseSpec) -> str:
    """The configured database's name: the URL's database, or the SQLite file's stem."""
    if spec.is_postgres:
        return urlsplit(spec.url).path.lstrip("/")
    return Path(spec.url.removeprefix("sqlite:///")).stem


def open_store(spec: DatabaseSpec, rootdir: Path) -> Store:
    """The store of ``spec``; raises :class:`DatabaseError` when it cannot be reached."""
    if spec.is_postgres:
        return PostgresStore(spec)
    return SqliteStore(spec, rootdir)


class DatabaseMaker:
    """Makes and drops the copies of one configured database for one process."""

    def __init__(
        self, spec: DatabaseSpec, rootdir: Path, run_id: str, setup: Callable[[str], object]
    ) -> None:
        self.spec = spec
        self.rootdir = rootdir
        self.run_id = run_id
        self.setup = setup
        self._store: Store | None = None

    def create(self, worker: str, key: str | None) -> DatabaseCopy:
        """``worker``'s fresh copy, building the template first if nobody has."""
        store = self._store = self._store or open_store(self.spec, self.rootdir)
        base = base_name(self.spec)
        prefix = name_prefix(base)
        tag = run_tag(self.run_id)
        store.hold_run(tag)  # before any name of this run exists, so it is never "stale"
        with store.locked():
            names = store.names()
            for name in names:
                other = run_of(prefix, name)
                if other is not None and other != tag and not store.run_alive(other):
                    store.drop(name)
            template = template_name(base, key, self.run_id)
            if template not in names:
                self._build(store, prefix, template, names)
            copy = copy_name(base, self.run_id, worker)
            store.drop(copy)  # a crashed worker's of the same name
            store.clone(template, copy)
        return store.copy_of(copy)

    def _build(self, store: Store, prefix: str, template: str, names: list[str]) -> None:
        for name in names:
            # Builds left by a killed process, and templates of keys gone by;
            # a kept template still being cloned by another run stays.
            if name.startswith(prefix + "_tfb_"):
                store.drop(name)
            elif name.startswith(prefix + "_tfk_"):
                with contextlib.suppress(DatabaseError):
                    store.drop(name, force=False)
        build = f"{prefix}_tfb_{uuid.uuid4().hex[:12]}"
        store.create_empty(build)
        try:
            self.setup(store.copy_of(build).url)
        except BaseException:
            store.drop(build)
            raise
        store.finish_build(build, template)

    def drop(self, copy: DatabaseCopy) -> None:
        """Drop ``copy`` and let go of the run lock."""
        if self._store is not None:
            self._store.drop(copy.name)

    def close(self) -> None:
        """Release the locks this process holds."""
        if self._store is not None:
            self._store.close()
            self._store = None


def drop_run(spec: DatabaseSpec, rootdir: Path, run_id: str) -> None:
    """Drop what run ``run_id`` left: its copies and its own template (at the run's end)."""
    store = open_store(spec, rootdir)
    try:
        prefix = name_prefix(base_name(spec))
        tag = run_tag(run_id)
        with store.locked():
            for name in store.names():
                if run_of(prefix, name) == tag:
                    store.drop(name)
        store.run_alive(tag)  # and, for SQLite, the run's lock file
    finally:
        store.close()


def check_reachable(spec: DatabaseSpec, rootdir: Path) -> None:
    """Raise :class:`DatabaseError` unless ``spec``'s server (or directory) can be used."""
    open_store(spec, rootdir).close()


class PostgresStore:
    """Databases on a PostgreSQL server, managed from its ``postgres`` database."""

    def __init__(self, spec: DatabaseSpec) -> None:
        from testfleet.model.urls import redact

        self.spec = spec
        self._lock = lock_key(name_prefix(base_name(spec)))
        parts = urlsplit(spec.url)
        admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
        try:
            import psycopg
        except ImportError:
            raise DatabaseError(
                f"databases.{spec.name}: PostgreSQL needs psycopg: "
                "pip install 'testfleet[postgres]'"
            ) from None
        try:
            self._conn: Any = psycopg.connect(admin, autocommit=True, connect_timeout=10)
        except psycopg.Error as error:
            message = " ".join(str(error).split())
            if parts.password:
                message = message.replace(parts.password, "***")
            raise DatabaseError(
                f"databases.{spec.name}: cannot reach the PostgreSQL server at "
                f"{redact(spec.url)} ({message}); start it or fix the url"
            ) from None

    def _run(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        import psycopg

        try:
            cursor = self._conn.execute(sql, args or None)
            return list(cursor.fetchall()) if cursor.description else []
        except psycopg.Error as error:
            raise DatabaseError(
                f"databases.{self.spec.name}: {' '.join(str(error).split())}"
            ) from None

    def hold_run(self, tag: str) -> None:
        self._run("SELECT pg_advisory_lock_shared(%s)", lock_key(tag))

    def run_alive(self, tag: str) -> bool:
        key = lock_key(tag)
        if self._run("SELECT pg_try_advisory_lock(%s)", key)[0][0]:
            self._run("SELECT pg_advisory_unlock(%s)", key)
            return False
        return True

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self._run("SELECT pg_advisory_lock(%s)", self._lock)
        try:
            yield
        finally:
            self._run("SELECT pg_advisory_unlock(%s)", self._lock)

    def names(self) -> list[str]:
        prefix = name_prefix(base_name(self.spec)) + "_tf"
        rows = self._run("SELECT datname FROM pg_database")
        return sorted(str(r[0]) for r in rows if str(r[0]).startswith(prefix))

    def create_empty(self, name: str) -> None:
        self._run(f"CREATE DATABASE {_quote(name)}")

    def finish_build(self, build: str, template: str) -> None:
        # The setup may have left connections open (a pool); the build is over.
        self._run(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            build,
        )
        self._run(f"ALTER DATABASE {_quote(build)} RENAME TO {_quote(template)}")

    def clone(self, template: str, copy: str) -> None:
        self._run(f"CREATE DATABASE {_quote(copy)} TEMPLATE {_quote(template)}")

    def drop(self, name: str, *, force: bool = True) -> None:
        self._run(f"DROP DATABASE IF EXISTS {_quote(name)}" + (" WITH (FORCE)" if force else ""))

    def copy_of(self, name: str) -> DatabaseCopy:
        parts = urlsplit(self.spec.url)
        url = urlunsplit((parts.scheme, parts.netloc, "/" + quote(name), parts.query, ""))
        return DatabaseCopy(name, url)

    def close(self) -> None:
        self._conn.close()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SqliteStore:
    """SQLite files in the configured file's directory, locked with ``flock``."""

    def __init__(self, spec: DatabaseSpec, rootdir: Path) -> None:
        self.spec = spec
        path = spec.url.removeprefix("sqlite:///")
        # sqlite:///relative/path is under the rootdir, sqlite:////abs/path absolute.
        self.path = Path(path) if path.startswith("/") else rootdir / path
        self.directory = self.path.parent
        self.prefix = name_prefix(self.path.stem)
        self._held: list[int] = []
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseError(
                f"databases.{spec.name}: cannot make {self.directory} ({error}); fix the url"
            ) from None

    def _file(self, name: str) -> Path:
        return self.directory / f"{name}{self.path.suffix}"

    def _run_lock(self, tag: str) -> Path:
        return self.directory / f".{self.prefix}_tfr_{tag}.lock"

    def hold_run(self, tag: str) -> None:
        import fcntl

        lock = self._run_lock(tag)
        while True:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_SH)
            # run_alive removes a free lock file while holding it: a lock taken on
            # a file it removed would hold nothing, so take the new file's.
            with contextlib.suppress(FileNotFoundError):
                if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                    self._held.append(fd)
                    return
            os.close(fd)

    def run_alive(self, tag: str) -> bool:
        import fcntl

        lock = self._run_lock(tag)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            lock.unlink(missing_ok=True)
            return False
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        import fcntl

        fd = os.open(self.directory / f".{self.prefix}.testfleet-lock", os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def names(self) -> list[str]:
        suffix = self.path.suffix
        found = self.directory.glob(f"{self.prefix}_tf*{suffix}")
        return sorted(p.name[: len(p.name) - len(suffix)] for p in found)

    def create_empty(self, name: str) -> None:
        self._file(name).write_bytes(b"")  # an empty file is an empty SQLite database

    def finish_build(self, build: str, template: str) -> None:
        os.replace(self._file(build), self._file(template))

    def clone(self, template: str, copy: str) -> None:
        partial = self._file(copy).with_name(self._file(copy).name + ".partial")
        shutil.copyfile(self._file(template), partial)
        os.replace(partial, self._file(copy))

    def drop(self, name: str, *, force: bool = True) -> None:
        file = self._file(name)
        for extra in ("", "-wal", "-shm", "-journal"):
            file.with_name(file.name + extra).unlink(missing_ok=True)

    def copy_of(self, name: str) -> DatabaseCopy:
        file = self._file(name).resolve()
        return DatabaseCopy(name, f"sqlite:///{file}", file)

    def close(self) -> None:
        for fd in self._held:
            os.close(fd)
        self._held.clear()
