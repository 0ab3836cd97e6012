"""Typed domain errors.

Every error carries a stable ``code`` naming the rule that was broken and the ``params`` a
message needs. The UI translates ``code`` with its catalogue; ``str(error)`` gives an English
fallback for logs and the command line.
"""

from __future__ import annotations

from typing import Any


class ExpeditoError(Exception):
    """Base of all domain errors: ``code`` names the rule, ``params`` fill its message."""

    def __init__(self, code: str, message: str = "", field: str | None = None, **params: Any):
        self.code = code
        self.field = field
        self.params: dict[str, Any] = params
        self.message = message or code
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, field={self.field!r}, params={self.params!r})"


class ValidationError(ExpeditoError):
    """Input that breaks a rule of the portal (user name, KBO number, key, certificate...)."""


class PermissionDenied(ExpeditoError):
    """The acting person may not do this in this qualité."""


class NotFound(ExpeditoError):
    """The thing asked for does not exist (or is not visible to the actor)."""


class Conflict(ExpeditoError):
    """The change clashes with the stored state (duplicate, already deleted, ...)."""


class AuthenticationFailed(ExpeditoError):
    """Login refused; never says whether the login or the password was wrong."""


class ValidationErrors(ValidationError):
    """Several validation errors at once (a whole form); ``errors`` holds each one."""

    def __init__(self, errors: list[ValidationError]):
        self.errors = errors
        first = errors[0]
        super().__init__(first.code, first.message, first.field, **first.params)
