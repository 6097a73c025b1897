"""The unit aggregate: given events, when a command, then events (or an error)."""

from __future__ import annotations

import pytest

from emergency.v1 import common_pb2, events_pb2
from services.common.errors import InvalidArgument
from services.common.geo import Point
from services.units.domain import Unit

HOME = Point(28.19, 112.97)


def test_registering_a_unit_records_it_available() -> None:
    events = Unit.register(
        "E1", " Engine 1 ", common_pb2.PROFESSIONAL, "FR-1", ["Engine", "engine", "aerial"], HOME
    )

    assert [type(e).__name__ for e in events] == ["UnitRegistered"]
    assert list(events[0].capabilities) == ["engine", "aerial"]
    unit = Unit.from_events(events)
    assert (unit.name, unit.status, unit.version) == ("Engine 1", "AVAILABLE", 1)
    assert unit.home == HOME


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "n", common_pb2.PROFESSIONAL, [], HOME), "unit_id is required"),
        (("E1", " ", common_pb2.PROFESSIONAL, [], HOME), "name is required"),
        (("E1", "n", common_pb2.TIER_UNSPECIFIED, [], HOME), "tier must be one of"),
        (("E1", "n", 42, [], HOME), "tier must be one of"),
        (("E1", "n", common_pb2.VOLUNTEER, ["teleporter"], HOME), "unknown capabilities"),
    ],
)
def test_bad_registrations_are_refused(args: tuple, message: str) -> None:
    unit_id, name, tier, caps, home = args
    with pytest.raises(InvalidArgument, match=message):
        Unit.register(unit_id, name, tier, "S", caps, home)


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


def test_unknown_events_still_advance_the_version() -> None:
    unit = Unit.from_events([events_pb2.UnitRegistered(unit_id="E1"), events_pb2.CallReceived()])
    assert unit.version == 2
