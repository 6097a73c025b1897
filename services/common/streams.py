"""Loading the typed payloads of events back from a store; the namespace of imported
history's streams."""

from __future__ import annotations

from google.protobuf.message import Message

from emergency.v1 import events_pb2
from services.common.eventstore import RecordedEvent

_TYPES: dict[str, type[Message]] = {
    f.message_type.name: getattr(events_pb2, f.message_type.name)
    for f in events_pb2.EventEnvelope.DESCRIPTOR.oneofs_by_name["payload"].fields
    if f.message_type is not None
}


def recorded_payload(event: RecordedEvent) -> Message:
    """The stored event's payload as its protobuf message."""
    message = _TYPES[event.event_type]()
    message.ParseFromString(event.payload)
    return message


# Imported historical incidents live in streams of their own namespace (never
# "incident-"): record only, nobody acts on them (see services/dispatch/history.py).
HISTORY_PREFIX = "history-"


def is_history(stream_id: str) -> bool:
    """Whether a stream holds an imported historical incident (record only: no alert,
    no request filling, not on the live board)."""
    return stream_id.startswith(HISTORY_PREFIX)
