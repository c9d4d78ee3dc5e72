"""Fixtures shared by Webbly's unit, integration and functional tests.

Isolation rules every fixture here follows, so the suite runs the same
serially, under pytest-xdist and under testfleet's forked workers:

* files live under ``tmp_path`` / ``tmp_path_factory`` (never a fixed path);
* session fixtures are built by whichever process needs them, in a directory
  named after the worker, and are copied before a test may change them; the
  seeded site is a testfleet shared fixture: built once per ``--workers`` run,
  in the controller, before the workers fork;
* PostgreSQL tests use testfleet's ``worker_database``: one copy per worker;
* HTTP servers bind port 0 on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from wsgiref.simple_server import WSGIServer, make_server

import pytest
import testfleet

from webbly.clock import FixedClock, StepClock
from webbly.cms import CMS
from webbly.config import Settings
from webbly.db.schema import delete_rows
from webbly.models import User
from webbly.seed import SEED_PASSWORD, SeedReport, seed_site, seed_users
from webbly.web.app import create_app
from webbly.web.server import QuietHandler

if TYPE_CHECKING:
    from testfleet.resources.databases import DatabaseCopy

# Cheap password hashing keeps HTTP Basic auth fast; production uses 240k iterations.
TEST_ITERATIONS = 1_000
SEED_PAGES = 500
SEED = 20240501
START = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
PASSWORD = SEED_PASSWORD
PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)
CATEGORIES = {"_unit.py": "unit", "_integration.py": "integration",
              "_functional.py": "functional"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test unit/integration/functional from its file name, so ``-m unit`` works."""
    for item in items:
        name = item.path.name
        for suffix, marker in CATEGORIES.items():
            if name.startswith("test_") and name.endswith(suffix):
                item.add_marker(getattr(pytest.mark, marker))


# Settings and sites ----------------------------------------------------------


def make_settings(directory: Path, **overrides: Any) -> Settings:
    """Settings for a site kept entirely inside ``directory``."""
    base: dict[str, Any] = {"password_iterations": TEST_ITERATIONS,
                            "base_url": "http://webbly.test", "site_title": "Webbly Test"}
    base.update(overrides)
    return Settings.for_directory(directory, **base)


@pytest.fixture(scope="session")
def site_settings() -> Callable[..., Settings]:
    """``make_settings`` as a fixture, for module fixtures that build their own sites."""
    return make_settings


@pytest.fixture(scope="session")
def worker_name(request: pytest.FixtureRequest) -> str:
    """``worker_id`` from pytest-xdist or testfleet ("master" when not distributed)."""
    try:
        return str(request.getfixturevalue("worker_id"))
    except pytest.FixtureLookupError:
        return os.environ.get("PYTEST_XDIST_WORKER", "master")


