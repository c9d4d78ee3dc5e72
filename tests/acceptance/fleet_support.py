"""What the fleet's acceptance tests share: a Redis server of their own, and nodes
run as real pytest processes, each the leader of its own process group so that a
test can kill a node whole (SIGKILL to the group) as a lost machine would vanish."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from redis_support import RedisServer

#: Options every node under test gets: collection order is the order written,
#: and no cache directory is shared between nodes.
BASE_OPTIONS = ("-p", "no:randomly", "-p", "no:cacheprovider")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis server of this test's own (so it may kill it)."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: apt-get install redis-server")
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = RedisServer(workdir)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@dataclass
class Node:
    """One node: a pytest process in the suite's directory."""

    name: str
    process: subprocess.Popen[str]
    output: str = ""

    def kill(self) -> None:
        """SIGKILL the node's whole process group, as a machine that vanished."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def finish(self, timeout: float = 60.0) -> int:
        """Wait for the node to end; its exit code (its output in ``output``)."""
        try:
            out, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            out, _ = self.process.communicate()
            self.output = out
            raise AssertionError(f"node {self.name} did not end in {timeout}s:\n{out}") from None
        self.output = out
        return self.process.returncode


def start_node(
    directory: Path,
    url: str,
    run_id: str,
    name: str,
    *args: str,
    env: dict[str, str] | None = None,
) -> Node:
    """Start ``pytest --fleet URL --run-id RUN --fleet-node NAME ARGS`` in ``directory``."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        *BASE_OPTIONS,
        f"--fleet={url}",
        f"--run-id={run_id}",
        f"--fleet-node={name}",
        *args,
    ]
    environment = {**os.environ, **(env or {})}
    for variable in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        environment.pop(variable, None)
    process = subprocess.Popen(
        command,
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
        start_new_session=True,
    )
    return Node(name, process)


def finish_all(nodes: Sequence[Node], timeout: float = 60.0) -> list[int]:
    """Wait for every node; their exit codes in order."""
    return [node.finish(timeout) for node in nodes]


def wait_for(path: Path, timeout: float = 30.0) -> None:
    """Wait until ``path`` exists (a test of the suite writes it to signal a moment)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear in {timeout}s")
        time.sleep(0.01)
