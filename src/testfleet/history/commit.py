"""The commit a run tested: read from the git files of the work tree it ran in.

Reading ``.git`` directly costs a fraction of a millisecond, where running
``git rev-parse`` would cost a process start on every run.
"""

from __future__ import annotations

from pathlib import Path


def git_commit(rootdir: Path) -> str | None:
    """The commit checked out in the git work tree that holds ``rootdir``, if any."""
    for directory in (rootdir, *rootdir.parents):
        dotgit = directory / ".git"
        if dotgit.exists():
            return read_head(dotgit)
    return None


def read_head(dotgit: Path) -> str | None:
    """The commit HEAD names in the git directory (or ``gitdir:`` file) ``dotgit``.

    None when it cannot be read, or when HEAD is a branch with no commit yet.
    """
    try:
        if dotgit.is_file():  # a worktree or submodule: "gitdir: <path>"
            pointer = dotgit.read_text().strip().removeprefix("gitdir:").strip()
            dotgit = (dotgit.parent / pointer).resolve()
        head = (dotgit / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head or None  # a detached HEAD holds the commit itself
        ref = head.removeprefix("ref:").strip()
        common = dotgit
        if (dotgit / "commondir").exists():
            common = (dotgit / (dotgit / "commondir").read_text().strip()).resolve()
        for base in (dotgit, common):
            if (base / ref).is_file():
                return (base / ref).read_text().strip() or None
        packed = common / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                commit, _, name = line.partition(" ")
                if name == ref:
                    return commit
    except OSError:
        return None
    return None  # a branch with no commit yet