@pytest.fixture
def clock() -> FixedClock:
    """A clock that stands still unless a test advances it."""
    return FixedClock(START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for an empty site in this test's temporary directory."""
    return make_settings(tmp_path / "site")


@pytest.fixture
def cms(settings: Settings, clock: FixedClock) -> Iterator[CMS]:
    """An empty, open site."""
    with CMS.open(settings, clock=clock) as site:
        yield site


@pytest.fixture
def site_factory(tmp_path: Path, clock: FixedClock) -> Iterator[Callable[..., CMS]]:
    """Open extra sites with changed settings: ``site_factory("name", page_size=3)``."""
    opened: list[CMS] = []

    def open_site(name: str = "extra", **overrides: Any) -> CMS:
        site = CMS.open(make_settings(tmp_path / name, **overrides), clock=clock)
        opened.append(site)
        return site

    yield open_site
    for site in opened:
        site.close()


@pytest.fixture
def users(cms: CMS) -> dict[str, User]:
    """One user per role (admin, editor, author, viewer), password ``PASSWORD``."""
    return seed_users(cms, PASSWORD)


@dataclass(frozen=True)
class SeededSite:
    """A site built once per session: its directory, what was seeded, media names."""

    directory: Path
    report: SeedReport
    media: tuple[str, ...]

    def settings(self) -> Settings:
        """Settings for the original (open it only to read)."""
        return make_settings(self.directory)

    def copy_to(self, target: Path) -> Settings:
        """Copy the whole site (database, index, media) and return settings for the copy."""
        shutil.copytree(self.directory, target)
        return make_settings(target)


def _once_per_run(function: Callable[..., Any]) -> Any:
    """``@testfleet.shared_fixture``: built once per ``--workers`` run, before the fork.

    ``WEBBLY_SEED_PER_WORKER=1`` makes it an ordinary session fixture, built in
    every worker, which ``benchmarks/shared_fixture.py`` compares it with; so does
    ``WEBBLY_FIXTURE_LOG=PATH``, where each build appends a line.
    """
    if os.environ.get("WEBBLY_SEED_PER_WORKER"):
        return pytest.fixture(scope="session")(function)
    return testfleet.shared_fixture(function)


@_once_per_run
def seeded_site(tmp_path_factory: pytest.TempPathFactory) -> SeededSite:
    """The expensive one: a site with users, ``SEED_PAGES`` pages with revisions, tags and
    media, built by the seeding code every demo uses. Never opened for writing by tests:
    ``seeded_cms`` and ``seeded_readonly`` work on copies."""
    log = os.environ.get("WEBBLY_FIXTURE_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as built:
            built.write(f"seeded_site {os.getpid()}\n")
    directory = tmp_path_factory.mktemp("seeded-", numbered=True) / "site"
    with CMS.open(make_settings(directory), clock=StepClock(START, 37.0)) as cms:
        report = seed_site(cms, pages=SEED_PAGES, seed=SEED, password=PASSWORD)
        admin = report.users["admin"]
        names = [
            cms.media.upload(admin, "logo.png", PNG_BYTES).filename,
            cms.media.upload(admin, "notes.txt", b"plain text notes\n").filename,
            cms.media.upload(admin, "data.csv", b"item,amount\nflour,2\n").filename,
        ]
    return SeededSite(directory, report, tuple(names))


@pytest.fixture
def seeded_cms(seeded_site: SeededSite, tmp_path: Path) -> Iterator[CMS]:
    """A private, writable copy of the seeded site."""
    with CMS.open(seeded_site.copy_to(tmp_path / "site"), clock=FixedClock(START)) as site:
        yield site


@pytest.fixture(scope="module")
def seeded_readonly(seeded_site: SeededSite,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[CMS]:
    """One copy of the seeded site per test module, for tests that only read."""
    target = tmp_path_factory.mktemp("readonly", numbered=True) / "site"
    with CMS.open(seeded_site.copy_to(target), clock=FixedClock(START)) as site:
        yield site


# PostgreSQL ------------------------------------------------------------------
#
# Each worker gets its own database from testfleet (worker_database), cloned from a
# template holding Webbly's tables ([tool.testfleet.databases.webbly] in
# pyproject.toml); pg_cms empties its tables before each test.


class PostgresGuard:
    """Deselects the ``postgres`` tests, saying why, when this run cannot have a copy.

    testfleet checks the server after collection when a collected test asks for
    ``worker_database``, and stops the run if it does not answer (a usage error,
    exit 4). Webbly's suite runs without PostgreSQL too: this plugin makes the same
    check first (psycopg importable, server answering) and, when it fails, drops
    the postgres tests and names the reason at the end of the run.
    """

    def __init__(self) -> None:
        #: The end-of-run line, when the postgres tests were deselected.
        self.message: str | None = None

    # trylast: after -m and -k deselect, so that `-m unit` never asks the server.
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        postgres = [item for item in items if item.get_closest_marker("postgres")]
        problem = _postgres_problem(config) if postgres else None
        if problem is None:
            return
        config.hook.pytest_deselected(items=postgres)
        items[:] = [item for item in items if not item.get_closest_marker("postgres")]
        self.message = (
            f"webbly: {len(postgres)} PostgreSQL tests deselected: {problem}. To run them, "
            "install psycopg (pip install -e 'examples/webbly[postgres]') and point "
            "[tool.testfleet.databases.webbly] (pyproject.toml, or [databases.webbly] in a "
            "testfleet.toml beside it) at a server."
        )

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.message is not None:
            terminalreporter.write_line(self.message, yellow=True)


def _postgres_problem(config: pytest.Config) -> str | None:
    """Why this run cannot have a PostgreSQL copy; None when it can."""
    from testfleet.resources.database_config import DatabaseConfigError, load_databases
    from testfleet.resources.databases import DatabaseError, check_reachable

    try:
        for spec in load_databases(config.rootpath):
            check_reachable(spec, config.rootpath)
    except (DatabaseConfigError, DatabaseError) as error:
        return str(error)
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(PostgresGuard(), "webbly-postgres-guard")


@pytest.fixture(scope="session")
def postgres_url(worker_database: DatabaseCopy) -> str:
    """This worker's own PostgreSQL database (a testfleet copy of the template)."""
    return str(worker_database.url)


@pytest.fixture
def pg_cms(postgres_url: str, tmp_path: Path) -> Iterator[CMS]:
    """A site on this worker's PostgreSQL copy, its tables emptied first (schema kept).

    Emptying the tables is all a test needs of a clean state: the schema is the
    template's, built once by testfleet, so no test runs the whole setup again.
    """
    settings = Settings(database_url=postgres_url, data_dir=tmp_path / "pg-site",
                        password_iterations=TEST_ITERATIONS)
    with CMS.open(settings, clock=StepClock(START, 1.0)) as site:
        delete_rows(site.db)
        yield site


@pytest.fixture
def pg_users(pg_cms: CMS) -> dict[str, User]:
    """One user per role on the PostgreSQL site, password ``PASSWORD``."""
    return seed_users(pg_cms, PASSWORD)


# HTTP ------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


@dataclass
class HttpResult:
    """Status, headers and body of one HTTP exchange."""

    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        """Body as UTF-8 text."""
        return self.body.decode("utf-8")

    def json(self) -> Any:
        """Body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class HttpClient:
    """A urllib client for one server, optionally sending Basic credentials."""

    base_url: str
    auth: tuple[str, str] | None = None
    default_headers: dict[str, str] = field(default_factory=dict)

    def as_user(self, username: str, password: str = PASSWORD) -> HttpClient:
        """A client for the same server signed in as ``username``."""
        return HttpClient(self.base_url, (username, password), dict(self.default_headers))

    def request(self, method: str, path: str, *, data: bytes | None = None,
                json_body: Any = None, form: Mapping[str, str] | None = None,
                headers: Mapping[str, str] | None = None) -> HttpResult:
        """Send a request and return the response, whatever its status."""
        all_headers = dict(self.default_headers)
        if json_body is not None:
            data = json.dumps(json_body).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        if form is not None:
            data = urlencode(form).encode("utf-8")
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.auth is not None:
            token = base64.b64encode(":".join(self.auth).encode("utf-8")).decode("ascii")
            all_headers["Authorization"] = f"Basic {token}"
        all_headers.update(headers or {})
        request = urllib.request.Request(self.base_url + path, data=data, method=method,
                                         headers=all_headers)
        try:
            with _OPENER.open(request, timeout=10) as response:
                return HttpResult(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            with error:
                return HttpResult(error.code, error.headers, error.read())

    def get(self, path: str, **kwargs: Any) -> HttpResult:
        """GET ``path``."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> HttpResult:
        """POST to ``path``."""
        return self.request("POST", path, **kwargs)


class LiveServer:
    """The WSGI app on a real wsgiref server, on a free port, in a thread."""

    def __init__(self, cms: CMS) -> None:
        self.cms = cms
        self.server: WSGIServer = make_server("127.0.0.1", 0, create_app(cms),
                                              handler_class=QuietHandler)
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       name=f"webbly-{port}", daemon=True)
        self.thread.start()

    def client(self, user: str | None = None, password: str = PASSWORD) -> HttpClient:
        """A client, anonymous or signed in as ``user``."""
        client = HttpClient(self.url)
        return client.as_user(user, password) if user else client

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def serve() -> Iterator[Callable[[CMS], LiveServer]]:
    """Start servers for sites; all are stopped when the test ends."""
    servers: list[LiveServer] = []

    def start(site: CMS) -> LiveServer:
        server = LiveServer(site)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def live(cms: CMS, users: dict[str, User], serve: Callable[[CMS], LiveServer]) -> LiveServer:
    """A server for a fresh site that has one user per role and no pages."""
    return serve(cms)


@pytest.fixture(scope="module")
def seeded_server(seeded_readonly: CMS) -> Iterator[LiveServer]:
    """One server per module over that module's read-only copy of the seeded site."""
    server = LiveServer(seeded_readonly)
    yield server
    server.stop()
