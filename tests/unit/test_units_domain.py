"""The unit aggregate: given events, when a command, then events (or a clear refusal)."""

from __future__ import annotations

import pytest
from google.protobuf.message import Message

from emergency.v1 import events_pb2
from services.common.enums import Tier, UnitStatus
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.geo import Point
from services.units.domain import Unit
from tests.support.aggregates import applied
from tests.support.aggregates import given as aggregate_given
from tests.support.builders import a_unit_profile

profile = a_unit_profile


def given(*events: Message) -> Unit:
    return aggregate_given(Unit, events_pb2.UnitRegistered(profile=profile().to_message()), *events)


def test_a_registered_unit_is_available() -> None:
    (event,) = Unit.register(profile(name=" Light engine ", capabilities=["Engine", "engine"]))
    unit = Unit.from_events([event])
    assert (unit.status, unit.version, unit.profile.name) == (
        UnitStatus.AVAILABLE,
        1,
        "Light engine",
    )
    assert list(unit.profile.capabilities) == ["engine"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"unit_id": " "}, "unit_id is required"),
        ({"name": ""}, "name is required"),
        ({"tier": Tier.TIER_UNSPECIFIED}, "tier must be one of"),
        ({"capabilities": ["teleport"]}, "unknown capabilities"),
        ({"capabilities": []}, "at least one capability"),
        ({"home": Point(91, 1)}, "latitude 91"),
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
    assert (unit.status, unit.incident_id) == (UnitStatus.RESERVED, "inc-1")


def test_a_reserved_unit_cannot_be_reserved_again_and_the_error_says_by_whom() -> None:
    unit = given(events_pb2.UnitReserved(unit_id="VOL-03-E1", incident_id="inc-1"))
    with pytest.raises(FailedPrecondition, match=r"RESERVED for incident inc-1.*next candidate"):
        unit.reserve("inc-2")


def test_a_returning_unit_can_be_re_dispatched() -> None:
    unit = given(
        events_pb2.UnitReserved(unit_id="VOL-03-E1", incident_id="inc-1"),
        events_pb2.UnitStatusChanged(to_status=UnitStatus.ON_SCENE),
        events_pb2.UnitStatusChanged(to_status=UnitStatus.RETURNING),
    )
    assert isinstance(unit.reserve("inc-2")[0], events_pb2.UnitReserved)


def test_the_whole_run_of_an_incident() -> None:
    unit = given()
    for decide in (
        lambda u: u.reserve("inc-1"),
        lambda u: u.change_status(UnitStatus.ALERTED),
        lambda u: u.change_status(UnitStatus.ACKNOWLEDGED),
        lambda u: u.change_status(UnitStatus.EN_ROUTE),
        lambda u: u.change_status(UnitStatus.STAGING),
        lambda u: u.change_status(UnitStatus.ON_SCENE),
        lambda u: u.change_status(UnitStatus.RETURNING),
        lambda u: u.change_status(UnitStatus.AVAILABLE),
    ):
        for event in decide(unit):
            unit.apply(event)
    assert (unit.status, unit.incident_id, unit.version) == (UnitStatus.AVAILABLE, "", 9)


def test_an_illegal_move_names_the_current_status_and_the_allowed_ones() -> None:
    unit = given()
    with pytest.raises(FailedPrecondition, match="is AVAILABLE; it cannot become ON_SCENE"):
        unit.change_status(UnitStatus.ON_SCENE)
    with pytest.raises(InvalidArgument):
        unit.change_status(UnitStatus.RETIRED)


