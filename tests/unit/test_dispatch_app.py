"""Dispatch's application service against an in-memory store and units service: the
subtle rules of re-dispatch, pending dispatch and orphaned reservations, in
milliseconds (the end-to-end tests show the same over gRPC and Kafka)."""

from __future__ import annotations

import uuid

import pytest

from emergency.v1 import events_pb2
from services.common.enums import CallSource
from services.common.envelope import EventEnvelope
from services.common.errors import InvalidArgument
from services.common.eventstore import EventStore
from services.common.geo import Point
from services.dispatch.app import DispatchApp
from services.dispatch.commands import ClassifyIncident, DispatchUnit, ReceiveCall
from services.dispatch.request_filler import RequestFiller
from tests.support.units_port import InMemoryUnits

CALL_TAKER = "CALL_TAKER:ct-01"
TOKEN = "Bearer demo-ct-01"
FIRE = Point(28.20, 112.90)


@pytest.fixture
def units() -> InMemoryUnits:
    units = InMemoryUnits()
    units.add("PRO-01-E1", "PROFESSIONAL", {"engine"}, Point(28.21, 112.90))
    units.add("VOL-01-E1", "VOLUNTEER", {"engine"}, Point(28.20, 112.91), turnout_seconds=300)
    units.add("GOV-01-E1", "GOV_FULLTIME", {"engine"}, Point(28.25, 112.95))
    return units


@pytest.fixture
def app(units: InMemoryUnits) -> DispatchApp:
    return DispatchApp(EventStore.in_memory(), units)


@pytest.fixture
def filler(app: DispatchApp) -> RequestFiller:
    return RequestFiller(app, "Bearer demo-svc-dispatch", stray_after=0.0)


def take_call(app: DispatchApp, incident_type: str = "residential_fire") -> str:
    command = ReceiveCall(
        request_id=str(uuid.uuid4()),
        incident_type=incident_type,
        source=CallSource.PHONE,
        caller_number="13912345678",
        location=FIRE,
        address="1 Furong Rd",
    )
    incident, _ = app.receive_call(command, CALL_TAKER)
    return incident.incident_id


def dispatch(app: DispatchApp, incident_id: str, unit_id: str) -> bool:
    command = DispatchUnit(str(uuid.uuid4()), incident_id, unit_id, capability="engine")
    _, pending = app.dispatch_unit(command, CALL_TAKER, TOKEN)
    return pending


def dispatch_event_id(app: DispatchApp, incident_id: str, unit_id: str) -> str:
    """The id of the unit's dispatch: its team's alert carries it."""
    return app.get_incident(incident_id).assignments[unit_id].dispatch_event_id


def declined(app: DispatchApp, incident_id: str, unit_id: str) -> EventEnvelope:
    return EventEnvelope(
        event_id=uuid.uuid4().hex,
        correlation_id=incident_id,
        source="units",
        alert_declined=events_pb2.AlertDeclined(
            unit_id=unit_id,
            alert_id=dispatch_event_id(app, incident_id, unit_id),
            reason="crew short",
        ),
    )


def states(app: DispatchApp, incident_id: str) -> dict[str, str]:
    return {a.unit_id: a.state for a in app.get_incident(incident_id).assignments.values()}


def test_a_decline_is_re_dispatched_to_the_next_best_unit_of_its_capability(
    app: DispatchApp, units: InMemoryUnits, filler: RequestFiller
) -> None:
    incident_id = take_call(app)
    dispatch(app, incident_id, "VOL-01-E1")
    units.release("VOL-01-E1", incident_id, "team-declined", TOKEN, "declined")  # units frees it

    app.on_unit_event(declined(app, incident_id, "VOL-01-E1"))
    request = next(iter(app.get_incident(incident_id).resource_requests.values()))
    assert (request.capability, request.replaces) == ("engine", "VOL-01-E1")

    filler.fill_all()

    incident = app.get_incident(incident_id)
    assert states(app, incident_id) == {"VOL-01-E1": "DECLINED", "PRO-01-E1": "ACTIVE"}
    assert (
        incident.assignments["PRO-01-E1"].replaces == "VOL-01-E1" and not incident.resource_requests
    )
    assert units.held["PRO-01-E1"].incident_id == incident_id


def test_the_same_decline_delivered_twice_is_re_dispatched_once(
    app: DispatchApp, units: InMemoryUnits, filler: RequestFiller
) -> None:
    incident_id = take_call(app)
    dispatch(app, incident_id, "VOL-01-E1")
    units.release("VOL-01-E1", incident_id, "team-declined", TOKEN, "declined")
    answer = declined(app, incident_id, "VOL-01-E1")

    app.on_unit_event(answer)
    app.on_unit_event(answer)  # at least once: Kafka may bring it again
    filler.fill_all()
    filler.fill_all()

    assert sorted(states(app, incident_id).values()) == ["ACTIVE", "DECLINED"]


def test_a_dispatch_while_units_is_down_is_pending_then_completed_once_it_is_back(
    app: DispatchApp, units: InMemoryUnits, filler: RequestFiller
) -> None:
    incident_id = take_call(app)
    units.reachable = False

    assert dispatch(app, incident_id, "GOV-01-E1") is True
    (request,) = app.get_incident(incident_id).resource_requests.values()
    assert request.unit_id == "GOV-01-E1"
    filler.fill_all()  # still down: nothing happens, nothing is lost
    assert states(app, incident_id) == {}

    units.reachable = True
    filler.fill_all()

    assert states(app, incident_id) == {"GOV-01-E1": "ACTIVE"}
    assert not app.get_incident(incident_id).resource_requests
    assert units.held["GOV-01-E1"].incident_id == incident_id


def test_an_orphaned_reservation_is_given_back(
    app: DispatchApp, units: InMemoryUnits, filler: RequestFiller
) -> None:
    incident_id = take_call(app)
    units.reserve("PRO-01-E1", incident_id, "crashed-before-recording", TOKEN)  # never recorded
    units.reserve("GOV-01-E1", str(uuid.uuid4()), "made-up-incident", TOKEN)  # nobody's
    dispatch(app, incident_id, "VOL-01-E1")  # a real one, which stays

    filler.fill_all()

    assert sorted(units.held) == ["VOL-01-E1"]


def test_the_run_cards_are_the_catalogue_of_incident_types(app: DispatchApp) -> None:
    with pytest.raises(InvalidArgument, match="unknown incident type 'alien_landing'"):
        take_call(app, "alien_landing")
    incident_id = take_call(app, "automatic_alarm")
    with pytest.raises(InvalidArgument, match="unknown incident type 'alien_landing'"):
        app.handle(ClassifyIncident(str(uuid.uuid4()), incident_id, "alien_landing"), CALL_TAKER)
    verified = app.handle(
        ClassifyIncident(str(uuid.uuid4()), incident_id, "residential_fire"), CALL_TAKER
    )
    assert verified.incident_type == "residential_fire"
