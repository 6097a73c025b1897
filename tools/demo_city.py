"""The demo jurisdiction, Xiangjiang City (湘江市), generated.

A fictional prefecture-level city laid over the real geography around Changsha, Hunan:
professional fire rescue stations in the urban districts, government full-time teams in
county towns and large townships, volunteer teams in villages, micro fire stations in
urban communities, enterprise parks and towns, and civilian rescue teams in the city.

The places (districts, urban cores, towns, villages, sites, with their coordinates) are
data, in ``tools/data/demo-city-geography.yaml``; what stations and units each place gets
is decided here. The output is deterministic (a fixed seed, no clock): run

    .venv/bin/python -m tools.demo_city > services/config/jurisdiction/demo-city.yaml

and the file comes out the same every time. Tokens are demo-only and documented in the
file's header: ``demo-<operator id>`` and ``demo-<station id, lowercased>``.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml

from services.common.geo import offset_km
from services.common.jurisdiction import DEFAULT_TIERS, STAFF_ROLES, Role, Tier, token_hash
from services.edge.passwords import demo_hash

SEED = 119
CITY_NAME = "Xiangjiang City"
TIME_ZONE = "Asia/Shanghai"  # the city's zone (China Standard Time, UTC+8, no daylight saving)
BOUNDS = {"south": 27.8, "west": 111.9, "north": 28.7, "east": 114.3}
# Beside this module, so that it is found however the tools are started.
GEOGRAPHY_FILE = Path(__file__).resolve().parent / "data" / "demo-city-geography.yaml"

Station = dict[str, Any]
Unit = dict[str, Any]
LatLon = tuple[float, float]


@dataclass(frozen=True)
class Area:
    """A place on the map: a district's urban core, a town or a single site."""

    district: str
    latitude: float
    longitude: float
    radius_km: float = 0.0  # how far from the centre things in it are scattered


@dataclass(frozen=True)
class UnitKind:
    code: str  # the letter in the unit id: PRO-01-E1
    label: str  # the unit name before its number: "Engine 1"
    capabilities: tuple[str, ...]


UNIT_KINDS: dict[str, UnitKind] = {
    "engine": UnitKind("E", "Engine", ("engine",)),
    "light_engine": UnitKind("E", "Light engine", ("engine", "first_intervention")),
    "aerial": UnitKind("L", "Aerial ladder", ("aerial",)),
    "rescue": UnitKind("R", "Rescue", ("rescue",)),
    "hazmat": UnitKind("H", "Hazmat", ("hazmat",)),
    "water_tanker": UnitKind("T", "Water tanker", ("water_tanker",)),
    "foam": UnitKind("F", "Foam tender", ("engine", "foam")),
    "command": UnitKind("C", "Command", ("command",)),
    "drone": UnitKind("D", "Drone team", ("drone",)),
    "first_intervention": UnitKind("M", "First-intervention vehicle", ("first_intervention",)),
    "water_rescue": UnitKind("W", "Rescue boat", ("water_rescue",)),
    "mountain_rescue": UnitKind("K", "Mountain rescue squad", ("mountain_rescue",)),
}

# The towns (of the geography file) that have a government full-time team, numbered in
# this order: GOV-01 is the first.
GOVERNMENT_TEAM_TOWNS: list[str] = [
    "Yutan Subdistrict",
    "Huilongpu Town",
    "Huaminglou Town",
    "Huaichuan Subdistrict",
    "Yonghe Town",
    "Dayao Town",
    "Xingsha Subdistrict",
    "Huangxing Town",
    "Jinjing Town",
    "Qiaoyi Town",
]


@dataclass(frozen=True)
class CivilianTeam:
    name: str
    site: Area
    area_radius_km: float
    unit_kinds: tuple[str, ...]


# What each civilian team (its base is in the geography file, under the same name) has:
# how far out it works, and its units.
CIVILIAN_TEAM_KITS: dict[str, tuple[float, tuple[str, ...]]] = {
    "Blue Sky Rescue Team (civilian)": (60.0, ("water_rescue", "water_rescue", "rescue", "drone")),
    "Xiangjiang Mountain Rescue Team (civilian)": (
        80.0,
        ("mountain_rescue", "mountain_rescue", "drone"),
    ),
    "Xiangjiang River Water Rescue Team (civilian)": (
        40.0,
        ("water_rescue", "water_rescue", "drone"),
    ),
    "Xiangjiang Outdoor Search and Rescue Team (civilian)": (
        80.0,
        ("mountain_rescue", "rescue", "drone"),
    ),
}

