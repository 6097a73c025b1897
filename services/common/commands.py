"""What every command handler shares: request ids and their fingerprints, and the
load-decide-append loop."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TypeVar

from google.protobuf.message import Message

from services.common.aggregate import Aggregate
from services.common.errors import InvalidArgument
from services.common.eventstore import AppendResult, ConcurrencyConflict, EventStore, NewEvent

A = TypeVar("A", bound=Aggregate)
RETRIES_ON_CONFLICT = 5


def fingerprint(request: Message) -> str:
    """Identifies a command's content, so a reused request id with other content is caught."""
    return hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()


def require_request_id(request_id: str) -> str:
    request_id = request_id.strip()
    if not request_id:
        raise InvalidArgument(
            "request_id is required: give each command a unique id (a UUID), and reuse it "
            "only to retry that same command"
        )
    if len(request_id) > 200:
        raise InvalidArgument("request_id is longer than 200 characters")
    return request_id


def append_decision(
    store: EventStore,
    stream_id: str,
    load: Callable[[], A],
    decide: Callable[[A], list[Message]],
    stamp: Callable[[A, list[Message]], Sequence[NewEvent]],
    ids: tuple[str, str],
    retries: int = RETRIES_ON_CONFLICT,
) -> AppendResult | None:
    """Load the aggregate, decide, append at the version decided on; on a concurrent
    change, decide again on the fresh state (the decision then says precisely what is in
    the way). ``ids`` is the command's request id and fingerprint. None when the decision
    is to do nothing."""
    request_id, request_print = ids
    for attempt in range(retries):
        aggregate = load()
        events = decide(aggregate)
        if not events:
            return None
        try:
            return store.append(
                stream_id, aggregate.version, stamp(aggregate, events),
                request_id=request_id, fingerprint=request_print,
            )  # fmt: skip
        except ConcurrencyConflict:
            if attempt == retries - 1:
                raise
    raise AssertionError("unreachable")
