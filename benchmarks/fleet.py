"""Benchmark of the fleet: one run spread over many nodes through a Redis server.

Every node is a ``pytest --fleet`` process on this machine, started in the suite's
directory as the leader of its own process group, against a ``redis-server`` this script
starts on a free port and stops at the end. A run's wall runs from starting its first
process to the end of its last. Each repetition runs every case's ways once, in rotating
order: (1) the sleep suite on 2 nodes x 1 worker, against 1 node x 2 workers, local
``--workers 2`` and two static shards at once (and 2 nodes in network namespaces of
their own, unless ``--no-netns``); (2) 4 nodes x 1 worker against LB(4); (3) 3 nodes x 1
worker with ``--fleet-lease 2``, one SIGKILLed at half the expected wall: no test lost
or reported twice; (4) trivial5k on 1 node x 2 workers against local ``--workers 2``:
what Redis costs per test.

Usage: ``python benchmarks/fleet.py [--repeat 3] [--scale 1] [--cases 1,2,3,4]
[--no-netns] [--out docs/benchmarks.md]`` (about 8 minutes at the default scale on 2
cores, warm-up included: well within 10 even with other work on the machine).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib
import suites
from scheduling import last_run_phase

#: Case 1's goal: 2 nodes x 1 worker take at most this times the wall of 1 node x 2.
GOAL_SPREAD = 1.10
#: Case 2's goal: 4 nodes x 1 worker within this factor of LB(4).
GOAL_FOUR = 1.15
#: Case 3's goal: with a node killed, the wall within this factor of LB(2) + the lease.
GOAL_KILL = 1.10
#: The lease of the kill case: short, so the survivors take the lost work over soon.
KILL_LEASE = 2.0
#: A session that goes on this long after writing its junit file is named in the report.
TAIL_NOTE = 1.0
X = "\N{MULTIPLICATION SIGN}"


@dataclass(frozen=True)
class Way:
    """One way of running a suite: processes started at once, and what each one is."""

    name: str
    suite: str
    nodes: int  # processes started together
    workers: int  # --workers of each
    mode: str  # "fleet", "local" or "shards"
    netns: bool = False  # each node in a network namespace of its own
    lease: float | None = None  # --fleet-lease
    kill: bool = False  # the last node is killed mid-run


WAYS: dict[str, Way] = {
    way.name: way
    for way in (
        Way("fleet 2x1", "sleep", 2, 1, "fleet"),
        Way("fleet 1x2", "sleep", 1, 2, "fleet"),
        Way("local w2", "sleep", 1, 2, "local"),
        Way("shards 2", "sleep", 2, 1, "shards"),
        Way("netns 2x1", "sleep", 2, 1, "fleet", netns=True),
        Way("fleet 4x1", "sleep", 4, 1, "fleet"),
        Way("kill 3x1", "sleep", 3, 1, "fleet", lease=KILL_LEASE, kill=True),
        Way("trivial fleet 1x2", "trivial5k", 1, 2, "fleet"),
        Way("trivial local w2", "trivial5k", 1, 2, "local"),
    )
}
CASES: dict[str, tuple[str, ...]] = {
    "1": ("fleet 2x1", "fleet 1x2", "local w2", "shards 2", "netns 2x1"),
    "2": ("fleet 4x1",),
    "3": ("kill 3x1",),
    "4": ("trivial fleet 1x2", "trivial local w2"),
}


def node_command(
    way: Way, index: int, *, url: str, run_id: str, junit: str, history: str
) -> list[str]:
    """The command of process ``index`` (from 1) of ``way``; every way shares the prefix."""
    extra = []
    if way.mode == "fleet":
        extra = ["--fleet", url, "--run-id", run_id, "--fleet-node", f"n{index}"]
        extra += [] if way.lease is None else ["--fleet-lease", f"{way.lease:g}"]
    elif way.mode == "shards":
        # Both shards split by one shared history (TESTFLEET_SPLIT_ID names the split).
        extra = [f"--shard={index}/{way.nodes}", f"--history={history}"]
    extra += ["--workers", str(way.workers), "-p", "no:randomly", f"--junitxml={junit}"]
    return benchlib.pytest_command(extra)


def lease_bound(meta: Mapping[str, Any], workers: int, lease: float) -> float | None:
    """LB(workers) + the lease: a lost node's units wait a lease before they move on."""
    bound = suites.lower_bound(dict(meta), workers)
    return None if bound is None else bound + lease


