"""Intake: given a call, expect the incident's first events."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.common.enums import CallSource, IncidentStatus
from services.common.errors import InvalidArgument
from services.common.geo import Point
from services.dispatch.domain import Incident
from tests.support.builders import a_call

CALL = a_call(incident_type="high_rise_fire", description="smoke on 12th floor")


def test_a_call_opens_an_incident() -> None:
    events = Incident.open_from_call("i1", CALL)

    assert [type(e).__name__ for e in events] == ["CallReceived", "IncidentCreated"]
    incident = Incident.from_events(events)
    assert (incident.incident_id, incident.status, incident.call_ids) == (
        "i1",
        IncidentStatus.OPEN,
        ["c1"],
    )
    assert incident.location == Point(28.2, 112.9) and incident.version == 2


def test_an_automatic_alarm_needs_no_caller_number() -> None:
    alarm = replace(CALL, caller_number="", source=CallSource.FIRE_ALARM_NETWORK)
    assert len(Incident.open_from_call("i2", alarm)) == 2


def test_an_address_alone_is_enough() -> None:
    incident = Incident.from_events(Incident.open_from_call("i3", replace(CALL, location=None)))
    assert incident.location is None and incident.address == "1 Furong Rd"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"caller_number": " "}, "caller_number is required"),
        ({"source": CallSource.CALL_SOURCE_UNSPECIFIED}, "source is required"),
        ({"location": None, "address": ""}, "location .* or the address"),
    ],
)
def test_incomplete_calls_are_refused(change: dict, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        Incident.open_from_call("i4", replace(CALL, **change))
