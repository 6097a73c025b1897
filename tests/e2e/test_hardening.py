"""What an outside test found (issue 9), each case turned into a test with the right
answer, over real gRPC and HTTP against the services as processes: request ids squatted
or reused across operations, reservations for incidents nobody opened, unbounded and
impossible input, undecodable requests, edge errors, late answers, read-your-writes,
time zones, and the loose ends (requests withdrawn, units going home by themselves)."""

from __future__ import annotations

import math
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest

from emergency.v1 import common_pb2, dispatch_pb2, events_pb2, incidents_pb2, units_pb2
from services.common.config import DEMO_JURISDICTION
from services.common.grpc_client import open_channel
from tests.e2e.conftest import (
    ADMIN,
    CALL_TAKER,
    Clients,
    eventually,
    rid,
    running_stack,
    team,
)
from tools.stack import Stack

pytestmark = pytest.mark.e2e

COMMANDER = [("authorization", "Bearer demo-cmd-01")]
S = common_pb2.UnitStatus
STRAY_AFTER = 2  # seconds: orphaned reservations are given back after this in this module
HERE = common_pb2.GeoPoint(latitude=28.2282, longitude=112.9388)
# Teams whose alerts this module times out quickly (deadline in seconds).
SHORT_DEADLINES = {"VOL-06": 3, "VOL-07": 3, "MIC-010": 2}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {"UC_STRAY_AFTER_SECONDS": str(STRAY_AFTER)}
    with running_stack(tmp_path_factory.mktemp("stack") / "var", env) as running:
        yield running


@pytest.fixture(scope="module")
def clients(stack: Stack) -> Iterator[Clients]:
    clients = Clients(stack)
    text = Path(DEMO_JURISDICTION).read_text(encoding="utf-8")
    for station, seconds in SHORT_DEADLINES.items():
        start = text.index(f"- id: {station}\n")
        text = text[:start] + text[start:].replace(
            "staffing:", f"ack_deadline_seconds: {seconds}\n    staffing:", 1
        )
    clients.units.LoadJurisdiction(
        units_pb2.LoadJurisdictionRequest(request_id=rid(), yaml=text, file_name="demo.yaml"),
        metadata=ADMIN,
    )
    yield clients
    clients.close()


