"""Test data, built one way: calls, unit profiles. Each builder takes the fields a test
cares about and fills the rest with plausible values of the demo city."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from emergency.v1 import common_pb2
from services.common.enums import CallSource
from services.common.geo import Point
from services.dispatch.domain import Call

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


def a_unit_profile(**change: Any) -> common_pb2.UnitProfile:
    """Shuangjiang's volunteer light engine (VOL-03-E1), changed as asked."""
    profile = common_pb2.UnitProfile(
        unit_id="VOL-03-E1", name="Light engine", tier=common_pb2.VOLUNTEER,
        station_id="VOL-03", capabilities=["engine", "first_intervention"],
        home=common_pb2.GeoPoint(latitude=28.25, longitude=112.33), staffing=12,
        min_responders=4, turnout_seconds=300, ack_deadline_seconds=120,
    )  # fmt: skip
    for key, value in change.items():
        if key == "capabilities":
            del profile.capabilities[:]
            profile.capabilities.extend(value)
        elif key == "home":
            profile.home.CopyFrom(value)
        else:
            setattr(profile, key, value)
    return profile
