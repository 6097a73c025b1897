"""Reading a CAD export (one row per unit on an incident, every timestamp in local time)
into ``HistoricalIncident`` records, through a column mapping that is data
(``services/config/history/*.yaml``; ``sf-calls-for-service.yaml`` for San Francisco's "Fire
Department Calls for Service").

Local times are read in the file's own zone (the mapping's ``time_zone``, daylight saving
included) and kept as UTC instants in microseconds. In the hour a clock is set back, a
local time is ambiguous: it is read as the first of the two, unless that would put it
before a time the row gives earlier in the unit's sequence, when the second is taken.

A bad row is reported with its line in the file, the field (the CSV column) and the
reason, and left out whole; the incident keeps its other rows. Bad: no incident or unit
id, no location, a time that does not parse, times out of order (a unit on scene before
it was en route, ...), a unit the jurisdiction does not have, a unit type the mapping does
not know, a unit twice on one incident, incident fields that differ from the incident's
earlier rows. Rows of unit types the mapping marks as outside the system (private
ambulances, say) are skipped and counted, not reported one by one.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from services.analytics.history import (
    HistoricalIncident,
    HistoricalUnitResponse,
    instant_us,
)
from services.analytics.stations import RowProblem
from services.common.config import CONFIG_DIR
from services.common.yaml_models import load_yaml_model

DEFAULT_MAPPING = CONFIG_DIR / "history" / "sf-calls-for-service.yaml"


class Columns(BaseModel):
    """Which CSV column holds each field (the export's own header names)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    incident_id: str
    call_number: str = ""
    incident_type: str
    received: str
    dispatched: str
    en_route: str
    on_scene: str
    available: str = ""
    unit_id: str
    unit_type: str
    station_area: str = ""
    alarms: str = ""
    address: str = ""
    location: str = ""  # "(lat, lon)" in one column, or latitude and longitude apart
    latitude: str = ""
    longitude: str = ""


class CadMapping(BaseModel):
    """How to read one CAD export format."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1)]
    attribution: str = ""  # the data's source and licence, shown with what is made of it
    time_zone: Annotated[str, Field(min_length=1)]
    time_format: Annotated[str, Field(min_length=1)]  # strptime, e.g. %m/%d/%Y %I:%M:%S %p
    columns: Columns
    # How a station area value names a station of the jurisdiction ("21" -> "SF-21"):
    # a str.format template given the value as {area} (and as a number when it is one).
    station_area_id: str = "{area}"
    # CAD unit type -> the jurisdiction capability it stands for; null: not a unit of
    # this system (its rows are skipped and counted).
    unit_types: dict[str, str | None]
    # CAD call type -> the run-card incident type it is recorded as when imported into
    # the record (``uc history import``); a type not named here is imported as
    # ``default_incident_type``.
    incident_types: dict[str, str] = {}
    default_incident_type: str = "residential_fire"


def load_mapping(path: str | Path = DEFAULT_MAPPING) -> CadMapping:
    path = Path(path)
    return load_yaml_model(path, CadMapping, ValueError, what="CAD mapping")


@dataclass(frozen=True, slots=True)
class HistoryFile:
    """What a CAD export gave: the incidents, the bad rows (left out), and the rows of
    unit types outside the system (skipped), counted by type."""

    incidents: tuple[HistoricalIncident, ...]
    problems: tuple[RowProblem, ...]
    skipped: Mapping[str, int]
    rows: int

    @property
    def unit_rows(self) -> int:
        return sum(len(i.units) for i in self.incidents)


class CadFileError(ValueError):
    """The file as a whole cannot be read (its header lacks a mapped column)."""


@dataclass(frozen=True, slots=True)
class _IncidentFields:
    """What every row of one incident repeats."""

    incident_id: str
    call_number: str
    incident_type: str
    received_us: int
    location: tuple[float, float]
    station_area: str
    alarms: int
    address: str


@dataclass
class _Draft:
    first_row: int
    incident: _IncidentFields
    units: list[HistoricalUnitResponse] = field(default_factory=list)
    unit_rows: dict[str, int] = field(default_factory=dict)


_LOCATION = re.compile(r"^\(?\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)?$")


def read_cad(
    text: str,
    mapping: CadMapping,
    unit_stations: Mapping[str, str] | None = None,
    time_zone: str | None = None,
) -> HistoryFile:
    """Read a CAD export. ``unit_stations``: the jurisdiction's units (unit id -> station
    id); given, a unit outside it makes its row bad. ``time_zone`` overrides the
    mapping's."""
    zone = ZoneInfo(time_zone or mapping.time_zone)
    c = mapping.columns
    reader = csv.DictReader(io.StringIO(text))
    header = set(reader.fieldnames or [])
    wanted = {name: col for name, col in c.model_dump().items() if col}
    missing = sorted(col for col in wanted.values() if col not in header)
    if missing:
        raise CadFileError(f"line 1: the header lacks the mapped columns {missing}")
    if not c.location and not (c.latitude and c.longitude):
        raise CadFileError("the mapping gives neither location nor latitude and longitude")
    drafts: dict[str, _Draft] = {}
    problems: list[RowProblem] = []
    skipped: dict[str, int] = {}
    rows = 0
    for record in reader:
        rows += 1
        line = reader.line_num
        row = {k: (v or "").strip() for k, v in record.items() if k is not None}
        unit_type = row[c.unit_type]
        if unit_type in mapping.unit_types and mapping.unit_types[unit_type] is None:
            skipped[unit_type] = skipped.get(unit_type, 0) + 1
            continue
        parsed = _parse_row(line, row, mapping, zone, unit_stations)
        if isinstance(parsed, RowProblem):
            problems.append(parsed)
            continue
        incident, unit = parsed
        key = incident.incident_id
        draft = drafts.get(key)
        if draft is None:
            drafts[key] = _Draft(line, incident, [unit], {unit.unit_id: line})
            continue
        clash = _clash(draft, incident, c)
        if clash is not None:
            problems.append(RowProblem(line, *clash))
        elif unit.unit_id in draft.unit_rows:
            reason = (
                f"{unit.unit_id} is already on this incident (line {draft.unit_rows[unit.unit_id]})"
            )
            problems.append(RowProblem(line, c.unit_id, reason))
        else:
            draft.units.append(unit)
            draft.unit_rows[unit.unit_id] = line
    incidents = [_incident(d) for d in drafts.values()]
    incidents.sort(key=lambda i: (i.received_us, i.incident_id))
    return HistoryFile(tuple(incidents), tuple(problems), dict(sorted(skipped.items())), rows)


