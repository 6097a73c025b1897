"""A jurisdiction's own travel profile (``travel:``): validated as data, loaded by
``travel_for``; the default profile as data is dispatch's straight-line estimate; a
profile applied to each stretch is continuous and never shorter for a longer trip; the
street-grid distance is the taxicab distance on turned axes."""

from __future__ import annotations

import numpy as np
import pytest

from services.common.jurisdiction import JurisdictionError, TravelProfile, parse_jurisdiction
from services.dispatch.travel import (
    BandedTravel,
    StraightLineTravel,
    default_profile,
    measured_km,
    travel_for,
)

AT = (37.7750, -122.4400)
rng = np.random.default_rng(7)
LATS = AT[0] + rng.uniform(-0.1, 0.1, 500)
LONS = AT[1] + rng.uniform(-0.1, 0.1, 500)

CITY = """
jurisdiction: {name: T, time_zone: America/Los_Angeles,
               bounds: {south: 37.7, west: -122.6, north: 37.9, east: -122.3}}
stations:
  - id: S1
    name: Station 1
    tier: PROFESSIONAL
    location: [37.78, -122.44]
    units: [{id: E1, name: Engine 1, capabilities: [engine]}]
"""


def test_the_default_profile_as_data_is_the_straight_line_estimate() -> None:
    ours = BandedTravel(default_profile()).seconds(AT, LATS, LONS)
    np.testing.assert_allclose(ours, StraightLineTravel().seconds(AT, LATS, LONS))


def test_each_stretch_at_its_bands_speed() -> None:
    profile = TravelProfile.model_validate(
        {
            "road_factor": 1.0,
            "bands_apply": "each_stretch",
            "speeds": [
                {"up_to_km": 1.0, "kmh": 20.0},
                {"up_to_km": 3.0, "kmh": 40.0},
                {"kmh": 60.0},
            ],
        }
    )
    travel = BandedTravel(profile)
    road = np.array([0.5, 1.0, 2.0, 3.0, 4.0])
    expected = np.array([90, 180, 180 + 90, 180 + 180, 180 + 180 + 60], dtype=float)
    np.testing.assert_allclose(travel.seconds_for_road_km(road), expected)
    fine = np.linspace(0, 12, 5000)
    assert (np.diff(travel.seconds_for_road_km(fine)) > 0).all()  # longer is never shorter
    whole = BandedTravel(profile.model_copy(update={"bands_apply": "whole_trip"}))
    assert (
        whole.seconds_for_road_km(np.array([3.01]))[0]
        < whole.seconds_for_road_km(np.array([2.99]))[0]
    )  # the whole-trip form jumps down at a band's edge


def test_the_grid_distance_is_taxicab_on_turned_axes() -> None:
    north = (AT[0] + 0.01, AT[1])  # 1.11 km due north
    lat, lon = np.array([north[0]]), np.array([north[1]])
    straight = measured_km(AT, lat, lon)[0]
    assert measured_km(AT, lat, lon, 0.0)[0] == pytest.approx(straight)
    assert measured_km(AT, lat, lon, 45.0)[0] == pytest.approx(straight * 2**0.5)
    assert (measured_km(AT, LATS, LONS, 10.0) >= measured_km(AT, LATS, LONS) - 1e-12).all()


def test_a_jurisdiction_without_a_profile_gets_the_default_and_one_with_it_its_own() -> None:
    assert isinstance(travel_for(parse_jurisdiction(CITY)), StraightLineTravel)
    own = CITY + "travel:\n  road_factor: 1.2\n  speeds: [{up_to_km: 2, kmh: 30}, {kmh: 50}]\n"
    travel = travel_for(parse_jurisdiction(own))
    assert isinstance(travel, BandedTravel)
    assert travel.road_factor == 1.2 and travel.bearing is None


@pytest.mark.parametrize(
    ("speeds", "message"),
    [
        ("[{up_to_km: 2, kmh: 30}, {up_to_km: 5, kmh: 50}]", "the last speed band is open"),
        ("[{up_to_km: 5, kmh: 30}, {up_to_km: 2, kmh: 40}, {kmh: 50}]", "must ascend"),
        ("[{kmh: 30}, {kmh: 50}]", "every speed band but the last needs up_to_km"),
        ("[{up_to_km: 2, kmh: 0}, {kmh: 50}]", "greater than 0"),
    ],
)
def test_a_wrong_profile_is_named_with_its_line(speeds: str, message: str) -> None:
    text = CITY + f"travel:\n  road_factor: 1.2\n  speeds: {speeds}\n"
    with pytest.raises(JurisdictionError, match=rf"city.yaml:1[0-2]: travel.*{message}"):
        parse_jurisdiction(text, "city.yaml")
