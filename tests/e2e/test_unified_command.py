"""Unified command over real gRPC with the real broker: a high-rise fire from the call to
the close, with a volunteer's decline re-dispatched, the alarm raised and command handed
over; time-outs, false alarms, racing call takers and an unreachable units service."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import grpc
import pytest

from emergency.v1 import common_pb2, dispatch_pb2, units_pb2
from services.common.config import DEMO_JURISDICTION
from services.dispatch.runcards import load_run_cards
from tests.e2e.conftest import (
    ADMIN,
    CALL_TAKER,
    Clients,
    eventually,
    rid,
    running_stack,
    share_one_stack_per_module,
    team,
)
from tools.stack import Stack

pytestmark = pytest.mark.e2e
stack, clients = share_one_stack_per_module()

COMMANDER = [("authorization", "Bearer demo-cmd-01")]
# A township tower beside Shuangjiang's volunteer team: the recommendation mixes tiers.
TOWNSHIP_TOWER = common_pb2.GeoPoint(latitude=28.2170, longitude=112.4615)
S = common_pb2.UnitStatus


def take_call(clients: Clients, kind: str, where: common_pb2.GeoPoint, **extra: object) -> str:
    request = dispatch_pb2.ReceiveCallRequest(
        request_id=rid(),
        caller_number="13912345678",
        source=common_pb2.PHONE,
        location=where,
        address="Shuangjiang town tower",
        incident_type=kind,
    )
    for name, value in extra.items():
        setattr(request, name, value)
    return clients.dispatch.ReceiveCall(request, metadata=CALL_TAKER, timeout=10).incident_id


def incident(clients: Clients, incident_id: str) -> dispatch_pb2.Incident:
    return clients.dispatch.GetIncident(
        dispatch_pb2.GetIncidentRequest(incident_id=incident_id), metadata=CALL_TAKER, timeout=5
    )


def dispatch(
    clients: Clients, incident_id: str, unit_id: str, capability: str = ""
) -> dispatch_pb2.DispatchUnitResponse:
    return clients.dispatch.DispatchUnit(
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


def unit_status(clients: Clients, unit_id: str) -> int:
    return clients.units.GetUnit(
        units_pb2.GetUnitRequest(unit_id=unit_id), metadata=ADMIN
    ).unit.status


def waiting_alert(clients: Clients, station_id: str, unit_id: str) -> units_pb2.Alert:
    def probe() -> units_pb2.Alert | None:
        alerts = clients.units.ListAlerts(
            units_pb2.WatchAlertsRequest(), metadata=team(station_id)
        ).alerts
        return next((a for a in alerts if a.unit_id == unit_id), None)

    return eventually(probe, timeout=30, what=f"the alert for {unit_id}")


def active(i: dispatch_pb2.Incident) -> list[dispatch_pb2.Assignment]:
    return [a for a in i.assignments if a.state == "ACTIVE"]


def test_a_high_rise_fire_from_call_to_close_under_one_command(clients: Clients) -> None:
    incident_id = take_call(clients, "high_rise_fire", TOWNSHIP_TOWER)

    # Recommendation across the tiers, every pick with its reason.
    offer = clients.dispatch.RecommendUnits(
        dispatch_pb2.RecommendUnitsRequest(incident_id=incident_id), metadata=CALL_TAKER
    )
    tiers = {p.tier for p in offer.picks}
    assert {common_pb2.PROFESSIONAL, common_pb2.GOV_FULLTIME, common_pb2.VOLUNTEER} <= tiers
    assert all("ETA" in p.reason for p in offer.picks)
    volunteer = next(p for p in offer.picks if p.tier == common_pb2.VOLUNTEER)
    assert volunteer.capability == "engine"
    for pick in offer.picks:
        dispatch(clients, incident_id, pick.unit_id, pick.capability)

    # The volunteer team declines; dispatch sends the next engine on its own.
    station = volunteer.unit_id.rsplit("-", 1)[0]
    alert = waiting_alert(clients, station, volunteer.unit_id)
    clients.units.DeclineAlert(
        units_pb2.DeclineAlertRequest(
            request_id=rid(),
            alert_id=alert.alert_id,
            unit_id=volunteer.unit_id,
            reason="only 2 members home",
        ),
        metadata=team(station),
    )

    def replaced() -> dispatch_pb2.Assignment | None:
        state = incident(clients, incident_id)
        return next((a for a in active(state) if a.replaces_unit_id == volunteer.unit_id), None)

    replacement = eventually(replaced, what="the declined capability re-dispatched")
    assert replacement.capability == "engine" and replacement.unit_id != volunteer.unit_id
    assert "declined" in replacement.reason and "only 2 members home" in replacement.reason
    declined = next(
        a for a in incident(clients, incident_id).assignments if a.unit_id == volunteer.unit_id
    )
    assert declined.state == "DECLINED"

    # Raising the alarm dispatches the difference of the run card.
    raised = clients.dispatch.RaiseAlarmLevel(
        dispatch_pb2.RaiseAlarmLevelRequest(
            request_id=rid(), incident_id=incident_id, alarm_level=2, reason="fire spreading up"
        ),
        metadata=COMMANDER,
    )
    assert raised.alarm_level == 2
    card = load_run_cards().card("high_rise_fire", 2)

    def card_met() -> bool:
        state = incident(clients, incident_id)
        have = Counter(a.capability for a in active(state))
        return not state.open_requests and all(
            have[capability] >= n for capability, n in card.items()
        )

    eventually(card_met, what=f"the level-2 card {card} on the incident")

    # The first officer on scene takes command; the senior commander takes over.
    first = clients.dispatch.AssumeCommand(
        dispatch_pb2.AssumeCommandRequest(
            request_id=rid(),
            incident_id=incident_id,
            commander_id="gov-02-captain",
            commander_name="Captain Wang",
            unit_id="GOV-02-E1",
        ),
        metadata=CALL_TAKER,
    )
    assert first.commander_name == "Captain Wang"
    with pytest.raises(grpc.RpcError) as twice:
        clients.dispatch.AssumeCommand(
            dispatch_pb2.AssumeCommandRequest(request_id=rid(), incident_id=incident_id),
            metadata=COMMANDER,
        )
    assert twice.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "TransferCommand" in twice.value.details()
    senior = clients.dispatch.TransferCommand(
        dispatch_pb2.TransferCommandRequest(
            request_id=rid(),
            incident_id=incident_id,
            to_commander_name="Commander Liu",
            reason="senior officer on scene",
        ),
        metadata=COMMANDER,
    )
    assert senior.commander_id == "COMMANDER:cmd-01" and senior.commander_name == "Commander Liu"

    note = dispatch_pb2.IncidentNoteRequest
    controlled = clients.dispatch.MarkUnderControl(
        note(request_id=rid(), incident_id=incident_id, note="knocked down"), metadata=COMMANDER
    )
    assert controlled.status == common_pb2.UNDER_CONTROL
    on_scene = [a.unit_id for a in active(controlled)]
    closed = clients.dispatch.CloseIncident(
        note(request_id=rid(), incident_id=incident_id, note="overhaul done"), metadata=COMMANDER
    )
    assert closed.status == common_pb2.CLOSED

    # Closing sends every unit home: released on the board, and free again.
    eventually(lambda: not active(incident(clients, incident_id)), what="every unit released")
    assert all(unit_status(clients, u) == S.Value("AVAILABLE") for u in on_scene)

    # A closed incident refuses more work, and writes nothing.
    version = incident(clients, incident_id).version
    for call, fragment in [
        (
            lambda: clients.dispatch.CloseIncident(
                note(request_id=rid(), incident_id=incident_id), metadata=COMMANDER
            ),
            "is CLOSED",
        ),
        (
            lambda: clients.dispatch.RaiseAlarmLevel(
                dispatch_pb2.RaiseAlarmLevelRequest(
                    request_id=rid(), incident_id=incident_id, alarm_level=3
                ),
                metadata=COMMANDER,
            ),
            "cannot raise",
        ),
    ]:
        with pytest.raises(grpc.RpcError) as refused:
            call()
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert fragment in refused.value.details()
    assert incident(clients, incident_id).version == version

    # The incident log holds the whole story, with who did what.
    wanted = {
        "AlertDeclined",
        "AssignmentEnded",
        "UnitsRequested",
        "AlarmLevelRaised",
        "CommandAssumed",
        "CommandTransferred",
        "IncidentUnderControl",
        "IncidentClosed",
        "UnitReleased",
    }
    eventually(lambda: wanted <= set(clients.log_of(incident_id)), what=f"{wanted} in the log")


def test_an_unanswered_volunteer_alert_is_re_dispatched(clients: Clients) -> None:
    # One volunteer team gets a 1-second deadline through the jurisdiction file.
    text = Path(DEMO_JURISDICTION).read_text(encoding="utf-8")
    start = text.index("- id: VOL-04")
    edited = text[:start] + text[start:].replace(
        "staffing:", "ack_deadline_seconds: 1\n    staffing:", 1
    )
    clients.units.LoadJurisdiction(
        units_pb2.LoadJurisdictionRequest(request_id=rid(), yaml=edited, file_name="demo.yaml"),
        metadata=ADMIN,
    )
    where = common_pb2.GeoPoint(latitude=28.0835, longitude=112.1665)  # Qingyang village
    incident_id = take_call(clients, "field_fire", where)
    dispatch(clients, incident_id, "VOL-04-E1", "engine")

    def replaced() -> dispatch_pb2.Assignment | None:
        state = incident(clients, incident_id)
        return next((a for a in active(state) if a.replaces_unit_id == "VOL-04-E1"), None)

    replacement = eventually(replaced, what="the timed-out capability re-dispatched")
    assert "did not answer in time" in replacement.reason
    timed_out = next(
        a for a in incident(clients, incident_id).assignments if a.unit_id == "VOL-04-E1"
    )
    assert timed_out.state == "TIMED_OUT"


def test_a_false_automatic_alarm_is_cancelled_and_its_units_go_home(clients: Clients) -> None:
    where = common_pb2.GeoPoint(latitude=28.1960, longitude=112.9790)
    incident_id = take_call(
        clients, "automatic_alarm", where, source=common_pb2.SMART_SMOKE_DETECTOR, caller_number=""
    )
    offer = clients.dispatch.RecommendUnits(
        dispatch_pb2.RecommendUnitsRequest(incident_id=incident_id), metadata=CALL_TAKER
    )
    sent = [p.unit_id for p in offer.picks]
    for pick in offer.picks:
        dispatch(clients, incident_id, pick.unit_id, pick.capability)
    cancelled = clients.dispatch.CancelIncident(
        dispatch_pb2.CancelIncidentRequest(
            request_id=rid(), incident_id=incident_id, reason="FALSE_ALARM", note="burnt toast"
        ),
        metadata=CALL_TAKER,
    )
    assert cancelled.status == common_pb2.CANCELLED
    eventually(lambda: not active(incident(clients, incident_id)), what="units released")
    eventually(
        lambda: all(unit_status(clients, u) == S.Value("AVAILABLE") for u in sent),
        what="the units free again",
    )


def test_an_automatic_alarm_verified_as_a_fire_is_reclassified(clients: Clients) -> None:
    where = common_pb2.GeoPoint(latitude=28.2400, longitude=112.9500)
    incident_id = take_call(
        clients, "automatic_alarm", where, source=common_pb2.FIRE_ALARM_NETWORK, caller_number=""
    )
    verified = clients.dispatch.ClassifyIncident(
        dispatch_pb2.ClassifyIncidentRequest(
            request_id=rid(),
            incident_id=incident_id,
            incident_type="residential_fire",
            note="smoke seen from the 3rd floor",
        ),
        metadata=CALL_TAKER,
    )
    assert verified.incident_type == "residential_fire"
    offer = clients.dispatch.RecommendUnits(
        dispatch_pb2.RecommendUnitsRequest(incident_id=incident_id), metadata=CALL_TAKER
    )
    assert offer.incident_type == "residential_fire" and offer.picks
    eventually(lambda: "IncidentClassified" in clients.log_of(incident_id), what="the log")


def test_two_call_takers_racing_for_one_unit(clients: Clients) -> None:
    where = common_pb2.GeoPoint(latitude=28.1500, longitude=112.9900)
    first, second = (take_call(clients, "vehicle_fire", where) for _ in range(2))
    start = threading.Barrier(2)
    outcomes: dict[str, grpc.StatusCode] = {}

    def race(incident_id: str, token: str) -> None:
        start.wait()
        try:
            clients.dispatch.DispatchUnit(
                dispatch_pb2.DispatchUnitRequest(
                    request_id=rid(),
                    incident_id=incident_id,
                    unit_id="PRO-05-E1",
                    capability="engine",
                ),
                metadata=[("authorization", f"Bearer {token}")],
                timeout=10,
            )
            outcomes[incident_id] = grpc.StatusCode.OK
        except grpc.RpcError as exc:
            outcomes[incident_id] = exc.code()

    threads = [
        threading.Thread(target=race, args=args)
        for args in ((first, "demo-ct-01"), (second, "demo-ct-02"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(outcomes.values(), key=str) == sorted(
        [grpc.StatusCode.OK, grpc.StatusCode.FAILED_PRECONDITION], key=str
    )
    winner = next(i for i, code in outcomes.items() if code == grpc.StatusCode.OK)
    loser = first if winner == second else second
    assert [a.unit_id for a in incident(clients, winner).assignments] == ["PRO-05-E1"]
    assert not incident(clients, loser).assignments


REQUESTS = {
    "RaiseAlarmLevel": "RaiseAlarmLevelRequest",
    "RequestUnits": "RequestUnitsRequest",
    "CancelIncident": "CancelIncidentRequest",
    "ClassifyIncident": "ClassifyIncidentRequest",
    "TransferCommand": "TransferCommandRequest",
    "CloseIncident": "IncidentNoteRequest",
}


@pytest.mark.parametrize(
    ("method", "fields", "code", "fragment"),
    [
        ("RaiseAlarmLevel", {"alarm_level": 1}, "INVALID_ARGUMENT", "not above the current level"),
        ("RaiseAlarmLevel", {"alarm_level": 9}, "INVALID_ARGUMENT", "9 is outside 0..5"),
        ("RequestUnits", {"capability": "submarine"}, "INVALID_ARGUMENT", "unknown capability"),
        ("RequestUnits", {"capability": "engine", "count": 50}, "INVALID_ARGUMENT", "count 50"),
        ("CancelIncident", {"reason": "BORED"}, "INVALID_ARGUMENT", "FALSE_ALARM"),
        (
            "ClassifyIncident",
            {"incident_type": "alien_landing"},
            "INVALID_ARGUMENT",
            "unknown incident type",
        ),
        ("TransferCommand", {"to_commander_id": "x"}, "FAILED_PRECONDITION", "AssumeCommand"),
        ("CloseIncident", {"request_id": ""}, "INVALID_ARGUMENT", "request_id is required"),
    ],
)
def test_bad_command_requests_get_a_clear_status_and_write_nothing(
    clients: Clients, method: str, fields: dict[str, object], code: str, fragment: str
) -> None:
    where = common_pb2.GeoPoint(latitude=28.16, longitude=112.95)
    incident_id = take_call(clients, "vehicle_fire", where)
    before = incident(clients, incident_id).version
    request_type = getattr(dispatch_pb2, REQUESTS[method])
    request = request_type(request_id=rid(), incident_id=incident_id)
    for name, value in fields.items():
        setattr(request, name, value)
    with pytest.raises(grpc.RpcError) as info:
        getattr(clients.dispatch, method)(request, metadata=COMMANDER, timeout=10)
    assert info.value.code() == getattr(grpc.StatusCode, code)
    assert fragment in info.value.details()
    assert incident(clients, incident_id).version == before


def test_an_unknown_incident_is_not_found(clients: Clients) -> None:
    with pytest.raises(grpc.RpcError) as info:
        clients.dispatch.CloseIncident(
            dispatch_pb2.IncidentNoteRequest(request_id=rid(), incident_id="nope"),
            metadata=COMMANDER,
        )
    assert info.value.code() == grpc.StatusCode.NOT_FOUND and "nope" in info.value.details()


def test_a_decline_while_dispatch_is_down_is_re_dispatched_when_it_is_back(
    stack: Stack, clients: Clients
) -> None:
    """The decline waits on the units topic; the restarted dispatch reads it from its
    committed offset and re-dispatches the capability, once."""
    where = common_pb2.GeoPoint(latitude=28.0650, longitude=112.3775)  # Tanzichong village
    incident_id = take_call(clients, "field_fire", where)
    dispatch(clients, incident_id, "VOL-02-E1", "engine")
    alert = waiting_alert(clients, "VOL-02", "VOL-02-E1")
    stack.kill_service("dispatch")
    try:
        clients.units.DeclineAlert(
            units_pb2.DeclineAlertRequest(
                request_id=rid(),
                alert_id=alert.alert_id,
                unit_id="VOL-02-E1",
                reason="crew at a wedding",
            ),
            metadata=team("VOL-02"),
        )
    finally:
        stack.start_service("dispatch")
        stack.wait_healthy(["dispatch"])

    def replaced() -> dispatch_pb2.Assignment | None:
        state = incident(clients, incident_id)
        return next((a for a in active(state) if a.replaces_unit_id == "VOL-02-E1"), None)

    eventually(replaced, timeout=60, what="the decline re-dispatched after the restart")
    state = incident(clients, incident_id)
    assert [a.state for a in state.assignments if a.unit_id == "VOL-02-E1"] == ["DECLINED"]
    assert sum(a.replaces_unit_id == "VOL-02-E1" for a in state.assignments) == 1


def test_a_dispatch_while_the_units_service_is_down_is_kept_and_completed(
    stack: Stack, clients: Clients
) -> None:
    """It stops and restarts the units service."""
    where = common_pb2.GeoPoint(latitude=28.2280, longitude=112.9390)
    incident_id = take_call(clients, "residential_fire", where)
    stack.stop_service("units")
    try:
        reply = dispatch(clients, incident_id, "PRO-02-E1", "engine")
        assert reply.pending and "units service" in reply.message
        (request,) = incident(clients, incident_id).open_requests
        assert request.unit_id == "PRO-02-E1" and request.capability == "engine"
        with pytest.raises(grpc.RpcError) as again:  # a second click: no second request
            dispatch(clients, incident_id, "PRO-02-E1", "engine")
        assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "already asked for" in again.value.details()
    finally:
        stack.start_service("units")
        stack.wait_healthy(["units"])
    eventually(
        lambda: [a.unit_id for a in active(incident(clients, incident_id))] == ["PRO-02-E1"],
        timeout=60,
        what="the pending dispatch completed",
    )
    assert not incident(clients, incident_id).open_requests
    assert unit_status(clients, "PRO-02-E1") != S.Value("AVAILABLE")


def test_a_retried_reservation_that_was_released_since_does_not_hold(clients: Clients) -> None:
    where = common_pb2.GeoPoint(latitude=28.17, longitude=112.93)
    incident_id = take_call(clients, "vehicle_fire", where)
    reserve = units_pb2.ReserveUnitRequest(
        request_id=rid(), unit_id="GOV-04-E1", incident_id=incident_id
    )
    clients.units.ReserveUnit(reserve, metadata=CALL_TAKER)
    release = units_pb2.ReleaseUnitRequest(
        request_id=rid(), unit_id="GOV-04-E1", incident_id=incident_id
    )
    clients.units.ReleaseUnit(release, metadata=CALL_TAKER)
    with pytest.raises(grpc.RpcError) as info:
        clients.units.ReserveUnit(reserve, metadata=CALL_TAKER)  # the same request again
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no longer reserved" in info.value.details()
    assert unit_status(clients, "GOV-04-E1") == S.Value("AVAILABLE")


def test_an_unknown_capability_is_refused_before_anything_is_reserved(clients: Clients) -> None:
    where = common_pb2.GeoPoint(latitude=28.17, longitude=112.94)
    incident_id = take_call(clients, "vehicle_fire", where)
    with pytest.raises(grpc.RpcError) as info:
        dispatch(clients, incident_id, "GOV-05-E1", "submarine")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "unknown capability 'submarine'" in info.value.details()
    assert unit_status(clients, "GOV-05-E1") == S.Value("AVAILABLE")


def test_a_reservation_never_dispatched_is_given_back(tmp_path: Path) -> None:
    """A unit reserved for an incident with no dispatch recorded (dispatch died between
    the two, or the reply was lost in a time-out) is released after a while."""
    with running_stack(tmp_path / "var", {"UC_STRAY_AFTER_SECONDS": "1"}) as own:
        own_clients = Clients(own)
        try:
            incident_id = take_call(own_clients, "vehicle_fire", TOWNSHIP_TOWER)
            own_clients.units.ReserveUnit(
                units_pb2.ReserveUnitRequest(
                    request_id=rid(), unit_id="GOV-02-E1", incident_id=incident_id
                ),
                metadata=CALL_TAKER,
            )
            assert unit_status(own_clients, "GOV-02-E1") == S.Value("RESERVED")
            eventually(
                lambda: unit_status(own_clients, "GOV-02-E1") == S.Value("AVAILABLE"),
                timeout=30,
                what="the stray reservation released",
            )
        finally:
            own_clients.close()