@pytest.fixture(scope="module")
def http(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://{stack.address('edge')}", timeout=10) as client:
        yield client


def take_call(clients: Clients, n: int = 0) -> str:
    where = common_pb2.GeoPoint(latitude=HERE.latitude + n * 1e-3, longitude=HERE.longitude)
    return clients.dispatch.ReceiveCall(
        dispatch_pb2.ReceiveCallRequest(
            request_id=rid(),
            caller_number="13912345678",
            source=common_pb2.PHONE,
            location=where,
            address=f"{n} Furong Rd",
            incident_type="residential_fire",
        ),
        metadata=CALL_TAKER,
        timeout=10,
    ).incident_id


def dispatch(clients: Clients, incident_id: str, unit_id: str, capability: str = "engine") -> None:
    clients.dispatch.DispatchUnit(
        dispatch_pb2.DispatchUnitRequest(
            request_id=rid(),
            incident_id=incident_id,
            unit_id=unit_id,
            capability=capability,
            reason="test",
        ),
        metadata=CALL_TAKER,
        timeout=10,
    )


def incident(clients: Clients, incident_id: str) -> dispatch_pb2.Incident:
    return clients.dispatch.GetIncident(
        dispatch_pb2.GetIncidentRequest(incident_id=incident_id), metadata=CALL_TAKER, timeout=5
    )


def unit(clients: Clients, unit_id: str) -> units_pb2.Unit:
    return clients.units.GetUnit(units_pb2.GetUnitRequest(unit_id=unit_id), metadata=ADMIN).unit


def waiting_alert(clients: Clients, station: str, unit_id: str) -> units_pb2.Alert:
    def probe() -> units_pb2.Alert | None:
        alerts = clients.units.ListAlerts(
            units_pb2.WatchAlertsRequest(), metadata=team(station)
        ).alerts
        return next((a for a in alerts if a.unit_id == unit_id), None)

    return eventually(probe, timeout=30, what=f"the alert for {unit_id}")


def refused(call: object, request: object, metadata: list[tuple[str, str]]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(request, metadata=metadata, timeout=10)  # type: ignore[operator]
    return info.value


# --- 1. request ids the system derives cannot be squatted -----------------------------------


def test_a_team_cannot_stop_the_time_out_of_its_alert_by_squatting_its_request_id(
    clients: Clients,
) -> None:
    """Before: ReportLocation with request id ``timeout:<alert>`` kept the alert WAITING
    and the unit held for ever; the capability was never re-dispatched."""
    incident_id = take_call(clients, 1)
    dispatch(clients, incident_id, "VOL-06-E1")
    alert = waiting_alert(clients, "VOL-06", "VOL-06-E1")
    clients.units.ReportLocation(
        units_pb2.ReportLocationRequest(
            request_id=f"timeout:{alert.alert_id}",
            unit_id="VOL-06-E1",
            location=common_pb2.GeoPoint(latitude=28.31, longitude=112.08),
        ),
        metadata=team("VOL-06"),
    )

    def replaced() -> bool:
        assignments = incident(clients, incident_id).assignments
        return any(a.replaces_unit_id == "VOL-06-E1" for a in assignments)

    eventually(replaced, timeout=20, what="the timed-out capability re-dispatched")
    assert unit(clients, "VOL-06-E1").status == S.AVAILABLE


def test_a_squatted_release_id_cannot_keep_a_unit_from_going_home(clients: Clients) -> None:
    """Before: a call taker's ReleaseUnit under ``release:<incident>:<unit>`` made the request
    filler's own release of that unit fail with ALREADY_EXISTS at every pass."""
    incident_id = take_call(clients, 2)
    dispatch(clients, incident_id, "PRO-04-E1")
    dispatch(clients, incident_id, "PRO-04-E2")
    clients.units.ReleaseUnit(
        units_pb2.ReleaseUnitRequest(
            request_id=f"release:{incident_id}:PRO-04-E1",
            unit_id="PRO-04-E2",
            incident_id=incident_id,
            reason="squatting",
        ),
        metadata=CALL_TAKER,
    )
    clients.dispatch.CloseIncident(
        dispatch_pb2.IncidentNoteRequest(request_id=rid(), incident_id=incident_id),
        metadata=CALL_TAKER,
    )
    eventually(
        lambda: unit(clients, "PRO-04-E1").status == S.AVAILABLE,
        timeout=20,
        what="PRO-04-E1 sent home when the incident closed",
    )


# --- 2. a request id names one operation ------------------------------------------------


def test_a_request_id_reused_for_another_operation_is_refused_naming_the_first(
    clients: Clients,
) -> None:
    incident_id = take_call(clients, 3)
    key = rid()
    note = dispatch_pb2.IncidentNoteRequest(request_id=key, incident_id=incident_id)
    clients.dispatch.MarkUnderControl(note, metadata=CALL_TAKER)

    error = refused(clients.dispatch.CloseIncident, note, CALL_TAKER)

    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "already used for MarkUnderControl, not CloseIncident" in error.details()
    assert incident(clients, incident_id).status == common_pb2.UNDER_CONTROL

    key = rid()
    clients.units.ReserveUnit(
        units_pb2.ReserveUnitRequest(request_id=key, unit_id="GOV-05-E1", incident_id=incident_id),
        metadata=CALL_TAKER,
    )
    error = refused(
        clients.units.ReleaseUnit,
        units_pb2.ReleaseUnitRequest(request_id=key, unit_id="GOV-05-E1", incident_id=incident_id),
        CALL_TAKER,
    )
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "already used for ReserveUnit" in error.details()
    assert unit(clients, "GOV-05-E1").status == S.RESERVED


def test_the_same_request_id_from_two_callers_is_two_commands(clients: Clients) -> None:
    key = rid()
    first = clients.dispatch.ReceiveCall(
        dispatch_pb2.ReceiveCallRequest(
            request_id=key,
            caller_number="1",
            source=common_pb2.PHONE,
            location=HERE,
            incident_type="field_fire",
        ),
        metadata=CALL_TAKER,
    )
    second = clients.dispatch.ReceiveCall(
        dispatch_pb2.ReceiveCallRequest(
            request_id=key,
            caller_number="1",
            source=common_pb2.PHONE,
            location=HERE,
            incident_type="field_fire",
        ),
        metadata=[("authorization", "Bearer demo-ct-02")],
    )
    assert first.incident_id != second.incident_id


# --- 3. reservations for incidents nobody opened ------------------------------------------


def test_a_reservation_for_an_incident_nobody_opened_is_given_back(clients: Clients) -> None:
    clients.units.ReserveUnit(
        units_pb2.ReserveUnitRequest(
            request_id=rid(), unit_id="GOV-06-E1", incident_id=str(uuid.uuid4())
        ),
        metadata=CALL_TAKER,
    )
    assert unit(clients, "GOV-06-E1").status == S.RESERVED
    eventually(
        lambda: unit(clients, "GOV-06-E1").status == S.AVAILABLE,
        timeout=STRAY_AFTER * 3 + 15,
        what="the orphaned reservation released",
    )


@pytest.mark.parametrize("made_up", ["x'; DROP TABLE events;--", "i" * 1000])
def test_a_reservation_for_an_id_that_is_no_id_is_refused(clients: Clients, made_up: str) -> None:
    before = unit(clients, "GOV-07-E1")
    error = refused(
        clients.units.ReserveUnit,
        units_pb2.ReserveUnitRequest(request_id=rid(), unit_id="GOV-07-E1", incident_id=made_up),
        CALL_TAKER,
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "incident_id" in error.details()
    assert unit(clients, "GOV-07-E1").version == before.version


# --- 4 and 5. bounds, impossible filters --------------------------------------------------


BIG = "x" * 100_000


@pytest.mark.parametrize(
    ("service", "method", "request_message", "field"),
    [
        (
            "dispatch",
            "ReceiveCall",
            dispatch_pb2.ReceiveCallRequest(
                caller_number="1",
                source=common_pb2.PHONE,
                location=HERE,
                incident_type="field_fire",
                address=BIG,
            ),
            "address",
        ),
        (
            "dispatch",
            "ReceiveCall",
            dispatch_pb2.ReceiveCallRequest(
                caller_number=BIG,
                source=common_pb2.PHONE,
                location=HERE,
                incident_type="field_fire",
            ),
            "caller_number",
        ),
        (
            "dispatch",
            "ReceiveCall",
            dispatch_pb2.ReceiveCallRequest(
                caller_number="1",
                source=common_pb2.PHONE,
                location=HERE,
                incident_type="field_fire",
                description=BIG,
            ),
            "description",
        ),
        (
            "dispatch",
            "AssumeCommand",
            dispatch_pb2.AssumeCommandRequest(incident_id="i1", commander_name=BIG),
            "commander_name",
        ),
        (
            "dispatch",
            "AssumeCommand",
            dispatch_pb2.AssumeCommandRequest(incident_id="i1", commander_id="c" * 1000),
            "commander_id",
        ),
        (
            "dispatch",
            "DispatchUnit",
            dispatch_pb2.DispatchUnitRequest(incident_id="i1", unit_id="u" * 1000),
            "unit_id",
        ),
        (
            "dispatch",
            "CancelIncident",
            dispatch_pb2.CancelIncidentRequest(incident_id="i1", reason="OTHER", note=BIG),
            "note",
        ),
        (
            "units",
            "AcknowledgeAlert",
            units_pb2.AcknowledgeAlertRequest(
                alert_id="a", unit_id="VOL-08-E1", responders=4_294_967_295
            ),
            "responders",
        ),
        (
            "units",
            "AcknowledgeAlert",
            units_pb2.AcknowledgeAlertRequest(
                alert_id="a", unit_id="VOL-08-E1", responders=1, eta_seconds=4_294_967_295
            ),
            "eta_seconds",
        ),
        (
            "units",
            "DeclineAlert",
            units_pb2.DeclineAlertRequest(alert_id="a", unit_id="VOL-08-E1", reason=BIG),
            "reason",
        ),
        ("incidents", "AddNote", incidents_pb2.AddNoteRequest(incident_id="i1", text=BIG), "text"),
    ],
)
def test_nothing_unbounded_is_written_over_grpc(
    clients: Clients, service: str, method: str, request_message: object, field: str
) -> None:
    request_message.request_id = rid()  # type: ignore[attr-defined]
    stub = getattr(clients, service)
    metadata = CALL_TAKER if service == "dispatch" else COMMANDER
    if service == "units":
        metadata = team("VOL-08")
    error = refused(getattr(stub, method), request_message, metadata)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details().startswith(field) and "at most" in error.details()) or (
        "outside" in error.details()
    )


def test_the_http_edge_applies_the_same_limits(http: httpx.Client) -> None:
    reply = http.post(
        "/v1/alerts/a1/acknowledge",
        json={"unit_id": "VOL-08-E1", "responders": 1, "note": "n" * 2001},
        headers={"Authorization": "Bearer demo-vol-08", "Idempotency-Key": rid()},
    )
    assert reply.status_code == 422
    assert reply.headers["content-type"] == "application/problem+json"
    assert "note" in reply.json()["detail"]


@pytest.mark.parametrize(
    ("request_message", "fragment"),
    [
        (units_pb2.ListUnitsRequest(tiers=[99]), "tiers[0] 99 is not a Tier"),
        (units_pb2.ListUnitsRequest(statuses=[99]), "statuses[0] 99 is not a UnitStatus"),
        (
            units_pb2.ListUnitsRequest(
                near=common_pb2.GeoPoint(latitude=math.nan, longitude=1), within_km=1
            ),
            "near.latitude must be a finite number",
        ),
        (
            units_pb2.ListUnitsRequest(
                near=common_pb2.GeoPoint(latitude=100, longitude=1), within_km=1
            ),
            "near.latitude 100 is outside -90..90",
        ),
        (
            units_pb2.ListUnitsRequest(near=HERE, within_km=math.nan),
            "within_km must be a finite number",
        ),
    ],
)
def test_impossible_filters_are_refused_naming_what_is_wrong(
    clients: Clients, request_message: object, fragment: str
) -> None:
    error = refused(clients.units.ListUnits, request_message, CALL_TAKER)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert fragment in error.details()


def test_alerts_of_a_team_that_does_not_exist_are_not_found(clients: Clients) -> None:
    request = units_pb2.WatchAlertsRequest(team_id="NO-SUCH-TEAM")
    assert refused(clients.units.ListAlerts, request, ADMIN).code() == grpc.StatusCode.NOT_FOUND
    stream = clients.units.WatchAlerts(request, metadata=ADMIN, timeout=10)
    with pytest.raises(grpc.RpcError) as info:
        next(stream)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert "no team 'NO-SUCH-TEAM'" in info.value.details()


def test_an_unknown_source_is_refused_by_the_incident_log(clients: Clients) -> None:
    error = refused(
        clients.incidents.GetIncidentLog,
        incidents_pb2.GetIncidentLogRequest(incident_id="i1", source=99),
        CALL_TAKER,
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "source 99 is not a ReplaySource" in error.details()


# --- 6. undecodable requests ------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "method"),
    [
        ("dispatch", "/emergency.v1.DispatchService/ReceiveCall"),
        ("units", "/emergency.v1.UnitsService/ListUnits"),
        ("incidents", "/emergency.v1.IncidentsService/AddNote"),
    ],
)
@pytest.mark.parametrize(
    "payload",
    [b"\x0a\x05ab", b"\x12\x02\xff\xfe", b"\xff\xff\xff"],
    ids=["truncated", "not-utf8", "garbage"],
)
def test_a_request_that_does_not_decode_is_invalid_argument_not_internal(
    stack: Stack, service: str, method: str, payload: bytes
) -> None:
    with grpc.insecure_channel(stack.address(service)) as channel:
        raw = channel.unary_unary(method)  # bytes in, bytes out: no client-side encoding
        with pytest.raises(grpc.RpcError) as info:
            raw(payload, metadata=CALL_TAKER, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "could not be decoded" in info.value.details()
    log = (stack.data_dir / f"{service}.log").read_text(errors="replace")
    assert "Exception deserializing" not in log


# --- 7. the HTTP edge's own errors ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status"),
    [
        ("GET", "/v1/alerts", {"Authorization": "Bearer caf\xe9".encode("latin-1")}, None, 401),
        ("GET", "/v1/alerts", {"Authorization": "Bearer " + "t" * 20_000}, None, 431),
        # a control character HTTP allows in a header value and gRPC metadata does not
        ("GET", "/v1/alerts", {"Authorization": "Bearer demo\tvol-08"}, None, 401),
        ("GET", "/v1/no-such-thing", {}, None, 404),
        ("DELETE", "/v1/alerts", {}, None, 405),
        (
            "POST",
            "/v1/alerts/a1/decline",
            {"Authorization": "Bearer demo-vol-08", "Content-Type": "application/json"},
            b"{not json",
            422,
        ),
        ("GET", "/docs", {}, None, 404),
        ("GET", "/redoc", {}, None, 404),
    ],
)
def test_every_edge_error_is_a_problem_document(
    http: httpx.Client, method: str, path: str, headers: dict, body: bytes | None, status: int
) -> None:
    reply = http.request(method, path, headers=headers, content=body)
    assert reply.status_code == status
    assert reply.headers["content-type"] == "application/problem+json"
    problem = reply.json()
    assert problem["status"] == status and problem["detail"]


# --- 8. late answers -------------------------------------------------------------------


def test_an_answer_after_the_deadline_is_refused_as_late(clients: Clients) -> None:
    """Before: acknowledgements 50 to 450 ms after the deadline were accepted, depending on
    when the half-second sweep ran."""
    incident_id = take_call(clients, 4)
    dispatch(clients, incident_id, "MIC-010-M1", "first_intervention")
    alert = waiting_alert(clients, "MIC-010", "MIC-010-M1")
    deadline = alert.deadline.ToMicroseconds() / 1e6
    time.sleep(max(deadline - time.time(), 0) + 0.15)
    error = refused(
        clients.units.AcknowledgeAlert,
        units_pb2.AcknowledgeAlertRequest(
            request_id=rid(), alert_id=alert.alert_id, unit_id="MIC-010-M1", responders=3
        ),
        team("MIC-010"),
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "came late" in error.details() or "TIMED OUT" in error.details()
    eventually(
        lambda: unit(clients, "MIC-010-M1").status == S.AVAILABLE,
        what="the unit freed by the time-out",
    )


def test_a_time_out_due_while_the_units_service_is_down_fires_once_after_it_restarts(
    stack: Stack, clients: Clients
) -> None:
    """The deadline is kept in the store, not in a process: an alert whose deadline
    passes while no units process runs times out once the service is back, and once only."""
    incident_id = take_call(clients, 5)
    dispatch(clients, incident_id, "VOL-07-E1")
    alert = waiting_alert(clients, "VOL-07", "VOL-07-E1")
    stack.kill_service("units")  # kill -9: nothing is tidied up
    time.sleep(max(alert.deadline.ToMicroseconds() / 1e6 - time.time(), 0) + 1.0)
    stack.start_service("units")
    stack.wait_healthy(["units"])

    def time_outs() -> int:
        entries = clients.incidents.GetIncidentLog(
            incidents_pb2.GetIncidentLogRequest(incident_id=incident_id),
            metadata=CALL_TAKER,
            timeout=10,
        ).entries
        return sum(
            e.event_type == "AlertTimedOut" and e.stream_id == "unit-VOL-07-E1" for e in entries
        )

    eventually(lambda: time_outs() == 1, what="the time-out recorded after the restart")
    eventually(
        lambda: unit(clients, "VOL-07-E1").status == S.AVAILABLE,
        what="the unit freed by the time-out",
    )
    time.sleep(1.5)  # a second firing, had there been one, would be in the log by now
    assert time_outs() == 1


# --- 9. read-your-writes ----------------------------------------------------------------


def test_a_note_made_at_once_after_the_call_is_accepted(clients: Clients) -> None:
    """Before: NOT_FOUND "no incident in the incident log" for up to 0.74 s."""
    for n in range(3):
        incident_id = take_call(clients, 10 + n)
        reply = clients.incidents.AddNote(
            incidents_pb2.AddNoteRequest(
                request_id=rid(),
                incident_id=incident_id,
                text="smoke from the 3rd floor",
                kind="SITUATION_REPORT",
            ),
            metadata=COMMANDER,
            timeout=10,
        )
        assert reply.note_id


def test_a_note_for_an_incident_nobody_opened_is_not_found(clients: Clients) -> None:
    error = refused(
        clients.incidents.AddNote,
        incidents_pb2.AddNoteRequest(request_id=rid(), incident_id=str(uuid.uuid4()), text="x"),
        COMMANDER,
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "dispatch never opened one" in error.details()


def test_the_log_of_an_incident_just_opened_is_read_at_once(stack: Stack, clients: Clients) -> None:
    """A client on the standard channel (retrying UNAVAILABLE: the log catching up) gets the
    log of the incident it just opened, never NOT_FOUND."""
    with open_channel(stack.address("incidents")) as channel:
        read = channel.unary_unary(
            "/emergency.v1.IncidentsService/GetIncidentLog",
            request_serializer=incidents_pb2.GetIncidentLogRequest.SerializeToString,
            response_deserializer=incidents_pb2.IncidentLog.FromString,
        )
        for n in range(3):
            incident_id = take_call(clients, 20 + n)
            log = read(
                incidents_pb2.GetIncidentLogRequest(incident_id=incident_id),
                metadata=CALL_TAKER,
                timeout=10,
            )
            assert log.entries[0].correlation_id == incident_id


# --- 10. time zone -----------------------------------------------------------------------


def uc(stack: Stack, *args: str, tz: str) -> str:
    env = {**stack.service_env(), "TZ": tz, "UC_TOKEN": "demo-cmd-01"}
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=stack.data_dir,
    )
    return done.stdout


def test_times_are_shown_in_the_jurisdiction_s_zone_whatever_the_server_s(
    stack: Stack, clients: Clients
) -> None:
    info = clients.units.GetJurisdiction(units_pb2.GetJurisdictionRequest(), metadata=CALL_TAKER)
    assert info.time_zone == "Asia/Shanghai"
    incident_id = take_call(clients, 30)
    eventually(lambda: len(clients.log_of(incident_id)) >= 2, what="the log")

    for args in (["log", incident_id], ["history", "--limit", "5"]):
        in_new_york = uc(stack, *args, tz="America/New_York")
        assert in_new_york == uc(stack, *args, tz="UTC")
        assert "+08:00" in in_new_york

    uc(stack, "report", incident_id, tz="America/New_York")
    page = (stack.data_dir / f"report-{incident_id}.html").read_text(encoding="utf-8")
    assert "Times in Asia/Shanghai (UTC+08:00)" in page and "UTC." not in page


# --- loose ends: requests withdrawn, units going home by themselves ------------------------


def test_open_requests_end_when_the_incident_is_under_control(clients: Clients) -> None:
    incident_id = take_call(clients, 40)
    for capability in ("hazmat", "drone"):
        clients.dispatch.RequestUnits(
            dispatch_pb2.RequestUnitsRequest(
                request_id=rid(), incident_id=incident_id, capability=capability, count=20
            ),
            metadata=COMMANDER,
        )
    open_requests = incident(clients, incident_id).open_requests
    assert len(open_requests) == 2

    withdrawn = clients.dispatch.CancelResourceRequest(
        dispatch_pb2.CancelResourceRequestRequest(
            request_id=rid(),
            incident_id=incident_id,
            resource_request_id=open_requests[0].resource_request_id,
            reason="no longer needed",
        ),
        metadata=COMMANDER,
    )
    assert [n.resource_request_id for n in withdrawn.open_requests] == [
        open_requests[1].resource_request_id
    ]

    after = clients.dispatch.MarkUnderControl(
        dispatch_pb2.IncidentNoteRequest(request_id=rid(), incident_id=incident_id),
        metadata=COMMANDER,
    )
    assert list(after.open_requests) == []
    eventually(
        lambda: clients.log_of(incident_id).count("ResourceRequestCancelled") == 2,
        what="both withdrawals in the incident log",
    )


def test_a_unit_going_home_by_itself_is_off_the_incident_and_a_raise_counts_that(
    clients: Clients,
) -> None:
    incident_id = take_call(clients, 41)
    dispatch(clients, incident_id, "PRO-05-E1")
    eventually(lambda: unit(clients, "PRO-05-E1").status == S.ACKNOWLEDGED, what="acknowledged")
    for status in (S.EN_ROUTE, S.ON_SCENE, S.RETURNING):
        clients.units.ChangeStatus(
            units_pb2.ChangeStatusRequest(request_id=rid(), unit_id="PRO-05-E1", status=status),
            metadata=CALL_TAKER,
        )

    def returned() -> bool:
        states = {a.unit_id: a.state for a in incident(clients, incident_id).assignments}
        return states.get("PRO-05-E1") == "RETURNED"

    eventually(returned, what="dispatch following the unit home")
    clients.dispatch.RaiseAlarmLevel(
        dispatch_pb2.RaiseAlarmLevelRequest(
            request_id=rid(), incident_id=incident_id, alarm_level=2, reason="spreading"
        ),
        metadata=COMMANDER,
    )

    def engines_asked_for() -> list[events_pb2.UnitsRequested]:
        log = clients.incidents.GetIncidentLog(
            incidents_pb2.GetIncidentLogRequest(incident_id=incident_id), metadata=COMMANDER
        )
        return [
            e.units_requested
            for e in log.entries
            if e.WhichOneof("payload") == "units_requested"
            and e.units_requested.capability == "engine"
        ]

    asked = eventually(engines_asked_for, what="the raise in the incident log")
    # Level 2 wants 4 engines; the one that went home no longer counts as sent.
    assert [(r.count, r.reason) for r in asked] == [
        (4, "alarm level 2: engine 0 of 4 sent or asked for")
    ]
