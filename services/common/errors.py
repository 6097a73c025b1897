"""Errors the domain and the stores raise, each with a category the API edge maps to a
gRPC status or an HTTP code. Messages are written for the person who has to act on them."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a caller can act on."""


class InvalidArgument(DomainError):
    """The request itself is malformed: fix the input."""


class NotFound(DomainError):
    """The thing named does not exist."""


class AlreadyExists(DomainError):
    """The thing to be created exists already."""


class FailedPrecondition(DomainError):
    """The request is well-formed but the current state does not allow it."""


class Conflict(DomainError):
    """Someone else changed the state first: reload and decide again."""


class Unavailable(DomainError):
    """A dependency cannot be reached right now: retry later with the same request id."""


class ResourceExhausted(DomainError):
    """A limit on concurrent work is reached: wait for some to finish, then retry."""


class Unauthenticated(DomainError):
    """No credentials, or credentials nobody holds."""


class PermissionDenied(DomainError):
    """Known caller, but not allowed to do this."""