# How many stations of a tier get an optional extra, so that unit counts do not depend on luck.
PROFESSIONAL_WITH_FOUR_ENGINES = 3
PROFESSIONAL_EXTRAS: dict[str, int] = {"hazmat": 2, "water_tanker": 3, "foam": 2, "drone": 2}
GOVERNMENT_WITH_RESCUE = 5
VOLUNTEER_WITH_TANKER = 18
MICRO_WITH_LIGHT_ENGINE = 50

OPERATORS: list[tuple[str, str, str]] = [
    ("ct-01", "Call taker 1", "CALL_TAKER"),
    ("ct-02", "Call taker 2", "CALL_TAKER"),
    ("ct-03", "Call taker 3", "CALL_TAKER"),
    ("cmd-01", "Commander 1", "COMMANDER"),
    ("cmd-02", "Commander 2", "COMMANDER"),
    ("admin-01", "Administrator", "ADMIN"),
    ("sup-01", "Supervisor 1", "VIEWER"),
    ("wall-01", "Wall board", "VIEWER"),
    ("svc-dispatch", "Dispatch service", "SERVICE"),
    ("svc-edge", "HTTP edge (the console's gateway)", "GATEWAY"),
]


def demo_token(holder_id: str) -> str:
    """The demo plaintext token of an operator or a station (demo use only)."""
    return f"demo-{holder_id.lower()}"


def demo_password(operator_id: str) -> str:
    """The demo console password of a staff operator: the same text as its token."""
    return demo_token(operator_id)


# --- the geography file ----------------------------------------------------------------

GEOGRAPHY_SECTIONS = (
    "districts",
    "urban_cores",
    "towns",
    "professional_station_sites",
    "civilian_team_bases",
    "villages",
    "urban_micro_sites",
    "county_micro_sites",
)


PLACE_KEYS = ("district", "latitude", "longitude")


class GeographyError(ValueError):
    """The geography file is not what the generator needs; the message names the entry."""


@dataclass(frozen=True)
class Geography:
    """The demo city's places as the geography file gives them; lists in the file's order."""

    districts: tuple[str, ...]
    urban_cores: dict[str, Area]  # by district
    towns: dict[str, Area]  # by name
    professional_station_sites: list[tuple[str, Area]]  # (short name, site of the station)
    civilian_team_bases: list[tuple[str, Area]]  # (team name, where it is based)
    villages: list[tuple[str, str]]  # (village, the town it belongs to)
    urban_micro_sites: dict[str, list[str]]  # site names by district
    county_micro_sites: list[tuple[str, str]]  # (site, the town it is in)

    def town(self, name: str, named_by: str) -> Area:
        if name not in self.towns:
            raise GeographyError(
                f"{named_by} names the town {name!r}, which is not among the towns of "
                f"{GEOGRAPHY_FILE.name}"
            )
        return self.towns[name]


