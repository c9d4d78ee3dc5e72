"""The commit a run tested, read from the git files of its work tree."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from testfleet.history.commit import git_commit, read_head

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_head_on_a_branch_with_a_loose_ref(tmp_path: Path) -> None:
    """HEAD naming a branch resolves through the branch's ref file."""
    git = tmp_path / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text(COMMIT + "\n")
    assert read_head(git) == COMMIT


def test_head_on_a_packed_ref(tmp_path: Path) -> None:
    """A branch that git packed is found in packed-refs."""
    git = tmp_path / ".git"
    git.mkdir()
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "packed-refs").write_text(
        f"# pack-refs\n{'f' * 40} refs/heads/other\n{COMMIT} refs/heads/main\n"
    )
    assert read_head(git) == COMMIT


def test_detached_head_and_unborn_branch(tmp_path: Path) -> None:
    """A detached HEAD is the commit; a branch with no commit yet has none."""
    git = tmp_path / ".git"
    git.mkdir()
    (git / "HEAD").write_text(COMMIT + "\n")
    assert read_head(git) == COMMIT
    (git / "HEAD").write_text("ref: refs/heads/new\n")
    assert read_head(git) is None


def test_worktree_gitdir_file(tmp_path: Path) -> None:
    """A .git file (worktree) points to the real git directory and its common dir."""
    main = tmp_path / "repo" / ".git"
    (main / "refs" / "heads").mkdir(parents=True)
    (main / "refs" / "heads" / "feature").write_text(COMMIT)
    worktree = main / "worktrees" / "wt"
    worktree.mkdir(parents=True)
    (worktree / "HEAD").write_text("ref: refs/heads/feature\n")
    (worktree / "commondir").write_text("../..\n")
    checkout = tmp_path / "wt"
    checkout.mkdir()
    (checkout / ".git").write_text(f"gitdir: {worktree}\n")
    assert read_head(checkout / ".git") == COMMIT


def test_an_unreadable_git_directory_has_no_commit(tmp_path: Path) -> None:
    """A .git without HEAD (or one that cannot be read) gives no commit, not an error."""
    (tmp_path / ".git").mkdir()
    assert read_head(tmp_path / ".git") is None


def test_the_rootdir_may_be_below_the_work_tree(tmp_path: Path) -> None:
    """The rootdir of a run may be a subdirectory of the checkout: its parents are searched."""
    git = tmp_path / ".git"
    git.mkdir()
    (git / "HEAD").write_text(COMMIT + "\n")
    rootdir = tmp_path / "a" / "b"
    rootdir.mkdir(parents=True)
    assert git_commit(rootdir) == COMMIT


@given(commit=st.text(alphabet="0123456789abcdef", min_size=40, max_size=40))
def test_a_detached_head_reads_back_whatever_commit_it_holds(commit: str) -> None:
    """Property: a detached HEAD holding any commit id reads back as that id."""
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        git = Path(directory) / ".git"
        git.mkdir()
        (git / "HEAD").write_text(commit + "\n")
        assert git_commit(Path(directory)) == commit
        (git / "HEAD").write_text("ref: refs/heads/main\n")
        (git / "packed-refs").write_text(f"{commit} refs/heads/main\n")
        assert git_commit(Path(directory)) == commit
