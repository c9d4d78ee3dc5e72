"""Acceptance tests of the ``testfleet`` command."""

from __future__ import annotations

import json
import sys

import pytest

from testfleet import __version__
from testfleet.plugins.paths import VALUE_OPTIONS, join_values, value_options


def run_cli(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.run(sys.executable, "-m", "testfleet.cli", *args, timeout=60)


def test_version(pytester: pytest.Pytester) -> None:
    """``testfleet --version`` prints the version and exits 0."""
    result = run_cli(pytester, "--version")
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"testfleet {__version__}"])


def test_run_uses_workers_and_returns_pytests_exit_code(pytester: pytest.Pytester) -> None:
    """``testfleet run`` runs the suite on workers and exits with pytest's code."""
    pytester.makepyfile(
        test_one="def test_ok(worker_id): assert worker_id.startswith('gw')\n"
        "def test_other(worker_id): assert worker_id.startswith('gw')\n"
        "def test_bad(): assert False\n"
    )
    result = run_cli(pytester, "run", "--", "-p", "no:cacheprovider", "--workers", "2")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["testfleet: 2 workers", "*1 failed, 2 passed*"])


def test_arguments_after_double_dash_reach_pytest(pytester: pytest.Pytester) -> None:
    """Paths come before ``--``; pytest options after it (here ``-k``) are pytest's."""
    pytester.makepyfile(test_a="def test_x(): pass\ndef test_y(): pass\n")
    result = run_cli(pytester, "run", "test_a.py", "--", "-p", "no:cacheprovider", "-k", "x")
    assert result.ret == 0
    result.assert_outcomes(passed=1, deselected=1)


def test_a_missing_path_is_pytests_usage_error(pytester: pytest.Pytester) -> None:
    """A path that does not exist gives pytest's usage error (exit 4), not a traceback."""
    result = run_cli(pytester, "run", "no_such_dir")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["ERROR: file or directory not found: no_such_dir"])
    assert "Traceback" not in result.stderr.str()


def test_no_command_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """Without a command, testfleet prints its usage and exits 2, as argparse tools do."""
    result = run_cli(pytester)
    assert result.ret == 2
    result.stderr.fnmatch_lines(["usage: testfleet*"])


CATEGORIZED = {
    "test_pages_unit": "def test_a():\n    pass\ndef test_b():\n    pass\n",
    "test_db_integration": "def test_c():\n    pass\n",
    "test_misc": "def test_d():\n    pass\n",
}


def test_discover_lists_categories_with_counts(pytester: pytest.Pytester) -> None:
    """``testfleet discover --json`` counts the tests of each category without running them."""
    pytester.makepyfile(**CATEGORIZED)
    result = run_cli(pytester, "discover", "--json")
    assert result.ret == 0
    data = json.loads(result.stdout.str())
    counts = {row["name"]: row["tests"] for row in data["categories"]}
    assert counts == {"unit": 2, "integration": 1, "functional": 0, "other": 1}
    assert data["total"]["tests"] == 4
    assert not (pytester.path / ".testfleet").exists()


def test_discover_table(pytester: pytest.Pytester) -> None:
    """The table names each category with its priority, test count and patterns."""
    pytester.makepyfile(**CATEGORIZED)
    result = run_cli(pytester, "discover")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "category*priority*parallel*tests*estimate*patterns/markers",
            "unit*1*yes*2*test_*_unit.py",
            "total*4*",
        ]
    )


def test_discover_reports_collection_errors_like_pytest(pytester: pytest.Pytester) -> None:
    """A module that does not import: pytest's error output and its exit code 2."""
    pytester.makepyfile(test_broken="import no_such_module_anywhere\n")
    result = run_cli(pytester, "discover")
    assert result.ret == 2
    result.stderr.fnmatch_lines(["*No module named 'no_such_module_anywhere'*"])


def test_plan_predicts_from_the_recorded_run(pytester: pytest.Pytester) -> None:
    """After a recorded run, ``plan`` prints a prediction per worker count and a verdict."""
    pytester.makepyfile(
        test_slow="import time\n"
        + "".join(f"def test_{n}():\n    time.sleep(0.1)\n" for n in range(8))
    )
    recorded = pytester.runpytest_subprocess("--workers", "2", "-p", "no:cacheprovider")
    assert recorded.ret == 0
    result = run_cli(pytester, "plan", "--workers", "1,2,4")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "workers*predicted*lower bound*",
            "*1*0.8s*",
            "*2*0.4s*",
            "*4*0.2s*",
            "8 tests; run phase predicted from recorded durations.",
        ]
    )


RESOURCED = {
    "test_mail": "import pytest\npytestmark = pytest.mark.resource('smtp')\n"
    "def test_a():\n    pass\ndef test_b():\n    pass\n",
    "test_browser": "import pytest\n@pytest.mark.resource('browser', 'smtp')\n"
    "def test_c():\n    pass\ndef test_d():\n    pass\n",
}


