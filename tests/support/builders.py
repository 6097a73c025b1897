"""Test data, built one way: calls, unit profiles. Each builder takes the fields a test
cares about and fills the rest with plausible values of the demo city."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from services.common.enums import CallSource, Tier
from services.common.geo import Point
from services.dispatch.domain import Call
from services.units.domain import UnitProfile

_CALL = Call(
    call_id="c1",
    caller_number="13800000000",
    source=CallSource.PHONE,
    location=Point(28.2, 112.9),
    address="1 Furong Rd",
    incident_type="residential_fire",
    description="kitchen on fire",
)


def a_call(**change: Any) -> Call:
    """A phone call about a residential fire in Furong district, changed as asked."""
    return replace(_CALL, **change)


def a_unit_profile(**change: Any) -> UnitProfile:
    """Shuangjiang's volunteer light engine (VOL-03-E1), changed as asked."""
    profile = UnitProfile(
        unit_id="VOL-03-E1",
        name="Light engine",
        tier=Tier.VOLUNTEER,
        station_id="VOL-03",
        capabilities=("engine", "first_intervention"),
        home=Point(28.25, 112.33),
        staffing=12,
        min_responders=4,
        turnout_seconds=300,
        ack_deadline_seconds=120,
    )
    if "capabilities" in change:
        change["capabilities"] = tuple(change["capabilities"])
    return replace(profile, **change)
