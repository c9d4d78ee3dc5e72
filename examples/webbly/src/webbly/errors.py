"""Exceptions raised by the Webbly library."""

from __future__ import annotations

from collections.abc import Mapping


class WebblyError(Exception):
    """Base class of every error Webbly raises on purpose."""


class ConfigError(WebblyError):
    """A setting or database URL cannot be used."""


class NotFound(WebblyError):
    """The requested object does not exist."""


class PermissionDenied(WebblyError):
    """The acting user's role does not allow the operation."""


class Conflict(WebblyError):
    """The operation clashes with existing data (for example a taken slug)."""


class InvalidTransition(WebblyError):
    """A page cannot move from its current publish state to the requested one."""


class ValidationFailed(WebblyError):
    """Input did not validate; ``errors`` maps field names to messages."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors: dict[str, str] = dict(errors)
        summary = "; ".join(f"{field}: {message}" for field, message in sorted(self.errors.items()))
        super().__init__(summary or "invalid input")