def test_release_frees_the_unit_only_from_its_own_incident() -> None:
    unit = given(events_pb2.UnitReserved(unit_id="VOL-03-E1", incident_id="inc-1"))
    with pytest.raises(FailedPrecondition, match="on incident inc-1, not inc-9"):
        unit.release("inc-9", "closed")
    (event,) = unit.release("inc-1", "incident closed")
    unit.apply(event)
    assert unit.status == UnitStatus.AVAILABLE
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
    [
        (91, 0.5, "latitude 91"),
        (0.5, 181, "longitude 181"),
        (float("nan"), 1, "numbers"),
        (0, 0, "left unset"),
    ],
)
def test_coordinates_are_checked(lat: float, lon: float, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        Point.checked(lat, lon, "unit home")


# --- alerts --------------------------------------------------------------------------

DISPATCHED = events_pb2.UnitDispatched(
    incident_id="inc-1", unit_id="VOL-03-E1", incident_type="field_fire"
)
T0 = 1_800_000_000_000_000


def alerted() -> Unit:
    unit = given(events_pb2.UnitReserved(unit_id="VOL-03-E1", incident_id="inc-1"))
    for event in unit.alert_team("a-1", DISPATCHED, T0):
        unit.apply(event)
    return unit


def test_a_volunteer_team_is_alerted_with_a_deadline() -> None:
    unit = alerted()
    assert unit.status == UnitStatus.ALERTED and unit.alert is not None
    assert unit.alert.deadline_us == T0 + 120 * 1_000_000
    assert unit.alert.alert.responders_needed == 4


def test_a_volunteer_team_counts_as_acknowledged_only_with_enough_responders() -> None:
    unit = applied(alerted(), alerted().acknowledge("a-1", 2, 300, "two of us", T0))
    assert (unit.status, unit.alert.responders_total) == (UnitStatus.ALERTED, 2)
    (event,) = unit.acknowledge("a-1", 2, 240, "two more", T0 + 1)
    assert event.complete and event.responders_total == 4
    assert applied(unit, [event]).status == UnitStatus.ACKNOWLEDGED


def test_a_staffed_station_is_acknowledged_on_alert() -> None:
    unit = Unit.from_events(
        [
            events_pb2.UnitRegistered(
                profile=profile(
                    tier=Tier.PROFESSIONAL, auto_acknowledge=True, staffing=30
                ).to_message()
            ),
            events_pb2.UnitReserved(unit_id="VOL-03-E1", incident_id="inc-1"),
        ]
    )
    alert, ack = unit.alert_team("a-1", DISPATCHED, T0)
    assert ack.automatic and ack.complete
    assert applied(unit, [alert, ack]).status == UnitStatus.ACKNOWLEDGED


def test_only_a_unit_reserved_for_the_incident_is_alerted() -> None:
    with pytest.raises(FailedPrecondition, match="only a unit reserved for incident inc-1"):
        given().alert_team("a-1", DISPATCHED, T0)


def test_a_decline_or_a_missed_deadline_frees_the_unit_and_closes_the_alert() -> None:
    declined = applied(alerted(), alerted().decline("a-1", "crew at harvest", T0))
    assert (declined.status, declined.incident_id) == (UnitStatus.AVAILABLE, "")
    with pytest.raises(FailedPrecondition, match="DECLINED; it can no longer be answered"):
        declined.acknowledge("a-1", 3, 60, "", T0)

    with pytest.raises(FailedPrecondition, match="has not reached its deadline"):
        alerted().time_out("a-1", T0 + 119 * 1_000_000)
    timed_out = applied(alerted(), alerted().time_out("a-1", T0 + 120 * 1_000_000))
    assert timed_out.status == UnitStatus.AVAILABLE
    with pytest.raises(FailedPrecondition, match="TIMED OUT"):
        timed_out.acknowledge("a-1", 4, 60, "", T0)


@pytest.mark.parametrize(
    ("alert_id", "responders", "error", "message"),
    [
        ("a-1", 0, InvalidArgument, "responders must be 1 or more"),
        ("a-9", 1, NotFound, "no alert 'a-9'"),
    ],
)
def test_bad_acknowledgements_are_refused(
    alert_id: str, responders: int, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        alerted().acknowledge(alert_id, responders, 60, "", T0)


def test_declining_needs_a_reason() -> None:
    with pytest.raises(InvalidArgument, match="give a reason"):
        alerted().decline("a-1", " ", T0)


def test_a_release_withdraws_an_unanswered_alert_so_no_time_out_fires_later() -> None:
    unit = alerted()
    released = applied(unit, unit.release("", "incident closed"))
    assert released.status == UnitStatus.AVAILABLE and released.alert.state == "WITHDRAWN"
    with pytest.raises(FailedPrecondition, match="WITHDRAWN; it can no longer be answered"):
        released.acknowledge("a-1", 5, 60, "", T0)
    with pytest.raises(FailedPrecondition, match="WITHDRAWN"):
        released.time_out("a-1", T0 + 999 * 1_000_000)


DEADLINE = T0 + 120 * 1_000_000


@pytest.mark.parametrize("late_ms", [1, 50, 150, 300, 450, 1000])
def test_an_answer_after_the_deadline_is_refused_as_late_even_before_the_time_out(
    late_ms: int,
) -> None:
    """Whether the time-out has been recorded yet must not decide it (issue 9, item 8)."""
    at = DEADLINE + late_ms * 1000
    with pytest.raises(FailedPrecondition, match="came late"):
        alerted().acknowledge("a-1", 4, 60, "", at)
    with pytest.raises(FailedPrecondition, match="came late"):
        alerted().decline("a-1", "crew at harvest", at)


def test_an_answer_at_the_deadline_counts_and_responders_may_join_an_acknowledged_alert() -> None:
    unit = applied(alerted(), alerted().acknowledge("a-1", 4, 60, "", DEADLINE))
    assert unit.status == UnitStatus.ACKNOWLEDGED
    (more,) = unit.acknowledge("a-1", 2, 60, "two more", DEADLINE + 60_000_000)
    assert more.responders_total == 6
