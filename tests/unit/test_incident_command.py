"""The incident aggregate under command: given its events, when a decision, then the
events it records (or a refusal a person can act on)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from google.protobuf.message import Message

from emergency.v1 import common_pb2, events_pb2
from services.common.enums import CallSource, IncidentStatus
from services.common.errors import FailedPrecondition, InvalidArgument
from services.dispatch.domain import Call, Incident
from tests.support.aggregates import applied
from tests.support.aggregates import given as aggregate_given
from tests.support.builders import a_call

Outcome = events_pb2.AssignmentEnded.Outcome
CancelReason = events_pb2.IncidentCancelled.Reason

ID = "i1"
CALL = a_call()
OPENED = Incident.open_from_call(ID, CALL)


def given(*events: Message, call: Call = CALL) -> Incident:
    """An incident opened from ``call``, then ``events``."""
    return aggregate_given(Incident, *Incident.open_from_call(ID, call), *events)


# --- the events, as the incident records them ---------------------------------------------


def dispatched(
    unit_id: str,
    capability: str = "",
    resource_request_id: str = "",
    replaces: str = "",
    reason: str = "card",
) -> events_pb2.UnitDispatched:
    return events_pb2.UnitDispatched(
        incident_id=ID,
        unit_id=unit_id,
        incident_type=CALL.incident_type,
        location=common_pb2.GeoPoint(latitude=28.2, longitude=112.9),
        address=CALL.address,
        reason=reason,
        capability=capability,
        resource_request_id=resource_request_id,
        replaces_unit_id=replaces,
    )


def requested(
    resource_request_id: str,
    capability: str,
    count: int = 1,
    unit_id: str = "",
    replaces: str = "",
    reason: str = "more",
) -> events_pb2.UnitsRequested:
    return events_pb2.UnitsRequested(
        incident_id=ID,
        resource_request_id=resource_request_id,
        capability=capability,
        count=count,
        unit_id=unit_id,
        replaces_unit_id=replaces,
        reason=reason,
    )


def ended(unit_id: str, outcome: int, reason: str = "") -> events_pb2.AssignmentEnded:
    return events_pb2.AssignmentEnded(
        incident_id=ID, unit_id=unit_id, outcome=outcome, reason=reason
    )


def under_control() -> events_pb2.IncidentUnderControl:
    return events_pb2.IncidentUnderControl(incident_id=ID)


def closed() -> events_pb2.IncidentClosed:
    return events_pb2.IncidentClosed(incident_id=ID)


def cancelled() -> events_pb2.IncidentCancelled:
    return events_pb2.IncidentCancelled(incident_id=ID, reason=CancelReason.FALSE_ALARM)


def command_assumed(
    commander_id: str = "chen", name: str = "Chen Wei"
) -> events_pb2.CommandAssumed:
    return events_pb2.CommandAssumed(incident_id=ID, commander_id=commander_id, commander_name=name)


OVER = pytest.mark.parametrize("end", [closed, cancelled], ids=["closed", "cancelled"])


# --- dispatch -----------------------------------------------------------------------------


def test_a_dispatch_records_the_unit_in_its_capability() -> None:
    incident = given()

    events = incident.dispatch("E1", " card ", "engine")

    assert events == [dispatched("E1", "engine")]
    applied(incident, events)
    assert incident.dispatched == ["E1"] and incident.active_units() == ["E1"]
    assert incident.assignments["E1"].capability == "engine"


def test_a_dispatch_fills_the_open_request_for_that_unit() -> None:
    incident = given(requested("n1", "", unit_id="A1", reason="dispatch"))

    assert incident.dispatch("A1", "card", "aerial") == [dispatched("A1", "aerial", "n1")]


def test_a_dispatch_fills_an_open_request_of_its_capability_and_carries_the_unit_replaced() -> None:
    incident = given(
        dispatched("E1", "engine"),
        ended("E1", Outcome.DECLINED),
        requested("n1", "engine", replaces="E1"),
    )

    events = incident.dispatch("E2", "card", "engine")

    assert events == [dispatched("E2", "engine", resource_request_id="n1", replaces="E1")]


def test_a_request_for_the_unit_comes_before_a_request_of_the_capability() -> None:
    incident = given(requested("n1", "engine"), requested("n2", "engine", unit_id="E7"))

    assert incident.dispatch("E7", "card", "engine")[0].resource_request_id == "n2"


@pytest.mark.parametrize("capability", ["", "rescue"])
def test_a_dispatch_fills_no_request_of_another_capability(capability: str) -> None:
    incident = given(requested("n1", "engine"))

    assert incident.dispatch("R1", "card", capability) == [dispatched("R1", capability)]


def test_what_a_request_still_asks_for_drops_with_each_unit_and_it_goes_at_zero() -> None:
    incident = given(requested("n1", "engine", count=2))

    applied(incident, incident.dispatch("E1", "card", "engine"))
    assert incident.resource_requests["n1"].remaining == 1

    applied(incident, incident.dispatch("E2", "card", "engine"))
    assert incident.resource_requests == {}
    assert incident.dispatch("E3", "card", "engine") == [dispatched("E3", "engine")]


def test_the_same_unit_is_not_dispatched_twice() -> None:
    incident = given(dispatched("E1", "engine"))

    with pytest.raises(FailedPrecondition, match="E1 is already dispatched to incident i1"):
        incident.dispatch("E1", "card", "engine")


def test_a_unit_that_declined_can_be_sent_again_by_hand() -> None:
    incident = given(dispatched("E1", "engine"))
    applied(incident, incident.unit_answered("E1", Outcome.DECLINED, "crew short"))

    (again,) = incident.dispatch("E1", "crew found after all", "engine")
    applied(incident, [again])
    assert incident.assignments["E1"].state == "ACTIVE"
    assert incident.active_units() == ["E1"]


def test_a_unit_id_is_required() -> None:
    with pytest.raises(InvalidArgument, match="unit_id is required"):
        given().dispatch(" ", "card", "engine")


@OVER
def test_nothing_is_dispatched_to_an_incident_that_is_over(end) -> None:
    incident = given(end())

    with pytest.raises(FailedPrecondition, match=f"is {incident.status.name}: cannot dispatch"):
        incident.dispatch("E1", "card", "engine")


def test_nothing_is_decided_on_an_incident_never_opened() -> None:
    with pytest.raises(FailedPrecondition, match="no such incident"):
        Incident().dispatch("E1", "card", "engine")


def test_a_dispatch_without_a_capability_takes_the_capability_of_the_request_it_fills() -> None:
    incident = given(requested("n1", "aerial", unit_id="A1", reason="dispatch"))

    assert incident.dispatch("A1", "card") == [dispatched("A1", "aerial", "n1")]


def test_another_units_dispatch_does_not_take_over_a_pending_dispatch() -> None:
    incident = given(requested("n1", "engine", unit_id="E1", reason="dispatch"))

    assert incident.dispatch("E2", "card", "engine") == [dispatched("E2", "engine")]


# --- answers from the units: re-dispatch --------------------------------------------------


def test_a_declined_unit_is_replaced_in_its_capability() -> None:
    incident = given(dispatched("E1", "engine"))

    events = incident.unit_answered("E1", Outcome.DECLINED, "no crew")

    assert events == [
        ended("E1", Outcome.DECLINED, "no crew"),
        requested("n1", "engine", replaces="E1", reason="re-dispatch: E1 declined (no crew)"),
    ]
    applied(incident, events)
    assert incident.active_units() == []
    assert incident.assignments["E1"].state == "DECLINED"
    assert incident.resource_requests["n1"].remaining == 1


def test_a_unit_that_did_not_answer_in_time_is_replaced_in_its_capability() -> None:
    incident = given(dispatched("E1", "engine"))

    events = incident.unit_answered("E1", Outcome.TIMED_OUT, "")

    assert events == [
        ended("E1", Outcome.TIMED_OUT),
        requested("n1", "engine", replaces="E1", reason="re-dispatch: E1 did not answer in time"),
    ]


def test_a_released_unit_is_not_replaced() -> None:
    incident = given(dispatched("E1", "engine"))

    events = incident.unit_answered("E1", Outcome.RELEASED, "sent home by hand")

    assert events == [ended("E1", Outcome.RELEASED, "sent home by hand")]


def test_a_second_answer_from_the_same_unit_changes_nothing() -> None:
    incident = given(dispatched("E1", "engine"))
    applied(incident, incident.unit_answered("E1", Outcome.DECLINED, "no crew"))

    assert incident.unit_answered("E1", Outcome.DECLINED, "no crew") == []
    assert incident.unit_answered("E1", Outcome.TIMED_OUT, "") == []


def test_an_answer_from_a_unit_not_on_the_incident_changes_nothing() -> None:
    assert given().unit_answered("E9", Outcome.DECLINED, "no crew") == []


@OVER
def test_a_unit_that_declines_on_an_incident_over_is_not_replaced(end) -> None:
    incident = given(dispatched("E1", "engine"), end())

    events = incident.unit_answered("E1", Outcome.DECLINED, "no crew")

    assert events == [ended("E1", Outcome.DECLINED, "no crew")]


def test_request_ids_follow_each_other() -> None:
    incident = given(requested("n1", "rescue"), dispatched("E1", "engine"), dispatched("E2"))

    first = incident.unit_answered("E1", Outcome.DECLINED, "")
    assert [e.resource_request_id for e in first[1:]] == ["n2"]
    applied(incident, first)

    second = incident.unit_answered("E2", Outcome.TIMED_OUT, "")
    assert second[1] == requested(
        "n3", "", replaces="E2", reason="re-dispatch: E2 did not answer in time"
    )


# --- the request filler ----------------------------------------------------------------------


def test_the_filler_fills_an_open_request_in_its_capability() -> None:
    incident = given(dispatched("E1", "engine"), requested("n1", "engine", replaces="E1"))

    events = incident.fill("n1", "E2", "", "re-dispatch; nearest")

    assert events == [dispatched("E2", "engine", "n1", "E1", reason="re-dispatch; nearest")]
    assert applied(incident, events).resource_requests == {}


def test_the_filler_may_name_the_capability_a_unit_fills() -> None:
    incident = given(requested("n1", "", unit_id="X1"))

    assert incident.fill("n1", "X1", "rescue", "asked for")[0].capability == "rescue"


@pytest.mark.parametrize(
    "history",
    [[], [requested("n1", "engine"), dispatched("E1", "engine", "n1")]],
    ids=["unknown", "filled"],
)
def test_the_filler_is_refused_a_request_no_longer_open(history: list[Message]) -> None:
    incident = given(*history)

    with pytest.raises(FailedPrecondition, match="no open request 'n1': filled meanwhile"):
        incident.fill("n1", "E2", "engine", "nearest")


def test_the_filler_is_refused_a_unit_already_on_the_incident() -> None:
    incident = given(dispatched("E1", "engine"), requested("n1", "engine"))

    with pytest.raises(FailedPrecondition, match="already dispatched"):
        incident.fill("n1", "E1", "engine", "nearest")


def test_a_request_says_once_why_it_is_not_filled() -> None:
    incident = given(requested("n1", "aerial", count=2))

    events = incident.units_unavailable("n1", 2, "no aerial free")
    assert events == [
        events_pb2.UnitsUnavailable(
            incident_id=ID,
            resource_request_id="n1",
            capability="aerial",
            missing=2,
            reason="no aerial free",
        )
    ]
    applied(incident, events)

    assert incident.units_unavailable("n1", 2, "no aerial free") == []
    assert len(incident.units_unavailable("n1", 1, "one aerial busy")) == 1
    assert incident.units_unavailable("n9", 1, "no aerial free") == []


# --- alarm levels -------------------------------------------------------------------------


def test_a_higher_alarm_asks_only_for_what_is_not_on_the_incident_or_asked_for() -> None:
    # Level 1: three engines; E3 declined and its re-dispatch (n1) is still open.
    incident = given(
        dispatched("E1", "engine"),
        dispatched("E2", "engine"),
        dispatched("E3", "engine"),
        ended("E3", Outcome.DECLINED, "no crew"),
        requested("n1", "engine", replaces="E3"),
    )

    events = incident.raise_alarm(2, " smoke spreading ", {"engine": 5, "rescue": 1})

    # engine: 5 wanted - (2 on the incident + 1 asked for) = 2; rescue: 1 - 0 = 1
    assert events == [
        events_pb2.AlarmLevelRaised(
            incident_id=ID, from_level=1, to_level=2, reason="smoke spreading"
        ),
        requested("n2", "engine", 2, reason="alarm level 2: engine 3 of 5 sent or asked for"),
        requested("n3", "rescue", 1, reason="alarm level 2: rescue 0 of 1 sent or asked for"),
    ]
    applied(incident, events)
    assert incident.alarm_level == 2
    assert [
        (n.resource_request_id, n.capability, n.remaining)
        for n in incident.resource_requests.values()
    ] == [
        ("n1", "engine", 1),
        ("n2", "engine", 2),
        ("n3", "rescue", 1),
    ]


def test_a_higher_alarm_already_covered_asks_for_nothing_more() -> None:
    incident = given(dispatched("E1", "engine"), dispatched("R1", "rescue"))

    events = incident.raise_alarm(2, "", {"engine": 1, "rescue": 1})

    assert [type(e).__name__ for e in events] == ["AlarmLevelRaised"]


@pytest.mark.parametrize("level", [0, 1, 6])
def test_the_alarm_only_goes_up_to_five(level: int) -> None:
    with pytest.raises(InvalidArgument, match=rf"alarm level {level} is not above .* 1"):
        given().raise_alarm(level, "", {"engine": 1})


def test_the_alarm_does_not_go_back_down() -> None:
    incident = given(events_pb2.AlarmLevelRaised(incident_id=ID, from_level=1, to_level=3))

    with pytest.raises(InvalidArgument, match="not above the current level 3"):
        incident.raise_alarm(2, "", {"engine": 1})
    assert len(incident.raise_alarm(5, "", {})) == 1


@OVER
def test_the_alarm_of_an_incident_over_is_not_raised(end) -> None:
    with pytest.raises(FailedPrecondition, match="cannot raise its alarm level"):
        given(end()).raise_alarm(2, "", {"engine": 1})


# --- requests for more units --------------------------------------------------------------


def test_a_commander_asks_for_more_units() -> None:
    incident = given(requested("n1", "engine"))

    events = incident.request_units("aerial", 2, " roof ")

    assert events == [requested("n2", "aerial", 2, reason="roof")]


def test_a_particular_unit_may_be_asked_for_without_a_capability() -> None:
    assert given().request_units("", 1, "dispatch", unit_id="X1") == [
        requested("n1", "", unit_id="X1", reason="dispatch")
    ]


@pytest.mark.parametrize(
    ("capability", "count", "message"),
    [
        ("spaceship", 1, "unknown capability 'spaceship'"),
        ("engine", 0, "count 0 is outside 1..20"),
        ("engine", 21, "count 21 is outside 1..20"),
        ("", 1, "name the capability needed"),
    ],
)
def test_malformed_requests_are_refused(capability: str, count: int, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        given().request_units(capability, count, "more")


@OVER
def test_no_units_are_requested_for_an_incident_over(end) -> None:
    with pytest.raises(FailedPrecondition, match="cannot request units"):
        given(end()).request_units("engine", 1, "more")


# --- command ------------------------------------------------------------------------------


def test_the_first_to_take_command_has_it() -> None:
    incident = given()

    events = incident.assume_command(" chen ", " Chen Wei ", " E1 ")

    assert events == [
        events_pb2.CommandAssumed(
            incident_id=ID, commander_id="chen", commander_name="Chen Wei", unit_id="E1"
        )
    ]
    applied(incident, events)
    assert (incident.commander_id, incident.commander_name) == ("chen", "Chen Wei")


def test_command_is_not_assumed_twice() -> None:
    with pytest.raises(FailedPrecondition, match=r"Chen Wei is in command .* TransferCommand"):
        given(command_assumed()).assume_command("li", "Li Na", "")


def test_a_commander_id_is_required() -> None:
    with pytest.raises(InvalidArgument, match="commander_id is required"):
        given().assume_command(" ", "Chen Wei", "")


def test_command_is_transferred_from_the_commander() -> None:
    incident = given(command_assumed())

    events = incident.transfer_command("li", " Li Na ", "B1", " senior officer on scene ")

    assert events == [
        events_pb2.CommandTransferred(
            incident_id=ID,
            from_commander_id="chen",
            to_commander_id="li",
            to_commander_name="Li Na",
            unit_id="B1",
            reason="senior officer on scene",
        )
    ]
    applied(incident, events)
    assert (incident.commander_id, incident.commander_name) == ("li", "Li Na")


def test_command_nobody_has_is_not_transferred() -> None:
    with pytest.raises(FailedPrecondition, match=r"nobody is in command .* AssumeCommand"):
        given().transfer_command("li", "Li Na", "", "")


def test_command_is_not_transferred_to_the_commander() -> None:
    with pytest.raises(FailedPrecondition, match=r"chen\s*is in command already"):
        given(command_assumed()).transfer_command(" chen ", "Chen Wei", "", "")


@OVER
def test_nobody_takes_command_of_an_incident_over(end) -> None:
    with pytest.raises(FailedPrecondition, match="cannot take command"):
        given(end()).assume_command("chen", "Chen Wei", "")


# --- status -------------------------------------------------------------------------------


def test_an_open_incident_is_brought_under_control() -> None:
    incident = given()

    events = incident.mark_under_control(" knocked down ")

    assert events == [events_pb2.IncidentUnderControl(incident_id=ID, note="knocked down")]
    assert applied(incident, events).status == IncidentStatus.UNDER_CONTROL and incident.active


@pytest.mark.parametrize("history", [[under_control()], [closed()], [cancelled()]])
def test_only_an_open_incident_is_brought_under_control(history: list[Message]) -> None:
    incident = given(*history)

    with pytest.raises(FailedPrecondition, match=f"is {incident.status.name}: only an OPEN"):
        incident.mark_under_control("")


@pytest.mark.parametrize("history", [[], [under_control()]], ids=["open", "under_control"])
def test_an_incident_is_closed(history: list[Message]) -> None:
    incident = given(*history)

    events = incident.close(" all out ")

    assert events == [events_pb2.IncidentClosed(incident_id=ID, note="all out")]
    assert applied(incident, events).status == IncidentStatus.CLOSED and not incident.active


def test_an_incident_is_not_closed_twice() -> None:
    with pytest.raises(FailedPrecondition, match="incident i1 is CLOSED: cannot close it"):
        given(closed()).close("")


def test_a_false_alarm_is_cancelled() -> None:
    incident = given()

    events = incident.cancel("FALSE_ALARM", " detector fault ")

    assert events == [
        events_pb2.IncidentCancelled(
            incident_id=ID, reason=CancelReason.FALSE_ALARM, note="detector fault"
        )
    ]
    assert applied(incident, events).status == IncidentStatus.CANCELLED


@pytest.mark.parametrize("reason", ["BORED", "REASON_UNSPECIFIED", ""])
def test_an_unknown_cancel_reason_is_refused(reason: str) -> None:
    expected = r"\['FALSE_ALARM', 'HOAX', 'HANDLED_ELSEWHERE', 'OTHER'\]"
    with pytest.raises(InvalidArgument, match=f"is not one of {expected}"):
        given().cancel(reason, "")


def test_an_incident_closed_is_not_cancelled() -> None:
    with pytest.raises(FailedPrecondition, match="is CLOSED: cannot cancel"):
        given(closed()).cancel("HOAX", "")


@OVER
def test_an_incident_over_needs_nothing_more(end) -> None:
    incident = given(requested("n1", "engine"), requested("n2", "rescue", 2))

    assert applied(incident, [end()]).resource_requests == {}
    assert incident.units_unavailable("n1", 1, "none free") == []


@OVER
def test_an_incident_over_owes_the_release_of_the_units_still_on_it(end) -> None:
    incident = given(
        dispatched("E1", "engine"),
        dispatched("E2", "engine"),
        ended("E2", Outcome.DECLINED),
        dispatched("R1", "rescue"),
    )
    assert incident.releases_owed() == []

    applied(incident, [end()])
    assert incident.releases_owed() == ["E1", "R1"]

    events = incident.released("E1", "incident closed")
    assert events == [ended("E1", Outcome.RELEASED, "incident closed")]
    assert applied(incident, events).releases_owed() == ["R1"]
    assert incident.released("E1", "incident closed") == []


def test_an_incident_under_control_owes_no_release() -> None:
    assert given(dispatched("E1", "engine"), under_control()).releases_owed() == []


# --- classification -----------------------------------------------------------------------


def test_an_automatic_alarm_verified_as_a_fire() -> None:
    alarm = replace(
        CALL,
        caller_number="",
        source=CallSource.FIRE_ALARM_NETWORK,
        incident_type="automatic_alarm",
    )
    incident = given(call=alarm)

    events = incident.classify("residential_fire", " flames seen ")

    assert events == [
        events_pb2.IncidentClassified(
            incident_id=ID,
            from_type="automatic_alarm",
            to_type="residential_fire",
            verified_alarm=True,
            note="flames seen",
        )
    ]
    assert applied(incident, events).incident_type == "residential_fire"


def test_a_corrected_type_is_no_verified_alarm() -> None:
    (event,) = given().classify("high_rise_fire", "")

    assert (event.from_type, event.to_type, event.verified_alarm) == (
        "residential_fire",
        "high_rise_fire",
        False,
    )


def test_the_same_type_is_refused() -> None:
    with pytest.raises(FailedPrecondition, match="is a residential_fire already"):
        given().classify("residential_fire", "")


@OVER
def test_an_incident_over_is_not_reclassified(end) -> None:
    with pytest.raises(FailedPrecondition, match="cannot reclassify"):
        given(end()).classify("vehicle_fire", "")


# --- further calls ------------------------------------------------------------------------


def test_a_further_call_is_linked() -> None:
    incident = given()
    second = replace(CALL, call_id="c2", caller_number="13900000000")

    events = incident.link_call(second, "taker-7")

    assert [type(e).__name__ for e in events] == ["CallReceived", "DuplicateCallLinked"]
    assert events[1] == events_pb2.DuplicateCallLinked(
        incident_id=ID, call_id="c2", linked_by="taker-7"
    )
    assert applied(incident, events).call_ids == ["c1", "c2"]


@OVER
def test_no_call_is_linked_to_an_incident_over(end) -> None:
    with pytest.raises(FailedPrecondition, match=r"cannot link a call .* as a new incident"):
        given(end()).link_call(replace(CALL, call_id="c2"), "taker-7")


# --- replay -------------------------------------------------------------------------------


def test_the_events_rebuild_the_incident_decided_step_by_step() -> None:
    incident = Incident()
    history: list[Message] = []
    decisions = [
        lambda i: Incident.open_from_call(ID, CALL, now_us=1_700_000_000_000_000),
        lambda i: i.link_call(replace(CALL, call_id="c2"), "taker-7"),
        lambda i: i.dispatch("E1", "card", "engine"),
        lambda i: i.dispatch("E2", "card", "engine"),
        lambda i: i.assume_command("chen", "Chen Wei", "E1"),
        lambda i: i.unit_answered("E2", Outcome.DECLINED, "no crew"),
        lambda i: i.fill("n1", "E3", "", "re-dispatch"),
        lambda i: i.raise_alarm(2, "spreading", {"engine": 4, "aerial": 1}),
        lambda i: i.units_unavailable("n3", 1, "no aerial free"),
        lambda i: i.fill("n2", "E4", "", "alarm"),
        lambda i: i.transfer_command("li", "Li Na", "B1", "senior officer"),
        lambda i: i.mark_under_control("knocked down"),
        lambda i: i.close("all out"),
        lambda i: i.released("E1", "incident closed"),
    ]
    for decide in decisions:
        events = decide(incident)
        assert events, "every step records something"
        history.extend(events)
        applied(incident, events)

    rebuilt = Incident.from_events(history)

    assert rebuilt == incident
    assert rebuilt.version == len(history) == 21  # under control withdrew n2 and n3
    assert (rebuilt.status, rebuilt.alarm_level, rebuilt.commander_id) == (
        IncidentStatus.CLOSED,
        2,
        "li",
    )
    assert rebuilt.opened_at_us == 1_700_000_000_000_000
    assert rebuilt.resource_requests == {} and rebuilt.requests_made == 3
    assert rebuilt.releases_owed() == ["E3", "E4"]


# --- requests for units end (issue 9: a tanker asked for hours ago is not sent later) -----


def withdrawn(resource_request_id: str, capability: str, remaining: int, reason: str):  # type: ignore[no-untyped-def]
    return events_pb2.ResourceRequestCancelled(
        incident_id=ID,
        resource_request_id=resource_request_id,
        capability=capability,
        remaining=remaining,
        reason=reason,
    )


def test_under_control_ends_the_open_requests() -> None:
    incident = given(requested("n1", "water_tanker", 2), requested("n2", "aerial"))

    events = incident.mark_under_control("knocked down")

    assert events[1:] == [
        withdrawn("n1", "water_tanker", 2, "incident under control"),
        withdrawn("n2", "aerial", 1, "incident under control"),
    ]
    assert applied(incident, events).resource_requests == {}


def test_the_commander_may_keep_the_requests_when_under_control() -> None:
    incident = given(requested("n1", "water_tanker", 2))

    events = incident.mark_under_control("knocked down", keep_requests=True)

    assert [type(e).__name__ for e in events] == ["IncidentUnderControl"]
    assert list(applied(incident, events).resource_requests) == ["n1"]


def test_a_request_is_withdrawn_by_its_id_and_nothing_more_is_sent_for_it() -> None:
    incident = given(requested("n1", "water_tanker", 2), dispatched("T1", resource_request_id="n1"))

    events = incident.cancel_request("n1", " tanker no longer needed ")

    assert events == [withdrawn("n1", "water_tanker", 1, "tanker no longer needed")]
    after = applied(incident, events)
    assert after.resource_requests == {} and after.active_units() == ["T1"]
    with pytest.raises(FailedPrecondition, match="has no open request 'n1'"):
        after.fill("n1", "T2", "", "too late")
    with pytest.raises(FailedPrecondition, match=r"has no open request 'n1' \(open: none\)"):
        after.cancel_request("n1", "twice")


@pytest.mark.parametrize("history", [[], [requested("n1", "engine"), closed()]])
def test_only_an_open_request_of_an_active_incident_is_withdrawn(history: list[Message]) -> None:
    with pytest.raises(FailedPrecondition):
        given(*history).cancel_request("n1", "")


# --- a unit that goes home by itself (issue 9) --------------------------------------------


def test_a_unit_returning_by_itself_leaves_the_incident_and_is_not_replaced() -> None:
    incident = given(dispatched("E1", "engine"))

    events = incident.unit_answered("E1", Outcome.RETURNED, "the crew reported returning")

    assert events == [ended("E1", Outcome.RETURNED, "the crew reported returning")]
    after = applied(incident, events)
    assert after.active_units() == [] and after.resource_requests == {}
    assert after.assignments["E1"].state == "RETURNED"


def test_a_raised_alarm_does_not_count_a_unit_that_went_home() -> None:
    incident = given(
        dispatched("E1", "engine"),
        dispatched("E2", "engine"),
        ended("E2", Outcome.RETURNED, "returning"),
    )

    events = incident.raise_alarm(2, "", {"engine": 3})

    assert events[1] == requested(
        "n1", "engine", 2, reason="alarm level 2: engine 1 of 3 sent or asked for"
    )