def test_discover_lists_resources_with_counts(pytester: pytest.Pytester) -> None:
    """``discover`` lists each resource with its capacity, test count and estimate."""
    pytester.makepyprojecttoml("[tool.testfleet.resources]\nbrowser = 2\nidle = 3\n")
    pytester.makepyfile(**RESOURCED)
    result = run_cli(pytester, "discover")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "resource*capacity*tests*estimate*per slot",
            "browser*2*1*",
            "idle*3*0*",
            "smtp*1*3*",
        ]
    )
    data = json.loads(run_cli(pytester, "discover", "--json").stdout.str())
    rows = {row["name"]: (row["capacity"], row["tests"]) for row in data["resources"]}
    assert rows == {"browser": (2, 1), "idle": (3, 0), "smtp": (1, 3)}


def test_discover_counts_a_non_parallel_category_as_a_resource(
    pytester: pytest.Pytester,
) -> None:
    """A parallel = false category shows as the resource category:NAME of capacity 1."""
    pytester.makepyprojecttoml(
        '[tool.testfleet.categories.db]\npatterns = ["test_db.py"]\nparallel = false\n'
    )
    pytester.makepyfile(test_db="def test_a():\n    pass\ndef test_b():\n    pass\n")
    data = json.loads(run_cli(pytester, "discover", "--json").stdout.str())
    assert [(r["name"], r["capacity"], r["tests"]) for r in data["resources"]] == [
        ("category:db", 1, 2)
    ]


def test_discover_names_a_bad_capacity(pytester: pytest.Pytester) -> None:
    """A bad capacity makes ``discover`` exit 4 with the key and the file named."""
    pytester.makepyprojecttoml("[tool.testfleet.resources]\nsmtp = 0\n")
    pytester.makepyfile(**RESOURCED)
    result = run_cli(pytester, "discover")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*pyproject.toml: tool.testfleet.resources.smtp: capacity*"])


def test_plan_counts_a_resource_in_the_prediction_and_the_bound(
    pytester: pytest.Pytester,
) -> None:
    """Tests that all hold one resource cannot go faster with more workers."""
    pytester.makepyfile(
        test_mail="import time, pytest\npytestmark = pytest.mark.resource('smtp')\n"
        + "".join(f"def test_{n}():\n    time.sleep(0.1)\n" for n in range(4))
    )
    recorded = pytester.runpytest_subprocess("--workers", "2", "-p", "no:cacheprovider")
    assert recorded.ret == 0
    result = run_cli(pytester, "plan", "--workers", "1,2")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["workers*predicted*lower bound*", "*1*0.4s*0.4s*", "*2*0.4s*0.4s*"]
    )


@pytest.mark.parametrize("counts", ["0,2", "two", ","])
def test_plan_rejects_bad_worker_counts(pytester: pytest.Pytester, counts: str) -> None:
    """Worker counts must be whole numbers of 1 or more (argparse's usage error, exit 2)."""
    result = run_cli(pytester, "plan", "--workers", counts)
    assert result.ret == 2
    result.stderr.fnmatch_lines(["*--workers*"])


def test_history_merge(pytester: pytest.Pytester) -> None:
    """``history merge`` joins the histories of two shards into one file."""
    pytester.makepyfile(test_a="def test_x():\n    pass\ndef test_y():\n    pass\n")
    for shard in ("1", "2"):
        done = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--shard", f"{shard}/2", "--history", f"shard{shard}.db"
        )
        assert done.ret == 0
    result = run_cli(pytester, "history", "merge", "shard1.db", "shard2.db", "-o", "all.db")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["merged 2 runs from 2 histories into all.db"])
    missing = run_cli(pytester, "history", "merge", "nope.db", "-o", "all.db")
    assert missing.ret == 1
    missing.stderr.fnmatch_lines(["*nope.db does not exist*"])


class _ParserCatcher:
    """A plugin that keeps the parser pytest hands to ``pytest_addoption``."""

    parser: pytest.Parser

    def pytest_addoption(self, parser: pytest.Parser) -> None:
        self.parser = parser


def test_the_command_joins_every_plugin_option_that_takes_a_value(
    pytester: pytest.Pytester,
) -> None:
    """The options the command joins to their values are exactly the plugin's valued ones."""
    catcher = _ParserCatcher()
    pytester.plugins.append(catcher)
    pytester.parseconfig()

    declared = value_options(catcher.parser.getgroup("testfleet"))

    assert declared == VALUE_OPTIONS
    assert "--no-history" not in declared


@pytest.mark.parametrize(
    ("given", "passed"),
    [
        (["--history", "/tmp/h.db"], ["--history=/tmp/h.db"]),
        (["-q", "--shard", "1/2", "-k", "x"], ["-q", "--shard=1/2", "-k", "x"]),
        (["--history=/tmp/h.db", "--workers", "2"], ["--history=/tmp/h.db", "--workers=2"]),
        (["--history", "-x"], ["--history", "-x"]),
        (["--history"], ["--history"]),
        (["--", "--history", "h.db"], ["--", "--history", "h.db"]),
        (["--no-history", "tests"], ["--no-history", "tests"]),
    ],
)
def test_join_values(given: list[str], passed: list[str]) -> None:
    """A valued testfleet option written apart from its value is joined with '=' up to '--'."""
    assert join_values(given) == passed
