"""Travel time from units to an incident: pluggable. The default estimates from the
straight-line distance, a road factor and a speed profile; a routing engine (OSRM's
table API, say) can take its place behind the same batch interface: one destination,
many origins, seconds for each."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from services.common.geo import distances_km

LatLon = tuple[float, float]  # latitude, longitude in WGS-84 degrees
Floats = NDArray[np.float64]


class TravelTime(Protocol):
    def seconds(self, destination: LatLon, lats: Floats, lons: Floats) -> Floats:
        """Driving time from each origin (lats[i], lons[i]) to ``destination``."""


class StraightLineTravel:
    """Distance as the crow flies, times a road factor, at a speed that grows with the
    distance (dense streets near, open roads far).

    The distance is ``services.common.geo.distances_km`` (one formula system-wide).
    """

    def __init__(
        self,
        road_factor: float = 1.35,
        speed_profile: Sequence[tuple[float, float]] = (
            (3.0, 25.0),
            (10.0, 40.0),
            (math.inf, 60.0),
        ),
    ) -> None:
        self.road_factor = road_factor
        self.limits = np.array([limit for limit, _ in speed_profile])  # road km, ascending
        self.speeds = np.array([kmh for _, kmh in speed_profile])  # km/h

    def seconds(self, destination: LatLon, lats: Floats, lons: Floats) -> Floats:
        road_km = distances_km(destination, lats, lons) * self.road_factor
        band = np.minimum(np.searchsorted(self.limits, road_km), len(self.speeds) - 1)
        seconds: Floats = road_km / self.speeds[band] * 3600.0
        return seconds
