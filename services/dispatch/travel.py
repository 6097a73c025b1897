"""Travel time from units to an incident: pluggable. The default estimates from the
straight-line distance, a road factor and a speed profile; a routing engine (OSRM's
table API, say) can take its place behind the same batch interface: one destination,
many origins, seconds for each.

A jurisdiction may carry its own profile, calibrated on its history (``travel:`` in the
jurisdiction file, written by ``uc eta calibrate``); ``travel_for(jurisdiction)`` gives
the provider to use, the default when it has none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from services.common.geo import distances_km, grid_km, offsets_km
from services.common.jurisdiction import Jurisdiction, TravelProfile

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
        # The defaults are DEFAULT_ROAD_FACTOR and DEFAULT_SPEEDS (below), spelt out here.
        self.road_factor = road_factor
        self.limits = np.array([limit for limit, _ in speed_profile])  # road km, ascending
        self.speeds = np.array([kmh for _, kmh in speed_profile])  # km/h

    def seconds(self, destination: LatLon, lats: Floats, lons: Floats) -> Floats:
        road_km = distances_km(destination, lats, lons) * self.road_factor
        band = np.minimum(np.searchsorted(self.limits, road_km), len(self.speeds) - 1)
        seconds: Floats = road_km / self.speeds[band] * 3600.0
        return seconds


DEFAULT_ROAD_FACTOR = 1.35
DEFAULT_SPEEDS: tuple[tuple[float, float], ...] = ((3.0, 25.0), (10.0, 40.0), (math.inf, 60.0))


def measured_km(
    destination: LatLon, lats: Floats, lons: Floats, grid_bearing_deg: float | None = None
) -> Floats:
    """Kilometres from each origin to ``destination``: the straight line
    (``services.common.geo.distances_km``), or, given a street grid's bearing (degrees
    clockwise from north, 0 <= b < 90), the taxicab distance along that grid: east-west
    and north-south legs turned by the bearing, as a car on a street grid drives."""
    if grid_bearing_deg is None:
        return distances_km(destination, lats, lons)
    east, north = offsets_km(lats, lons, *destination)
    return grid_km(east, north, grid_bearing_deg)


class BandedTravel:
    """A jurisdiction's profile (``TravelProfile``): measured km (straight line, or along
    the street grid) x road factor = road km; each stretch of the road km at its band's
    speed (``each_stretch``: the first ``up_to_km`` of the trip at the first band's
    speed, the next stretch at the next's, ...), or the whole trip at the speed of the
    band it falls in (``whole_trip``, as ``StraightLineTravel``)."""

    def __init__(self, profile: TravelProfile) -> None:
        self.profile = profile
        self.road_factor = profile.road_factor
        self.bearing = profile.grid_bearing_deg
        self.whole_trip = profile.bands_apply == "whole_trip"
        self.limits = np.array(
            [math.inf if b.up_to_km is None else b.up_to_km for b in profile.speeds]
        )
        self.speeds = np.array([b.kmh for b in profile.speeds])
        starts = np.concatenate(([0.0], self.limits[:-1]))
        lengths = self.limits - starts
        # Seconds to drive through every band before band i, whole: cumulative time.
        self.starts = starts
        self.before = np.concatenate(([0.0], np.cumsum(lengths[:-1] / self.speeds[:-1]))) * 3600

    def road_km(self, destination: LatLon, lats: Floats, lons: Floats) -> Floats:
        km: Floats = measured_km(destination, lats, lons, self.bearing) * self.road_factor
        return km

    def seconds_for_road_km(self, road_km: Floats) -> Floats:
        """Seconds to drive ``road_km`` road kilometres under the profile."""
        band = np.minimum(np.searchsorted(self.limits, road_km), len(self.speeds) - 1)
        if self.whole_trip:
            whole: Floats = road_km / self.speeds[band] * 3600.0
            return whole
        seconds: Floats = (
            self.before[band] + (road_km - self.starts[band]) / self.speeds[band] * 3600.0
        )
        return seconds

    def seconds(self, destination: LatLon, lats: Floats, lons: Floats) -> Floats:
        return self.seconds_for_road_km(self.road_km(destination, lats, lons))


def default_profile() -> TravelProfile:
    """Dispatch's built-in profile as data: the straight line x 1.35 at 25 / 40 / 60 km/h
    for trips up to 3 / 10 / more road km (the band of the whole trip)."""
    return TravelProfile.model_validate(
        {
            "road_factor": DEFAULT_ROAD_FACTOR,
            "bands_apply": "whole_trip",
            "speeds": [
                {"up_to_km": None if math.isinf(limit) else limit, "kmh": kmh}
                for limit, kmh in DEFAULT_SPEEDS
            ],
        }
    )


def travel_from_profile(profile: TravelProfile | None) -> TravelTime:
    """The provider for a profile; the built-in straight-line estimate without one."""
    return StraightLineTravel() if profile is None else BandedTravel(profile)


def travel_for(jurisdiction: Jurisdiction) -> TravelTime:
    """The travel-time provider a jurisdiction asks for: its calibrated profile
    (``travel:`` in its file) when it has one, else the default straight-line estimate."""
    return travel_from_profile(jurisdiction.travel)
