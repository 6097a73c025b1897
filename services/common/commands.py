"""What every command handler shares: idempotency keys (a client's request id in the
caller's own scope, or an id the system derives in its own), and the load-decide-append
loop."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import astuple, is_dataclass
from typing import Protocol, TypeVar

from google.protobuf.message import Message

from services.common.aggregate import Aggregate
from services.common.errors import InvalidArgument
from services.common.eventstore import (
    SYSTEM_SCOPE,
    AppendResult,
    CommandKey,
    ConcurrencyConflict,
    EventStore,
    NewEvent,
)
from services.common.limits import REQUEST_ID

A = TypeVar("A", bound=Aggregate)
RETRIES_ON_CONFLICT = 5
REQUEST_ID_CHARS = REQUEST_ID.max_chars


class Command(Protocol):
    """A client's command: a dataclass with the client's ``request_id`` among its fields
    (or, until every service takes dataclasses, a protobuf request)."""

    @property
    def request_id(self) -> str: ...


def fingerprint(command: object) -> str:
    """Identifies a command's content, so a reused request id with other content is
    caught: the hash of the dataclass's fields (or of a message's bytes)."""
    if isinstance(command, Message):
        return hashlib.sha256(command.SerializeToString(deterministic=True)).hexdigest()
    if is_dataclass(command) and not isinstance(command, type):
        return hashlib.sha256(repr(astuple(command)).encode()).hexdigest()
    raise TypeError(f"a command is a dataclass or a protobuf message, not {type(command)}")


def require_request_id(request_id: str) -> str:
    """The client's request id; its alphabet and length are checked with every other
    field of the request (``limits``)."""
    request_id = request_id.strip()
    if not request_id:
        raise InvalidArgument(
            "request_id is required: give each command a unique id (a UUID), and reuse it "
            "only to retry that same command"
        )
    return request_id


def client_key(request: Command | Message, operation: str, actor: str) -> CommandKey:
    """The idempotency key of a client's command: its ``request_id`` in the caller's own
    scope (``actor``, e.g. ``TEAM:VOL-03:duty-phone``), for ``operation`` (the RPC's name),
    with the request's fingerprint."""
    request_id = require_request_id(request.request_id)  # type: ignore[union-attr]  # a Message here has one
    return CommandKey(f"client:{actor}", request_id, operation, fingerprint(request))


def derived_request_id(*parts: str) -> str:
    """A request id made from others (``fill:<incident>:<request>:<unit>``, ``<id>:reserve``)
    for a call to another service: readable when it fits the request-id limit, else the
    first part and a digest of all; the same parts always give the same id."""
    joined = ":".join(parts)
    if len(joined) <= REQUEST_ID_CHARS:
        return joined
    return f"{parts[0][:40]}:{hashlib.sha256(joined.encode()).hexdigest()[:64]}"


def system_key(request_id: str, operation: str) -> CommandKey:
    """The idempotency key of something a service does on its own (``timeout:<alert>``):
    in the system's scope, which no client can write in."""
    return CommandKey(SYSTEM_SCOPE, request_id, operation)


def append_decision(
    store: EventStore,
    stream_id: str,
    load: Callable[[], A],
    decide: Callable[[A], list[Message]],
    stamp: Callable[[A, list[Message]], Sequence[NewEvent]],
    key: CommandKey,
    retries: int = RETRIES_ON_CONFLICT,
) -> AppendResult | None:
    """Load the aggregate, decide, append at the version decided on; on a concurrent
    change, decide again on the fresh state (the decision then says precisely what is in
    the way). ``key`` is the command's idempotency key. None when the decision is to do
    nothing."""
    for attempt in range(retries):
        aggregate = load()
        events = decide(aggregate)
        if not events:
            return None
        try:
            return store.append(stream_id, aggregate.version, stamp(aggregate, events), key)
        except ConcurrencyConflict:
            if attempt == retries - 1:
                raise
    raise AssertionError("unreachable")
