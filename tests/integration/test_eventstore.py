"""The event store's contract, run against SQLite, PostgreSQL and memory alike."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.database import create_store_engine
from services.common.errors import InvalidArgument
from services.common.eventstore import (
    CommandKey,
    ConcurrencyConflict,
    EventStore,
    NewEvent,
    RequestIdReused,
    StreamAppend,
    StreamNotFound,
)
from services.common.eventstore.memory import MemoryBackend
from tests.conftest import fresh_postgres


@pytest.fixture(params=["sqlite", "postgres", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    """An empty store on each backend: one contract for all three."""
    if request.param == "memory":
        store = EventStore(None, max_payload_bytes=1024, backend=MemoryBackend())
    elif request.param == "sqlite":
        store = EventStore(create_store_engine(f"sqlite:///{tmp_path / 'store.db'}"), 1024)
    else:
        store = EventStore(fresh_postgres(request.getfixturevalue("postgres_server_url")), 1024)
    store.create_schema()
    yield store
    store.close()


def ev(kind: str = "Happened", payload: bytes = b"x", **kw) -> NewEvent:
    return NewEvent(event_type=kind, payload=payload, **kw)


def test_append_assigns_versions_and_gap_free_positions(store: EventStore) -> None:
    first = store.append("a", 0, [ev(), ev()])
    second = store.append("b", 0, [ev()])
    third = store.append("a", 2, [ev("Later", correlation_id="inc-1")])

    assert [e.stream_version for e in first.events] == [1, 2]
    assert [e.position for e in first.events + second.events + third.events] == [1, 2, 3, 4]
    assert third.events[0].stream_version == 3
    assert [e.event_type for e in store.read_stream("a")] == ["Happened", "Happened", "Later"]
    assert [e.stream_version for e in store.read_stream("a", from_version=3)] == [3]


def test_stale_expected_version_names_stream_and_versions_and_writes_nothing(
    store: EventStore,
) -> None:
    store.append("unit-7", 0, [ev()])

    with pytest.raises(ConcurrencyConflict) as info:
        store.append("unit-7", 0, [ev("Second")])

    assert (info.value.stream_id, info.value.expected, info.value.actual) == ("unit-7", 0, 1)
    assert "unit-7" in str(info.value) and "version 1" in str(info.value)
    assert store.max_position() == 1


def test_batch_is_atomic_when_one_stream_conflicts(store: EventStore) -> None:
    store.append("b", 0, [ev()])

    with pytest.raises(ConcurrencyConflict):
        store.append_batch([StreamAppend("a", 0, [ev()]), StreamAppend("b", 0, [ev()])])

    assert store.max_position() == 1
    with pytest.raises(StreamNotFound):
        store.read_stream("a")


@pytest.mark.parametrize(
    ("appends", "message"),
    [
        ([StreamAppend("a", 0, [])], "no events"),
        ([], "nothing to append"),
        ([StreamAppend("", 0, [ev()])], "stream id is empty"),
        ([StreamAppend("a", -1, [ev()])], "negative"),
        ([StreamAppend("a", 0, [ev(kind="")])], "no type"),
        ([StreamAppend("a", 0, [ev(payload=b"x" * 1025)])], "over the limit of 1024 bytes"),
        ([StreamAppend("a", 0, [ev()]), StreamAppend("a", 1, [ev()])], "appears twice"),
    ],
)
def test_bad_appends_fail_clearly_and_write_nothing(
    store: EventStore, appends: list[StreamAppend], message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        store.append_batch(appends)
    assert store.max_position() == 0


def key(
    request_id: str = "req-1",
    operation: str = "Close",
    fingerprint: str = "f",
    scope: str = "client:CALL_TAKER:ct-01",
) -> CommandKey:
    return CommandKey(scope, request_id, operation, fingerprint)


def test_retried_request_returns_first_result_and_writes_nothing(store: EventStore) -> None:
    first = store.append("a", 0, [ev(), ev()], key())

    retry = store.append("a", 0, [ev(), ev()], key())

    assert retry.replayed and not first.replayed
    assert retry.events == first.events
    assert store.max_position() == 2
    assert store.find_request(key()) == retry
    assert store.find_request(key("req-2")) is None


def test_request_id_reused_for_other_content_is_refused(store: EventStore) -> None:
    store.append("a", 0, [ev()], key(fingerprint="f1"))

    with pytest.raises(RequestIdReused, match="'req-1' was already used for a Close with other"):
        store.append("b", 0, [ev()], key(fingerprint="f2"))
    assert store.max_position() == 1


def test_request_id_reused_for_another_operation_is_refused_naming_the_first(
    store: EventStore,
) -> None:
    store.append("a", 0, [ev()], key(operation="MarkUnderControl"))

    with pytest.raises(RequestIdReused, match="already used for MarkUnderControl, not Close"):
        store.append("a", 1, [ev()], key(operation="Close"))
    with pytest.raises(RequestIdReused, match="MarkUnderControl"):
        store.find_request(key(operation="Close"))
    assert store.max_position() == 1


def test_request_ids_are_scoped_by_caller_so_nobody_takes_another_s(store: EventStore) -> None:
    """A team cannot squat an id the system (or another caller) will use: scopes apart."""
    squatter = store.append(
        "unit-x", 0, [ev()], key("timeout:a1", "ReportLocation", scope="client:TEAM:VOL-03:phone")
    )
    system = store.append("unit-x", 1, [ev()], key("timeout:a1", "TimeOutAlert", scope="system"))

    assert not squatter.replayed and not system.replayed
    assert store.max_position() == 2


@pytest.mark.parametrize(
    ("event", "column"),
    [
        (ev(correlation_id="c" * 65), "correlation_id is 65 characters"),
        (ev(actor="a" * 201), "actor is 201 characters"),
    ],
)
def test_values_longer_than_their_column_are_refused_before_the_database(
    store: EventStore, event: NewEvent, column: str
) -> None:
    with pytest.raises(InvalidArgument, match=column):
        store.append("a", 0, [event])
    with pytest.raises(InvalidArgument, match="stream_id is 201 characters"):
        store.append("s" * 201, 0, [ev()])
    with pytest.raises(InvalidArgument, match="request_id is 251 characters"):
        store.append("a", 0, [ev()], key("r" * 251))
    assert store.max_position() == 0


def test_unknown_stream_says_so(store: EventStore) -> None:
    with pytest.raises(StreamNotFound, match="'nope'"):
        store.read_stream("nope")
    store.append("a", 0, [ev()])
    assert store.read_stream("a", from_version=5) == []


def test_read_all_in_batches_from_a_position(store: EventStore) -> None:
    for i in range(25):
        store.append(f"s{i % 4}", store.stream_version(f"s{i % 4}"), [ev(payload=bytes([i]))])

    assert [e.position for e in store.read_all(20, limit=100)] == [21, 22, 23, 24, 25]
    assert [e.payload[0] for e in store.iter_all(0, batch_size=7)] == list(range(25))
    assert len(store.read_all(0, limit=10)) == 10


def test_events_keep_their_metadata(store: EventStore) -> None:
    new = ev(
        "IncidentCreated",
        b"\x00\x01",
        correlation_id="inc-9",
        causation_id="req-9",
        actor="CALL_TAKER:ct-1",
        occurred_at=1_700_000_000_000_000,
        event_id="e-9",
    )
    store.append("incident-9", 0, [new])

    (stored,) = store.read_stream("incident-9")
    assert (stored.event_id, stored.occurred_at, stored.payload) == (
        "e-9",
        1_700_000_000_000_000,
        b"\x00\x01",
    )
    assert (stored.correlation_id, stored.causation_id, stored.actor) == (
        "inc-9",
        "req-9",
        "CALL_TAKER:ct-1",
    )
    assert stored.recorded_at > stored.occurred_at


def test_ids_and_times_left_empty_are_assigned_when_recorded(store: EventStore) -> None:
    first, second = store.append("a", 0, [ev(), ev()]).events
    assert len(first.event_id) == 32 and first.event_id != second.event_id
    assert first.occurred_at == first.recorded_at > 0


def test_racing_writers_on_one_stream_exactly_one_wins(store: EventStore) -> None:
    store.append("unit-1", 0, [ev()])
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def reserve() -> None:
        barrier.wait()
        try:
            store.append("unit-1", 1, [ev("Reserved")])
            outcomes.append("won")
        except ConcurrencyConflict:
            outcomes.append("lost")

    threads = [threading.Thread(target=reserve) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["lost"] * 7 + ["won"]
    assert [e.stream_version for e in store.read_stream("unit-1")] == [1, 2]


def test_concurrent_appends_keep_positions_gap_free(store: EventStore) -> None:
    def writer(n: int) -> None:
        for i in range(20):
            store.append(f"w{n}-{i}", 0, [ev(), ev()])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert [e.position for e in store.iter_all()] == list(range(1, 161))


def test_checkpoints_round_trip(store: EventStore) -> None:
    assert store.load_checkpoint("relay") == 0
    store.save_checkpoint("relay", 7)
    store.save_checkpoint("relay", 9)
    assert store.load_checkpoint("relay") == 9


def test_checkpoint_groups_are_replaced_whole(store: EventStore) -> None:
    store.save_checkpoints({"r": 5, "r:p:0": 10, "r:p:1": 11})
    store.save_checkpoints({"r": 0, "r:p:1": 3}, clear_prefix="r:")
    assert store.load_checkpoints("r") == {"r": 0, "r:p:1": 3}
