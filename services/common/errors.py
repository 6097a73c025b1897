"""Errors the domain and the stores raise. Messages are written for the person who has to
act on them.

Each class carries its status: ``status`` is the canonical status name (google.rpc.Code,
which gRPC's status codes are) and ``http_status`` the HTTP code the edge answers with.
These attributes are the one table every edge maps through, both ways:
``status_of`` (an error to its status), ``error_for`` (a peer's status back to the
domain's error) and ``http_status_for`` (a gRPC status to HTTP)."""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """Base of every error a caller can act on."""

    status: ClassVar[str] = "UNKNOWN"
    http_status: ClassVar[int] = 502


class InvalidArgument(DomainError):
    """The request itself is malformed: fix the input."""

    status = "INVALID_ARGUMENT"
    http_status = 400


class NotFound(DomainError):
    """The thing named does not exist."""

    status = "NOT_FOUND"
    http_status = 404


class AlreadyExists(DomainError):
    """The thing to be created exists already."""

    status = "ALREADY_EXISTS"
    http_status = 409


class FailedPrecondition(DomainError):
    """The request is well-formed but the current state does not allow it."""

    status = "FAILED_PRECONDITION"
    http_status = 409


class Conflict(DomainError):
    """Someone else changed the state first: reload and decide again."""

    status = "ABORTED"
    http_status = 409


class Unavailable(DomainError):
    """A dependency cannot be reached right now: retry later with the same request id."""

    status = "UNAVAILABLE"
    http_status = 503


class ResourceExhausted(DomainError):
    """A limit on concurrent work is reached: wait for some to finish, then retry."""

    status = "RESOURCE_EXHAUSTED"
    http_status = 429


class Unauthenticated(DomainError):
    """No credentials, or credentials nobody holds."""

    status = "UNAUTHENTICATED"
    http_status = 401


class PermissionDenied(DomainError):
    """Known caller, but not allowed to do this."""

    status = "PERMISSION_DENIED"
    http_status = 403


class DeadlineExceeded(Unavailable):
    """A dependency did not answer in time: whether it acted is unknown, so retry with
    the same request id."""

    status = "DEADLINE_EXCEEDED"
    http_status = 504


def _kinds(base: type[DomainError] = DomainError) -> list[type[DomainError]]:
    found: list[type[DomainError]] = []
    for kind in base.__subclasses__():
        found += [kind, *_kinds(kind)]
    return found


_BY_STATUS: dict[str, type[DomainError]] = {kind.status: kind for kind in _kinds()}


def error_for(status: str) -> type[DomainError] | None:
    """The error class for a canonical status name ("NOT_FOUND"), or None for a status
    no domain error stands for (INTERNAL, UNKNOWN, CANCELLED ...)."""
    return _BY_STATUS.get(status)


def http_status_for(status: str) -> int:
    """The HTTP code for a canonical status name; 502 for one no domain error stands for
    (the service behind the edge failed)."""
    kind = _BY_STATUS.get(status)
    return kind.http_status if kind is not None else DomainError.http_status
