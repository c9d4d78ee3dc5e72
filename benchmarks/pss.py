"""The processes of a measured run and their memory: its tree, its group, and the peak of
their summed PSS, sampled while it runs (Linux's ``/proc``)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from pathlib import Path


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is ``pgid``, the leader excluded."""
    members: list[int] = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process exited while we looked
            continue
        fields = text[text.rfind(")") + 2 :].split()
        pid = int(stat.parent.name)
        if pid != pgid and int(fields[2]) == pgid and fields[0] != "Z":
            members.append(pid)
    return members


#: Seconds between two samples of a run's PSS.
PSS_INTERVAL = 0.02
#: Samples between two scans of all of /proc for members of the run's group that left its
#: tree (orphans); a scan costs ~2 ms, a walk of the tree's ``children`` files ~0.05 ms.
GROUP_SCAN_EVERY = 25


def parse_pss_kib(text: str) -> int | None:
    """The ``Pss:`` figure of a ``/proc/<pid>/smaps_rollup`` text, in KiB; None if absent
    (a zombie's file is empty)."""
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return None


def tree_members(
    root: int, children: Callable[[int], Iterable[int]], extra: Iterable[int] = ()
) -> set[int]:
    """``root``, the ``extra`` processes, and every descendant of either, as ``children``
    (pid -> its child pids) tells them."""
    found: set[int] = set()
    todo = [root, *extra]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children(pid))
    return found


def proc_children(pid: int) -> list[int]:
    """The child pids of every thread of ``pid`` (Linux's ``task/*/children``); none when
    the process is gone."""
    kids: list[int] = []
    for path in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            kids += [int(child) for child in path.read_text().split()]
    return kids


def read_pss_kib(pid: int) -> int:
    """The PSS of ``pid`` in KiB, 0 when it has exited (or is a zombie)."""
    try:
        return parse_pss_kib(Path(f"/proc/{pid}/smaps_rollup").read_text()) or 0
    except OSError:
        return 0


class PssSampler:
    """The peak, over a run, of the summed PSS of its process tree, sampled from a thread of
    this process (not of the measured one, whose CPU it would otherwise add to).

    PSS divides each shared page among the processes that map it, so the sum over a tree of
    forked workers counts copy-on-write pages once, unlike a sum of RSS. The tree is
    ``root``'s descendants (workers that start their own session included) plus members of
    ``root``'s process group that were re-parented away from it.
    """

    def __init__(self, root: int, *, interval: float = PSS_INTERVAL) -> None:
        self.root = root
        self.interval = interval
        self.peak_kib = 0
        self._orphans: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"pss-{root}", daemon=True)

    def sample(self) -> int:
        """Sum the tree's PSS once, in KiB, and keep the peak."""
        pids = tree_members(self.root, proc_children, self._orphans)
        total = sum(read_pss_kib(pid) for pid in pids)
        self.peak_kib = max(self.peak_kib, total)
        return total

    def _loop(self) -> None:
        count = 0
        while True:
            if count % GROUP_SCAN_EVERY == 0:
                self._orphans = set(group_members(self.root))
            self.sample()
            count += 1
            if self._stop.wait(self.interval):
                return

    def start(self) -> None:
        """Sample every ``interval`` seconds until ``stop``."""
        self._thread.start()

    def stop(self) -> int:
        """Stop sampling; the peak in KiB."""
        self._stop.set()
        self._thread.join()
        return self.peak_kib
