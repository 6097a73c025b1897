"""The unit aggregate: given events, when a command, then events (or a clear refusal)."""

from __future__ import annotations

import pytest

from emergency.v1 import common_pb2, events_pb2
from services.common.errors import FailedPrecondition, InvalidArgument
from services.common.geo import Point
from services.units.domain import Unit

S = common_pb2.UnitStatus


def profile(**change: object) -> common_pb2.UnitProfile:
    base = common_pb2.UnitProfile(
        unit_id="VOL-03-E1", name="Light engine", tier=common_pb2.VOLUNTEER,
        station_id="VOL-03", capabilities=["engine", "first_intervention"],
        home=common_pb2.GeoPoint(latitude=28.25, longitude=112.33), staffing=12,
        min_responders=4, turnout_seconds=300, ack_deadline_seconds=120,
    )  # fmt: skip
    for key, value in change.items():
        if key == "capabilities":
            del base.capabilities[:]
            base.capabilities.extend(value)  # type: ignore[arg-type]
        elif key == "home":
            base.home.CopyFrom(value)  # type: ignore[arg-type]
        else:
            setattr(base, key, value)
    return base


def given(*events: object) -> Unit:
    return Unit.from_events([events_pb2.UnitRegistered(profile=profile()), *events])


def test_a_registered_unit_is_available() -> None:
    (event,) = Unit.register(profile(name=" Light engine ", capabilities=["Engine", "engine"]))
    unit = Unit.from_events([event])
    assert (unit.status, unit.version, unit.profile.name) == (
        S.Value("AVAILABLE"),
        1,
        "Light engine",
    )
    assert list(unit.profile.capabilities) == ["engine"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"unit_id": " "}, "unit_id is required"),
        ({"name": ""}, "name is required"),
        ({"tier": common_pb2.TIER_UNSPECIFIED}, "tier must be one of"),
        ({"capabilities": ["teleport"]}, "unknown capabilities"),
        ({"capabilities": []}, "at least one capability"),
        ({"home": common_pb2.GeoPoint(latitude=91, longitude=1)}, "latitude 91"),
        ({"min_responders": 20}, "more than staffing"),
    ],
)
def test_bad_profiles_are_refused(change: dict, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        Unit.register(profile(**change))


def test_reserving_an_available_unit_ties_it_to_the_incident() -> None:
    unit = given()
    (event,) = unit.reserve("inc-1")
    unit.apply(event)
    assert (unit.status, unit.incident_id) == (S.Value("RESERVED"), "inc-1")


def test_a_reserved_unit_cannot_be_reserved_again_and_the_error_says_by_whom() -> None:
    unit = given(events_pb2.UnitReserved(unit_id="VOL-03-E1", incident_id="inc-1"))
    with pytest.raises(FailedPrecondition, match=r"RESERVED for incident inc-1.*next candidate"):
        unit.reserve("inc-2")


def test_a_returning_unit_can_be_re_dispatched() -> None:
    unit = given(
        events_pb2.UnitReserved(unit_id="VOL-03-E1", incident_id="inc-1"),
        events_pb2.UnitStatusChanged(to_status=S.Value("ON_SCENE")),
        events_pb2.UnitStatusChanged(to_status=S.Value("RETURNING")),
    )
    assert isinstance(unit.reserve("inc-2")[0], events_pb2.UnitReserved)


def test_the_whole_run_of_an_incident() -> None:
    unit = given()
    for decide in (
        lambda u: u.reserve("inc-1"),
        lambda u: u.change_status(S.Value("ALERTED")),
        lambda u: u.change_status(S.Value("ACKNOWLEDGED")),
        lambda u: u.change_status(S.Value("EN_ROUTE")),
        lambda u: u.change_status(S.Value("ON_SCENE")),
        lambda u: u.change_status(S.Value("RETURNING")),
        lambda u: u.change_status(S.Value("AVAILABLE")),
    ):
        for event in decide(unit):
            unit.apply(event)
    assert (unit.status, unit.incident_id, unit.version) == (S.Value("AVAILABLE"), "", 8)


def test_an_illegal_move_names_the_current_status_and_the_allowed_ones() -> None:
    unit = given()
    with pytest.raises(FailedPrecondition, match="is AVAILABLE; it cannot become ON_SCENE"):
        unit.change_status(S.Value("ON_SCENE"))
    with pytest.raises(InvalidArgument):
        unit.change_status(S.Value("RETIRED"))


def test_release_frees_the_unit_only_from_its_own_incident() -> None:
    unit = given(events_pb2.UnitReserved(unit_id="VOL-03-E1", incident_id="inc-1"))
    with pytest.raises(FailedPrecondition, match="on incident inc-1, not inc-9"):
        unit.release("inc-9", "closed")
    (event,) = unit.release("inc-1", "incident closed")
    unit.apply(event)
    assert unit.status == S.Value("AVAILABLE")
    with pytest.raises(FailedPrecondition, match="not on an incident"):
        unit.release("inc-1", "again")


def test_an_unchanged_profile_updates_nothing_and_a_change_names_its_fields() -> None:
    unit = given()
    assert unit.update(profile()) == []
    (event,) = unit.update(profile(staffing=14, name="Engine"))
    assert sorted(event.changed_fields) == ["name", "staffing"]


def test_a_busy_unit_cannot_be_retired_and_a_retired_one_does_nothing() -> None:
    busy = given(events_pb2.UnitReserved(unit_id="VOL-03-E1", incident_id="inc-1"))
    with pytest.raises(FailedPrecondition, match="release it before retiring"):
        busy.retire("gone")
    retired = given(events_pb2.UnitRetired(unit_id="VOL-03-E1"))
    with pytest.raises(FailedPrecondition, match="is retired"):
        retired.reserve("inc-1")


def test_location_reports_move_the_unit() -> None:
    unit = given()
    for event in unit.report_location(Point(28.3, 112.4)):
        unit.apply(event)
    assert unit.location == Point(28.3, 112.4)


@pytest.mark.parametrize(
    ("lat", "lon", "message"),
    [(91, 0.5, "latitude 91"), (0.5, 181, "longitude 181"), (float("nan"), 1, "numbers"),
     (0, 0, "left unset")],
)  # fmt: skip
def test_coordinates_are_checked(lat: float, lon: float, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        Point.checked(lat, lon, "unit home")
