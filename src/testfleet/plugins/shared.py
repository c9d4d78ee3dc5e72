"""Fixtures set up once per run: ``@testfleet.shared_fixture``.

A shared fixture is a session fixture.  Under ``--workers`` the controller
sets it up (with the session fixtures it depends on) after collection and
before the first fork, when a collected test uses it; every worker, a
replacement for a crashed one included, is forked with its value cached, and
never runs its teardown.  The controller tears it down once, after the last
worker has ended, and reports a teardown error against the last test, as a
serial run reports a session fixture's teardown.

This is pytest's own fixture machinery driven from outside a test, so it
lives here, with the rest of testfleet's use of pytest's internals, rather
than in the resources layer (DESIGN.md places shared fixtures there).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

import pytest

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup  # type: ignore[import-not-found, unused-ignore]

if TYPE_CHECKING:
    from _pytest.fixtures import FixtureDef, SubRequest

F = TypeVar("F", bound=Callable[..., Any])

#: The attribute that marks a fixture function as shared.
_MARK = "_testfleet_shared_fixture"
#: How many functions were declared shared in this process: none, nothing to do.
_DECLARED = [0]


@overload
def shared_fixture(
    fixture_function: F,
    *,
    params: None = ...,
    autouse: bool = ...,
    ids: Sequence[object] | Callable[[Any], object | None] | None = ...,
    name: str | None = ...,
) -> F: ...


@overload
def shared_fixture(
    fixture_function: None = ...,
    *,
    params: None = ...,
    autouse: bool = ...,
    ids: Sequence[object] | Callable[[Any], object | None] | None = ...,
    name: str | None = ...,
) -> Callable[[F], F]: ...


def shared_fixture(
    fixture_function: F | None = None,
    *,
    params: None = None,
    autouse: bool = False,
    ids: Sequence[object] | Callable[[Any], object | None] | None = None,
    name: str | None = None,
) -> F | Callable[[F], F]:
    """A session fixture that a ``--workers`` run sets up once, before the workers fork.

    Used as ``pytest.fixture(scope="session")`` is: bare or with ``autouse``,
    ``name``.  Its value must be one for the whole run, so ``params`` is
    refused; whatever it depends on must be session-scoped.  Without workers
    (and under pytest-xdist) it is an ordinary session fixture.
    """
    if params is not None:
        raise TypeError(
            "testfleet.shared_fixture takes no params: a shared fixture has one value for "
            "the whole run. Parametrize the tests, or use "
            'pytest.fixture(scope="session", params=...)'
        )

    def decorate(function: F) -> F:
        setattr(function, _MARK, True)
        _DECLARED[0] += 1
        fixture = pytest.fixture(scope="session", autouse=autouse, ids=ids, name=name)
        return cast(F, fixture(function))

    if fixture_function is not None:
        return decorate(fixture_function)
    return decorate


def is_shared(fixturedef: FixtureDef[Any]) -> bool:
    """Whether ``fixturedef`` was declared with :func:`shared_fixture`."""
    return bool(getattr(fixturedef.func, _MARK, False))


def used_shared(items: Sequence[pytest.Item]) -> dict[FixtureDef[Any], pytest.Item]:
    """The shared fixtures the ``items`` use, each with the first item using it."""
    found: dict[FixtureDef[Any], pytest.Item] = {}
    if not _DECLARED[0]:
        return found
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        for argname in info.names_closure:
            defs = info.name2fixturedefs.get(argname)
            if defs and is_shared(defs[-1]) and defs[-1] not in found:
                found[defs[-1]] = item
    return found


def check_shared(items: Sequence[pytest.Item]) -> None:
    """Refuse, as a usage error, a shared fixture that depends on a narrower fixture."""
    for fixturedef, item in used_shared(items).items():
        closest = item._fixtureinfo.name2fixturedefs  # type: ignore[attr-defined]
        for argname in fixturedef.argnames:
            defs = [d for d in closest.get(argname, ()) if d is not fixturedef]
            if argname == "request" or not defs or defs[-1].scope == "session":
                continue
            raise pytest.UsageError(
                f"testfleet: shared fixture {fixturedef.argname!r} depends on {argname!r}, "
                f"a {defs[-1].scope}-scoped fixture: a shared fixture is set up once for the "
                "whole run, so every fixture it uses must be session-scoped"
            )


class SharedFixtures:
    """The shared fixtures a ``--workers`` run set up in the controller."""

    def __init__(self, session: pytest.Session) -> None:
        self._session = session
        #: (fixture, the request it was set up with), in setup order.
        self._set_up: list[tuple[FixtureDef[Any], SubRequest]] = []
        #: Every fixture holding a value once they are set up: theirs and their dependencies'.
        self._cached: list[FixtureDef[Any]] = []

    @property
    def names(self) -> list[str]:
        """The fixtures set up, in order."""
        return [fixturedef.argname for fixturedef, _ in self._set_up]

    def set_up(self, threads: Callable[[], list[str]]) -> None:
        """Set up every shared fixture a collected test uses, in the controller.

        A fixture that fails is cached failed, as pytest caches it: each test
        that uses it reports the error, as in a serial run.  ``threads`` names
        the threads running beside the controller's: a fixture that leaves
        one is a usage error (workers cannot be forked then).
        """
        from _pytest.compat import NOTSET
        from _pytest.fixtures import SubRequest, TopRequest
        from _pytest.scope import Scope

        used = used_shared(self._session.items)
        if not used:
            return
        setupstate = self._session._setupstate
        if self._session not in setupstate.stack:
            setupstate.setup(self._session)  # type: ignore[arg-type]
        for fixturedef, item in used.items():
            top = TopRequest(item, _ispytest=True)  # type: ignore[arg-type]
            request = SubRequest(top, Scope.Session, NOTSET, 0, fixturedef, _ispytest=True)
            self._set_up.append((fixturedef, request))
            try:
                with self._captured():
                    fixturedef.execute(request)
            except pytest.exit.Exception:
                raise
            except (Exception, pytest.fail.Exception, pytest.skip.Exception):
                pass  # cached with the fixture: every test that uses it reports it
            running = threads()
            if running:
                raise pytest.UsageError(
                    f"testfleet: shared fixture {fixturedef.argname!r} left threads running "
                    f"({', '.join(running)}) when the workers were about to fork: a fork "
                    "copies only the calling thread. Start servers in a shared fixture as "
                    "subprocesses (subprocess.Popen), not threads"
                )
        self._cached = _cached_fixtures(self._session.items)

    def forget_in_worker(self) -> None:
        """In a freshly forked worker: keep the shared values, and nothing else.

        The controller tears the shared fixtures down, never a worker: the
        session's entry in the setup stack (the controller's finalizers) and
        each fixture's own teardown are dropped.  The other fixtures the
        controller set up to build them (``worker_id``, ``tmp_path_factory``)
        are forgotten: a worker's tests that use them get the worker's own.
        (pytest before 8.2 schedules a fixture's ``finish`` again at every use,
        cached or not; with nothing left to run it only forgets the value at the
        worker's end.)
        """
        if not self._set_up:
            return
        self._session._setupstate.stack.pop(self._session, None)
        shared = {id(fixturedef) for fixturedef, _ in self._set_up}
        for fixturedef in self._cached:
            fixturedef._finalizers.clear()
            if id(fixturedef) not in shared:
                fixturedef.cached_result = None

    def tear_down(self, last: pytest.Item | None) -> None:
        """Tear the shared fixtures down, last set up first; report an error against ``last``."""
        if not self._set_up:
            return

        def finish() -> None:
            __tracebackhide__ = True  # the traceback shows the fixture's code
            errors: list[Exception] = []
            for fixturedef, request in reversed(self._set_up):
                try:
                    fixturedef.finish(request)
                except Exception as exc:
                    errors.append(exc)
            try:
                self._session._setupstate.teardown_exact(None)
            except Exception as exc:
                errors.append(exc)
            if len(errors) == 1:
                raise errors[0]
            if errors:
                raise ExceptionGroup("errors while tearing down shared fixtures", errors)

        with self._captured():
            call = pytest.CallInfo.from_call(finish, when="teardown")
        self._set_up.clear()
        if call.excinfo is None or last is None:
            return
        # pytest's own report of a call, without the plugins' makereport
        # wrappers: they look for state the worker's run of this test left there.
        report = pytest.TestReport.from_item_and_call(last, call)
        last.ihook.pytest_runtest_logreport(report=report)

    @contextlib.contextmanager
    def _captured(self) -> Iterator[None]:
        """Capture the fixture's output as pytest captures a session fixture's, if it does."""
        capman = self._session.config.pluginmanager.get_plugin("capturemanager")
        if capman is None or not capman.is_globally_capturing():
            yield
            return
        capman.resume_global_capture()
        try:
            yield
        finally:
            capman.suspend_global_capture(in_=False)
            capman.read_global_capture()


def _cached_fixtures(items: Sequence[pytest.Item]) -> list[FixtureDef[Any]]:
    """The fixtures visible to ``items`` that hold a value (or an error) now."""
    found: dict[int, FixtureDef[Any]] = {}
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        for defs in info.name2fixturedefs.values():
            for fixturedef in defs:
                if fixturedef.cached_result is not None:
                    found[id(fixturedef)] = fixturedef
    return list(found.values())
