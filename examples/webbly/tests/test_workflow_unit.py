"""The publish workflow state machine."""

from __future__ import annotations

import pytest

from webbly.errors import InvalidTransition
from webbly.models import PublishState
from webbly.workflow import Action, allowed_actions, is_public, next_state

DRAFT, PUBLISHED, ARCHIVED = PublishState.DRAFT, PublishState.PUBLISHED, PublishState.ARCHIVED


@pytest.mark.parametrize(
    ("current", "action", "expected"),
    [
        (DRAFT, Action.PUBLISH, PUBLISHED),
        (DRAFT, Action.ARCHIVE, ARCHIVED),
        (PUBLISHED, Action.UNPUBLISH, DRAFT),
        (PUBLISHED, Action.ARCHIVE, ARCHIVED),
        (ARCHIVED, Action.RESTORE, DRAFT),
    ],
)
def test_allowed_transitions(current: PublishState, action: Action,
                             expected: PublishState) -> None:
    assert next_state(current, action) is expected


@pytest.mark.parametrize(
    ("current", "action"),
    [
        (DRAFT, Action.UNPUBLISH),
        (DRAFT, Action.RESTORE),
        (PUBLISHED, Action.PUBLISH),
        (PUBLISHED, Action.RESTORE),
        (ARCHIVED, Action.PUBLISH),
        (ARCHIVED, Action.UNPUBLISH),
        (ARCHIVED, Action.ARCHIVE),
    ],
)
def test_forbidden_transitions(current: PublishState, action: Action) -> None:
    with pytest.raises(InvalidTransition, match=f"cannot {action.value}"):
        next_state(current, action)


@pytest.mark.parametrize(
    ("state", "actions"),
    [
        (DRAFT, [Action.PUBLISH, Action.ARCHIVE]),
        (PUBLISHED, [Action.UNPUBLISH, Action.ARCHIVE]),
        (ARCHIVED, [Action.RESTORE]),
    ],
)
def test_allowed_actions(state: PublishState, actions: list[Action]) -> None:
    assert allowed_actions(state) == actions


def test_every_allowed_action_succeeds() -> None:
    for state in PublishState:
        for action in allowed_actions(state):
            assert next_state(state, action) in PublishState


def test_only_published_is_public() -> None:
    assert [state for state in PublishState if is_public(state)] == [PUBLISHED]
