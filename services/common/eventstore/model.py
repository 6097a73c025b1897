"""What goes into the event store and what comes out, and the errors it raises."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from services.common.errors import AlreadyExists, Conflict, NotFound


def now_us() -> int:
    """Now, in integer microseconds since the Unix epoch (UTC): the store's time unit."""
    return time.time_ns() // 1000


def new_event_id() -> str:
    """128 random bits in hex: unique without coordination, and cheap on the append path
    (a fifth of the cost of ``str(uuid4())``)."""
    return os.urandom(16).hex()


class NewEvent(NamedTuple):
    """An event decided by a command, not yet stored. ``event_id`` and ``occurred_at``
    left empty are assigned when the event is recorded (a fresh id; the record time)."""

    event_type: str
    payload: bytes
    correlation_id: str = ""
    causation_id: str = ""
    actor: str = ""
    occurred_at: int = 0
    event_id: str = ""


class RecordedEvent(NamedTuple):
    """An event as stored; field order matches the table's columns."""

    position: int
    stream_id: str
    stream_version: int
    event_id: str
    event_type: str
    occurred_at: int
    recorded_at: int
    correlation_id: str
    causation_id: str
    actor: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class StreamAppend:
    stream_id: str
    expected_version: int  # the stream's current version; 0 for a new stream
    events: Sequence[NewEvent]


@dataclass(frozen=True, slots=True)
class AppendResult:
    events: tuple[RecordedEvent, ...]
    replayed: bool  # True when the request id had been seen: nothing was written


@dataclass(frozen=True, slots=True)
class CommandKey:
    """The idempotency key of a command: who asked (``scope``), under which id, for what.

    - ``scope`` keeps request ids apart: ``client:<actor>`` for a client's command (so no
      caller can take another's id, least of all one the system derives for itself), and
      ``system`` for what a service decides on its own (a time-out, an alert for a
      dispatch). No client can write in the ``system`` scope.
    - ``operation`` names the command (``ReserveUnit``, ``TimeOutAlert``): an id reused for
      another operation is refused, never answered with the first one's result.
    - ``fingerprint`` identifies the request's content (see ``commands.fingerprint``).
    """

    scope: str
    request_id: str
    operation: str
    fingerprint: str = ""


SYSTEM_SCOPE = "system"


@dataclass(frozen=True, slots=True)
class SeenRequest:
    operation: str
    fingerprint: str
    first_position: int
    last_position: int


class ConcurrencyConflict(Conflict):
    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, not the expected {expected}: "
            "it changed since it was read; reload it and decide again"
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class StreamNotFound(NotFound):
    def __init__(self, stream_id: str) -> None:
        super().__init__(f"no stream {stream_id!r} in this store")
        self.stream_id = stream_id


class RequestIdReused(AlreadyExists):
    def __init__(self, key: CommandKey, first_operation: str) -> None:
        what = (
            f"a {first_operation} with other content"
            if first_operation == key.operation
            else f"{first_operation}, not {key.operation}"
        )
        super().__init__(
            f"request id {key.request_id!r} was already used for {what}; use a new request "
            "id for a new command, and the same one only to retry the same command"
        )
        self.request_id = key.request_id
        self.first_operation = first_operation


def recorded_events(
    appends: Sequence[StreamAppend], last_position: int, versions: dict[str, int]
) -> list[RecordedEvent]:
    """The events of an append as the store records them, numbered from
    ``last_position + 1``. ``ConcurrencyConflict`` when a stream's actual version
    (``versions``; absent: a new stream) is not the one the append expected."""
    recorded_at = now_us()
    rows: list[RecordedEvent] = []
    position = last_position
    for append in appends:
        actual = versions.get(append.stream_id, 0)
        if actual != append.expected_version:
            raise ConcurrencyConflict(append.stream_id, append.expected_version, actual)
        for offset, event in enumerate(append.events, start=1):
            position += 1
            rows.append(
                RecordedEvent(
                    position,
                    append.stream_id,
                    actual + offset,
                    event.event_id or new_event_id(),
                    event.event_type,
                    event.occurred_at or recorded_at,
                    recorded_at,
                    event.correlation_id,
                    event.causation_id,
                    event.actor,
                    event.payload,
                )
            )
    return rows


def check_replay(seen: SeenRequest, key: CommandKey) -> None:
    """A request seen before may only be the same command again."""
    if seen.operation != key.operation or seen.fingerprint != key.fingerprint:
        raise RequestIdReused(key, seen.operation)


def request_row(key: CommandKey, rows: Sequence[RecordedEvent]) -> tuple[object, ...]:
    """The ``command_requests`` row of a command that wrote ``rows`` (in the table's column
    order: scope, request id, operation, fingerprint, first and last position, when)."""
    return (
        key.scope,
        key.request_id,
        key.operation,
        key.fingerprint,
        rows[0].position,
        rows[-1].position,
        rows[0].recorded_at,
    )
