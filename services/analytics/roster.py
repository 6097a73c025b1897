"""A jurisdiction file built from public station data and a small roster: which units
each station has, the tier defaults, the time zone and the boundary.

The roster (YAML, validated; errors name the file, the line and the field)::

    jurisdiction:
      name: San Francisco
      time_zone: America/Los_Angeles
      margin_km: 1.0            # no bounds given: the stations' box widened by this much
    attribution: >-              # the data's notice: in the file's header and its jurisdiction
      Stations (c) OpenStreetMap contributors, ODbL 1.0
    stations:                    # what every station gets ({ref}: its reference)
      id: "SF-{ref:0>2}"
      tier: PROFESSIONAL
      district: "Station {ref}"
      area_radius_km: 1.0
      credentials: demo          # demo: one app token, demo-<station id in lower case>
      units:
        - {id: "E{ref:0>2}", name: "Engine {ref}", capabilities: [engine]}
      without_template: ["49"]   # these stations get only the units listed below
    units:                       # more units, by station reference
      "10": [{id: T10, name: Truck 10, capabilities: [aerial]}]
    operators_from: demo-city.yaml   # the operators of another jurisdiction file

``build_jurisdiction`` turns stations, roster and an optional travel calibration into
the file's data (pure); ``render_jurisdiction`` writes it as YAML text, the same text
for the same input.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.analytics.stations import StationRecord
from services.common.geo import KM_PER_DEGREE_LAT
from services.common.jurisdiction import (
    DEFAULT_TIERS,
    Bounds,
    Jurisdiction,
    Tier,
    TierPolicy,
    TravelProfile,
    token_hash,
)
from services.common.yaml_models import parse_yaml_model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitTemplate(_Strict):
    id: Annotated[str, Field(min_length=1)]
    name: Annotated[str, Field(min_length=1)]
    capabilities: Annotated[list[str], Field(min_length=1)]


class StationTemplate(_Strict):
    id: str = "ST-{ref}"
    name: str = "{name}"
    tier: Tier = Tier.PROFESSIONAL
    district: str = ""
    area_radius_km: Annotated[float, Field(gt=0, le=200)] = 5.0
    staffing: Annotated[int, Field(ge=0)] = 0
    credentials: Literal["demo", "none"] = "none"
    units: list[UnitTemplate] = []
    without_template: list[str] = []


class RosterMeta(_Strict):
    name: Annotated[str, Field(min_length=1)]
    time_zone: Annotated[str, Field(min_length=1)]
    bounds: Bounds | None = None
    margin_km: Annotated[float, Field(ge=0, le=100)] = 1.0


class Roster(_Strict):
    jurisdiction: RosterMeta
    attribution: str = ""
    tiers: dict[Tier, TierPolicy] = {}
    stations: StationTemplate = StationTemplate()
    units: dict[str, list[UnitTemplate]] = {}
    operators_from: str | None = None


class RosterError(ValueError):
    """The roster cannot be used; the message names the file, the line and the field."""


def parse_roster(text: str, name: str = "<roster>") -> Roster:
    """The roster in YAML ``text``; ``RosterError`` naming the line and field of every
    problem."""
    return parse_yaml_model(text, Roster, RosterError, name=name, prepare=_references_as_text)


def _references_as_text(data: dict[str, Any]) -> dict[str, Any]:
    # YAML reads unquoted station references (10) as numbers: they are references.
    if isinstance(data.get("units"), dict):
        data["units"] = {str(k): v for k, v in data["units"].items()}
    template = data.get("stations")
    if isinstance(template, dict) and isinstance(template.get("without_template"), list):
        template["without_template"] = [str(v) for v in template["without_template"]]
    return data


def derived_bounds(stations: Sequence[StationRecord], margin_km: float) -> dict[str, float]:
    """The box around every station, widened by ``margin_km`` on each side (degrees,
    rounded outwards to 1e-4, about 10 m)."""
    lats = [s.latitude for s in stations]
    lons = [s.longitude for s in stations]
    dlat = margin_km / KM_PER_DEGREE_LAT
    mid = math.radians((min(lats) + max(lats)) / 2)
    dlon = margin_km / (KM_PER_DEGREE_LAT * math.cos(mid))
    return {
        "south": math.floor((min(lats) - dlat) * 1e4) / 1e4,
        "west": math.floor((min(lons) - dlon) * 1e4) / 1e4,
        "north": math.ceil((max(lats) + dlat) * 1e4) / 1e4,
        "east": math.ceil((max(lons) + dlon) * 1e4) / 1e4,
    }


def _fill(template: str, station: StationRecord, field: str) -> str:
    number = int(station.ref) if station.ref.isdigit() else station.ref
    try:
        return template.format(
            ref=number if "{ref:" in template else station.ref, name=station.name
        )
    except (KeyError, ValueError, IndexError) as exc:
        raise RosterError(f"stations.{field}: {template!r} cannot be filled: {exc}") from None


def _demo_token(holder_id: str) -> str:
    return f"demo-{holder_id.lower()}"


def build_jurisdiction(
    stations: Sequence[StationRecord],
    roster: Roster,
    operators: Sequence[Mapping[str, Any]] = (),
    travel: TravelProfile | None = None,
    station_turnout: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The jurisdiction file's data, in the order it is written: stations in the order
    of their references (numerically when they are numbers), units as the roster gives
    them. ``station_turnout``: turnout seconds by station id (from a calibration), set
    on those stations. Raises ``RosterError`` for units of a station that is not in the
    station file, and for a result ``services.common.jurisdiction`` would refuse."""
    if not stations:
        raise RosterError("no stations: the station file gave none that could be used")
    by_ref = {s.ref: s for s in stations}
    unknown = sorted(set(roster.units) - set(by_ref))
    if unknown:
        raise RosterError(f"units: station references {unknown} are not in the station file")
    template = roster.stations
    meta = roster.jurisdiction
    bounds = meta.bounds.model_dump() if meta.bounds else derived_bounds(stations, meta.margin_km)
    data_meta: dict[str, Any] = {"name": meta.name, "time_zone": meta.time_zone, "bounds": bounds}
    turnout = dict(station_turnout or {})
    out_stations = []
    for station in sorted(stations, key=_ref_order):
        station_id = _fill(template.id, station, "id")
        units = [] if station.ref in template.without_template else list(template.units)
        units += roster.units.get(station.ref, [])
        spec: dict[str, Any] = {
            "id": station_id,
            "name": _fill(template.name, station, "name"),
            "tier": template.tier.value,
        }
        if template.district:
            spec["district"] = _fill(template.district, station, "district")
        spec["location"] = [round(station.latitude, 6), round(station.longitude, 6)]
        spec["area_radius_km"] = template.area_radius_km
        if template.staffing:
            spec["staffing"] = template.staffing
        if station_id in turnout:
            spec["turnout_seconds"] = int(turnout.pop(station_id))
        if station.source_id:
            spec["source"] = station.source_id
        if template.credentials == "demo":
            spec["credentials"] = [
                {"name": "watch-room", "token_sha256": token_hash(_demo_token(station_id))}
            ]
        spec["units"] = [
            {
                "id": _fill(u.id, station, "units.id"),
                "name": _fill(u.name, station, "units.name"),
                "capabilities": list(u.capabilities),
            }
            for u in units
        ]
        out_stations.append(spec)
    if turnout:
        raise RosterError(f"turnout given for stations that are not built: {sorted(turnout)}")
    if roster.attribution:
        data_meta["attribution"] = " ".join(roster.attribution.split())
    tiers = roster.tiers or DEFAULT_TIERS
    data: dict[str, Any] = {
        "jurisdiction": data_meta,
        "tiers": {tier.value: policy.model_dump() for tier, policy in tiers.items()},
        "operators": [dict(o) for o in operators],
        "stations": out_stations,
    }
    if travel is not None:
        data["travel"] = travel.model_dump(exclude_none=True)
    check(data)
    return data


