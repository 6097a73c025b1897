"""The jurisdiction file: every station and team, their units, tiers, policies and
credentials. It seeds the system; the units service turns it into events.

Format (YAML; see ``services/config/jurisdiction/demo-city.yaml`` for a whole city)::

    jurisdiction:
      name: Xiangjiang City
      time_zone: Asia/Shanghai   # IANA name: every time shown to a person is in this zone
      bounds: {south: 27.8, west: 112.5, north: 28.6, east: 113.4}
      attribution: ...           # optional: the data's licence notice, shown with it
    tiers:                       # defaults for every station of the tier
      VOLUNTEER: {turnout_seconds: 300, ack_deadline_seconds: 120, auto_acknowledge: false}
    operators:                   # people (and our own services) who use the APIs
      - {id: ct-01, name: Call taker 1, role: CALL_TAKER, token_sha256: <64 hex>,
         password_argon2: $argon2id$v=19$m=65536,t=3,p=4$...}   # console log-in (optional)
      - {id: sup-01, name: Supervisor 1, role: VIEWER, token_sha256: <64 hex>}  # read-only
      - {id: svc-dispatch, name: Dispatch service, role: SERVICE, token_sha256: <64 hex>}
      - {id: svc-edge, name: HTTP edge, role: GATEWAY, token_sha256: <64 hex>}
    stations:                    # a station is also the team that acknowledges alerts
      - id: VOL-03
        name: Shuangjiang Village Volunteer Team
        tier: VOLUNTEER
        district: Ningxiang County
        location: [28.2551, 112.3301]       # latitude, longitude
        area_radius_km: 6
        staffing: 12                        # people on the roster
        min_responders: 4                   # an alert counts as acknowledged at this many
        credentials:                        # the team's app tokens, as SHA-256 hex
          - {name: duty-phone, token_sha256: <64 hex>}
        units:
          - {id: VOL-03-E1, name: Light engine, capabilities: [engine, first_intervention]}
    travel:                      # optional: the travel-time profile (default: dispatch's own)
      road_factor: 1.02          # road km per km measured (straight or along the street grid)
      grid_bearing_deg: 4.0      # optional: measure along a street grid turned this far from
                                 # north (taxicab distance); absent: straight line
      bands_apply: each_stretch  # or whole_trip: the band of the whole trip sets its speed
      speeds:                    # km/h by road distance band, ascending; the last is open
        - {up_to_km: 0.5, kmh: 14.0}
        - {kmh: 38.0}
      calibration: {...}         # where it came from and how well it did (uc eta calibrate)

Errors name the file, the line and the field: ``demo.yaml:42: stations[3].tier: ...``.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from services.common.yaml_models import Location, load_yaml_model, parse_yaml_model

CAPABILITIES = frozenset(
    {
        "engine",
        "aerial",
        "rescue",
        "hazmat",
        "water_tanker",
        "foam",
        "command",
        "drone",
        "first_intervention",
        "water_rescue",
        "mountain_rescue",
        "ambulance",
    }
)
_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_SHA256 = r"^[0-9a-f]{64}$"
# An argon2id hash in the PHC string format argon2-cffi writes and reads.
_ARGON2ID = r"^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$"


class Tier(StrEnum):
    PROFESSIONAL = "PROFESSIONAL"
    GOV_FULLTIME = "GOV_FULLTIME"
    VOLUNTEER = "VOLUNTEER"
    MICRO_STATION = "MICRO_STATION"
    CIVILIAN = "CIVILIAN"


class Role(StrEnum):
    CALL_TAKER = "CALL_TAKER"
    COMMANDER = "COMMANDER"
    ADMIN = "ADMIN"
    TEAM = "TEAM"
    SERVICE = "SERVICE"  # another service of ours acting on its own (no person behind it)
    # The HTTP edge: it acts for the person logged in to the console, named in the call's
    # ``x-uc-on-behalf-of`` metadata, and never on its own (services/common/auth.py).
    GATEWAY = "GATEWAY"
    VIEWER = "VIEWER"  # read-only staff: a supervisor, a wall board


# People who use the APIs themselves or through the console (the edge may act for them).
STAFF_ROLES = frozenset({Role.CALL_TAKER, Role.COMMANDER, Role.ADMIN, Role.VIEWER})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierPolicy(_Strict):
    turnout_seconds: Annotated[int, Field(ge=0, le=3600)]
    ack_deadline_seconds: Annotated[int, Field(ge=0, le=3600)] = 0
    auto_acknowledge: bool = True


DEFAULT_TIERS: dict[Tier, TierPolicy] = {
    Tier.PROFESSIONAL: TierPolicy(turnout_seconds=60, auto_acknowledge=True),
    Tier.GOV_FULLTIME: TierPolicy(turnout_seconds=90, auto_acknowledge=True),
    Tier.VOLUNTEER: TierPolicy(
        turnout_seconds=300, ack_deadline_seconds=120, auto_acknowledge=False
    ),
    Tier.MICRO_STATION: TierPolicy(
        turnout_seconds=60, ack_deadline_seconds=60, auto_acknowledge=False
    ),
    Tier.CIVILIAN: TierPolicy(
        turnout_seconds=600, ack_deadline_seconds=300, auto_acknowledge=False
    ),
}


class Bounds(_Strict):
    south: Annotated[float, Field(ge=-90, le=90)]
    west: Annotated[float, Field(ge=-180, le=180)]
    north: Annotated[float, Field(ge=-90, le=90)]
    east: Annotated[float, Field(ge=-180, le=180)]

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.south >= self.north or self.west >= self.east:
            raise ValueError("south must be below north and west below east")
        return self

    def contains(self, latitude: float, longitude: float) -> bool:
        return self.south <= latitude <= self.north and self.west <= longitude <= self.east


def _known_time_zone(name: str) -> str:
    """An IANA time zone name (``Asia/Shanghai``): the zone people read times in. Stored
    and wire times stay instants; only what is shown to a person uses it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: give an IANA name such as Asia/Shanghai"
        ) from None
    return name


