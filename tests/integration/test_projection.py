"""Exactly-once effects over at-least-once delivery, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from emergency.v1 import events_pb2
from services.common.envelope import encode, new_event
from services.common.eventstore import RecordedEvent
from services.common.projection import ProjectionRunner, parked_table
from services.incidents.read_models import IncidentLogProjection, IncidentLogReader


def wire(stream: str, version: int, correlation: str = "inc-1") -> bytes:
    event = new_event(
        events_pb2.CallReceived(call_id=f"{stream}-{version}"), correlation_id=correlation
    )
    row = RecordedEvent(
        version,
        stream,
        version,
        event.event_id,
        event.event_type,
        event.occurred_at,
        event.occurred_at,
        correlation,
        "",
        "",
        event.payload,
    )
    return encode(row, "dispatch")


@pytest.fixture
def runner(store_engine) -> ProjectionRunner:
    runner = ProjectionRunner(store_engine, IncidentLogProjection())
    runner.create_schema()
    IncidentLogReader(store_engine).create_schema()
    return runner


def handle(runner: ProjectionRunner, value: bytes, offset: int = 0) -> bool:
    return runner.handle_message("emergency.dispatch.v1", 0, offset, value)


def test_redelivered_events_change_nothing(runner: ProjectionRunner) -> None:
    messages = [wire("incident-1", v) for v in (1, 2)]
    assert [handle(runner, m) for m in messages] == [True, True]

    assert [handle(runner, m) for m in messages] == [False, False]

    log = IncidentLogReader(runner.engine).entries("inc-1")
    assert [e.stream_version for e in log] == [1, 2]
    assert (runner.applied, runner.duplicates) == (2, 2)


def test_an_event_that_skips_versions_is_held_back_until_its_predecessors_come(
    runner: ProjectionRunner,
) -> None:
    v1, v2, v3 = (wire("incident-1", v) for v in (1, 2, 3))
    assert handle(runner, v1)
    assert not handle(runner, v3)  # v2 is missing
    assert runner.held_back == 1

    assert [handle(runner, m) for m in (v2, v3)] == [True, True]  # the rewind brings them
    assert [e.stream_version for e in IncidentLogReader(runner.engine).entries("inc-1")] == [
        1,
        2,
        3,
    ]


def test_events_of_no_incident_are_tracked_but_not_logged(runner: ProjectionRunner) -> None:
    assert handle(runner, wire("unit-E1", 1, correlation=""))
    assert not handle(runner, wire("unit-E1", 1, correlation=""))
    assert IncidentLogReader(runner.engine).entries("") == []


def test_a_poison_message_is_parked_and_consumption_goes_on(runner: ProjectionRunner) -> None:
    assert not handle(runner, b"\xff\x00 not protobuf", offset=41)
    assert handle(runner, wire("incident-2", 1, correlation="inc-2"), offset=42)

    with runner.engine.connect() as conn:
        parked = conn.execute(select(parked_table)).one()
        assert conn.execute(select(func.count()).select_from(parked_table)).scalar() == 1
    assert (parked.offset, parked.value, runner.parked) == (41, b"\xff\x00 not protobuf", 1)
