"""The outbox relay against the real embedded broker."""

from __future__ import annotations

import time

import pytest
from kafka import KafkaConsumer

from emergency.v1 import common_pb2, events_pb2
from services.common.envelope import decode, new_event
from services.common.eventstore import EventStore
from services.common.lease import Lease
from services.common.relay import OutboxRelay
from tools.broker import EmbeddedBroker, free_port

pytestmark = pytest.mark.broker
TOPIC = "emergency.units.v1"


def read_topic(bootstrap: str, until: int, timeout: float = 30.0) -> list[events_pb2.EventEnvelope]:
    """Every message on the topic, read from the beginning without a group."""
    consumer = KafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=500,
    )
    seen: list[events_pb2.EventEnvelope] = []
    deadline = time.monotonic() + timeout
    try:
        while len({e.event_id for e in seen}) < until and time.monotonic() < deadline:
            seen.extend(decode(m.value) for m in consumer)
    finally:
        consumer.close()
    return seen


def register(store: EventStore, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        payload = events_pb2.UnitRegistered(
            profile=common_pb2.UnitProfile(unit_id=f"u{i}", name=f"Engine {i}")
        )
        store.append(f"unit-u{i}", 0, [new_event(payload, actor="ADMIN:test")])


def lease(store: EventStore, holder: str = "this-replica") -> Lease:
    assert store.engine is not None
    return Lease(store.engine, f"relay:{TOPIC}", holder, ttl=2.0)


@pytest.fixture
def store(tmp_path) -> EventStore:
    from services.common.database import create_store_engine

    store = EventStore(create_store_engine(f"sqlite:///{tmp_path / 'units.db'}"))
    store.create_schema()
    return store


def test_relay_publishes_in_order_keyed_by_stream(store: EventStore) -> None:
    with EmbeddedBroker(port=free_port()) as broker:
        relay = OutboxRelay(
            store,
            lease=lease(store),
            source="units",
            topic=TOPIC,
            bootstrap=broker.bootstrap,
            partitions=3,
        ).start()
        try:
            register(store, 30)
            store.append(
                "unit-u0",
                1,
                [
                    new_event(
                        events_pb2.UnitRegistered(profile=common_pb2.UnitProfile(unit_id="u0"))
                    )
                ],
            )
            got = read_topic(broker.bootstrap, until=31)
        finally:
            relay.stop()

    assert len(got) == 31 and len({e.event_id for e in got}) == 31
    u0 = [e.stream_version for e in got if e.stream_id == "unit-u0"]
    assert u0 == [1, 2]
    first = next(e for e in got if e.stream_id == "unit-u5")
    assert first.unit_registered.profile.name == "Engine 5" and first.source == "units"
    assert first.actor.id == "test" and first.position > 0


def test_commands_are_accepted_while_broker_is_down_and_an_empty_broker_gets_everything(
    store: EventStore,
) -> None:
    port = free_port()
    broker = EmbeddedBroker(port=port).start()
    relay = OutboxRelay(
        store,
        lease=lease(store),
        source="units",
        topic=TOPIC,
        bootstrap=broker.bootstrap,
        partitions=3,
        loss_check_every=0.5,
    ).start()
    try:
        register(store, 20)
        assert len({e.event_id for e in read_topic(broker.bootstrap, until=20)}) == 20

        broker.kill()
        register(store, 20, start=20)  # the store keeps taking commands
        broker = EmbeddedBroker(port=port).start()  # back, and empty

        got = read_topic(broker.bootstrap, until=40, timeout=60)
    finally:
        relay.stop()
        broker.stop()

    assert {e.stream_id for e in got} == {f"unit-u{i}" for i in range(40)}
    assert relay.republishes >= 1
