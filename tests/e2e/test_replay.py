"""The incident record over real gRPC with the real broker: one incident played out by
dispatch, a team and a commander, then read back from the store and from Kafka, replayed,
travelled through in time, searched, and reported on; bad requests, a cancelled replay
and a poison message on a topic."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from html.parser import HTMLParser

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from kafka import KafkaProducer

from emergency.v1 import common_pb2, dispatch_pb2, incidents_pb2, units_pb2
from services.common.config import TOPICS
from services.incidents.domain import MAX_PACED_REPLAYS
from tests.e2e.conftest import (
    CALL_TAKER,
    Clients,
    eventually,
    rid,
    share_one_stack_per_module,
)
from tools.stack import Stack

pytestmark = pytest.mark.e2e
stack, clients = share_one_stack_per_module()

COMMANDER = [("authorization", "Bearer demo-cmd-01")]
WHERE = common_pb2.GeoPoint(latitude=28.1950, longitude=112.9780)  # downtown
UNIT = "PRO-01-E1"  # a staffed engine: acknowledged on alert


def stamp(us: int) -> Timestamp:
    t = Timestamp()
    t.FromMicroseconds(us)
    return t


def log_of(clients: Clients, incident_id: str, source: int = incidents_pb2.STORE):  # type: ignore[no-untyped-def]
    return clients.incidents.GetIncidentLog(
        incidents_pb2.GetIncidentLogRequest(incident_id=incident_id, source=source),
        metadata=CALL_TAKER,
        timeout=30,
    ).entries


def state_at(clients: Clients, incident_id: str, at_us: int | None = None):  # type: ignore[no-untyped-def]
    request = incidents_pb2.GetIncidentStateRequest(incident_id=incident_id)
    if at_us is not None:
        request.at.CopyFrom(stamp(at_us))
    return clients.incidents.GetIncidentState(request, metadata=CALL_TAKER, timeout=10)


@pytest.fixture(scope="module")
def played(clients: Clients) -> dict[str, object]:
    """One whole incident: call, dispatch, en route, on scene, alarm raised, command,
    a note, under control, closed. Returns its id and the moments between the steps."""
    d = clients.dispatch
    incident_id = d.ReceiveCall(
        dispatch_pb2.ReceiveCallRequest(
            request_id=rid(),
            caller_number="13912345678",
            source=common_pb2.PHONE,
            location=WHERE,
            address="Wuyi Square tower, 18F",
            incident_type="high_rise_fire",
        ),
        metadata=CALL_TAKER,
        timeout=10,
    ).incident_id
    d.DispatchUnit(
        dispatch_pb2.DispatchUnitRequest(
            request_id=rid(), incident_id=incident_id, unit_id=UNIT, capability="engine"
        ),
        metadata=CALL_TAKER,
        timeout=10,
    )
    eventually(
        lambda: (
            clients.units.GetUnit(
                units_pb2.GetUnitRequest(unit_id=UNIT), metadata=CALL_TAKER
            ).unit.status
            == common_pb2.ACKNOWLEDGED
        ),
        what="the engine acknowledged",
    )
    moments = {"acknowledged": time.time_ns() // 1000}
    for status in (common_pb2.EN_ROUTE, common_pb2.ON_SCENE):
        clients.units.ChangeStatus(
            units_pb2.ChangeStatusRequest(request_id=rid(), unit_id=UNIT, status=status),
            metadata=CALL_TAKER,
        )
        time.sleep(0.3)  # the steps are apart in time, as on a real incident
    moments["on_scene"] = time.time_ns() // 1000
    d.RaiseAlarmLevel(
        dispatch_pb2.RaiseAlarmLevelRequest(
            request_id=rid(), incident_id=incident_id, alarm_level=2, reason="spreading"
        ),
        metadata=COMMANDER,
    )
    time.sleep(0.3)
    moments["raised"] = time.time_ns() // 1000
    d.AssumeCommand(
        dispatch_pb2.AssumeCommandRequest(
            request_id=rid(), incident_id=incident_id, commander_name="Commander Liu"
        ),
        metadata=COMMANDER,
    )
    eventually(lambda: state_at(clients, incident_id).alarm_level == 2, what="level 2 logged")
    clients.incidents.AddNote(
        incidents_pb2.AddNoteRequest(
            request_id=rid(),
            incident_id=incident_id,
            kind="DECISION",
            text="defensive attack from floor 17",
        ),
        metadata=COMMANDER,
    )
    time.sleep(0.3)
    for method in (d.MarkUnderControl, d.CloseIncident):
        method(
            dispatch_pb2.IncidentNoteRequest(request_id=rid(), incident_id=incident_id),
            metadata=COMMANDER,
        )

    def settled() -> bool:  # closed, every unit released, the note in, all logged
        state = state_at(clients, incident_id)
        return (
            state.status == common_pb2.CLOSED
            and bool(state.notes)
            and all(u.released_at.seconds for u in state.units)
        )

    eventually(settled, timeout=60, what="the closed incident fully in the log")
    return {"id": incident_id, **moments}


def test_the_store_and_kafka_give_the_same_incident(clients: Clients, played) -> None:  # type: ignore[no-untyped-def]
    # The log is a projection of the topics: an event after the release (the unit's
    # return to quarters) may be on Kafka a moment before the projection has applied it.
    def both() -> tuple[list, list]:  # type: ignore[type-arg]
        return log_of(clients, played["id"]), log_of(clients, played["id"], incidents_pb2.KAFKA)

    def caught_up() -> tuple[list, list] | None:  # type: ignore[type-arg]
        store, kafka = both()
        return (
            (store, kafka) if [e.event_id for e in store] == [e.event_id for e in kafka] else None
        )

    from_store, from_kafka = eventually(
        caught_up, timeout=30, what="the projection caught up with the topics"
    )
    assert [e.event_id for e in from_store] == [e.event_id for e in from_kafka]
    assert list(from_store) == list(from_kafka)
    sources = {e.source for e in from_store}
    assert sources == {"dispatch", "units", "incidents"}


def test_the_state_at_any_instant(clients: Clients, played) -> None:  # type: ignore[no-untyped-def]
    first = log_of(clients, played["id"])[0].occurred_at.ToMicroseconds()
    assert (
        state_at(clients, played["id"], first - 1_000_000).status
        == common_pb2.INCIDENT_STATUS_UNSPECIFIED
    )

    early = state_at(clients, played["id"], played["acknowledged"])
    assert early.status == common_pb2.OPEN and early.alarm_level == 1 and not early.commander_name
    (engine,) = [u for u in early.units if u.unit_id == UNIT]
    assert engine.tier == common_pb2.PROFESSIONAL and engine.capability == "engine"

    arrived = state_at(clients, played["id"], played["on_scene"])
    assert next(u for u in arrived.units if u.unit_id == UNIT).status == "ON_SCENE"

    raised = state_at(clients, played["id"], played["raised"])
    assert raised.alarm_level == 2 and raised.status == common_pb2.OPEN

    now = state_at(clients, played["id"])
    assert now.status == common_pb2.CLOSED and now.commander_name == "Commander Liu"
    assert now.notes and "floor 17" in now.notes[0]


def test_a_replay_as_fast_as_possible_ends_in_the_current_state(clients: Clients, played) -> None:  # type: ignore[no-untyped-def]
    frames = list(
        clients.incidents.ReplayIncident(
            incidents_pb2.ReplayIncidentRequest(
                incident_id=played["id"], as_fast_as_possible=True, with_state=True
            ),
            metadata=CALL_TAKER,
            timeout=30,
        )
    )
    log = log_of(clients, played["id"])
    assert [f.event.event_id for f in frames] == [e.event_id for e in log]
    assert [f.index for f in frames] == list(range(len(log)))
    assert all(f.summary for f in frames)
    assert frames[-1].state.status == common_pb2.CLOSED
    assert frames[-1].state.units == state_at(clients, played["id"]).units


def test_a_replay_keeps_the_pacing_and_its_window(clients: Clients, played) -> None:  # type: ignore[no-untyped-def]
    log = log_of(clients, played["id"])
    start, end = played["acknowledged"], played["raised"]
    inside = [e.event_id for e in log if start <= e.occurred_at.ToMicroseconds() <= end]
    request = incidents_pb2.ReplayIncidentRequest(
        incident_id=played["id"], speed=4.0, to=stamp(end), with_state=True
    )
    getattr(request, "from").CopyFrom(stamp(start))
    began = time.monotonic()
    frames = list(clients.incidents.ReplayIncident(request, metadata=CALL_TAKER, timeout=60))
    took = time.monotonic() - began
    assert [f.event.event_id for f in frames] == inside
    # The window's events are seconds apart; at 4x they cannot all arrive at once.
    span = (
        frames[-1].event.occurred_at.ToMicroseconds() - frames[0].event.occurred_at.ToMicroseconds()
    ) / 1e6
    assert took >= 0.8 * span / 4.0
    # The first frame's state already holds what happened before the window.
    assert frames[0].state.incident_type == "high_rise_fire" and frames[0].state.units


def test_a_replay_cancelled_midway_stops_the_server(stack: Stack, clients: Clients, played) -> None:  # type: ignore[no-untyped-def]
    call = clients.incidents.ReplayIncident(
        incidents_pb2.ReplayIncidentRequest(incident_id=played["id"], speed=0.001),
        metadata=CALL_TAKER,
    )
    next(call)  # the first frame comes at once; the next would take many minutes
    call.cancel()
    log_file = stack.data_dir / "incidents.log"
    eventually(
        lambda: "replay cancelled by the client" in log_file.read_text(),
        timeout=10,
        what="the server noticing the cancellation",
    )
    assert state_at(clients, played["id"]).status == common_pb2.CLOSED  # and it still serves


def test_paced_replays_are_capped_and_the_cap_frees_up(clients: Clients, played) -> None:  # type: ignore[no-untyped-def]
    def slow():  # type: ignore[no-untyped-def]
        call = clients.incidents.ReplayIncident(
            incidents_pb2.ReplayIncidentRequest(incident_id=played["id"], speed=0.001),
            metadata=CALL_TAKER,
        )
        next(call)  # running: the next frame is minutes away
        return call

    running = [slow() for _ in range(MAX_PACED_REPLAYS)]
    try:
        with pytest.raises(grpc.RpcError) as info:
            slow()
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "as fast as possible" in info.value.details()
        fast = clients.incidents.ReplayIncident(
            incidents_pb2.ReplayIncidentRequest(incident_id=played["id"], as_fast_as_possible=True),
            metadata=CALL_TAKER,
            timeout=30,
        )
        assert len(list(fast)) > 10  # as fast as possible is never refused
    finally:
        for call in running:
            call.cancel()

    def room_again() -> bool:
        try:
            slow().cancel()
            return True
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                raise
            return False

    eventually(room_again, timeout=10, what="a paced replay allowed again")


def test_searching_the_record(clients: Clients, played) -> None:  # type: ignore[no-untyped-def]
    def search(**fields: object) -> list[str]:
        request = incidents_pb2.SearchIncidentsRequest(**fields)
        found = clients.incidents.SearchIncidents(request, metadata=CALL_TAKER).incidents
        return [i.incident_id for i in found]

    downtown = incidents_pb2.Area(south=28.18, west=112.96, north=28.21, east=112.99)
    elsewhere = incidents_pb2.Area(south=28.50, west=113.50, north=28.60, east=113.60)
    assert played["id"] in search(
        statuses=[common_pb2.CLOSED], incident_types=["high_rise_fire"], area=downtown
    )
    assert played["id"] not in search(statuses=[common_pb2.OPEN])
    assert played["id"] not in search(area=elsewhere)
    assert played["id"] not in search(opened_from=stamp(played["raised"]))


@pytest.mark.parametrize(
    ("method", "request_", "code", "fragment"),
    [
        (
            "GetIncidentLog",
            incidents_pb2.GetIncidentLogRequest(incident_id="nope"),
            "NOT_FOUND",
            "no incident 'nope'",
        ),
        (
            "SearchIncidents",
            incidents_pb2.SearchIncidentsRequest(
                opened_from=Timestamp(seconds=2000), opened_to=Timestamp(seconds=1000)
            ),
            "INVALID_ARGUMENT",
            "ends before it starts",
        ),
        (
            "SearchIncidents",
            incidents_pb2.SearchIncidentsRequest(statuses=[common_pb2.OPEN, 99]),
            "INVALID_ARGUMENT",
            "statuses[1] 99 is not a IncidentStatus; use one of OPEN,",
        ),
        (
            "SearchIncidents",
            incidents_pb2.SearchIncidentsRequest(statuses=[common_pb2.INCIDENT_STATUS_UNSPECIFIED]),
            "INVALID_ARGUMENT",
            "unknown incident status [0]; use OPEN (1)",
        ),
    ],
)
def test_bad_reads_get_a_clear_status(
    clients: Clients, method: str, request_: object, code: str, fragment: str
) -> None:
    with pytest.raises(grpc.RpcError) as info:
        getattr(clients.incidents, method)(request_, metadata=CALL_TAKER, timeout=10)
    assert info.value.code() == getattr(grpc.StatusCode, code)
    assert fragment in info.value.details()


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"speed": 0}, "speed 0 must be above 0"),
        ({"speed": -2}, "speed -2 is outside 0..100000"),
        ({"speed": 1, "window": (2000, 1000)}, "ends before it starts"),
    ],
)
def test_bad_replays_get_a_clear_status(
    clients: Clients,
    played,
    fields: dict[str, object],
    fragment: str,  # type: ignore[no-untyped-def]
) -> None:
    request = incidents_pb2.ReplayIncidentRequest(incident_id=played["id"], speed=fields["speed"])
    if "window" in fields:
        start, end = fields["window"]  # type: ignore[misc]
        getattr(request, "from").CopyFrom(Timestamp(seconds=start))
        request.to.CopyFrom(Timestamp(seconds=end))
    with pytest.raises(grpc.RpcError) as info:
        list(clients.incidents.ReplayIncident(request, metadata=CALL_TAKER, timeout=10))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert fragment in info.value.details()


def test_notes_are_for_commanders_and_must_say_something(clients: Clients, played) -> None:  # type: ignore[no-untyped-def]
    note = incidents_pb2.AddNoteRequest(request_id=rid(), incident_id=played["id"], text="x")
    with pytest.raises(grpc.RpcError) as denied:
        clients.incidents.AddNote(note, metadata=CALL_TAKER)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    cases = [
        ({"text": "  "}, "text is required"),
        ({"text": "ok", "kind": "GOSSIP"}, "not one of"),
        ({"text": "ok", "incident_id": "nope"}, "no incident 'nope'"),
    ]
    for bad, fragment in cases:
        request = incidents_pb2.AddNoteRequest(request_id=rid(), incident_id=played["id"])
        for name, value in bad.items():
            setattr(request, name, value)
        with pytest.raises(grpc.RpcError) as info:
            clients.incidents.AddNote(request, metadata=COMMANDER)
        assert info.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND)
        assert fragment in info.value.details()


def test_the_report_as_html_and_json(stack: Stack, played, tmp_path, browser) -> None:  # type: ignore[no-untyped-def]
    html, data = tmp_path / "report.html", tmp_path / "report.json"
    env = {**stack.service_env(), "UC_TOKEN": "demo-cmd-01"}  # every port: the zone is asked
    subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "report",
            played["id"],
            "--html",
            str(html),
            "--json",
            str(data),
        ],
        env=env,
        check=True,
        timeout=60,
    )
    figures = json.loads(data.read_text())
    assert figures["incident_id"] == played["id"]
    page = html.read_text()
    assert "<svg" in page and UNIT in page and "floor 17" in page
    HTMLParser().feed(page)

    # As a commander sees it: the page in a real browser, the chart drawn with a bar for
    # the engine's time on scene, the standards and the note on the page.
    tab = browser.new_page(viewport={"width": 1280, "height": 1600})
    try:
        tab.goto(html.as_uri())
        chart = tab.locator("svg").first
        box = chart.bounding_box()
        assert box is not None and box["width"] > 600 and box["height"] > 50
        assert tab.locator("svg rect").count() > 3
        text = tab.inner_text("body")
        assert "call processing within 60 s" in text and "floor 17" in text and UNIT in text
        tab.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    finally:
        tab.close()


def test_a_poison_message_is_parked_and_the_log_goes_on(stack: Stack, clients: Clients) -> None:
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap)
    producer.send(TOPICS["dispatch"], key=b"poison", value=b"\x00 not an event \xff")
    producer.flush(10)
    producer.close()
    incident_id = clients.call(42).incident_id
    eventually(
        lambda: "IncidentCreated" in clients.log_of(incident_id),
        what="later events still in the log",
    )

    def parked() -> int:
        with sqlite3.connect(f"file:{stack.data_dir / 'incidents.db'}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM parked_messages").fetchone()[0]

    assert eventually(parked, what="the poison message parked") == 1
