"""Events in and out of the wire format."""

from __future__ import annotations

import pytest

from emergency.v1 import common_pb2, events_pb2
from services.common.envelope import (
    UndecodableEvent,
    actor_ref,
    decode,
    encode,
    micros,
    new_event,
    payload_of,
)
from services.common.eventstore import RecordedEvent
from services.common.relay import publish_epoch

PROFILE = common_pb2.UnitProfile(unit_id="E1", name="Engine 1")


def recorded(payload: events_pb2.UnitRegistered) -> RecordedEvent:
    event = new_event(
        payload,
        correlation_id="inc-1",
        causation_id="req-1",
        actor=actor_ref(events_pb2.Actor.ADMIN, "ops"),
    )
    return RecordedEvent(
        7,
        "unit-E1",
        3,
        event.event_id,
        event.event_type,
        event.occurred_at,
        event.occurred_at + 5,
        "inc-1",
        "req-1",
        event.actor,
        event.payload,
    )


def test_a_stored_event_round_trips_through_the_wire() -> None:
    row = recorded(events_pb2.UnitRegistered(profile=PROFILE))

    envelope = decode(encode(row, "units"))

    assert (envelope.stream_id, envelope.stream_version, envelope.position) == ("unit-E1", 3, 7)
    assert (envelope.event_type, envelope.source) == ("UnitRegistered", "units")
    assert envelope.actor.kind == events_pb2.Actor.ADMIN and envelope.actor.id == "ops"
    assert micros(envelope.occurred_at) == row.occurred_at
    assert payload_of(envelope) == events_pb2.UnitRegistered(profile=PROFILE)


def test_only_envelope_payloads_are_events() -> None:
    with pytest.raises(TypeError, match="not an event"):
        new_event(events_pb2.Actor())


@pytest.mark.parametrize("garbage", [b"\xff\xff\xff", b"", b"\x0a\x03abc"])
def test_bytes_that_are_not_an_event_are_refused(garbage: bytes) -> None:
    with pytest.raises(UndecodableEvent):
        decode(garbage)


@pytest.mark.parametrize(
    ("headers", "epoch"),
    [([("uc-epoch", b"3")], 3), ([], 0), (None, 0), ({"uc-epoch": b"2"}, 2)],
)
def test_publish_epoch_is_read_from_headers(headers: object, epoch: int) -> None:
    assert publish_epoch(headers) == epoch