def check(data: Mapping[str, Any]) -> Jurisdiction:
    """Validate built data as the system will (``source`` is ours: dropped for it)."""
    plain = dict(data)
    plain["stations"] = [{k: v for k, v in s.items() if k != "source"} for s in data["stations"]]
    try:
        return Jurisdiction.model_validate(plain)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
        )
        raise RosterError(f"the built jurisdiction would not load: {problems}") from None


def _ref_order(station: StationRecord) -> tuple[int, int | str]:
    return (0, int(station.ref)) if station.ref.isdigit() else (1, station.ref)


def operators_of(path: Path) -> list[dict[str, Any]]:
    """The ``operators`` list of another jurisdiction file, as it is written there."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    operators = data.get("operators", []) if isinstance(data, dict) else []
    return [dict(o) for o in operators]


# --- writing ----------------------------------------------------------------------------


def _flow(value: Any) -> str:
    text = yaml.safe_dump(
        value, default_flow_style=True, sort_keys=False, allow_unicode=True, width=10_000
    )
    return text.removesuffix("\n").removesuffix("\n...")


def _comment(text: str, width: int = 88) -> list[str]:
    lines: list[str] = []
    for paragraph in text.strip().split("\n"):
        words, line = paragraph.split(), "#"
        for word in words:
            if len(line) + 1 + len(word) > width and line != "#":
                lines.append(line)
                line = "#"
            line += " " + word
        lines.append(line if words else "#")
    return lines


def render_jurisdiction(data: Mapping[str, Any], header: str) -> str:
    """The file's text: ``header`` as comments, then the sections, one unit a line."""
    lines = [*_comment(header), ""]
    lines.append("jurisdiction:")
    lines += [f"  {key}: {_flow(value)}" for key, value in data["jurisdiction"].items()]
    lines += ["", "tiers:  # defaults for every station of the tier"]
    lines += [f"  {tier}: {_flow(policy)}" for tier, policy in data["tiers"].items()]
    if data["operators"]:
        lines += ["", "operators:"]
        lines += [f"  - {_flow(operator)}" for operator in data["operators"]]
    lines += ["", "stations:"]
    for station in data["stations"]:
        lines.append("")
        lines.append(f"  - id: {_flow(station['id'])}")
        for key, value in station.items():
            if key in ("id", "source"):
                continue
            if isinstance(value, list) and value and isinstance(value[0], dict):
                lines.append(f"    {key}:")
                lines += [f"      - {_flow(item)}" for item in value]
            else:
                suffix = (
                    f"  # {station['source']}" if key == "location" and "source" in station else ""
                )
                lines.append(f"    {key}: {_flow(value)}{suffix}")
    if "travel" in data:
        lines += ["", "travel:  # calibrated on the city's history: uc eta calibrate"]
        for key, value in data["travel"].items():
            if key == "speeds":
                lines.append("  speeds:")
                lines += [f"    - {_flow(band)}" for band in value]
            else:
                lines.append(f"  {key}: {_flow(value)}")
    return "\n".join(lines) + "\n"