def _clash(draft: _Draft, incident: _IncidentFields, c: Columns) -> tuple[str, str] | None:
    """The first incident-level field this row gives otherwise than the incident's
    first row: (column, reason)."""
    columns = {
        "received_us": c.received,
        "incident_type": c.incident_type,
        "location": c.location or c.latitude,
        "call_number": c.call_number,
    }
    for key, column in columns.items():
        if getattr(draft.incident, key) != getattr(incident, key):
            return column, f"differs from the incident's line {draft.first_row}"
    return None


def _incident(draft: _Draft) -> HistoricalIncident:
    d = draft.incident
    units = sorted(draft.units, key=lambda u: (u.dispatched_us, draft.unit_rows[u.unit_id]))
    return HistoricalIncident(
        incident_id=d.incident_id,
        call_number=d.call_number,
        incident_type=d.incident_type,
        received_us=d.received_us,
        dispatched_us=min(u.dispatched_us for u in units),
        latitude=d.location[0],
        longitude=d.location[1],
        station_area=d.station_area,
        alarms=d.alarms,
        units=tuple(units),
        address=d.address,
    )


def _parse_row(
    line: int,
    row: Mapping[str, str],
    mapping: CadMapping,
    zone: ZoneInfo,
    unit_stations: Mapping[str, str] | None,
) -> tuple[_IncidentFields, HistoricalUnitResponse] | RowProblem:
    c = mapping.columns
    for name in ("incident_id", "unit_id", "incident_type"):
        column = getattr(c, name)
        if not row[column]:
            return RowProblem(line, column, "empty")
    unit_id, unit_type = row[c.unit_id], row[c.unit_type]
    if unit_type not in mapping.unit_types:
        known = ", ".join(sorted(mapping.unit_types))
        return RowProblem(line, c.unit_type, f"{unit_type!r} is not in the mapping ({known})")
    capability = mapping.unit_types[unit_type] or ""
    station = ""
    if unit_stations is not None:
        if unit_id not in unit_stations:
            return RowProblem(line, c.unit_id, f"{unit_id!r} is not a unit of the jurisdiction")
        station = unit_stations[unit_id]
    location = _location(row, c)
    if isinstance(location, RowProblem):
        return RowProblem(line, location.field, location.reason)
    times: dict[str, int | None] = {}
    previous: int | None = None
    previous_column = previous_name = ""
    # In order: each time must not come before the last one given.
    for name in ("received", "dispatched", "en_route", "on_scene", "available"):
        column = getattr(c, name)
        text = row.get(column, "") if column else ""
        if not text:
            if name in ("received", "dispatched"):
                return RowProblem(line, column, "empty")
            times[name] = None
            continue
        parsed = _time(text, mapping.time_format, zone, previous)
        if parsed is None:
            example = datetime(2009, 1, 10, 14, 36, 1).strftime(mapping.time_format)
            return RowProblem(line, column, f"{text!r} is not a time like {example!r}")
        if previous is not None and parsed < previous:
            reason = (
                f"{text} is before {previous_column} ({row[previous_column]}): the unit "
                f"was {_STAGES[name]} before it was {_STAGES[previous_name]}"
            )
            return RowProblem(line, column, reason)
        times[name] = parsed
        previous, previous_column, previous_name = parsed, column, name
    alarms_text = row.get(c.alarms, "") if c.alarms else ""
    try:
        alarms = int(alarms_text) if alarms_text else 1
    except ValueError:
        return RowProblem(line, c.alarms, f"{alarms_text!r} is not a number of alarms")
    area = row.get(c.station_area, "") if c.station_area else ""
    incident = _IncidentFields(
        incident_id=row[c.incident_id],
        call_number=row.get(c.call_number, "") if c.call_number else "",
        incident_type=row[c.incident_type],
        received_us=times["received"] or 0,
        location=location,
        station_area=_station_area(area, mapping.station_area_id) if area else "",
        alarms=alarms,
        address=row.get(c.address, "") if c.address else "",
    )
    unit = HistoricalUnitResponse(
        unit_id=unit_id,
        unit_type=unit_type,
        capability=capability,
        station=station,
        dispatched_us=times["dispatched"] or 0,
        en_route_us=times["en_route"],
        on_scene_us=times["on_scene"],
        available_us=times["available"],
    )
    return incident, unit


