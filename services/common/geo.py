"""Coordinates as the domain checks them."""

from __future__ import annotations

import math
from dataclasses import dataclass

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
