"""The publish workflow: which state changes are allowed."""

from __future__ import annotations

import enum

from webbly.errors import InvalidTransition
from webbly.models import PublishState


class Action(str, enum.Enum):
    """A request to move a page to another publish state."""

    PUBLISH = "publish"
    UNPUBLISH = "unpublish"
    ARCHIVE = "archive"
    RESTORE = "restore"


_TRANSITIONS: dict[tuple[PublishState, Action], PublishState] = {
    (PublishState.DRAFT, Action.PUBLISH): PublishState.PUBLISHED,
    (PublishState.DRAFT, Action.ARCHIVE): PublishState.ARCHIVED,
    (PublishState.PUBLISHED, Action.UNPUBLISH): PublishState.DRAFT,
    (PublishState.PUBLISHED, Action.ARCHIVE): PublishState.ARCHIVED,
    (PublishState.ARCHIVED, Action.RESTORE): PublishState.DRAFT,
}


def next_state(current: PublishState, action: Action) -> PublishState:
    """Return the state ``action`` leads to from ``current``.

    Raises :class:`InvalidTransition` when the workflow does not allow it.
    """
    try:
        return _TRANSITIONS[(current, action)]
    except KeyError:
        raise InvalidTransition(
            f"cannot {action.value} a page that is {current.value}"
        ) from None


def allowed_actions(current: PublishState) -> list[Action]:
    """Actions available from ``current``, in a stable order."""
    return [action for action in Action if (current, action) in _TRANSITIONS]


def is_public(state: PublishState) -> bool:
    """Whether pages in ``state`` are shown to anonymous visitors."""
    return state is PublishState.PUBLISHED
