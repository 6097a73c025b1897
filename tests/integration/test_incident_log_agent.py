"""The faust agent that writes the incident log, driven through faust's own test
context (no broker): each event applied once however often it comes, an epoch rise
rewinds, bytes that are no event are parked and the stream goes on."""

from __future__ import annotations

import asyncio
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from emergency.v1 import events_pb2
from services.common.database import create_store_engine
from services.common.envelope import encode, new_event
from services.common.eventstore import RecordedEvent
from services.common.projection import ProjectionRunner, parked_table
from services.common.relay import EPOCH_HEADER
from services.incidents import stream_app
from services.incidents.read_models import IncidentLogProjection, IncidentLogReader
from services.incidents.stream_app import create_stream_app


def wire(stream: str, version: int, incident: str = "inc-1") -> bytes:
    event = new_event(
        events_pb2.CallReceived(call_id=f"{stream}-{version}"), correlation_id=incident
    )
    row = RecordedEvent(
        version,
        stream,
        version,
        event.event_id,
        event.event_type,
        event.occurred_at,
        event.occurred_at,
        incident,
        "",
        "",
        event.payload,
    )
    return encode(row, "dispatch")


@pytest.fixture
def log_store(tmp_path: Path) -> tuple[ProjectionRunner, IncidentLogReader]:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'incidents.db'}")
    runner = ProjectionRunner(engine, IncidentLogProjection())
    runner.create_schema()
    reader = IncidentLogReader(engine)
    reader.create_schema()
    return runner, reader


def run_agent(runner: ProjectionRunner, messages: list[tuple[bytes, dict[str, Any]]]) -> None:
    app = create_stream_app("localhost:9", 4, runner, app_id=f"uc-incidents-test-{uuid.uuid4()}")
    app.finalize()
    (agent,) = app.agents.values()

    def handled() -> int:
        return runner.applied + runner.duplicates + runner.parked + runner.held_back

    async def feed() -> None:
        async with agent.test_context() as context:
            for value, headers in messages:
                await context.put(value=value, key=b"dispatch-stream", headers=headers)
            # put() returns once the agent has the event, not once it is written.
            for _ in range(500):
                if handled() >= len(messages):
                    return
                await asyncio.sleep(0.01)
            raise AssertionError(f"the agent handled {handled()} of {len(messages)} events")

    # In a thread of its own: a browser test's Playwright may hold this thread's loop.
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(feed())
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(30)
    if failure:
        raise failure[0]


def test_each_event_is_applied_once_however_often_it_is_delivered(
    log_store: tuple[ProjectionRunner, IncidentLogReader],
) -> None:
    runner, reader = log_store
    first, second = wire("incident-inc-1", 1), wire("incident-inc-1", 2)

    run_agent(runner, [(first, {}), (second, {}), (first, {}), (second, {})])

    assert (runner.applied, runner.duplicates) == (2, 2)
    assert [e.stream_version for e in reader.entries("inc-1")] == [1, 2]


def test_bytes_that_are_no_event_are_parked_and_the_log_goes_on(
    log_store: tuple[ProjectionRunner, IncidentLogReader],
) -> None:
    runner, reader = log_store

    run_agent(runner, [(b"\xff not an event", {}), (wire("incident-inc-2", 1, "inc-2"), {})])

    assert runner.parked == 1 and len(reader.entries("inc-2")) == 1
    with runner.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(parked_table)).scalar_one() == 1


def test_a_rising_epoch_asks_for_the_topic_to_be_read_again(
    log_store: tuple[ProjectionRunner, IncidentLogReader], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seek itself needs a running consumer (a broker): the end-to-end broker tests
    cover it. Here: the agent asks for it once per rise, and applies the events."""
    runner, reader = log_store
    rewinds: list[tuple[str, int]] = []

    async def rewind(_app: object, topic: str, epoch: int) -> None:
        rewinds.append((topic, epoch))

    monkeypatch.setattr(stream_app, "rewind", rewind)
    run_agent(
        runner,
        [
            (wire("incident-inc-3", 1, "inc-3"), {EPOCH_HEADER: b"1"}),
            (wire("incident-inc-3", 2, "inc-3"), {EPOCH_HEADER: b"2"}),
            (wire("incident-inc-3", 3, "inc-3"), {EPOCH_HEADER: b"2"}),
        ],
    )

    assert [epoch for _, epoch in rewinds] == [2]
    assert [e.stream_version for e in reader.entries("inc-3")] == [1, 2, 3]