def load_geography(path: Path = GEOGRAPHY_FILE) -> Geography:
    """Read the geography file and check it: each entry has its keys and no others, each
    coordinate is a number inside BOUNDS, each name is given once and each district or town
    an entry names is one of the file's. A GeographyError names the file and the entry."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise GeographyError(f"{path}: cannot read the demo city's geography: {e}") from e
    return _GeographyReader(path.name).read(data)


class _GeographyReader:
    def __init__(self, file_name: str) -> None:
        self.file_name = file_name

    def fail(self, where: str, problem: str) -> NoReturn:
        raise GeographyError(f"{self.file_name}: {where}: {problem}")

    def read(self, data: Any) -> Geography:
        if not isinstance(data, dict):
            self.fail("the top level", f"expected a mapping of sections, got {type(data).__name__}")
        if missing := [s for s in GEOGRAPHY_SECTIONS if s not in data]:
            self.fail("the top level", f"missing section(s) {', '.join(missing)}")
        if unknown := [str(s) for s in data if s not in GEOGRAPHY_SECTIONS]:
            self.fail("the top level", f"unknown section(s) {', '.join(unknown)}")
        districts = self.districts(data["districts"])
        urban_cores: dict[str, Area] = {}
        for where, entry in self.entries(data, "urban_cores", *PLACE_KEYS, "radius_km"):
            core = self.area(where, entry, districts, with_radius=True)
            if core.district in urban_cores:
                self.fail(where, f"a second urban core of {core.district!r}")
            urban_cores[core.district] = core
        towns: dict[str, Area] = {}
        for where, entry in self.entries(data, "towns", "name", *PLACE_KEYS):
            towns[self.new_name(where, entry, towns)] = self.area(where, entry, districts)
        micro_sites = self.urban_micro_sites(data["urban_micro_sites"], urban_cores)
        county_micro_sites = self.in_towns(data, "county_micro_sites", towns)
        seen = {name for names in micro_sites.values() for name in names}
        for index, (name, _) in enumerate(county_micro_sites):
            if name in seen:
                self.fail(f"county_micro_sites[{index}] ({name})", "a second micro site so named")
            seen.add(name)
        return Geography(
            districts=districts,
            urban_cores=urban_cores,
            towns=towns,
            professional_station_sites=self.sites(data, "professional_station_sites", districts),
            civilian_team_bases=self.sites(data, "civilian_team_bases", districts),
            villages=self.in_towns(data, "villages", towns),
            urban_micro_sites=micro_sites,
            county_micro_sites=county_micro_sites,
        )

    def districts(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            self.fail("districts", f"expected a list of district names, got {value!r}")
        for index, name in enumerate(value):
            if not isinstance(name, str) or not name.strip():
                self.fail(f"districts[{index}]", f"expected a district name, got {name!r}")
            if name in value[:index]:
                self.fail(f"districts[{index}] ({name})", "given twice")
        return tuple(value)

    def entries(
        self, data: dict[str, Any], section: str, *keys: str
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each entry of a list section, with how errors name it, checked to have exactly
        ``keys``."""
        value = data[section]
        if not isinstance(value, list):
            self.fail(section, f"expected a list of entries, got {type(value).__name__}")
        for index, entry in enumerate(value):
            where = f"{section}[{index}]"
            if not isinstance(entry, dict):
                self.fail(where, f"expected a mapping of {', '.join(keys)}, got {entry!r}")
            label = entry.get("name", entry.get("district"))
            where += f" ({label})" if isinstance(label, str) else ""
            if missing := [key for key in keys if key not in entry]:
                self.fail(where, f"missing {', '.join(missing)}")
            if unknown := [str(key) for key in entry if key not in keys]:
                self.fail(where, f"unknown key(s) {', '.join(unknown)}; expected {', '.join(keys)}")
            yield where, entry

    def text(self, where: str, entry: dict[str, Any], key: str) -> str:
        value = entry[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(where, f"{key} must be a name, got {value!r}")
        return value

    def new_name(self, where: str, entry: dict[str, Any], seen: Collection[str]) -> str:
        name = self.text(where, entry, "name")
        if name in seen:
            self.fail(where, "a second entry so named")
        return name

    def number(self, where: str, entry: dict[str, Any], key: str) -> float:
        value = entry[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(where, f"{key} must be a number, got {value!r}")
        if not math.isfinite(value):
            self.fail(where, f"{key} must be a finite number, got {value!r}")
        return float(value)

    def area(
        self,
        where: str,
        entry: dict[str, Any],
        districts: Collection[str],
        with_radius: bool = False,
    ) -> Area:
        district = self.text(where, entry, "district")
        if district not in districts:
            self.fail(where, f"district {district!r} is not one of the file's districts")
        latitude = self.number(where, entry, "latitude")
        longitude = self.number(where, entry, "longitude")
        south, north, west, east = (BOUNDS[side] for side in ("south", "north", "west", "east"))
        if not south <= latitude <= north:
            self.fail(
                where, f"latitude {latitude} is outside the city's bounds, {south} to {north}"
            )
        if not west <= longitude <= east:
            self.fail(
                where, f"longitude {longitude} is outside the city's bounds, {west} to {east}"
            )
        radius_km = self.number(where, entry, "radius_km") if with_radius else 0.0
        if with_radius and not 0 < radius_km <= 50:
            self.fail(where, f"radius_km must be more than 0 and at most 50, got {radius_km}")
        return Area(district, latitude, longitude, radius_km)

    def sites(
        self, data: dict[str, Any], section: str, districts: Collection[str]
    ) -> list[tuple[str, Area]]:
        sites: dict[str, Area] = {}
        for where, entry in self.entries(data, section, "name", *PLACE_KEYS):
            sites[self.new_name(where, entry, sites)] = self.area(where, entry, districts)
        return list(sites.items())

    def in_towns(
        self, data: dict[str, Any], section: str, towns: Collection[str]
    ) -> list[tuple[str, str]]:
        places: dict[str, str] = {}
        for where, entry in self.entries(data, section, "name", "town"):
            name = self.new_name(where, entry, places)
            places[name] = self.text(where, entry, "town")
            if places[name] not in towns:
                self.fail(where, f"town {places[name]!r} is not one of the file's towns")
        return list(places.items())

    def urban_micro_sites(self, value: Any, urban_cores: dict[str, Area]) -> dict[str, list[str]]:
        if not isinstance(value, dict):
            self.fail("urban_micro_sites", "expected a mapping of district to site names")
        seen: set[str] = set()
        for district, names in value.items():
            where = f"urban_micro_sites ({district})"
            if district not in urban_cores:
                self.fail(where, "not a district with an urban core (urban_cores)")
            if not isinstance(names, list):
                self.fail(where, f"expected a list of site names, got {names!r}")
            for index, name in enumerate(names):
                if not isinstance(name, str) or not name.strip():
                    self.fail(f"{where}[{index}]", f"expected a site name, got {name!r}")
                if name in seen:
                    self.fail(f"{where}[{index}] ({name})", "a second micro site so named")
                seen.add(name)
        return {district: list(names) for district, names in value.items()}


# --- placing things on the map ---------------------------------------------------------


def scatter(rng: random.Random, centre: Area, min_km: float, max_km: float) -> LatLon:
    """A point between min_km and max_km from the centre, uniform over that ring (as
    geo.distance_km measures from the centre), to 4 decimals (about 10 m)."""
    distance_km = math.sqrt(rng.uniform(min_km**2, max_km**2))
    bearing = rng.uniform(0, 2 * math.pi)
    north_km, east_km = distance_km * math.cos(bearing), distance_km * math.sin(bearing)
    latitude, longitude = offset_km(exactly(centre), north_km, east_km)
    return round(latitude, 4), round(longitude, 4)


def exactly(area: Area) -> LatLon:
    return area.latitude, area.longitude


def build_units(station_id: str, kinds: list[str]) -> list[Unit]:
    """Units numbered per code in the order given: PRO-01-E1, PRO-01-E2, PRO-01-L1."""
    numbers: dict[str, int] = {}
    units = []
    for kind_name in kinds:
        kind = UNIT_KINDS[kind_name]
        numbers[kind.code] = numbers.get(kind.code, 0) + 1
        number = numbers[kind.code]
        units.append(
            {
                "id": f"{station_id}-{kind.code}{number}",
                "name": f"{kind.label} {number}",
                "capabilities": list(kind.capabilities),
            }
        )
    return units


def build_station(
    *,
    station_id: str,
    name: str,
    tier: Tier,
    district: str,
    location: LatLon,
    area_radius_km: float,
    staffing: int,
    min_responders: int,
    credential_name: str,
    unit_kinds: list[str],
) -> Station:
    return {
        "id": station_id,
        "name": name,
        "tier": tier.value,
        "district": district,
        "location": list(location),
        "area_radius_km": area_radius_km,
        "staffing": staffing,
        "min_responders": min_responders,
        "credentials": [
            {"name": credential_name, "token_sha256": token_hash(demo_token(station_id))}
        ],
        "units": build_units(station_id, unit_kinds),
    }


def chosen(rng: random.Random, count: int, how_many: int) -> set[int]:
    """Which of `count` stations (by index) get an optional extra."""
    return set(rng.sample(range(count), how_many))


def professional_stations(rng: random.Random, geo: Geography) -> list[Station]:
    count = len(geo.professional_station_sites)
    with_four_engines = chosen(rng, count, PROFESSIONAL_WITH_FOUR_ENGINES)
    extras_at = {kind: chosen(rng, count, n) for kind, n in PROFESSIONAL_EXTRAS.items()}
    stations = []
    for index, (short_name, site) in enumerate(geo.professional_station_sites):
        engines = 4 if index in with_four_engines else 3
        extras = [kind for kind, where in extras_at.items() if index in where]
        kinds = ["engine"] * engines + ["aerial", "rescue", *extras, "command"]
        stations.append(
            build_station(
                station_id=f"PRO-{index + 1:02d}",
                name=f"{short_name} Fire Rescue Station",
                tier=Tier.PROFESSIONAL,
                district=site.district,
                location=exactly(site),
                area_radius_km=float(rng.randint(6, 10)),
                staffing=rng.randint(30, 45),
                min_responders=0,
                credential_name="watch-room",
                unit_kinds=kinds,
            )
        )
    return stations


def government_teams(rng: random.Random, geo: Geography) -> list[Station]:
    with_rescue = chosen(rng, len(GOVERNMENT_TEAM_TOWNS), GOVERNMENT_WITH_RESCUE)
    stations = []
    for index, town_name in enumerate(GOVERNMENT_TEAM_TOWNS):
        town = geo.town(town_name, "GOVERNMENT_TEAM_TOWNS")
        kinds = ["engine", "water_tanker"] + (["rescue"] if index in with_rescue else [])
        stations.append(
            build_station(
                station_id=f"GOV-{index + 1:02d}",
                name=f"{town_name} Government Full-time Team",
                tier=Tier.GOV_FULLTIME,
                district=town.district,
                location=scatter(rng, town, 0.0, 0.8),
                area_radius_km=float(rng.randint(10, 15)),
                staffing=rng.randint(10, 18),
                min_responders=rng.randint(2, 4),
                credential_name="duty-phone",
                unit_kinds=kinds,
            )
        )
    return stations


def volunteer_teams(rng: random.Random, geo: Geography) -> list[Station]:
    with_tanker = chosen(rng, len(geo.villages), VOLUNTEER_WITH_TANKER)
    stations = []
    for index, (village, town_name) in enumerate(geo.villages):
        town = geo.towns[town_name]
        first_unit = rng.choice(["engine", "light_engine"])
        kinds = [first_unit] + (["water_tanker"] if index in with_tanker else [])
        stations.append(
            build_station(
                station_id=f"VOL-{index + 1:02d}",
                name=f"{village} Village Volunteer Team",
                tier=Tier.VOLUNTEER,
                district=town.district,
                location=scatter(rng, town, 2.0, 5.0),
                area_radius_km=rng.randint(8, 16) / 2,  # 4 to 8 km in half kilometres
                staffing=rng.randint(8, 20),
                min_responders=rng.randint(3, 5),
                credential_name="duty-phone",
                unit_kinds=kinds,
            )
        )
    return stations


def micro_sites(rng: random.Random, geo: Geography) -> list[tuple[str, str, LatLon]]:
    """(site name, district, location) of every micro station: urban first, then county."""
    sites = []
    for district, names in geo.urban_micro_sites.items():
        core = geo.urban_cores[district]
        sites += [(name, district, scatter(rng, core, 0.3, core.radius_km)) for name in names]
    for name, town_name in geo.county_micro_sites:
        town = geo.towns[town_name]
        sites.append((name, town.district, scatter(rng, town, 0.2, 1.5)))
    return sites


def micro_stations(rng: random.Random, geo: Geography) -> list[Station]:
    sites = micro_sites(rng, geo)
    with_light_engine = chosen(rng, len(sites), MICRO_WITH_LIGHT_ENGINE)
    stations = []
    for index, (site_name, district, location) in enumerate(sites):
        kinds = ["first_intervention"] + (["light_engine"] if index in with_light_engine else [])
        stations.append(
            build_station(
                station_id=f"MIC-{index + 1:03d}",
                name=f"{site_name} Micro Fire Station",
                tier=Tier.MICRO_STATION,
                district=district,
                location=location,
                area_radius_km=rng.randint(5, 15) / 10,  # 0.5 to 1.5 km
                staffing=rng.randint(3, 8),
                min_responders=rng.randint(2, 3),
                credential_name="duty-phone",
                unit_kinds=kinds,
            )
        )
    return stations


def civilian_team_list(geo: Geography) -> list[CivilianTeam]:
    """The civilian teams, in the geography file's order, each with its kit."""
    bases = dict(geo.civilian_team_bases)
    if without_kit := [name for name in bases if name not in CIVILIAN_TEAM_KITS]:
        raise GeographyError(
            f"civilian teams {without_kit} have a base in {GEOGRAPHY_FILE.name} but no kit "
            "in CIVILIAN_TEAM_KITS"
        )
    if without_base := [name for name in CIVILIAN_TEAM_KITS if name not in bases]:
        raise GeographyError(
            f"civilian teams {without_base} of CIVILIAN_TEAM_KITS have no base in "
            f"{GEOGRAPHY_FILE.name} (civilian_team_bases)"
        )
    return [CivilianTeam(name, site, *CIVILIAN_TEAM_KITS[name]) for name, site in bases.items()]


def civilian_teams(rng: random.Random, geo: Geography) -> list[Station]:
    return [
        build_station(
            station_id=f"CIV-{index + 1:02d}",
            name=team.name,
            tier=Tier.CIVILIAN,
            district=team.site.district,
            location=exactly(team.site),
            area_radius_km=team.area_radius_km,
            staffing=rng.randint(15, 40),
            min_responders=rng.randint(4, 6),
            credential_name="duty-phone",
            unit_kinds=list(team.unit_kinds),
        )
        for index, team in enumerate(civilian_team_list(geo))
    ]


def stations_by_tier(seed: int = SEED, geo: Geography | None = None) -> dict[Tier, list[Station]]:
    """Every station, by tier, at the places of ``geo`` (by default, the geography file)."""
    geo = geo or load_geography()
    rng = random.Random(seed)
    return {
        Tier.PROFESSIONAL: professional_stations(rng, geo),
        Tier.GOV_FULLTIME: government_teams(rng, geo),
        Tier.VOLUNTEER: volunteer_teams(rng, geo),
        Tier.MICRO_STATION: micro_stations(rng, geo),
        Tier.CIVILIAN: civilian_teams(rng, geo),
    }


def operators() -> list[dict[str, str]]:
    """Every operator with its demo token's hash; staff also get a console password."""
    out = []
    for op_id, name, role in OPERATORS:
        operator = {
            "id": op_id,
            "name": name,
            "role": role,
            "token_sha256": token_hash(demo_token(op_id)),
        }
        if Role(role) in STAFF_ROLES:
            operator["password_argon2"] = demo_hash(op_id, demo_password(op_id))
        out.append(operator)
    return out


def tier_policies() -> dict[str, dict[str, Any]]:
    return {tier.value: policy.model_dump() for tier, policy in DEFAULT_TIERS.items()}


def build_jurisdiction(seed: int = SEED) -> dict[str, Any]:
    """The whole file as plain data, in the order it is written."""
    return {
        "jurisdiction": {"name": CITY_NAME, "time_zone": TIME_ZONE, "bounds": BOUNDS},
        "tiers": tier_policies(),
        "operators": operators(),
        "stations": [s for group in stations_by_tier(seed).values() for s in group],
    }


# --- writing YAML ----------------------------------------------------------------------

TIER_HEADINGS: dict[Tier, str] = {
    Tier.PROFESSIONAL: "Professional fire rescue stations (urban districts)",
    Tier.GOV_FULLTIME: "Government full-time teams (county towns and large townships)",
    Tier.VOLUNTEER: "Volunteer teams (villages)",
    Tier.MICRO_STATION: "Micro fire stations (communities, enterprise parks, towns)",
    Tier.CIVILIAN: "Civilian rescue teams",
}


def yaml_inline(value: Any) -> str:
    """One value in YAML flow style, on one line: `{id: X, name: Y}`, `[1.0, 2.0]`, `true`."""
    text = yaml.safe_dump(
        value, default_flow_style=True, sort_keys=False, allow_unicode=True, width=10_000
    )
    return text.removesuffix("\n").removesuffix("\n...")  # a bare scalar ends its document


def grouped_by_tier(stations: list[Station]) -> dict[Tier, list[Station]]:
    groups: dict[Tier, list[Station]] = {tier: [] for tier in Tier}
    for station in stations:
        groups[Tier(station["tier"])].append(station)
    return {tier: group for tier, group in groups.items() if group}


def header(by_tier: dict[Tier, list[Station]]) -> list[str]:
    unit_count = sum(len(s["units"]) for group in by_tier.values() for s in group)
    counts = ", ".join(f"{len(group)} {tier.value}" for tier, group in by_tier.items())
    return [
        f"# {CITY_NAME} (湘江市): demo jurisdiction of the 119 fire and rescue dispatch system.",
        "#",
        "# A fictional prefecture-level city laid over the real geography around Changsha, Hunan:",
        "# the urban districts Furong, Tianxin, Yuelu, Kaifu, Yuhua and Wangcheng, Changsha County",
        "# to the east, Ningxiang to the west and Liuyang far to the east. Station names and",
        "# coordinates are plausible, not real.",
        f"# Stations: {counts}; {unit_count} units.",
        "#",
        "# GENERATED: edit tools/demo_city.py (what each place gets) or",
        "# tools/data/demo-city-geography.yaml (the places), not this file, and regenerate with",
        "#     .venv/bin/python -m tools.demo_city > services/config/jurisdiction/demo-city.yaml",
        "# (deterministic: a fixed seed; tests/unit/test_demo_city.py fails if the two disagree).",
        "#",
        "# DEMO TOKENS, FOR DEMOS AND LOCAL DEVELOPMENT ONLY: they are public, so never use this",
        "# file in a real deployment. The file keeps only their SHA-256 (token_sha256).",
        "#   operators: demo-<operator id>, e.g. demo-ct-01, demo-cmd-01, demo-admin-01",
        "#   stations:  demo-<station id, lowercased>, e.g. demo-pro-01, demo-vol-03, demo-mic-001",
        "#",
        "# DEMO PASSWORDS for the console (staff operators only), the same text as the token:",
        "#   demo-<operator id>, e.g. user ct-01 with password demo-ct-01; sup-01 is read-only.",
        "# The file keeps only their argon2id hashes (password_argon2), salted from the operator",
        "# id so that the generated file is stable: demo use only.",
        "",
    ]


def station_lines(station: Station) -> list[str]:
    lines = [f"  - id: {yaml_inline(station['id'])}"]
    for key, value in station.items():
        if key == "id":
            continue
        if isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"    {key}:")
            lines += [f"      - {yaml_inline(item)}" for item in value]
        else:
            lines.append(f"    {key}: {yaml_inline(value)}")
    return lines


def render(data: dict[str, Any]) -> str:
    by_tier = grouped_by_tier(data["stations"])
    lines = header(by_tier)
    lines += ["jurisdiction:"]
    lines += [f"  {key}: {yaml_inline(value)}" for key, value in data["jurisdiction"].items()]
    lines += ["", "tiers:  # defaults for every station of the tier"]
    lines += [f"  {tier}: {yaml_inline(policy)}" for tier, policy in data["tiers"].items()]
    lines += ["", "operators:  # token and (staff) console password: demo-<id>"]
    lines += [f"  - {yaml_inline(operator)}" for operator in data["operators"]]
    lines += ["", "stations:  # token of each: demo-<station id, lowercased>"]
    for tier, group in by_tier.items():
        lines += ["", f"  # --- {TIER_HEADINGS[tier]}: {len(group)} ---"]
        for station in group:
            lines += ["", *station_lines(station)]
    return "\n".join(lines) + "\n"


def generate(seed: int = SEED) -> str:
    """The demo jurisdiction file's text."""
    return render(build_jurisdiction(seed))


if __name__ == "__main__":
    try:
        text = generate()
    except GeographyError as e:
        sys.exit(f"tools.demo_city: {e}")
    print(text, end="")
