"""A whole fleet run in words and in JUnit XML: pure formatting of its results."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from testfleet.distributed.protocol import FleetResult

#: The order outcomes are named in the whole-run line.
_ORDER = ("passed", "failed", "error", "quarantined", "skipped", "xfailed", "xpassed")
_BAD = ("failed", "error")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def run_line(results: Sequence[FleetResult]) -> str:
    """``testfleet fleet: 3 nodes, 1200 tests: 1198 passed, 2 failed (on node ci-2)``.

    The nodes counted are those that ran a test: every node of a complete run
    then prints the same line, also one that joined after the work was gone.
    """
    counts: Counter[str] = Counter(r.shown for r in results)
    nodes = len({r.node for r in results})
    parts = []
    for outcome in _ORDER:
        if not counts[outcome]:
            continue
        word = "errors" if outcome == "error" and counts[outcome] != 1 else outcome
        part = f"{counts[outcome]} {word}"
        if outcome in _BAD:
            where = sorted({r.node for r in results if r.shown == outcome})
            part += f" (on {'node' if len(where) == 1 else 'nodes'} {', '.join(where)})"
        parts.append(part)
    reruns = sum(1 for r in results if r.rerun_after)
    if reruns:
        parts.append(f"{reruns} re-run after a node was lost")
    return f"testfleet fleet: {_plural(nodes, 'node')}, {_plural(len(results), 'test')}: " + (
        ", ".join(parts) or "no results"
    )


def failures(results: Sequence[FleetResult]) -> list[str]:
    """One block per failed or erroring test: where it ran and what it said."""
    blocks = []
    for result in sorted(results, key=lambda r: r.nodeid):
        if not result.fails_run:
            continue
        head = f"{result.outcome.upper()} {result.nodeid} (node {result.node}, {result.worker})"
        if result.rerun_after:
            head += f", re-run after node {result.rerun_after} was lost"
        blocks.append(head + ("\n" + result.message.rstrip() if result.message else ""))
    return blocks


def junit_xml(results: Sequence[FleetResult], name: str, properties: Mapping[str, str]) -> bytes:
    """One JUnit XML document of the whole run, shaped like pytest's ``--junitxml``."""
    counts = Counter(r.shown for r in results)
    suite = ET.Element(
        "testsuite",
        name=name,
        tests=str(len(results)),
        failures=str(counts["failed"]),
        errors=str(counts["error"]),
        skipped=str(counts["skipped"] + counts["xfailed"] + counts["quarantined"]),
        time=f"{sum(r.duration for r in results):.3f}",
    )
    if properties:
        props = ET.SubElement(suite, "properties")
        for key, value in properties.items():
            ET.SubElement(props, "property", name=key, value=value)
    for result in sorted(results, key=lambda r: r.nodeid):
        classname, test = _names(result.nodeid)
        case = ET.SubElement(
            suite, "testcase", classname=classname, name=test, time=f"{result.duration:.3f}"
        )
        case_props = {"testfleet_node": result.node, "testfleet_worker": result.worker}
        if result.rerun_after:
            case_props["testfleet_rerun_after_lost_node"] = result.rerun_after
        props = ET.SubElement(case, "properties")
        for key, value in case_props.items():
            ET.SubElement(props, "property", name=key, value=value)
        message = result.message.splitlines()[-1] if result.message else result.outcome
        if result.shown == "quarantined":
            ET.SubElement(case, "skipped", type="pytest.xfail", message=f"quarantined: {message}")
        elif result.outcome == "failed":
            ET.SubElement(case, "failure", message=message).text = result.message
        elif result.outcome == "error":
            ET.SubElement(case, "error", message=message).text = result.message
        elif result.outcome == "skipped":
            ET.SubElement(case, "skipped", type="pytest.skip", message=message)
        elif result.outcome == "xfailed":
            ET.SubElement(case, "skipped", type="pytest.xfail", message=message)
    root = ET.Element("testsuites")
    root.append(suite)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _names(nodeid: str) -> tuple[str, str]:
    """pytest's junitxml names: ``tests/test_a.py::Cls::test_x`` ->
    (``tests.test_a.Cls``, ``test_x``)."""
    parts = nodeid.split("::")
    module = parts[0]
    if module.endswith(".py"):
        module = module[:-3]
    names = [module.replace("/", ".").replace("\\", "."), *parts[1:]]
    if len(names) == 1:
        return "", names[0]
    return ".".join(names[:-1]), names[-1]
