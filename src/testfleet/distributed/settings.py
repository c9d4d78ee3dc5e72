"""A node's settings from its options and its CI's variables: pure, no I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping

#: Variables that name one attempt of one CI pipeline run, the same in all its
#: jobs, in the order they are looked for.  A retried run is a new fleet run:
#: GitHub's attempt number is part of the id.
RUN_ID_VARIABLES = (
    ("TESTFLEET_RUN_ID",),
    ("GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT"),
    ("CI_PIPELINE_ID",),  # GitLab
    ("BUILDKITE_BUILD_ID",),
    ("CIRCLE_WORKFLOW_ID",),
)

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,199}$")
_SCHEMES = ("redis://", "rediss://", "unix://")
#: Ids whose keys testfleet uses for other things: ``testfleet:persist:cache:``.
_RESERVED = frozenset({"persist"})


class FleetSettingsError(ValueError):
    """Options that do not make a node: a usage error, ``str()`` says what to pass."""


def ci_run_id(environ: Mapping[str, str]) -> str | None:
    """The id of the CI run this node belongs to, from its CI's variables."""
    for names in RUN_ID_VARIABLES:
        if environ.get(names[0]):
            return "-".join(environ[name] for name in names if environ.get(name))
    return None


def run_id(value: str | None, environ: Mapping[str, str]) -> str:
    """The run id a node uses: ``--run-id``, else its CI's; checked for use in key names."""
    chosen = value if value is not None else ci_run_id(environ)
    if chosen is None:
        raise FleetSettingsError(
            "--fleet needs --run-id ID, the same on every node of the run (in CI it defaults "
            "to the CI's run id: GITHUB_RUN_ID, CI_PIPELINE_ID, BUILDKITE_BUILD_ID, "
            "CIRCLE_WORKFLOW_ID or TESTFLEET_RUN_ID; none is set)"
        )
    if chosen in _RESERVED:
        raise FleetSettingsError(
            f"--run-id: {chosen!r} names keys testfleet keeps for itself (the persistent "
            "shared cache); choose another id"
        )
    if not _RUN_ID.match(chosen):
        raise FleetSettingsError(
            f"--run-id: expected up to 200 letters, digits and ._:@+- (starting with a letter "
            f"or digit), got {chosen!r}"
        )
    return chosen


def check_url(url: str) -> str:
    """``url`` if it names a Redis server; an error naming the forms allowed otherwise."""
    if not url.startswith(_SCHEMES):
        shown = url.partition("://")[0] + "://..." if "://" in url else repr(url)
        raise FleetSettingsError(
            f"--fleet: expected redis://HOST[:PORT][/DB], rediss://... or unix://PATH, got {shown}"
        )
    return url


def node_name(value: str | None, host: str, pid: int) -> str:
    """This node's name in the run: ``--fleet-node``, else the host and process id."""
    name = value if value is not None else f"{host}-{pid}"
    if not name or any(c.isspace() for c in name) or len(name) > 200:
        raise FleetSettingsError(
            f"--fleet-node: expected a name without spaces (up to 200 characters), got {name!r}"
        )
    return name
