"""The event store: see ``store.py``. Backends: ``sqlite.py``, ``postgres.py``."""

from services.common.eventstore.model import (
    SYSTEM_SCOPE,
    AppendResult,
    CommandKey,
    ConcurrencyConflict,
    NewEvent,
    RecordedEvent,
    RequestIdReused,
    StreamAppend,
    StreamNotFound,
    now_us,
)
from services.common.eventstore.store import DEFAULT_MAX_PAYLOAD_BYTES, EventStore

__all__ = [
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "SYSTEM_SCOPE",
    "AppendResult",
    "CommandKey",
    "ConcurrencyConflict",
    "EventStore",
    "NewEvent",
    "RecordedEvent",
    "RequestIdReused",
    "StreamAppend",
    "StreamNotFound",
    "now_us",
]
