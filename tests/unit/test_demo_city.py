"""The demo jurisdiction, Xiangjiang City: the committed file loads, has the promised
makeup, matches its generator, and its documented demo tokens work."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.common.config import DEMO_JURISDICTION
from services.common.jurisdiction import (
    Jurisdiction,
    StationSpec,
    Tier,
    load_jurisdiction,
    token_hash,
)
from tools import demo_city

DEMO_FILE = DEMO_JURISDICTION

STATIONS_PER_TIER = {
    Tier.PROFESSIONAL: 5,
    Tier.GOV_FULLTIME: 10,
    Tier.VOLUNTEER: 30,
    Tier.MICRO_STATION: 80,
    Tier.CIVILIAN: 4,
}
UNITS_PER_TIER = {
    Tier.PROFESSIONAL: 42,
    Tier.GOV_FULLTIME: 25,
    Tier.VOLUNTEER: 48,
    Tier.MICRO_STATION: 130,
    Tier.CIVILIAN: 13,
}
ID_PREFIXES = {
    Tier.PROFESSIONAL: "PRO",
    Tier.GOV_FULLTIME: "GOV",
    Tier.VOLUNTEER: "VOL",
    Tier.MICRO_STATION: "MIC",
    Tier.CIVILIAN: "CIV",
}
REQUIRED_CAPABILITIES = {
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
}
TEAMS_THAT_MUST_ACKNOWLEDGE = {Tier.VOLUNTEER, Tier.MICRO_STATION, Tier.CIVILIAN}


@pytest.fixture(scope="module")
def city() -> Jurisdiction:
    return load_jurisdiction(DEMO_FILE)


def stations_of(city: Jurisdiction, tier: Tier) -> list[StationSpec]:
    return [station for station in city.stations if station.tier is tier]


def capability_counts(stations: list[StationSpec]) -> Counter[str]:
    return Counter(c for station in stations for unit in station.units for c in unit.capabilities)


def test_the_committed_file_loads(city: Jurisdiction) -> None:
    assert city.jurisdiction.name == "Xiangjiang City"
    bounds = city.jurisdiction.bounds
    assert (bounds.south, bounds.west, bounds.north, bounds.east) == (27.8, 111.9, 28.7, 114.3)


def test_the_file_is_exactly_what_the_generator_writes() -> None:
    assert demo_city.generate() == DEMO_FILE.read_text(encoding="utf-8")


def test_the_hand_formatted_yaml_says_what_the_generator_meant() -> None:
    assert yaml.safe_load(demo_city.generate()) == demo_city.build_jurisdiction()


def test_stations_and_units_per_tier(city: Jurisdiction) -> None:
    stations = Counter(station.tier for station in city.stations)
    units = Counter(station.tier for station, _ in city.units())

    assert dict(stations) == STATIONS_PER_TIER
    assert dict(units) == UNITS_PER_TIER
    assert sum(units.values()) >= 250


def test_ids_follow_the_tier_pattern(city: Jurisdiction) -> None:
    for tier, count in STATIONS_PER_TIER.items():
        width = 3 if tier is Tier.MICRO_STATION else 2
        expected = [f"{ID_PREFIXES[tier]}-{n:0{width}d}" for n in range(1, count + 1)]
        assert [station.id for station in stations_of(city, tier)] == expected
    for station, unit in city.units():
        assert unit.id.startswith(f"{station.id}-")


def test_every_station_is_inside_the_city(city: Jurisdiction) -> None:
    bounds = city.jurisdiction.bounds
    assert [s.id for s in city.stations if not bounds.contains(*s.location)] == []


def test_every_needed_capability_is_somewhere(city: Jurisdiction) -> None:
    missing = REQUIRED_CAPABILITIES - set(capability_counts(city.stations))
    assert missing == set()


def test_professional_stations_have_the_full_set(city: Jurisdiction) -> None:
    professional = stations_of(city, Tier.PROFESSIONAL)
    for station in professional:
        kinds = capability_counts([station])
        assert 3 <= kinds["engine"] - kinds["foam"] <= 4, station.id  # foam tenders pump too
        assert (kinds["aerial"], kinds["rescue"], kinds["command"]) == (1, 1, 1), station.id
        assert 30 <= station.staffing <= 45
    extras = capability_counts(professional)
    assert (extras["hazmat"], extras["water_tanker"], extras["foam"], extras["drone"]) == (
        2,
        3,
        2,
        2,
    )


def test_each_tier_has_its_kind_of_units(city: Jurisdiction) -> None:
    for station in stations_of(city, Tier.GOV_FULLTIME):
        assert {"engine", "water_tanker"} <= set(capability_counts([station])), station.id
        assert 2 <= len(station.units) <= 3
    for station in stations_of(city, Tier.VOLUNTEER):
        assert "engine" in capability_counts([station]), station.id
        assert 1 <= len(station.units) <= 2
        assert 4 <= station.area_radius_km <= 8
    for station in stations_of(city, Tier.MICRO_STATION):
        assert "first_intervention" in capability_counts([station]), station.id
        assert 1 <= len(station.units) <= 2
        assert 0.5 <= station.area_radius_km <= 1.5
    civilian = capability_counts(stations_of(city, Tier.CIVILIAN))
    assert {"water_rescue", "mountain_rescue", "drone", "rescue"} <= set(civilian)


def test_teams_that_must_acknowledge_can_and_have_the_people(city: Jurisdiction) -> None:
    for station in city.stations:
        if station.tier in TEAMS_THAT_MUST_ACKNOWLEDGE:
            assert station.credentials, station.id
            assert 1 <= station.min_responders <= station.staffing, station.id


def test_the_tiers_section_gives_the_defaults(city: Jurisdiction) -> None:
    assert city.tiers[Tier.PROFESSIONAL].turnout_seconds == 60
    assert city.tiers[Tier.VOLUNTEER].ack_deadline_seconds == 120
    assert city.tiers[Tier.MICRO_STATION].auto_acknowledge is False
    assert city.tiers[Tier.CIVILIAN].turnout_seconds == 600


def test_the_documented_demo_tokens_match_the_stored_hashes(city: Jurisdiction) -> None:
    header = DEMO_FILE.read_text(encoding="utf-8").split("\njurisdiction:")[0]
    assert "demo-ct-01" in header and "demo-vol-03" in header and "DEMO" in header

    operators = {operator.id: operator.token_sha256 for operator in city.operators}
    assert set(operators) == {
        "ct-01",
        "ct-02",
        "ct-03",
        "cmd-01",
        "cmd-02",
        "admin-01",
        "sup-01",
        "wall-01",
        "svc-dispatch",
        "svc-edge",
    }
    for operator_id, stored in operators.items():
        assert token_hash(f"demo-{operator_id}") == stored
    for station in city.stations:
        stored = {credential.token_sha256 for credential in station.credentials}
        assert token_hash(f"demo-{station.id.lower()}") in stored, station.id
    mic_001 = next(station for station in city.stations if station.id == "MIC-001")
    assert token_hash("demo-mic-001") in {c.token_sha256 for c in mic_001.credentials}


def test_staff_have_the_documented_demo_password_and_services_none(city: Jurisdiction) -> None:
    from services.common.jurisdiction import STAFF_ROLES
    from services.edge.passwords import verify_password

    header = DEMO_FILE.read_text(encoding="utf-8").split("\njurisdiction:")[0]
    assert "DEMO PASSWORDS" in header and "demo-ct-01" in header
    for operator in city.operators:
        if operator.role in STAFF_ROLES:
            assert verify_password(operator.password_argon2, f"demo-{operator.id}"), operator.id
            assert not verify_password(operator.password_argon2, f"demo-{operator.id}x")
        else:
            assert operator.password_argon2 is None, operator.id
    roles = {operator.id: operator.role.value for operator in city.operators}
    assert (roles["sup-01"], roles["svc-edge"]) == ("VIEWER", "GATEWAY")


# --- the geography file ----------------------------------------------------------------


def geography_with(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of the geography file, changed."""
    data = yaml.safe_load(demo_city.GEOGRAPHY_FILE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "geography.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_the_geography_file_is_beside_the_generator_and_loads() -> None:
    assert demo_city.GEOGRAPHY_FILE.parent.parent == Path(demo_city.__file__).resolve().parent
    geo = demo_city.load_geography()

    assert len(geo.professional_station_sites) == STATIONS_PER_TIER[Tier.PROFESSIONAL]
    assert len(geo.villages) == STATIONS_PER_TIER[Tier.VOLUNTEER]
    assert set(geo.urban_cores) <= set(geo.districts)
    assert geo.towns["Yutan Subdistrict"].district == "Ningxiang City (宁乡市)"


def test_every_station_is_in_a_district_of_the_geography(city: Jurisdiction) -> None:
    districts = set(demo_city.load_geography().districts)
    assert [s.id for s in city.stations if s.district not in districts] == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda data: data["towns"][1].pop("latitude"),
            "towns[1] (Jinzhou Town): missing latitude",
        ),
        (
            lambda data: data["urban_cores"][2].pop("radius_km"),
            "urban_cores[2] (Yuelu District (岳麓区)): missing radius_km",
        ),
        (
            lambda data: data["towns"][0].update(latitude=29.5),
            "towns[0] (Yutan Subdistrict): latitude 29.5 is outside the city's bounds, 27.8 to",
        ),
        (
            lambda data: data["civilian_team_bases"][0].update(longitude=111.0),
            "civilian_team_bases[0] (Blue Sky Rescue Team (civilian)): longitude 111.0 is outside",
        ),
        (
            lambda data: data["professional_station_sites"][0].update(latitude="28.19"),
            "professional_station_sites[0] (Furong): latitude must be a number, got '28.19'",
        ),
        (
            lambda data: data["towns"][3].update(district="Furong"),
            "towns[3] (Huaminglou Town): district 'Furong' is not one of the file's districts",
        ),
        (
            lambda data: data["villages"][0].update(town="Nowhere Town"),
            "villages[0] (Shuangjiang): town 'Nowhere Town' is not one of the file's towns",
        ),
        (
            lambda data: data["towns"].append(dict(data["towns"][0])),
            "(Yutan Subdistrict): a second entry so named",
        ),
        (
            lambda data: data["towns"][0].update(radius_km=1.0),
            "towns[0] (Yutan Subdistrict): unknown key(s) radius_km",
        ),
        (lambda data: data.pop("villages"), "the top level: missing section(s) villages"),
    ],
)
def test_a_broken_geography_file_is_refused_naming_the_entry(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    path = geography_with(tmp_path, change)

    with pytest.raises(demo_city.GeographyError) as refused:
        demo_city.load_geography(path)
    assert str(refused.value).startswith("geography.yaml: ")
    assert message in str(refused.value)


def test_the_generator_refuses_a_town_or_team_the_geography_lacks(tmp_path: Path) -> None:
    def without_yutan(data: dict[str, Any]) -> None:
        data["towns"] = [t for t in data["towns"] if t["name"] != "Yutan Subdistrict"]
        data["county_micro_sites"] = [
            s for s in data["county_micro_sites"] if s["town"] != "Yutan Subdistrict"
        ]

    geo = demo_city.load_geography(geography_with(tmp_path, without_yutan))
    with pytest.raises(demo_city.GeographyError, match="GOVERNMENT_TEAM_TOWNS names the town"):
        demo_city.stations_by_tier(geo=geo)

    geo = demo_city.load_geography(
        geography_with(tmp_path, lambda data: data["civilian_team_bases"].pop())
    )
    with pytest.raises(demo_city.GeographyError, match="have no base"):
        demo_city.stations_by_tier(geo=geo)