# -- what a run reported --------------------------------------------------------------


def junit_key(nodeid: str) -> str:
    """``classname::name`` of a test as pytest's junitxml names it (its address mangling)."""
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    return ".".join(names[:-1]) + "::" + names[-1]


def read_junit(path: Path) -> tuple[list[str], float]:
    """The ``classname::name`` of every testcase in a junit file pytest wrote, and the
    session's time as the file gives it (from session start to writing the file)."""
    root = ET.parse(path).getroot()  # written by our own pytest runs a moment ago
    keys = [f"{case.get('classname')}::{case.get('name')}" for case in root.iter("testcase")]
    return keys, sum(float(suite.get("time", 0)) for suite in root.iter("testsuite"))


def session_tail(log_text: str, junit_time: float) -> float | None:
    """How long a pytest session went on after writing its junit file: the time on its
    final summary line (``400 passed in 31.53s``) minus the junit file's session time.
    Both count from the session's start, so this is what its last hooks took."""
    found = re.findall(r" in (\d+(?:\.\d+)?)s\b", log_text)
    return float(found[-1]) - junit_time if found else None


@dataclass(frozen=True)
class Done:
    """A test's entry in the run's ``done`` hash: who ran it, and whether it was re-run."""

    node: str
    rerun_after: str | None


def parse_done(raw: Mapping[str, str]) -> dict[str, Done]:
    """Test id -> its entry, read from the JSON values of ``testfleet:{run}:done``.

    Read here with plain ``json`` rather than testfleet's own decoder, so the check does
    not lean on the code it checks.
    """
    found: dict[str, Done] = {}
    for nodeid, text in raw.items():
        body = json.loads(text)
        rerun = body.get("rerun_after")
        found[nodeid] = Done(str(body["node"]), None if rerun is None else str(rerun))
    return found


@dataclass
class Tally:
    """Tests counted over the places a run reported them."""

    tests: int
    lost: list[str] = field(default_factory=list)  # expected, reported nowhere
    twice: list[str] = field(default_factory=list)  # reported more than once
    unknown: list[str] = field(default_factory=list)  # reported, never collected
    by_killed: int = 0  # tests the killed node finished (its entries in `done`)
    rerun: int = 0  # tests run again after a node was lost while running them
    notes: list[str] = field(default_factory=list)  # other disagreements

    def problems(self) -> list[str]:
        named = {"lost": self.lost, "reported twice": self.twice, "never collected": self.unknown}
        found = [f"{len(v)} test(s) {k}: {', '.join(v[:3])}" for k, v in named.items() if v]
        return found + self.notes


def tally(expected: Sequence[str], reports: Mapping[str, Sequence[str]]) -> Tally:
    """Every expected test (junit keys) reported exactly once across ``reports``."""
    seen = Counter(key for keys in reports.values() for key in keys)
    wanted = set(expected)
    return Tally(
        tests=len(expected),
        lost=[key for key in expected if key not in seen],
        twice=sorted(key for key, count in seen.items() if count > 1),
        unknown=sorted(key for key in seen if key not in wanted),
    )


def fleet_tally(
    expected: Sequence[str],
    done: Mapping[str, Done],
    stream: Sequence[str],
    junit: Mapping[str, Sequence[str]],
    killed: str | None = None,
) -> Tally:
    """Every test once in the run's ``done`` hash and once on its results stream, and
    once over the survivors' junit files plus what the killed node finished (``done``
    entries naming it: it wrote no junit file). Each survivor's junit file must hold
    exactly the tests ``done`` says it ran."""
    reports = {name: list(keys) for name, keys in junit.items()}
    if killed is not None:
        reports[f"{killed} (done)"] = [junit_key(n) for n, d in done.items() if d.node == killed]
    result = tally([junit_key(n) for n in expected], reports)
    result.by_killed = sum(1 for d in done.values() if killed is not None and d.node == killed)
    result.rerun = sum(1 for d in done.values() if d.rerun_after is not None)
    absent = [n for n in expected if n not in done]
    if absent:
        result.notes.append(f"{len(absent)} test(s) missing from the done hash: {absent[0]}")
    result.unknown += sorted(junit_key(n) for n in set(done) - set(expected))
    result.twice += sorted(junit_key(n) for n, c in Counter(stream).items() if c > 1)
    if len(stream) != len(done):
        result.notes.append(f"{len(stream)} results on the stream, {len(done)} in done")
    for name, keys in junit.items():
        ran = {junit_key(n) for n, d in done.items() if d.node == name}
        if ran != set(keys):
            result.notes.append(f"{name}: done names {len(ran)} tests, its junit {len(keys)}")
    return result


