"""The one projection the system measures and places points with (services.common.geo)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from services.common.geo import KM_PER_DEGREE_LAT, distance_km, distances_km, offset_km

CHANGSHA = (28.1925, 113.0100)
OFFSETS_KM = [(0.3, 0.0), (0.0, -0.3), (1.2, 2.5), (-4.0, 3.0), (-7.5, -12.0), (40.0, -60.0)]


@pytest.mark.parametrize("origin", [CHANGSHA, (27.81, 111.95), (-33.87, 151.21), (60.17, 24.94)])
@pytest.mark.parametrize(("north_km", "east_km"), OFFSETS_KM)
def test_an_offset_point_is_as_far_as_the_offset_says(
    origin: tuple[float, float], north_km: float, east_km: float
) -> None:
    moved = offset_km(origin, north_km, east_km)

    assert distance_km(origin, moved) == pytest.approx(math.hypot(north_km, east_km), abs=1e-9)


@pytest.mark.parametrize(("north_km", "east_km"), OFFSETS_KM)
def test_measured_back_the_offset_is_within_a_few_metres_per_kilometre(
    north_km: float, east_km: float
) -> None:
    # From the far end, distance_km scales longitude at the other latitude.
    back = distance_km(offset_km(CHANGSHA, north_km, east_km), CHANGSHA)

    assert back == pytest.approx(math.hypot(north_km, east_km), rel=5e-3)


def test_north_moves_only_the_latitude_and_east_only_the_longitude() -> None:
    north = offset_km(CHANGSHA, KM_PER_DEGREE_LAT, 0.0)
    east = offset_km(CHANGSHA, 0.0, 1.0)
    south_west = offset_km(CHANGSHA, -1.0, -1.0)

    assert north == pytest.approx((CHANGSHA[0] + 1.0, CHANGSHA[1]))
    assert east[0] == CHANGSHA[0] and east[1] > CHANGSHA[1]
    assert south_west[0] < CHANGSHA[0] and south_west[1] < CHANGSHA[1]
    assert offset_km(CHANGSHA, 0.0, 0.0) == CHANGSHA


def test_a_degree_of_longitude_shrinks_with_the_cosine_of_the_latitude() -> None:
    east_at_equator = offset_km((0.0, 10.0), 0.0, 1.0)[1] - 10.0
    east_at_sixty = offset_km((60.0, 10.0), 0.0, 1.0)[1] - 10.0

    assert east_at_equator == pytest.approx(1 / KM_PER_DEGREE_LAT)
    assert east_at_sixty == pytest.approx(2 * east_at_equator)


def test_the_vectorized_distances_agree() -> None:
    moved = [offset_km(CHANGSHA, n, e) for n, e in OFFSETS_KM]
    lats = np.array([p[0] for p in moved])
    lons = np.array([p[1] for p in moved])

    # distances_km scales longitude at its destination: here the origin, as offset_km does.
    expected = [math.hypot(n, e) for n, e in OFFSETS_KM]
    assert distances_km(CHANGSHA, lats, lons) == pytest.approx(expected, abs=1e-9)
