"""Coordinates as the domain checks them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.common.errors import InvalidArgument


@dataclass(frozen=True, slots=True)
class Point:
    latitude: float
    longitude: float

    @classmethod
    def checked(cls, latitude: float, longitude: float, what: str) -> Point:
        if not (math.isfinite(latitude) and math.isfinite(longitude)):
            raise InvalidArgument(
                f"{what}: coordinates must be numbers, got ({latitude}, {longitude})"
            )
        if not -90.0 <= latitude <= 90.0:
            raise InvalidArgument(f"{what}: latitude {latitude} is outside -90..90")
        if not -180.0 <= longitude <= 180.0:
            raise InvalidArgument(f"{what}: longitude {longitude} is outside -180..180")
        if latitude == 0.0 and longitude == 0.0:
            raise InvalidArgument(
                f"{what}: (0, 0) is not a place in any jurisdiction; "
                "the location was probably left unset"
            )
        return cls(latitude, longitude)


# Distances across the system (the board's "within", dispatch's travel, duplicates) use one
# formula: the equirectangular projection, within a few metres per kilometre of the
# great-circle distance at city scale and much cheaper when thousands are ranked.
KM_PER_DEGREE_LAT = 111.132


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Ground distance between two (latitude, longitude) points, in kilometres."""
    kx = KM_PER_DEGREE_LAT * math.cos(math.radians(a[0]))
    return math.hypot((b[1] - a[1]) * kx, (b[0] - a[0]) * KM_PER_DEGREE_LAT)


def offset_km(origin: tuple[float, float], north_km: float, east_km: float) -> tuple[float, float]:
    """The point ``north_km`` north and ``east_km`` east of ``origin``, by the projection
    ``distance_km`` measures with: its inverse from ``origin``.

    ``origin`` and the result are (latitude, longitude) pairs in WGS-84 decimal degrees; the
    offsets are kilometres, negative for south and west. The scale of a degree of longitude
    is taken at the origin's latitude, so ``distance_km(origin, offset_km(origin, n, e))``
    is ``math.hypot(n, e)`` but for rounding. Nothing is clamped, wrapped or rounded: meant
    for city-scale offsets, not across the poles or the antimeridian.
    """
    latitude, longitude = origin
    kx = KM_PER_DEGREE_LAT * math.cos(math.radians(latitude))
    return latitude + north_km / KM_PER_DEGREE_LAT, longitude + east_km / kx


def distances_km(
    destination: tuple[float, float], lats: NDArray[np.float64], lons: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``distance_km`` from each (lats[i], lons[i]) to ``destination``, vectorized."""
    lat0, lon0 = destination
    kx = KM_PER_DEGREE_LAT * math.cos(math.radians(lat0))
    return np.hypot((lons - lon0) * kx, (lats - lat0) * KM_PER_DEGREE_LAT)


def offsets_km(
    lats: NDArray[np.float64],
    lons: NDArray[np.float64],
    lat0: float | NDArray[np.float64],
    lon0: float | NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(east, north) kilometres of each (lats[i], lons[i]) from (lat0, lon0) (one point,
    or one per origin), by the projection above: the reference latitude sets the scale
    of a degree of longitude."""
    east = (lons - lon0) * KM_PER_DEGREE_LAT * np.cos(np.radians(lat0))
    north = (lats - lat0) * KM_PER_DEGREE_LAT
    return east, north


def grid_km(
    east: NDArray[np.float64], north: NDArray[np.float64], bearing_deg: float
) -> NDArray[np.float64]:
    """Taxicab kilometres along a street grid turned ``bearing_deg`` clockwise from north:
    the (east, north) legs turned onto the grid's axes, as a car on a grid drives."""
    b = math.radians(bearing_deg)
    along = np.abs(east * math.cos(b) - north * math.sin(b))
    across = np.abs(east * math.sin(b) + north * math.cos(b))
    km: NDArray[np.float64] = along + across
    return km