class Credential(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    token_sha256: Annotated[str, Field(pattern=_SHA256)]


class Operator(_Strict):
    id: Annotated[str, Field(pattern=_ID)]
    name: Annotated[str, Field(min_length=1)]
    role: Role
    token_sha256: Annotated[str, Field(pattern=_SHA256)]
    # The console password (argon2id, PHC string): only operators with one can log in to
    # the console.
    password_argon2: Annotated[str, Field(pattern=_ARGON2ID)] | None = None

    @model_validator(mode="after")
    def _not_a_team(self) -> Self:
        if self.role is Role.TEAM:
            raise ValueError("teams are stations: give their tokens under the station")
        if self.password_argon2 is not None and self.role not in STAFF_ROLES:
            raise ValueError(
                f"operator {self.id} is a {self.role.value}: only staff "
                f"({', '.join(sorted(STAFF_ROLES))}) log in with a password"
            )
        return self


class UnitSpec(_Strict):
    id: Annotated[str, Field(pattern=_ID)]
    name: Annotated[str, Field(min_length=1)]
    capabilities: Annotated[list[str], Field(min_length=1)]

    @model_validator(mode="after")
    def _known_capabilities(self) -> Self:
        unknown = sorted(set(self.capabilities) - CAPABILITIES)
        if unknown:
            raise ValueError(f"unknown capabilities {unknown}; known: {sorted(CAPABILITIES)}")
        return self


class StationSpec(_Strict):
    id: Annotated[str, Field(pattern=_ID)]
    name: Annotated[str, Field(min_length=1)]
    tier: Tier
    district: str = ""
    location: tuple[
        Annotated[float, Field(ge=-90, le=90)], Annotated[float, Field(ge=-180, le=180)]
    ]
    area_radius_km: Annotated[float, Field(gt=0, le=200)] = 5.0
    staffing: Annotated[int, Field(ge=0)] = 0
    min_responders: Annotated[int, Field(ge=0)] = 0
    turnout_seconds: Annotated[int, Field(ge=0, le=3600)] | None = None
    ack_deadline_seconds: Annotated[int, Field(ge=0, le=3600)] | None = None
    auto_acknowledge: bool | None = None
    credentials: list[Credential] = []
    units: Annotated[list[UnitSpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _enough_people(self) -> Self:
        if self.min_responders > self.staffing > 0:
            raise ValueError(
                f"min_responders {self.min_responders} is more than staffing {self.staffing}"
            )
        return self


class SpeedBand(_Strict):
    """Speed (km/h) for road distances up to ``up_to_km`` road kilometres; the last band
    of a profile is open (``up_to_km`` absent)."""

    up_to_km: Annotated[float, Field(gt=0, le=1000)] | None = None
    kmh: Annotated[float, Field(gt=0, le=200)]


class TravelCalibration(_Strict):
    """Where a calibrated profile came from, and how well it predicted travel times on
    incidents it was not fitted on (seconds, absolute error of predicted against real)."""

    source: Annotated[str, Field(min_length=1)]
    fitted_years: Annotated[str, Field(min_length=1)]
    held_out_years: str = ""
    samples: Annotated[int, Field(ge=0)]
    held_out_samples: Annotated[int, Field(ge=0)] = 0
    median_abs_error_s: Annotated[float, Field(ge=0)] | None = None
    p90_abs_error_s: Annotated[float, Field(ge=0)] | None = None
    default_median_abs_error_s: Annotated[float, Field(ge=0)] | None = None
    default_p90_abs_error_s: Annotated[float, Field(ge=0)] | None = None


class TravelProfile(_Strict):
    """The straight-line travel-time estimate's parameters (services/dispatch/travel.py):
    road km = measured km x ``road_factor``, where measured km is the straight line, or
    the taxicab distance along a street grid turned ``grid_bearing_deg`` from north; then
    a speed per road-distance band, applied to the whole trip by the band it falls in
    (``whole_trip``, dispatch's default profile) or to each stretch of it
    (``each_stretch``: continuous and never shorter for a longer trip)."""

    road_factor: Annotated[float, Field(ge=0.5, le=5)]
    grid_bearing_deg: Annotated[float, Field(ge=0, lt=90)] | None = None
    bands_apply: Literal["whole_trip", "each_stretch"] = "each_stretch"
    speeds: Annotated[list[SpeedBand], Field(min_length=1, max_length=50)]
    calibration: TravelCalibration | None = None

    @model_validator(mode="after")
    def _bands_ascend(self) -> Self:
        limits = [band.up_to_km for band in self.speeds]
        if limits[-1] is not None:
            raise ValueError("the last speed band is open: leave out its up_to_km")
        inner = [limit for limit in limits[:-1] if limit is not None]
        if len(inner) != len(limits) - 1:
            raise ValueError("every speed band but the last needs up_to_km")
        if any(b <= a for a, b in itertools.pairwise(inner)):
            raise ValueError(f"speed bands must ascend: up_to_km {inner}")
        return self


class Jurisdiction(_Strict):
    class Meta(_Strict):
        name: Annotated[str, Field(min_length=1)]
        time_zone: Annotated[str, AfterValidator(_known_time_zone)]
        bounds: Bounds
        # Whose data the file holds, to show wherever it is shown (a map, a report):
        # e.g. OpenStreetMap's ODbL notice for stations taken from it.
        attribution: str = ""

    jurisdiction: Meta
    tiers: dict[Tier, TierPolicy] = {}
    operators: list[Operator] = []
    stations: Annotated[list[StationSpec], Field(min_length=1)]
    travel: TravelProfile | None = None

    @model_validator(mode="after")
    def _unique_and_inside(self) -> Self:
        seen: dict[str, str] = {}
        for i, station in enumerate(self.stations):
            for kind, key in [("station", station.id)] + [("unit", u.id) for u in station.units]:
                if key in seen:
                    raise ValueError(f"stations[{i}]: {kind} id {key!r} is used twice")
                seen[key] = kind
            if not self.jurisdiction.bounds.contains(*station.location):
                raise ValueError(
                    f"stations[{i}] ({station.id}): location {list(station.location)} is "
                    "outside the jurisdiction's bounds"
                )
        hashes = [c.token_sha256 for s in self.stations for c in s.credentials]
        hashes += [o.token_sha256 for o in self.operators]
        if len(hashes) != len(set(hashes)):
            raise ValueError("the same token is given to two holders: give each its own")
        return self

    def policy(self, station: StationSpec) -> TierPolicy:
        """The station's policy: its own settings over its tier's over the defaults."""
        base = self.tiers.get(station.tier, DEFAULT_TIERS[station.tier])
        return TierPolicy(
            turnout_seconds=_first(station.turnout_seconds, base.turnout_seconds),
            ack_deadline_seconds=_first(station.ack_deadline_seconds, base.ack_deadline_seconds),
            auto_acknowledge=_first(station.auto_acknowledge, base.auto_acknowledge),
        )

    def units(self) -> Iterator[tuple[StationSpec, UnitSpec]]:
        for station in self.stations:
            for unit in station.units:
                yield station, unit


def _first(value: Any, default: Any) -> Any:
    return default if value is None else value


def token_hash(token: str) -> str:
    """How tokens are kept: SHA-256 hex. Tokens are long random strings, not passwords,
    so a fast hash is enough to keep the file from being a list of usable secrets."""
    return hashlib.sha256(token.encode()).hexdigest()


class JurisdictionError(ValueError):
    """The file cannot be used; the message says where and why."""


def load_jurisdiction(path: str | Path) -> Jurisdiction:
    """The jurisdiction in the YAML file at ``path``; ``JurisdictionError`` naming the
    line and field of every problem."""
    return load_yaml_model(
        path, Jurisdiction, JurisdictionError, what="jurisdiction file", locate=_station_named
    )


def parse_jurisdiction(text: str, name: str = "<jurisdiction>") -> Jurisdiction:
    """The jurisdiction in YAML ``text``; see ``load_jurisdiction``."""
    return parse_yaml_model(text, Jurisdiction, JurisdictionError, name=name, locate=_station_named)


def _station_named(loc: Location, message: str) -> Location:
    # Errors of a whole-file check name the list item in their message.
    found = re.match(r"stations\[(\d+)\]", message)
    return ("stations", int(found.group(1))) if not loc and found else loc
