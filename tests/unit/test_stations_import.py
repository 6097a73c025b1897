"""Stations from public data (OpenStreetMap CSV and GeoJSON) and the roster that turns
them into a jurisdiction file: bad rows named by row and field and left out, the boundary
derived with a margin, the result loadable by the system."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.analytics.roster import (
    RosterError,
    build_jurisdiction,
    derived_bounds,
    parse_roster,
    render_jurisdiction,
)
from services.analytics.stations import (
    StationFileError,
    read_station_csv,
    read_station_geojson,
    read_stations,
)
from services.common.jurisdiction import parse_jurisdiction

CSV = """osm_element,osm_id,name,station,lon,lat
node,1,Fire Station 4,4,-122.3891338,37.7728017
way,2,Fire Station 21,21,-122.440302957683073,37.775404273368594
way,3,,22,-122.47,37.76
way,4,Fire Station 23,23,west,37.76
way,5,Fire Station 24,24,-122.44,95
way,6,Fire Station 25,,-122.38,37.74
way,7,Fire Station 21 again,21,-122.44,37.77
"""

ROSTER = """
jurisdiction: {name: Test City, time_zone: America/Los_Angeles, margin_km: 1.0}
attribution: Stations (c) OpenStreetMap contributors, ODbL 1.0
stations:
  id: "T-{ref:0>2}"
  district: "Station {ref}"
  credentials: demo
  units:
    - {id: "E{ref:0>2}", name: "Engine {ref}", capabilities: [engine]}
units:
  21:
    - {id: T21, name: Truck 21, capabilities: [aerial]}
"""


def test_csv_rows_are_read_and_bad_ones_named_by_row_and_field() -> None:
    found = read_station_csv(CSV)
    assert [(s.ref, s.name, s.source_id) for s in found.stations] == [
        ("4", "Fire Station 4", "node/1"),
        ("21", "Fire Station 21", "way/2"),
    ]
    assert [p.describe("st.csv") for p in found.problems] == [
        "st.csv:4: name: empty: every station needs a name",
        "st.csv:5: lon: 'west' is not a longitude (-180..180)",
        "st.csv:6: lat: '95' is not a latitude (-90..90)",
        "st.csv:7: station: empty: give 'Fire Station 25' its reference (number)",
        "st.csv:8: station: '21' is also row 3's reference",
    ]


def test_a_csv_without_the_needed_columns_is_refused_whole() -> None:
    with pytest.raises(StationFileError, match="the header lacks lat, station or ref"):
        read_station_csv("name,lon\nA,1\n")


def test_geojson_points_and_building_outlines() -> None:
    square = [
        [-122.44, 37.77],
        [-122.43, 37.77],
        [-122.43, 37.78],
        [-122.44, 37.78],
        [-122.44, 37.77],
    ]
    features = [
        {
            "type": "Feature",
            "id": "node/1",
            "properties": {"name": "Station 4", "ref": "4"},
            "geometry": {"type": "Point", "coordinates": [-122.389, 37.7728]},
        },
        {
            "type": "Feature",
            "properties": {"name": "Station 5", "ref": "5", "@id": "way/9"},
            "geometry": {"type": "Polygon", "coordinates": [square]},
        },
        {
            "type": "Feature",
            "properties": {"name": "Station 6", "ref": "6"},
            "geometry": {"type": "LineString", "coordinates": [[0, 1], [1, 2]]},
        },
        {
            "type": "Feature",
            "properties": {"name": "Station 7"},
            "geometry": {"type": "Point", "coordinates": [-122.4, 37.7]},
        },
    ]
    found = read_station_geojson(json.dumps({"type": "FeatureCollection", "features": features}))
    assert [(s.ref, s.source_id) for s in found.stations] == [("4", "node/1"), ("5", "way/9")]
    assert found.stations[1].latitude == pytest.approx(37.775)
    assert found.stations[1].longitude == pytest.approx(-122.435)
    assert [p.describe() for p in found.problems] == [
        "row 3: geometry.type: 'LineString': expected a Point or a Polygon",
        "row 4: station: empty: give 'Station 7' its reference (number)",
    ]
    assert (
        read_stations(
            json.dumps({"type": "FeatureCollection", "features": []}), "x.geojson"
        ).stations
        == ()
    )
    with pytest.raises(StationFileError, match="not a GeoJSON FeatureCollection"):
        read_station_geojson("[]")


def test_the_roster_builds_a_loadable_jurisdiction_with_a_derived_boundary() -> None:
    stations = read_station_csv(CSV).stations
    roster = parse_roster(ROSTER, "roster.yaml")
    data = build_jurisdiction(stations, roster)
    text = render_jurisdiction(data, "Test City\nStations (c) OpenStreetMap contributors")
    city = parse_jurisdiction(text, "built.yaml")
    assert text.startswith("# Test City\n# Stations (c) OpenStreetMap contributors\n")
    assert city.jurisdiction.time_zone == "America/Los_Angeles"
    assert [s.id for s in city.stations] == ["T-04", "T-21"]
    assert [u.id for u in city.stations[1].units] == ["E21", "T21"]
    assert city.stations[1].district == "Station 21"
    assert city.stations[0].credentials[0].name == "watch-room"
    b = city.jurisdiction.bounds
    # 1 km margin: about 0.009 degrees of latitude and 0.0114 of longitude here.
    assert b.south == pytest.approx(37.7728017 - 0.009, abs=2e-4)
    assert b.north == pytest.approx(37.7754043 + 0.009, abs=2e-4)
    assert b.west == pytest.approx(-122.4403 - 0.0114, abs=2e-4)
    assert b.east == pytest.approx(-122.3891 + 0.0114, abs=2e-4)
    assert derived_bounds(stations, 0.0)["north"] >= 37.7754043
    assert "way/2" in text  # the OpenStreetMap element each location came from


def test_roster_mistakes_are_named_with_their_line() -> None:
    bad = ROSTER.replace("capabilities: [aerial]", "capabilities: aerial")
    with pytest.raises(RosterError, match=r"roster.yaml:12: units.21\[0\].capabilities"):
        parse_roster(bad, "roster.yaml")
    roster = parse_roster(ROSTER.replace("  21:", "  99:"), "roster.yaml")
    with pytest.raises(RosterError, match=r"station references \['99'\] are not in the station"):
        build_jurisdiction(read_station_csv(CSV).stations, roster)
    unknown = parse_roster(ROSTER.replace("[aerial]", "[ladder]"), "roster.yaml")
    with pytest.raises(RosterError, match="unknown capabilities"):
        build_jurisdiction(read_station_csv(CSV).stations, unknown)


def test_the_cli_writes_good_rows_and_names_bad_ones(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from services.cli.main import main

    (tmp_path / "st.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "roster.yaml").write_text(ROSTER, encoding="utf-8")
    stations, roster = str(tmp_path / "st.csv"), str(tmp_path / "roster.yaml")
    args = [
        "jurisdiction",
        "import",
        "--stations",
        stations,
        "--roster",
        roster,
        "--out",
        str(tmp_path / "j.yaml"),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "st.csv:5: lon: 'west' is not a longitude" in result.output
    assert "2 stations, 3 units; 5 station row(s) left out" in result.output
    strict = CliRunner().invoke(main, [*args[:-2], "--out", str(tmp_path / "k.yaml"), "--strict"])
    assert strict.exit_code == 1
    assert "5 bad station row(s): nothing written" in strict.output
    assert not (tmp_path / "k.yaml").exists()
