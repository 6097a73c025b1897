"""Replicas sharing one PostgreSQL store hear of each other's appends at once."""

from __future__ import annotations

import threading
from pathlib import Path

from emergency.v1 import common_pb2, events_pb2
from services.common.database import create_store_engine
from services.common.envelope import new_event
from services.common.eventstore import EventStore, NewEvent
from tests.conftest import fresh_postgres
from tests.e2e.conftest import eventually


def registered(unit_id: str) -> list[NewEvent]:
    payload = events_pb2.UnitRegistered(profile=common_pb2.UnitProfile(unit_id=unit_id))
    return [new_event(payload, actor="ADMIN:test")]


def test_an_append_by_one_replica_reaches_the_others_listeners(postgres_server_url: str) -> None:
    fresh_postgres(postgres_server_url).dispose()
    this, other = (EventStore(create_store_engine(postgres_server_url)) for _ in range(2))
    this.create_schema()
    heard: list[int] = []
    listening = threading.Event()

    def on_append(position: int) -> None:
        if position == 0:
            listening.set()  # (re)connected: told once, for whatever it may have missed
        else:
            heard.append(position)

    this.on_append(on_append)
    this.watch_appends()
    try:
        eventually(listening.is_set, timeout=10, what="the LISTEN connection")

        appended = other.append("unit-u1", 0, registered("u1"))

        position = appended.events[-1].position
        eventually(lambda: position in heard, timeout=10, what="the notification")
    finally:
        this.close()
        other.close()


def test_sqlite_and_memory_stores_have_nothing_to_watch(tmp_path: Path) -> None:
    for store in (
        EventStore(create_store_engine(f"sqlite:///{tmp_path / 'one.db'}")),
        EventStore.in_memory(),
    ):
        store.watch_appends()  # one process per store: a no-op
        store.close()
