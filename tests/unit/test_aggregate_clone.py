"""``Aggregate.clone``: the private copy every repository read hands out. A change to the
copy (a decision made on it) must never reach the original, which other threads read."""

from __future__ import annotations

from emergency.v1 import events_pb2
from services.common.enums import IncidentStatus, Tier
from services.common.geo import Point
from services.dispatch.domain import Assignment, Incident, ResourceRequest
from services.units.domain import AlertState, Unit, UnitProfile


def an_incident() -> Incident:
    return Incident(
        incident_id="inc-1",
        incident_type="FIRE_HIGH_RISE",
        location=Point(31.23, 121.47),
        status=IncidentStatus.OPEN,
        call_ids=["call-1"],
        dispatched=["E1"],
        assignments={"E1": Assignment(unit_id="E1", capability="engine", reason="nearest")},
        resource_requests={"rr-1": ResourceRequest("rr-1", "aerial", 1)},
        version=4,
    )


def a_unit_alerted() -> Unit:
    profile = UnitProfile("MS-1", "Micro station 1", Tier.MICRO_STATION, capabilities=("fi",))
    alert = AlertState(events_pb2.UnitAlerted(unit_id="MS-1", incident_id="inc-1"))
    return Unit(profile=profile, alert=alert, version=2)


def test_a_clone_is_equal_to_its_original() -> None:
    incident, unit = an_incident(), a_unit_alerted()
    assert incident.clone() == incident
    assert unit.clone() == unit


def test_changing_a_cloned_incident_leaves_the_original_as_it_was() -> None:
    original = an_incident()
    copy = original.clone()

    copy.assignments["E1"].state = "RELEASED"
    copy.call_ids.append("call-2")
    copy.resource_requests["rr-1"].remaining = 0
    copy.resource_requests["rr-2"] = ResourceRequest("rr-2", "engine", 2)
    copy.version = 9

    assert original == an_incident()


def test_changing_a_cloned_units_alert_message_leaves_the_original_as_it_was() -> None:
    original = a_unit_alerted()
    copy = original.clone()

    assert copy.alert is not None
    copy.alert.alert.incident_id = "inc-2"
    copy.alert.state = "ACKNOWLEDGED"

    assert original == a_unit_alerted()


def test_immutable_parts_are_shared_not_copied() -> None:
    original = a_unit_alerted()

    copy = original.clone()

    assert copy.profile is original.profile  # a frozen dataclass
    assert copy.alert is not original.alert
