"""What names the split the shards of one CI run share (``split_id``)."""

from __future__ import annotations

import pytest

from testfleet.scheduling.shards import split_id

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"TESTFLEET_SPLIT_ID": "nightly-7", "GITHUB_RUN_ID": "1"},
            "TESTFLEET_SPLIT_ID=nightly-7",
        ),
        (
            {"GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "2"},
            "GITHUB_REPOSITORY=o/r GITHUB_RUN_ID=42",
        ),
        ({"CI_PROJECT_ID": "9", "CI_PIPELINE_ID": "77"}, "CI_PROJECT_ID=9 CI_PIPELINE_ID=77"),
        ({"CI_PIPELINE_ID": "77"}, "CI_PIPELINE_ID=77"),
        ({"BUILDKITE_BUILD_ID": "b-1"}, "BUILDKITE_BUILD_ID=b-1"),
        ({"CIRCLE_WORKFLOW_ID": "w-1"}, "CIRCLE_WORKFLOW_ID=w-1"),
        ({"BUILD_BUILDID": "5"}, "BUILD_BUILDID=5"),
        ({"BUILD_TAG": "jenkins-app-12"}, "BUILD_TAG=jenkins-app-12"),
    ],
)
def test_a_ci_run_names_the_split(environ: dict[str, str], expected: str) -> None:
    """The first CI variable that names a run names the split, whatever the commit."""
    assert split_id(environ, COMMIT) == expected


def test_outside_ci_the_commit_names_the_split() -> None:
    """Without a CI run, shards run on one commit share a split; empty variables do not count."""
    assert split_id({"GITHUB_RUN_ID": "", "TESTFLEET_SPLIT_ID": ""}, COMMIT) == f"commit {COMMIT}"


def test_without_ci_or_git_one_split_is_shared() -> None:
    """Without a CI run or a commit, every shard shares one split."""
    assert split_id({}, None) == split_id({"HOME": "/root"}, None)
