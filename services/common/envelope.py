"""Typed protobuf events in and out of the store's rows and Kafka's messages.

The store keeps the typed payload's bytes and the envelope's fields in columns; on the
wire a message's value is one serialized :class:`EventEnvelope`, with the payload in the
envelope's ``payload`` oneof, so any consumer decodes it with the project's protos alone.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError, Message
from google.protobuf.timestamp_pb2 import Timestamp

from emergency.v1 import events_pb2
from services.common.eventstore import NewEvent, RecordedEvent, now_us
from services.common.eventstore.model import new_event_id

EventEnvelope = events_pb2.EventEnvelope
Actor = events_pb2.Actor

# Payload message name -> its field in the envelope's oneof, read from the descriptor so a
# new event type needs nothing here but its line in events.proto.
_PAYLOAD_FIELDS: dict[str, str] = {
    f.message_type.name: f.name
    for f in EventEnvelope.DESCRIPTOR.oneofs_by_name["payload"].fields
    if f.message_type is not None
}


class UndecodableEvent(ValueError):
    """Bytes that are not an event this version of the protos understands."""


def actor_ref(kind: Actor.Kind.ValueType, actor_id: str) -> str:
    """An actor as the store keeps it: ``"CALL_TAKER:ct-17"``."""
    return f"{Actor.Kind.Name(kind)}:{actor_id}"


def parse_actor(ref: str) -> Actor:
    kind, _, actor_id = ref.partition(":")
    try:
        return Actor(kind=Actor.Kind.Value(kind), id=actor_id)
    except ValueError:
        return Actor(kind=Actor.KIND_UNSPECIFIED, id=ref)


def new_event(
    payload: Message, *, correlation_id: str = "", causation_id: str = "", actor: str = ""
) -> NewEvent:
    name = payload.DESCRIPTOR.name
    if name not in _PAYLOAD_FIELDS:
        raise TypeError(f"{name} is not an event: add it to EventEnvelope.payload in events.proto")
    return NewEvent(
        event_type=name,
        payload=payload.SerializeToString(deterministic=True),
        correlation_id=correlation_id,
        causation_id=causation_id,
        actor=actor,
        occurred_at=now_us(),  # decided now
        event_id=new_event_id(),
    )


def timestamp(micros: int) -> Timestamp:
    """A protobuf Timestamp from µs since the epoch (``micros`` is the way back)."""
    return Timestamp(seconds=micros // 1_000_000, nanos=(micros % 1_000_000) * 1000)


def to_envelope(event: RecordedEvent, source: str) -> EventEnvelope:
    envelope = EventEnvelope(
        event_id=event.event_id,
        stream_id=event.stream_id,
        stream_version=event.stream_version,
        event_type=event.event_type,
        occurred_at=timestamp(event.occurred_at),
        recorded_at=timestamp(event.recorded_at),
        correlation_id=event.correlation_id,
        causation_id=event.causation_id,
        actor=parse_actor(event.actor),
        source=source,
        position=event.position,
    )
    field = _PAYLOAD_FIELDS.get(event.event_type)
    if field is not None:
        getattr(envelope, field).MergeFromString(event.payload)
    return envelope


def encode(event: RecordedEvent, source: str) -> bytes:
    return to_envelope(event, source).SerializeToString(deterministic=True)


def decode(data: bytes) -> EventEnvelope:
    """An envelope from the wire; :class:`UndecodableEvent` for anything else."""
    envelope = EventEnvelope()
    try:
        envelope.ParseFromString(data)
    except DecodeError as exc:
        raise UndecodableEvent(f"not an EventEnvelope: {exc}") from exc
    if not envelope.event_id or not envelope.stream_id or envelope.stream_version < 1:
        raise UndecodableEvent("envelope lacks event id, stream id or stream version")
    return envelope


def payload_of(envelope: EventEnvelope) -> Message | None:
    field = envelope.WhichOneof("payload")
    return getattr(envelope, field) if field else None


def micros(ts: Timestamp) -> int:
    return ts.seconds * 1_000_000 + ts.nanos // 1000