def server_cpu(info: Mapping[str, Any]) -> float:
    """CPU seconds of the Redis server's own process, from ``INFO cpu``."""
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


# -- processes, a Redis server, network namespaces ---------------------------------------


@dataclass
class Proc:
    """One process of a run."""

    name: str
    cmd: list[str]
    log: Path
    junit: Path
    env: dict[str, str]
    kill_at: float | None = None  # SIGKILL its process group this long after its start


def run_together(
    procs: Sequence[Proc], *, cwd: Path, timeout: float
) -> tuple[float, list[benchlib.Measurement]]:
    """Start every process at once; the run's wall (first start to last end), and each
    process's measurement. A process to kill gets its kill time as its time-out:
    ``run_measured`` then SIGKILLs its whole process group, workers included."""
    found: list[benchlib.Measurement | None] = [None] * len(procs)
    spans = [(0.0, 0.0)] * len(procs)

    def one(index: int) -> None:
        proc = procs[index]
        start = time.perf_counter()
        found[index] = benchlib.run_measured(
            proc.cmd, cwd=cwd, env=proc.env, log_path=proc.log, timeout=proc.kill_at or timeout
        )
        spans[index] = (start, start + found[index].wall)  # type: ignore[union-attr]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(procs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    measures = [m for m in found if m is not None]
    if len(measures) != len(procs):
        raise RuntimeError("a process of the run could not be measured (see the thread error)")
    return max(end for _, end in spans) - min(start for start, _ in spans), measures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def redis_server(workdir: Path, binds: Sequence[str]) -> Iterator[int]:
    """A ``redis-server`` of this benchmark's own on a free port; yields the port."""
    port = free_port()
    cmd = ["redis-server", "--port", str(port), "--bind", *binds, "--save", "", "--appendonly"]
    cmd += ["no", "--dir", str(workdir)]
    if any(not b.startswith("127.") for b in binds):
        cmd += ["--protected-mode", "no"]  # no password, but reachable only on veth ends
    log = (workdir / "redis-server.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        ping = ["redis-cli", "-p", str(port), "ping"]
        while subprocess.run(ping, capture_output=True, check=False).returncode:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {port}: see {log.name}")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait()
        log.close()


def netns_plan(tag: str, count: int) -> list[tuple[str, str, list[list[str]]]]:
    """(namespace, host-side address, the ``ip`` commands making it) for each node.

    Node k lives in namespace ``tfbench-TAG-nk`` with one end of a veth pair at
    10.231.k.2/30; the other end stays in the root namespace at 10.231.k.1, where Redis
    listens. Interface names stay within Linux's 15 characters.
    """
    plans = []
    for k in range(1, count + 1):
        ns, host, peer = f"tfbench-{tag}-n{k}", f"tfb{tag}h{k}", f"tfb{tag}p{k}"
        near, far = f"10.231.{k}.1", f"10.231.{k}.2"
        commands = [
            ["ip", "netns", "add", ns],
            ["ip", "link", "add", host, "type", "veth", "peer", "name", peer],
            ["ip", "link", "set", peer, "netns", ns],
            ["ip", "addr", "add", f"{near}/30", "dev", host],
            ["ip", "link", "set", host, "up"],
            ["ip", "-n", ns, "addr", "add", f"{far}/30", "dev", peer],
            ["ip", "-n", ns, "link", "set", peer, "up"],
            ["ip", "-n", ns, "link", "set", "lo", "up"],
        ]
        plans.append((ns, near, commands))
    return plans


@contextlib.contextmanager
def network_namespaces(tag: str, count: int) -> Iterator[list[tuple[str, str]]]:
    """Make the namespaces of :func:`netns_plan`; remove them (and their veths) after."""
    plans = netns_plan(tag, count)
    try:
        for _, _, commands in plans:
            for cmd in commands:
                done = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if done.returncode:
                    raise OSError(f"`{' '.join(cmd)}`: {done.stderr.strip() or done.returncode}")
        yield [(ns, near) for ns, near, _ in plans]
    finally:
        for ns, _, commands in plans:
            subprocess.run(["ip", "link", "del", commands[1][3]], capture_output=True, check=False)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


# -- the benchmark ----------------------------------------------------------------------


@dataclass
class Bench:
    """What every run of one invocation shares."""

    dirs: dict[str, Path]
    env: dict[str, str]
    logs: Path
    port: int
    client: Any  # redis.Redis, imported only to run
    namespaces: list[tuple[str, str]]  # (namespace, Redis's address seen from it)
    timeout: float
    stamp: str

    def processes(self, way: Way, stem: str, run_id: str, kill_at: float | None) -> list[Proc]:
        """The processes of one run of ``way``; the last is to be killed at ``kill_at``."""
        procs = []
        for k in range(1, way.nodes + 1):
            host = self.namespaces[k - 1][1] if way.netns else "127.0.0.1"
            junit = self.logs / f"{stem}-n{k}.xml"
            junit.unlink(missing_ok=True)
            history = self.dirs[way.suite] / ".testfleet" / "history.db"
            url = f"redis://{host}:{self.port}/0"
            cmd = node_command(
                way, k, url=url, run_id=run_id, junit=str(junit), history=str(history)
            )
            if way.netns:
                cmd = ["ip", "netns", "exec", self.namespaces[k - 1][0], *cmd]
            env = {**self.env, "TESTFLEET_SPLIT_ID": run_id} if way.mode == "shards" else self.env
            doomed = kill_at if way.kill and k == way.nodes else None
            procs.append(Proc(f"n{k}", cmd, self.logs / f"{stem}-n{k}.log", junit, env, doomed))
        return procs

    def run(self, way: Way, stem: str, kill_at: float | None = None) -> dict[str, Any]:
        """One run of ``way``, checked: its record for runs.json."""
        run_id = f"fb{self.stamp}-{stem}"
        procs = self.processes(way, stem, run_id, kill_at)
        before = server_cpu(self.client.info("cpu"))
        wall, measures = run_together(procs, cwd=self.dirs[way.suite], timeout=self.timeout)
        redis_cpu = server_cpu(self.client.info("cpu")) - before
        problems: list[str] = []
        for proc, measure in zip(procs, measures, strict=True):
            text = proc.log.read_text(errors="replace")
            counts = benchlib.parse_summary(text)
            if proc.kill_at is not None:
                if not measure.timed_out:
                    problems.append(f"{proc.name} ended before it was to be killed")
                continue
            problems += [
                f"{proc.name}: {p}" for p in benchlib.basic_problems(measure, counts, text)
            ]
            if set(benchlib.outcome_counts(counts) or {}) - {"passed"}:
                problems.append(f"{proc.name}: {benchlib.outcome_counts(counts)}")
        survivors = [p for p in procs if p.kill_at is None]
        read = {p.name: (p, read_junit(p.junit)) for p in survivors if p.junit.is_file()}
        problems += [f"{p.name}: no junit file" for p in survivors if p.name not in read]
        junit = {name: keys for name, (_, (keys, _)) in read.items()}
        tails = [session_tail(p.log.read_text(errors="replace"), t) for p, (_, t) in read.values()]
        tail = max((t for t in tails if t is not None), default=None)
        expected = suites.node_ids(suites.SPECS[way.suite])
        if way.mode == "fleet":
            prefix = f"testfleet:{run_id}:"
            done = parse_done(self.client.hgetall(prefix + "done"))
            entries = self.client.xrange(prefix + "results")
            stream = [json.loads(fields["result"])["nodeid"] for _, fields in entries]
            killed = next((p.name for p in procs if p.kill_at is not None), None)
            counted = fleet_tally(expected, done, stream, junit, killed)
        else:
            counted = tally([junit_key(n) for n in expected], junit)
        problems += counted.problems()
        timed = way.mode != "shards" and way.suite == "sleep"
        phase = last_run_phase(self.dirs[way.suite]) if timed else None
        cpu = sum(m.cpu for m in measures)
        print(
            f"{stem:28} wall {wall:7.2f} s  cpu {cpu:6.2f} s"
            + (f"  run phase {phase:.2f} s" if phase else "")
            + (f"  n{way.nodes} killed at {kill_at:.2f} s" if kill_at else "")
            + (f"  session tail {tail:.2f} s" if tail and tail > TAIL_NOTE else "")
            + (f"  PROBLEMS: {'; '.join(problems)}" if problems else ""),
            flush=True,
        )
        nodes = [
            {"name": p.name, "log": benchlib.relpath(p.log), "wall": m.wall, "cpu": m.cpu}
            | {"returncode": m.returncode, "command": benchlib.display_command(p.cmd)}
            for p, m in zip(procs, measures, strict=True)
        ]
        return {
            "way": way.name,
            "run_id": run_id,
            "wall": wall,
            "cpu": cpu,
            "redis_cpu": redis_cpu,
            "run_phase": phase,
            "kill_at": kill_at,
            "tail": tail,
            "by_killed": counted.by_killed,
            "rerun": counted.rerun,
            "lost": len(counted.lost),
            "twice": len(counted.twice),
            "nodes": nodes,
            "problems": problems,
        }


def measure_all(
    bench: Bench, ways_of: Mapping[str, Sequence[str]], repeat: int
) -> tuple[list[dict[str, Any]], list[str], float | None]:
    """The untimed warm-up of every way, then the timed runs: records, setup problems,
    and the kill time, half the wall of the kill case's warm-up run (where none is killed)."""
    setup_problems: list[str] = []
    kill_at = None
    for names in ways_of.values():
        for name in names:
            record = bench.run(WAYS[name], f"warmup-{name.replace(' ', '-')}")
            setup_problems += [f"warm-up of {name}: {p}" for p in record["problems"]]
            kill_at = record["wall"] / 2 if WAYS[name].kill else kill_at
    records = []
    for rep in range(1, repeat + 1):
        for index, (case, names) in enumerate(ways_of.items()):
            for position, name in enumerate(benchlib.rotated(list(names), rep - 1 + index)):
                way = WAYS[name]
                stem = f"r{rep}-{name.replace(' ', '-')}"
                record = bench.run(way, stem, kill_at if way.kill else None)
                records.append({"rep": rep, "case": case, "position": position, **record})
    return records, setup_problems, kill_at


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="of the sleep suite")
    parser.add_argument("--cases", default=",".join(CASES), help="a subset of 1,2,3,4")
    parser.add_argument("--netns", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--out", type=Path, default=benchlib.DEFAULT_OUT)
    parser.add_argument("--workdir", type=Path, default=benchlib.DEFAULT_WORKDIR)
    args = parser.parse_args(argv)
    args.cases = benchlib.parse_csv(args.cases, list(CASES), "cases")

    began = time.monotonic()
    env = benchlib.tool_environment(os.environ)  # shared by every process of every run
    dirs = suites.generate(args.workdir / "fleet", scale=args.scale, names=["sleep", "trivial5k"])
    for suite_dir in dirs.values():
        # Only this invocation's runs feed the plans and the shards' split.
        shutil.rmtree(suite_dir / ".testfleet", ignore_errors=True)
    meta = suites.load_meta(dirs["sleep"])
    stamp = benchlib.run_stamp()
    logs = args.workdir / "runs" / f"fleet-{stamp}"
    logs.mkdir(parents=True, exist_ok=True)
    info = benchlib.machine_info(env, dirs["sleep"])
    print(f"bytecode: {benchlib.bytecode_note(os.environ)}", flush=True)
    notes = {"netns": "not measured (`--no-netns`)" if "1" in args.cases else "case 1 not run"}
    with contextlib.ExitStack() as stack:
        namespaces: list[tuple[str, str]] = []
        if args.netns and "1" in args.cases:
            try:
                namespaces = stack.enter_context(network_namespaces(str(os.getpid() % 10**5), 2))
                notes["netns"] = (
                    "node k of `netns 2x1` runs under `ip netns exec` in a namespace of its "
                    "own, joined to the root namespace by a veth pair (10.231.k.2/30 inside, "
                    "10.231.k.1 outside); Redis listens on 127.0.0.1 and both outer ends"
                )
            except OSError as exc:
                notes["netns"] = f"skipped, the namespaces could not be made: {exc}"
        port = stack.enter_context(redis_server(logs, ["127.0.0.1", *(a for _, a in namespaces)]))
        import redis

        client = stack.enter_context(redis.Redis(port=port, decode_responses=True))
        notes["redis"] = str(client.info("server")["redis_version"])
        timeout = 120 + 10 * meta["sum_d"]
        bench = Bench(dirs, env, logs, port, client, namespaces, timeout, stamp)
        ways_of = {c: [w for w in CASES[c] if namespaces or not WAYS[w].netns] for c in args.cases}
        records, setup_problems, kill_at = measure_all(bench, ways_of, args.repeat)
    (logs / "runs.json").write_text(json.dumps(records, indent=2))
    run = {**notes, "info": info, "logs": logs, "kill_at": kill_at}
    run |= {"setup_problems": setup_problems, "minutes": (time.monotonic() - began) / 60}
    body = render(records, meta, args, run)
    benchlib.replace_section(args.out, "fleet", body)
    print(body)
    return 0


# -- the report ---------------------------------------------------------------------------


def _ok(records: Sequence[dict[str, Any]], way: str) -> list[dict[str, Any]]:
    return [r for r in records if r["way"] == way and not r["problems"]]


def _median(records: Sequence[dict[str, Any]], way: str, key: str) -> float | None:
    values = [r[key] for r in _ok(records, way) if r[key] is not None]
    return statistics.median(values) if values else None


def _walls(records: Sequence[dict[str, Any]], way: str) -> str:
    found = benchlib.spread([r["wall"] for r in _ok(records, way)])
    return found.fmt() if found else benchlib.DASH


def _runs(records: Sequence[dict[str, Any]], way: str) -> str:
    return f"{len(_ok(records, way))}/{sum(1 for r in records if r['way'] == way)}"


def _cell(value: float | None, digits: int = 2) -> str:
    return benchlib.DASH if value is None else f"{value:.{digits}f}"


def _over(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def verdict(value: float | None, limit: float | None) -> str:
    """``met`` or ``not met`` for a figure against its goal; ``n/a`` without a figure."""
    if value is None or limit is None:
        return "n/a (no run without problems)"
    return "met" if value <= limit else "not met"


def _shown(way: str) -> str:
    """Process n1 of ``way`` as the report shows it, with placeholders for the run."""
    url, history = "redis://127.0.0.1:PORT/0", ".testfleet/history.db"
    cmd = node_command(WAYS[way], 1, url=url, run_id="RUN", junit="n1.xml", history=history)
    return benchlib.display_command(cmd)


def render(
    records: list[dict[str, Any]], meta: dict[str, Any], args: argparse.Namespace, run: Any
) -> str:
    """The ``fleet`` section of docs/benchmarks.md; ``run`` holds the invocation's facts."""
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    lines = [
        "## The fleet: one run over many nodes through Redis",
        "",
        *benchlib.machine_lines(run["info"], os.environ),
        benchlib.install_note(),
        f"- Load average at the end: {load} (the machine is shared: compare ratios)",
        f"- Command: `{benchlib.invocation(sys.argv)}`, {run['minutes']:.1f} minutes in all",
        f"- Redis {run['redis']}, a `redis-server` of the benchmark's own on a free port "
        '(`--save "" --appendonly no`), started before the first run, stopped after the last',
        "- Each process of a run is the leader of its own process group, all started together "
        "in the suite's directory; a run's wall runs from the first start to the last end; "
        "its CPU is the sum of their process trees (`os.wait4`, workers included), the Redis "
        "server's (`INFO cpu`) apart",
        f"- Process n1 of each way: fleet `{_shown('fleet 2x1')}` (each node its own "
        f"`--fleet-node`); local `{_shown('local w2')}`; shards `{_shown('shards 2')}` with "
        "`TESTFLEET_SPLIT_ID` set to the run's id",
        f"- Suites: sleep ({meta['tests']} tests, scale {meta['scale']:g}, Σd = "
        f"{meta['sum_d']:.2f} s, max d = {meta['max_d']:.2f} s) and trivial5k (5000 tests)",
        f"- {args.repeat} repetition(s), ways interleaved in rotating order, medians over the "
        f"runs without problems (min{benchlib.DASH}max). Each way first ran once untimed: "
        "bytecode cache, and the history (emptied at the start) that the fleet's planner "
        "and the local run plan from and the shards split by",
        f"- Network namespaces: {run['netns']}",
        f"- Raw per-run data: `{benchlib.relpath(run['logs'] / 'runs.json')}` (logs beside it)",
        "",
        "Walls include start-up and collection; LB(W) = max(Σd / W, max d) bounds the run "
        "phase only, which stands beside it (the run's record in testfleet's history, as "
        "`scheduling.py` reads it). Checked in every run: each process exits 0 with only "
        "passed tests, every test is reported exactly once (in the run's `done` hash and "
        "results stream, and over the junit files); else it is under *Problems*.",
        "",
    ]
    sleepy = [n for c in ("1", "2") if c in args.cases for n in CASES[c]]
    if sleepy:
        lines += _sleep_lines(records, meta, [n for n in sleepy if _runs(records, n) != "0/0"])
    if "3" in args.cases:
        lines += _kill_lines(records, meta, run["kill_at"])
    if "4" in args.cases:
        lines += _cost_lines(records)
    problems = [
        f"rep {r['rep']} {r['way']}: {'; '.join(r['problems'])} (run {r['run_id']})"
        for r in records
        if r["problems"]
    ]
    tails = [
        f"{r['way']} rep {r['rep']} ({r['tail']:.1f} s)"
        for r in records
        if r["tail"] is not None and r["tail"] > TAIL_NOTE
    ]
    lines += [
        f"Runs in which a process's pytest session went on more than {TAIL_NOTE:g} s after "
        "writing its junit file (its summary line's time against the file's; the wall "
        f"includes it): {', '.join(tails) or 'none'}.",
        "",
        "### Problems",
        "",
    ]
    lines += [f"- {p}" for p in [*run["setup_problems"], *problems]] or ["- none"]
    return "\n".join(lines)


def _sleep_lines(
    records: Sequence[dict[str, Any]], meta: dict[str, Any], names: Sequence[str]
) -> list[str]:
    """Cases 1 and 2: one row per way, each against LB of its workers in all."""
    base = _median(records, "fleet 1x2", "wall")
    lines = [
        "### 1, 2. Sleep suite: nodes against workers, shards and the local run",
        "",
        f"| way | processes {X} workers | LB s | wall s | / LB | run phase s | / LB "
        f"| / fleet 1 {X} 2 | CPU s | runs ok |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        way = WAYS[name]
        bound = suites.lower_bound(meta, way.nodes * way.workers)
        wall, phase = _median(records, name, "wall"), _median(records, name, "run_phase")
        lines.append(
            f"| {name} | {way.nodes} {X} {way.workers} | {_cell(bound)} | {_walls(records, name)} "
            f"| {benchlib.ratio(wall, bound)} | {_cell(phase)} | {benchlib.ratio(phase, bound)} "
            f"| {benchlib.ratio(wall, base)} | {_cell(_median(records, name, 'cpu'))} "
            f"| {_runs(records, name)} |"
        )
    spread = _over(_median(records, "fleet 2x1", "wall"), base)
    spread_phase = _over(
        _median(records, "fleet 2x1", "run_phase"), _median(records, "fleet 1x2", "run_phase")
    )
    four = _over(_median(records, "fleet 4x1", "wall"), suites.lower_bound(meta, 4))
    phase = _over(_median(records, "fleet 4x1", "run_phase"), suites.lower_bound(meta, 4))
    goals = ["The shards' wall is the slower shard's." if "shards 2" in names else ""]
    if "fleet 2x1" in names:
        goals.append(
            f"Goal: fleet 2 {X} 1 wall ≤ {GOAL_SPREAD:.2f} {X} fleet 1 {X} 2 wall: "
            f"{_cell(spread)}, {verdict(spread, GOAL_SPREAD)} (run phases: "
            f"{_cell(spread_phase)}, {verdict(spread_phase, GOAL_SPREAD)})."
        )
    if "fleet 4x1" in names:
        goals.append(
            f"Goal: fleet 4 {X} 1 wall ≤ {GOAL_FOUR:.2f} {X} LB(4): {_cell(four)}, "
            f"{verdict(four, GOAL_FOUR)} (run phase alone: {_cell(phase)}, "
            f"{verdict(phase, GOAL_FOUR)})."
        )
    return [*lines, "", " ".join(g for g in goals if g), ""]


def _kill_lines(
    records: Sequence[dict[str, Any]], meta: dict[str, Any], kill_at: float | None
) -> list[str]:
    """Case 3: a table row per repetition, and the goals."""
    mine = [r for r in records if r["way"] == "kill 3x1"]
    bound, lb2 = lease_bound(meta, 2, KILL_LEASE), suites.lower_bound(meta, 2)
    wall = _median(records, "kill 3x1", "wall")
    strict = None if lb2 is None else GOAL_KILL * lb2 + KILL_LEASE
    clean = bool(mine) and not any(r["lost"] or r["twice"] for r in mine)
    lines = [
        f"### 3. 3 nodes {X} 1 worker, node n3 killed mid-run (`--fleet-lease {KILL_LEASE:g}`)",
        "",
        f"n3's process group gets SIGKILL {_cell(kill_at)} s after its start: half the wall "
        "of the case's untimed warm-up run, where no node was killed. Counted: the run's "
        "`done` hash (every test once, and once on the results stream), the survivors' junit "
        "files and the `done` entries naming n3 (it wrote no junit file): every test must be "
        "in exactly one of these, and each survivor's junit file must hold exactly the tests "
        "`done` names it for.",
        "",
        "| rep | wall s | / (LB(2) + lease) | run phase s | tests n3 finished "
        "| re-run after the loss | lost | reported twice | exit codes n1, n2, n3 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in mine:
        codes = ", ".join(str(n["returncode"]) for n in r["nodes"])
        lines.append(
            f"| {r['rep']} | {r['wall']:.2f} | {benchlib.ratio(r['wall'], bound)} "
            f"| {_cell(r['run_phase'])} | {r['by_killed']} | {r['rerun']} | {r['lost']} "
            f"| {r['twice']} | {codes} |"
        )
    return [
        *lines,
        "",
        f"LB(2) + lease = {_cell(bound)} s. Goals: 0 lost and 0 reported twice: "
        f"{'met' if clean else 'not met'}; median wall ≤ {GOAL_KILL:.2f} {X} (LB(2) + "
        f"lease): {_cell(_over(wall, bound))}, {verdict(_over(wall, bound), GOAL_KILL)} (read "
        f"as {GOAL_KILL:.2f} {X} LB(2) + lease = {_cell(strict)} s: {verdict(wall, strict)}).",
        "",
    ]


def _cost_lines(records: Sequence[dict[str, Any]]) -> list[str]:
    """Case 4: wall and CPU of the fleet against the local run, per test."""
    per_test = 1e6 / suites.SPECS["trivial5k"].tests
    rows = []
    for label, key in (("wall s", "wall"), ("CPU s, process trees", "cpu")):
        fleet = _median(records, "trivial fleet 1x2", key)
        local = _median(records, "trivial local w2", key)
        diff = None if fleet is None or local is None else fleet - local
        rows.append(
            f"| {label} | {_cell(fleet)} | {_cell(local)} | {_cell(diff)} "
            f"| {_cell(None if diff is None else diff * per_test, 0)} |"
        )
    server = _median(records, "trivial fleet 1x2", "redis_cpu")
    return [
        f"### 4. What Redis costs per test: trivial5k on 1 node {X} 2 workers",
        "",
        f"| | fleet 1 {X} 2 | local `--workers 2` | difference | per test µs |",
        "|---|---|---|---|---|",
        *rows,
        f"| Redis server CPU s | {_cell(server)} | {benchlib.DASH} | {_cell(server)} "
        f"| {_cell(None if server is None else server * per_test, 0)} |",
        "",
        f"Differences of the medians; runs ok: fleet {_runs(records, 'trivial fleet 1x2')}, "
        f"local {_runs(records, 'trivial local w2')}.",
        "",
    ]


if __name__ == "__main__":
    sys.exit(main())