_STAGES = {
    "received": "called",
    "dispatched": "dispatched",
    "en_route": "en route",
    "on_scene": "on scene",
    "available": "available",
}


def _location(row: Mapping[str, str], c: Columns) -> tuple[float, float] | RowProblem:
    """(latitude, longitude), or the problem (its row number is filled in by the caller)."""
    if c.location:
        text = row[c.location]
        found = _LOCATION.match(text)
        if not text:
            return RowProblem(0, c.location, "empty: no location")
        if found is None:
            return RowProblem(0, c.location, f"{text!r} is not a location like (37.77, -122.44)")
        lat, lon = float(found.group(1)), float(found.group(2))
        column = c.location
    else:
        column = c.latitude
        try:
            lat, lon = float(row[c.latitude]), float(row[c.longitude])
        except ValueError:
            return RowProblem(0, column, "empty or not a number: no location")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return RowProblem(0, column, f"({lat}, {lon}) is not a place: no location")
    return lat, lon


def _station_area(area: str, template: str) -> str:
    value: int | str = int(area) if area.isdigit() else area
    try:
        return template.format(area=value)
    except (ValueError, IndexError, KeyError):
        return template.format(area=area)


def _time(text: str, fmt: str, zone: ZoneInfo, not_before: int | None) -> int | None:
    try:
        naive = datetime.strptime(text, fmt)
    except ValueError:
        return None
    first = instant_us(naive.replace(tzinfo=zone, fold=0))
    second = instant_us(naive.replace(tzinfo=zone, fold=1))
    if first != second and not_before is not None and first < not_before <= second:
        return second  # the repeated hour: the second reading keeps the order
    return first


def unit_stations_of(stations: Iterable[tuple[str, Iterable[str]]]) -> dict[str, str]:
    """Unit id -> station id, from (station id, unit ids) pairs."""
    return {unit: station for station, units in stations for unit in units}
