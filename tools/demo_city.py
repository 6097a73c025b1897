"""The demo jurisdiction, Xiangjiang City (湘江市), generated.

A fictional prefecture-level city laid over the real geography around Changsha, Hunan:
professional fire rescue stations in the urban districts, government full-time teams in
county towns and large townships, volunteer teams in villages, micro fire stations in
urban communities, enterprise parks and towns, and civilian rescue teams in the city.

The output is deterministic (a fixed seed, no clock): run

    .venv/bin/python -m tools.demo_city > services/config/jurisdiction/demo-city.yaml

and the file comes out the same every time. Tokens are demo-only and documented in the
file's header: ``demo-<operator id>`` and ``demo-<station id, lowercased>``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import yaml

from services.common.jurisdiction import DEFAULT_TIERS, STAFF_ROLES, Role, Tier, token_hash
from services.edge.passwords import demo_hash

SEED = 119
CITY_NAME = "Xiangjiang City"
TIME_ZONE = "Asia/Shanghai"  # the city's zone (China Standard Time, UTC+8, no daylight saving)
BOUNDS = {"south": 27.8, "west": 111.9, "north": 28.7, "east": 114.3}
KM_PER_DEGREE_LATITUDE = 111.2

FURONG = "Furong District (芙蓉区)"
TIANXIN = "Tianxin District (天心区)"
YUELU = "Yuelu District (岳麓区)"
KAIFU = "Kaifu District (开福区)"
YUHUA = "Yuhua District (雨花区)"
WANGCHENG = "Wangcheng District (望城区)"
CHANGSHA_COUNTY = "Changsha County (长沙县)"
NINGXIANG = "Ningxiang City (宁乡市)"
LIUYANG = "Liuyang City (浏阳市)"

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

URBAN_CORES: dict[str, Area] = {
    FURONG: Area(FURONG, 28.1925, 113.0100, radius_km=3.5),
    TIANXIN: Area(TIANXIN, 28.1100, 112.9900, radius_km=4.0),
    YUELU: Area(YUELU, 28.2150, 112.9150, radius_km=4.5),
    KAIFU: Area(KAIFU, 28.2500, 112.9900, radius_km=4.0),
    YUHUA: Area(YUHUA, 28.1300, 113.0400, radius_km=4.0),
    WANGCHENG: Area(WANGCHENG, 28.3550, 112.8300, radius_km=3.0),
}

TOWNS: dict[str, Area] = {
    # Ningxiang City, west
    "Yutan Subdistrict": Area(NINGXIANG, 28.2700, 112.5500),
    "Jinzhou Town": Area(NINGXIANG, 28.3100, 112.6200),
    "Huilongpu Town": Area(NINGXIANG, 28.2000, 112.4300),
    "Huaminglou Town": Area(NINGXIANG, 28.0500, 112.3600),
    "Shuangfupu Town": Area(NINGXIANG, 28.3300, 112.4300),
    "Huangcai Town": Area(NINGXIANG, 28.2600, 112.1000),
    "Laoliangcang Town": Area(NINGXIANG, 28.1200, 112.1500),
    "Liushahe Town": Area(NINGXIANG, 28.2000, 112.0200),
    "Longtian Town": Area(NINGXIANG, 28.3300, 112.0800),
    "Qingshanqiao Town": Area(NINGXIANG, 28.0200, 112.1800),
    "Dachengqiao Town": Area(NINGXIANG, 28.3600, 112.3300),
    # Liuyang City, east
    "Huaichuan Subdistrict": Area(LIUYANG, 28.1600, 113.6400),
    "Yonghe Town": Area(LIUYANG, 28.3000, 113.9500),
    "Dayao Town": Area(LIUYANG, 28.0300, 113.8200),
    "Guandu Town": Area(LIUYANG, 28.4200, 114.0400),
    "Daweishan Town": Area(LIUYANG, 28.4200, 114.1000),
    "Shegang Town": Area(LIUYANG, 28.3400, 113.7200),
    "Beisheng Town": Area(LIUYANG, 28.2100, 113.5600),
    "Chengtanjiang Town": Area(LIUYANG, 28.2300, 113.4300),
    "Zhentou Town": Area(LIUYANG, 27.9800, 113.3600),
    "Puji Town": Area(LIUYANG, 27.9300, 113.4500),
    "Wenjiashi Town": Area(LIUYANG, 27.9300, 113.9600),
    "Gaoping Town": Area(LIUYANG, 28.2000, 114.0200),
    # Changsha County, east of the urban districts
    "Xingsha Subdistrict": Area(CHANGSHA_COUNTY, 28.2400, 113.0800),
    "Huangxing Town": Area(CHANGSHA_COUNTY, 28.0900, 113.1300),
    "Langli Town": Area(CHANGSHA_COUNTY, 28.2700, 113.1100),
    "Huanghua Town": Area(CHANGSHA_COUNTY, 28.2000, 113.2100),
    "Jinjing Town": Area(CHANGSHA_COUNTY, 28.5300, 113.3300),
    "Kaihui Town": Area(CHANGSHA_COUNTY, 28.4500, 113.2300),
    "Beishan Town": Area(CHANGSHA_COUNTY, 28.4400, 113.0700),
    "Chunhua Town": Area(CHANGSHA_COUNTY, 28.3600, 113.2900),
    "Guoyuan Town": Area(CHANGSHA_COUNTY, 28.3200, 113.2000),
    "Lukou Town": Area(CHANGSHA_COUNTY, 28.0500, 113.1700),
    # Wangcheng District, north, and the rural west of Yuelu District
    "Qiaoyi Town": Area(WANGCHENG, 28.4700, 112.8200),
    "Qiaotou Town": Area(WANGCHENG, 28.5200, 112.9300),
    "Baishazhou Subdistrict": Area(WANGCHENG, 28.3300, 112.7500),
    "Lianhua Town": Area(YUELU, 28.1300, 112.8000),
    "Yuchangping Town": Area(YUELU, 28.2100, 112.8000),
}

# (short name, site of the station)
PROFESSIONAL_STATIONS: list[tuple[str, Area]] = [
    ("Furong", Area(FURONG, 28.1965, 113.0150)),
    ("Tianxin", Area(TIANXIN, 28.1080, 112.9890)),
    ("Yuelu", Area(YUELU, 28.2180, 112.9200)),
    ("Kaifu", Area(KAIFU, 28.2560, 112.9870)),
    ("Yuhua", Area(YUHUA, 28.1310, 113.0420)),
]

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

# (village, the town it belongs to): villages lie a few kilometres out of their town
VOLUNTEER_VILLAGES: list[tuple[str, str]] = [
    ("Shuangjiang", "Huilongpu Town"),
    ("Tanzichong", "Huaminglou Town"),
    ("Baiyun", "Huangcai Town"),
    ("Qingyang", "Laoliangcang Town"),
    ("Longtang", "Liushahe Town"),
    ("Shizhu", "Longtian Town"),
    ("Hehua", "Qingshanqiao Town"),
    ("Songmu", "Dachengqiao Town"),
    ("Xinkang", "Shuangfupu Town"),
    ("Zhuxi", "Yonghe Town"),
    ("Fenglin", "Dayao Town"),
    ("Taoyuan", "Guandu Town"),
    ("Yunshan", "Daweishan Town"),
    ("Hongqi", "Shegang Town"),
    ("Shaping", "Zhentou Town"),
    ("Guanyin", "Puji Town"),
    ("Tianping", "Wenjiashi Town"),
    ("Meihua", "Gaoping Town"),
    ("Sanxing", "Chengtanjiang Town"),
    ("Xiangyang", "Beisheng Town"),
    ("Dongfeng", "Jinjing Town"),
    ("Huangqiao", "Kaihui Town"),
    ("Gaofeng", "Beishan Town"),
    ("Xiaohe", "Chunhua Town"),
    ("Yangliu", "Lukou Town"),
    ("Jinshi", "Guoyuan Town"),
    ("Bailu", "Qiaoyi Town"),
    ("Hexi", "Qiaotou Town"),
    ("Guanshan", "Lianhua Town"),
    ("Yulian", "Yuchangping Town"),
]

URBAN_MICRO_SITES: dict[str, list[str]] = {
    FURONG: [
        "Wuyi Square Community",
        "Dingwangtai Community",
        "Chaoyang Community",
        "Huoxing Community",
        "Mawangdui Community",
        "Dongan Community",
        "Wenyi Road Community",
        "Hehuayuan Community",
        "Yuanjialing Community",
        "Dongtundu Community",
        "Furong Square Community",
        "Longping Hi-tech Park",
    ],
    TIANXIN: [
        "Pozi Street Community",
        "Taiping Street Community",
        "Jinpenling Community",
        "Chengnan Road Community",
        "Guitang Community",
        "Dongtang Community",
        "Nanhu Road Community",
        "Qingyuan Community",
        "Xianfeng Community",
        "Datuopu Industrial Park",
        "Tianxin Cultural Industry Park",
    ],
    YUELU: [
        "Juzizhou Community",
        "Yinpenling Community",
        "Wangyue Community",
        "Guanshaling Community",
        "Meixi Lake Community",
        "Yanghu Community",
        "Xianjiahu Community",
        "Taohuaping Community",
        "Yuelu Mountain Scenic Area",
        "Lugu Science Park",
        "Xueshi Industrial Park",
        "Lushan Road University Town",
    ],
    KAIFU: [
        "Sifangping Community",
        "Wujialing Community",
        "Dongfeng Road Community",
        "Xinhe Community",
        "Yuehu Community",
        "Qingzhuhu Community",
        "Xiufeng Community",
        "Kaifu Temple Community",
        "Xiangya Road Community",
        "Jinxia Logistics Park",
        "Xianing Port Logistics Park",
    ],
    YUHUA: [
        "Dongjing Community",
        "Yaling Community",
        "Tongzipo Community",
        "Huangtuling Community",
        "Jingwanzi Community",
        "Shazitang Community",
        "Yuhuating Community",
        "Hongxing Community",
        "Gaoqiao Grand Market",
        "Huanbao Science Park",
        "Yuhua Auto Parts Park",
    ],
    WANGCHENG: [
        "Gaotangling Community",
        "Jinxing Road Community",
        "Yueliangdao Community",
        "Huangjinyuan Community",
        "Wangcheng Industrial Park",
    ],
}

# (site, the town it is in)
COUNTY_MICRO_SITES: list[tuple[str, str]] = [
    ("Yutan Community", "Yutan Subdistrict"),
    ("Jinzhou Industrial Park", "Jinzhou Town"),
    ("Huaminglou Town", "Huaminglou Town"),
    ("Huilongpu Town", "Huilongpu Town"),
    ("Shuangfupu Town", "Shuangfupu Town"),
    ("Xingsha Community", "Xingsha Subdistrict"),
    ("Xingsha Industrial Park", "Xingsha Subdistrict"),
    ("Huangxing Town", "Huangxing Town"),
    ("Langli Town", "Langli Town"),
    ("Huanghua Airport Logistics Park", "Huanghua Town"),
    ("Huaichuan Community", "Huaichuan Subdistrict"),
    ("Liuyang Biomedical Park", "Beisheng Town"),
    ("Dayao Fireworks Industrial Park", "Dayao Town"),
    ("Yonghe Town", "Yonghe Town"),
    ("Guandu Town", "Guandu Town"),
    ("Zhentou Town", "Zhentou Town"),
    ("Chengtanjiang Town", "Chengtanjiang Town"),
    ("Shegang Town", "Shegang Town"),
]


@dataclass(frozen=True)
class CivilianTeam:
    name: str
    site: Area
    area_radius_km: float
    unit_kinds: tuple[str, ...]


CIVILIAN_TEAMS: list[CivilianTeam] = [
    CivilianTeam(
        "Blue Sky Rescue Team (civilian)",
        Area(FURONG, 28.1820, 113.0290),
        60.0,
        ("water_rescue", "water_rescue", "rescue", "drone"),
    ),
    CivilianTeam(
        "Xiangjiang Mountain Rescue Team (civilian)",
        Area(YUELU, 28.1850, 112.9410),
        80.0,
        ("mountain_rescue", "mountain_rescue", "drone"),
    ),
    CivilianTeam(
        "Xiangjiang River Water Rescue Team (civilian)",
        Area(KAIFU, 28.2420, 112.9680),
        40.0,
        ("water_rescue", "water_rescue", "drone"),
    ),
    CivilianTeam(
        "Xiangjiang Outdoor Search and Rescue Team (civilian)",
        Area(YUHUA, 28.1180, 113.0600),
        80.0,
        ("mountain_rescue", "rescue", "drone"),
    ),
]

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


# --- placing things on the map ---------------------------------------------------------


def scatter(rng: random.Random, centre: Area, min_km: float, max_km: float) -> LatLon:
    """A point between min_km and max_km from the centre, uniform over that ring."""
    distance_km = math.sqrt(rng.uniform(min_km**2, max_km**2))
    bearing = rng.uniform(0, 2 * math.pi)
    north_km, east_km = distance_km * math.cos(bearing), distance_km * math.sin(bearing)
    latitude = centre.latitude + north_km / KM_PER_DEGREE_LATITUDE
    km_per_degree_longitude = KM_PER_DEGREE_LATITUDE * math.cos(math.radians(centre.latitude))
    longitude = centre.longitude + east_km / km_per_degree_longitude
    return round(latitude, 4), round(longitude, 4)


def exactly(area: Area) -> LatLon:
    return area.latitude, area.longitude


# --- building stations -----------------------------------------------------------------


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


def professional_stations(rng: random.Random) -> list[Station]:
    count = len(PROFESSIONAL_STATIONS)
    with_four_engines = chosen(rng, count, PROFESSIONAL_WITH_FOUR_ENGINES)
    extras_at = {kind: chosen(rng, count, n) for kind, n in PROFESSIONAL_EXTRAS.items()}
    stations = []
    for index, (short_name, site) in enumerate(PROFESSIONAL_STATIONS):
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


def government_teams(rng: random.Random) -> list[Station]:
    with_rescue = chosen(rng, len(GOVERNMENT_TEAM_TOWNS), GOVERNMENT_WITH_RESCUE)
    stations = []
    for index, town_name in enumerate(GOVERNMENT_TEAM_TOWNS):
        town = TOWNS[town_name]
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


def volunteer_teams(rng: random.Random) -> list[Station]:
    with_tanker = chosen(rng, len(VOLUNTEER_VILLAGES), VOLUNTEER_WITH_TANKER)
    stations = []
    for index, (village, town_name) in enumerate(VOLUNTEER_VILLAGES):
        town = TOWNS[town_name]
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


def micro_sites(rng: random.Random) -> list[tuple[str, str, LatLon]]:
    """(site name, district, location) of every micro station: urban first, then county."""
    sites = []
    for district, names in URBAN_MICRO_SITES.items():
        core = URBAN_CORES[district]
        sites += [(name, district, scatter(rng, core, 0.3, core.radius_km)) for name in names]
    for name, town_name in COUNTY_MICRO_SITES:
        town = TOWNS[town_name]
        sites.append((name, town.district, scatter(rng, town, 0.2, 1.5)))
    return sites


def micro_stations(rng: random.Random) -> list[Station]:
    sites = micro_sites(rng)
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


def civilian_teams(rng: random.Random) -> list[Station]:
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
        for index, team in enumerate(CIVILIAN_TEAMS)
    ]


def stations_by_tier(seed: int = SEED) -> dict[Tier, list[Station]]:
    rng = random.Random(seed)
    return {
        Tier.PROFESSIONAL: professional_stations(rng),
        Tier.GOV_FULLTIME: government_teams(rng),
        Tier.VOLUNTEER: volunteer_teams(rng),
        Tier.MICRO_STATION: micro_stations(rng),
        Tier.CIVILIAN: civilian_teams(rng),
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
        "# GENERATED: edit tools/demo_city.py, not this file, and regenerate with",
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
    print(generate(), end="")
