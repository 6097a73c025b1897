"""Fire stations from public data: OpenStreetMap's ``amenity=fire_station`` as CSV or
GeoJSON, one ``StationRecord`` each.

CSV: a header row with ``name``, ``lat``, ``lon`` and the station's reference in
``station`` or ``ref`` (OpenStreetMap's ``ref`` tag); ``osm_element`` and ``osm_id``
are kept when present. GeoJSON: a FeatureCollection whose features have ``name`` and
``ref`` (or ``station``) properties and a Point geometry, or a Polygon (a building
outline, as OpenStreetMap maps many stations: its outer ring's mean vertex is taken);
``@id`` or ``id`` is kept as the source id.

A bad row (no name, no reference, a coordinate that is no number or out of range, a
reference used twice) is reported with its row and field and left out; the others are
read. Rows are numbered as a person finds them: the CSV file's line, the GeoJSON
feature's position from 1.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class StationRecord:
    """One station as the public data gives it (WGS-84 degrees)."""

    row: int  # CSV line, or GeoJSON feature number (from 1)
    name: str
    ref: str  # the station's reference (its number, in San Francisco)
    latitude: float
    longitude: float
    source_id: str = ""  # e.g. "way/261466912"


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A row left out: where, which field, and why."""

    row: int
    field: str
    reason: str

    def describe(self, name: str = "") -> str:
        where = f"{name}:{self.row}" if name else f"row {self.row}"
        return f"{where}: {self.field}: {self.reason}"


@dataclass(frozen=True, slots=True)
class StationFile:
    stations: tuple[StationRecord, ...]
    problems: tuple[RowProblem, ...]


class StationFileError(ValueError):
    """The file as a whole cannot be read (not CSV with the needed columns, not GeoJSON)."""


REF_COLUMNS = ("station", "ref")


def read_station_csv(text: str) -> StationFile:
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    ref_column = next((c for c in REF_COLUMNS if c in columns), None)
    missing = [c for c in ("name", "lat", "lon") if c not in columns]
    if ref_column is None:
        missing.append(" or ".join(REF_COLUMNS))
    if missing:
        has = ", ".join(columns) or "nothing"
        raise StationFileError(f"line 1: the header lacks {', '.join(missing)} (it has {has})")
    stations: list[StationRecord] = []
    problems: list[RowProblem] = []
    for raw in reader:
        row = reader.line_num
        record = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        element, osm_id = record.get("osm_element", ""), record.get("osm_id", "")
        source = f"{element}/{osm_id}" if element and osm_id else osm_id
        found = _station(
            row,
            record.get("name", ""),
            record.get(ref_column or "", ""),
            record.get("lat", ""),
            record.get("lon", ""),
            source,
        )
        _sort(found, stations, problems)
    return _unique(stations, problems)


def read_station_geojson(text: str) -> StationFile:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StationFileError(f"line {exc.lineno}: not JSON: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise StationFileError("not a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list):
        raise StationFileError("features: expected a list")
    stations: list[StationRecord] = []
    problems: list[RowProblem] = []
    for number, feature in enumerate(features, start=1):
        _sort(_feature(number, feature), stations, problems)
    return _unique(stations, problems)


def read_stations(text: str, name: str) -> StationFile:
    """By the file's name: ``.geojson`` / ``.json`` as GeoJSON, anything else as CSV."""
    lowered = name.lower()
    if lowered.endswith((".geojson", ".json")):
        return read_station_geojson(text)
    return read_station_csv(text)


def _sort(
    found: StationRecord | RowProblem, stations: list[StationRecord], problems: list[RowProblem]
) -> None:
    if isinstance(found, RowProblem):
        problems.append(found)
    else:
        stations.append(found)


def _feature(number: int, feature: Any) -> StationRecord | RowProblem:
    if not isinstance(feature, dict):
        return RowProblem(number, "feature", "not a GeoJSON feature object")
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        return RowProblem(number, "properties", "expected an object")
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict):
        return RowProblem(number, "geometry", "missing")
    kind = geometry.get("type")
    coords: Any = geometry.get("coordinates")  # GeoJSON nests lists; checked by the except below
    try:
        if kind == "Point":
            lon, lat = coords[0], coords[1]
        elif kind == "Polygon":
            ring = coords[0][:-1] if coords[0][0] == coords[0][-1] else coords[0]
            lon = sum(float(p[0]) for p in ring) / len(ring)
            lat = sum(float(p[1]) for p in ring) / len(ring)
        else:
            return RowProblem(number, "geometry.type", f"{kind!r}: expected a Point or a Polygon")
    except (TypeError, IndexError, ValueError, ZeroDivisionError):
        return RowProblem(number, "geometry.coordinates", f"not a {kind}'s coordinates")
    ref = props.get("ref", props.get("station", ""))
    source = str(props.get("@id") or feature.get("id") or "")
    return _station(
        number, str(props.get("name") or ""), str(ref or ""), str(lat), str(lon), source
    )


def _station(
    row: int, name: str, ref: str, lat_text: str, lon_text: str, source: str
) -> StationRecord | RowProblem:
    if not name.strip():
        return RowProblem(row, "name", "empty: every station needs a name")
    if not ref.strip():
        return RowProblem(row, "station", f"empty: give {name!r} its reference (number)")
    if not ref.strip().replace("-", "").isalnum():
        return RowProblem(row, "station", f"{ref!r}: use letters, digits and '-' only")
    lat = _number(lat_text)
    if lat is None or not -90 <= lat <= 90:
        return RowProblem(row, "lat", f"{lat_text!r} is not a latitude (-90..90)")
    lon = _number(lon_text)
    if lon is None or not -180 <= lon <= 180:
        return RowProblem(row, "lon", f"{lon_text!r} is not a longitude (-180..180)")
    if lat == 0 and lon == 0:
        return RowProblem(row, "lat", "(0, 0): the location was left unset")
    return StationRecord(row, name.strip(), ref.strip(), lat, lon, source)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _unique(stations: list[StationRecord], problems: list[RowProblem]) -> StationFile:
    seen: dict[str, int] = {}
    kept: list[StationRecord] = []
    for station in stations:
        first = seen.get(station.ref)
        if first is not None:
            reason = f"{station.ref!r} is also row {first}'s reference"
            problems.append(RowProblem(station.row, "station", reason))
            continue
        seen[station.ref] = station.row
        kept.append(station)
    problems.sort(key=lambda p: p.row)
    return StationFile(tuple(kept), tuple(problems))
