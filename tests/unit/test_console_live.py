"""The console's live board (services/edge/live.py) without a broker: the fold matches the
services' aggregates stream version for stream version, redelivered events are skipped,
and a page that reconnects gets exactly what it missed (same process) or everything
since a moment (another process), which the page's rule then dedupes."""

from __future__ import annotations

import json

from emergency.v1 import common_pb2, events_pb2
from services.common.envelope import EventEnvelope, timestamp
from services.common.eventstore.model import new_event_id
from services.edge.live import LiveBoard, cursor, parse_cursor

T0 = 1_796_000_000_000_000  # µs


def envelope(stream: str, version: int, payload: object, at_us: int, source: str) -> EventEnvelope:
    e = EventEnvelope(
        event_id=new_event_id(),
        stream_id=stream,
        stream_version=version,
        event_type=type(payload).__name__,
        occurred_at=timestamp(at_us),
        recorded_at=timestamp(at_us),
        correlation_id="i-1",
        source=source,
    )
    field = {
        "UnitRegistered": "unit_registered",
        "UnitReserved": "unit_reserved",
        "UnitAlerted": "unit_alerted",
        "AlertDeclined": "alert_declined",
        "CallReceived": "call_received",
        "IncidentCreated": "incident_created",
        "UnitDispatched": "unit_dispatched",
        "CommanderNoteAdded": "commander_note_added",
    }[type(payload).__name__]
    getattr(e, field).CopyFrom(payload)
    return e


def unit_events() -> list[EventEnvelope]:
    profile = common_pb2.UnitProfile(
        unit_id="VOL-03-E1",
        name="Light engine",
        tier=common_pb2.VOLUNTEER,
        station_id="VOL-03",
        capabilities=["engine"],
        home=common_pb2.GeoPoint(latitude=28.2, longitude=112.3),
        min_responders=4,
        ack_deadline_seconds=120,
    )
    alerted = events_pb2.UnitAlerted(
        unit_id="VOL-03-E1", alert_id="a1", incident_id="i-1", responders_needed=4
    )
    alerted.deadline.FromMicroseconds(T0 + 120_000_000)
    return [
        envelope("unit-VOL-03-E1", 1, events_pb2.UnitRegistered(profile=profile), T0, "units"),
        envelope(
            "unit-VOL-03-E1",
            2,
            events_pb2.UnitReserved(unit_id="VOL-03-E1", incident_id="i-1"),
            T0 + 1,
            "units",
        ),
        envelope("unit-VOL-03-E1", 3, alerted, T0 + 2, "units"),
        envelope(
            "unit-VOL-03-E1",
            4,
            events_pb2.AlertDeclined(unit_id="VOL-03-E1", alert_id="a1", reason="crew short"),
            T0 + 3,
            "units",
        ),
    ]


def incident_events(t0: int = T0 + 10_000_000) -> list[EventEnvelope]:
    created = events_pb2.IncidentCreated(
        incident_id="i-1", incident_type="high_rise_fire", alarm_level=1, address="Tower 1"
    )
    created.opened_at.FromMicroseconds(t0)
    return [
        envelope("incident-i-1", 1, events_pb2.CallReceived(call_id="c1"), t0, "dispatch"),
        envelope("incident-i-1", 2, created, t0, "dispatch"),
        envelope(
            "incident-i-1",
            3,
            events_pb2.UnitDispatched(incident_id="i-1", unit_id="VOL-03-E1", capability="engine"),
            t0 + 2_500_000,
            "dispatch",
        ),
    ]


def caught_up_board() -> LiveBoard:
    board = LiveBoard(instance="edge-a")
    board.caught_up.set()
    return board


def test_the_fold_gives_each_stream_its_state_and_version() -> None:
    board = caught_up_board()
    for e in unit_events()[:3] + incident_events():
        board.apply(e)
    snapshot = board.snapshot()
    (unit,) = snapshot["units"]
    assert (unit["status"], unit["version"], unit["incident_id"]) == ("ALERTED", 3, "i-1")
    assert unit["alert"]["state"] == "WAITING"
    assert unit["alert"]["deadline"] == "2026-11-30T00:55:20.000000Z"  # the countdown's end
    (incident,) = snapshot["incidents"]
    assert (incident["status"], incident["version"], incident["alarm_level"]) == ("OPEN", 3, 1)
    # the call clock stops at the first dispatch, 2.5 s after the call
    assert incident["first_dispatched_at"] == "2026-11-30T00:53:32.500000Z"
    assert snapshot["seq"] == 6


def test_a_redelivered_or_rewound_event_changes_nothing_and_makes_no_item() -> None:
    board = caught_up_board()
    events = unit_events()
    for e in events:
        board.apply(e)
    assert [board.apply(e) for e in events] == [None] * 4  # the topic read again
    (unit,) = board.snapshot()["units"]
    assert (unit["status"], unit["version"], unit["alert"]["state"]) == ("AVAILABLE", 4, "DECLINED")
    assert board.seq == 4


def test_an_item_carries_the_event_and_the_state_it_leaves() -> None:
    board = caught_up_board()
    items = [board.apply(e) for e in unit_events()]
    text = items[-1].encode(board.instance).decode()
    lines = text.strip().split("\n")
    assert lines[0] == f"id: {cursor('edge-a', 4, items[-1].recorded_us)}"
    assert lines[1] == "event: change"
    body = json.loads(lines[2].removeprefix("data: "))
    assert (body["type"], body["stream"], body["v"], body["kind"]) == (
        "AlertDeclined",
        "unit-VOL-03-E1",
        4,
        "unit",
    )
    assert body["state"]["status"] == "AVAILABLE" and body["data"]["reason"] == "crew short"
    assert body["text"] == "VOL-03-E1 declined: crew short"


def test_history_read_at_start_is_not_streamed_with_states() -> None:
    board = LiveBoard(instance="edge-b")  # not caught up: reading the topics' past
    item = board.apply(unit_events()[0])
    assert item is not None and item.entity is None
    board.caught_up.set()
    assert board.snapshot()["units"][0]["version"] == 1


def test_a_page_resumes_exactly_on_the_same_process_and_by_time_on_another() -> None:
    board = caught_up_board()
    items = [board.apply(e) for e in unit_events() + incident_events()]
    assert [i.seq for i in board.items_after(3)] == [4, 5, 6, 7]
    assert board.items_after(7) == []
    board.ring.popleft()  # the oldest item left the ring: the page must reload the board
    assert board.items_after(0) is None
    # another process (an edge restarted) resumes by time; the page dedupes by event id
    since = board.items_since(items[4].recorded_us)
    assert [i.event_id for i in since] == [i.event_id for i in items[4:]]


def test_notes_make_items_once_without_a_state() -> None:
    board = caught_up_board()
    note = envelope(
        "notes-i-1",
        1,
        events_pb2.CommanderNoteAdded(incident_id="i-1", note_id="n1", text="roof"),
        T0,
        "incidents",
    )
    first = board.apply(note)
    assert first is not None and first.entity is None
    assert board.apply(note) is None


def test_cursors_round_trip_and_garbage_is_refused() -> None:
    assert parse_cursor(cursor("abc", 12, 345)) == ("abc", 12, 345)
    for bad in ("", "abc", "abc.1", "abc.x.1", "a.1.2.3"):
        assert parse_cursor(bad) is None
