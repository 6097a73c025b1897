"""Coverage: the share of the jurisdiction a capable unit reaches within 5 minutes (the
"5-minute circle": turnout plus travel, from the units' stations), over a grid of cells,
weighted by where calls came from when history is given; which station districts fall
out of the circle when units are committed; and the move-up that restores the most
(which free unit to station where). Pure: jurisdiction, units and travel-time provider
in, shares out.

The grid: cells of ``cell_m`` metres over the jurisdiction's bounds, kept when a station
is within ``reach_km`` (the bounds are a box: this leaves out open water and land far
from any station). A cell's district is its nearest station's (straight line): the
first-due area as a circle-and-boundary model draws it. Without history every cell
weighs the same; with it, a cell weighs its number of calls (cells without calls weigh
nothing, so the share says what the calls would have seen).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.analytics.history import HistoricalIncident
from services.common.geo import KM_PER_DEGREE_LAT, distances_km
from services.common.jurisdiction import Jurisdiction
from services.dispatch.travel import TravelTime

Floats = NDArray[np.float64]
CIRCLE_S = 300.0  # GB 51080-2015 4.1.3: a district reached within 5 minutes of dispatch


@dataclass(frozen=True)
class Grid:
    """Cell centres (WGS-84 degrees), each cell's district (station id), and the travel
    seconds from every station to every cell (stations x cells)."""

    lats: Floats
    lons: Floats
    districts: tuple[str, ...]
    station_ids: tuple[str, ...]
    station_lats: Floats
    station_lons: Floats
    travel_s: Floats  # [station, cell]
    cell_m: float

    def __len__(self) -> int:
        return len(self.lats)


def cell_size_for(
    jurisdiction: Jurisdiction, max_cells: int = 8000, least_m: float = 250.0
) -> float:
    """A cell size (metres, a multiple of 50) no smaller than ``least_m`` that keeps the
    jurisdiction's box to about ``max_cells`` cells: 250 m for San Francisco (a 16 x 15 km
    box), coarser for a region, so a grid served to a map stays small."""
    b = jurisdiction.jurisdiction.bounds
    height_m = (b.north - b.south) * KM_PER_DEGREE_LAT * 1000
    mid = math.radians((b.south + b.north) / 2)
    width_m = (b.east - b.west) * KM_PER_DEGREE_LAT * 1000 * math.cos(mid)
    needed = math.sqrt(max(height_m * width_m, 0.0) / max_cells)
    return max(least_m, math.ceil(needed / 50) * 50)


def build_grid(
    jurisdiction: Jurisdiction, travel: TravelTime, cell_m: float = 250.0, reach_km: float = 3.0
) -> Grid:
    b = jurisdiction.jurisdiction.bounds
    mid = math.radians((b.south + b.north) / 2)
    dlat = cell_m / 1000 / KM_PER_DEGREE_LAT
    dlon = cell_m / 1000 / (KM_PER_DEGREE_LAT * math.cos(mid))
    lat_axis = np.arange(b.south + dlat / 2, b.north, dlat)
    lon_axis = np.arange(b.west + dlon / 2, b.east, dlon)
    lats, lons = (a.ravel() for a in np.meshgrid(lat_axis, lon_axis, indexing="ij"))
    stations = jurisdiction.stations
    s_lats = np.array([s.location[0] for s in stations])
    s_lons = np.array([s.location[1] for s in stations])
    nearest = np.empty(len(lats), dtype=np.intp)
    keep = np.zeros(len(lats), dtype=bool)
    for i, (lat, lon) in enumerate(zip(lats, lons, strict=True)):
        km = distances_km((float(lat), float(lon)), s_lats, s_lons)
        nearest[i] = int(np.argmin(km))
        keep[i] = km[nearest[i]] <= reach_km
    lats, lons, nearest = lats[keep], lons[keep], nearest[keep]
    seconds = np.empty((len(stations), len(lats)))
    for i, (lat, lon) in enumerate(zip(lats, lons, strict=True)):
        seconds[:, i] = travel.seconds((float(lat), float(lon)), s_lats, s_lons)
    return Grid(
        lats,
        lons,
        tuple(stations[k].id for k in nearest),
        tuple(s.id for s in stations),
        s_lats,
        s_lons,
        seconds,
        cell_m,
    )


def call_weights(grid: Grid, incidents: Iterable[HistoricalIncident] | None) -> Floats:
    """Each cell's weight: 1 without history; else its number of calls (a call counts in
    the nearest cell within one cell's size; calls off the grid count nowhere)."""
    if incidents is None:
        return np.ones(len(grid))
    weights = np.zeros(len(grid))
    for incident in incidents:
        km = distances_km((incident.latitude, incident.longitude), grid.lats, grid.lons)
        nearest = int(np.argmin(km)) if len(km) else -1
        if nearest >= 0 and km[nearest] * 1000 <= grid.cell_m:
            weights[nearest] += 1
    return weights


@dataclass(frozen=True, slots=True)
class Unit:
    """A capable unit where it stands: at a station (by id), with its turnout."""

    unit_id: str
    station: str
    turnout_s: float


def capable_units(
    jurisdiction: Jurisdiction,
    capability: str = "engine",
    turnout: Mapping[str, int] | None = None,
) -> list[Unit]:
    """Every unit with the capability, at its station, with its station's turnout."""
    return [
        Unit(u.id, s.id, float((turnout or {}).get(s.id, jurisdiction.policy(s).turnout_seconds)))
        for s, u in jurisdiction.units()
        if capability in u.capabilities
    ]


def _reach(grid: Grid, units: Iterable[Unit], limit_s: float) -> Floats:
    """How many of the units reach each cell within the limit."""
    row = {s: i for i, s in enumerate(grid.station_ids)}
    count = np.zeros(len(grid))
    for unit in units:
        count += (grid.travel_s[row[unit.station]] + unit.turnout_s) <= limit_s
    return count


@dataclass(frozen=True, slots=True)
class DistrictCoverage:
    district: str
    share: float | None  # of the district's weight, the share reached; None: no weight
    weight: float


@dataclass(frozen=True, slots=True)
class Coverage:
    share: float | None  # of the grid's weight, the share a capable unit reaches in time
    cells: int
    districts: tuple[DistrictCoverage, ...]


def _coverage(grid: Grid, weights: Floats, reached: NDArray[np.bool_]) -> Coverage:
    total = float(weights.sum())
    districts = []
    names = np.array(grid.districts)
    for district in sorted(set(grid.districts)):
        mask = names == district
        w = float(weights[mask].sum())
        share = float(weights[mask & reached].sum()) / w if w > 0 else None
        districts.append(DistrictCoverage(district, share, w))
    share = float(weights[reached].sum()) / total if total > 0 else None
    return Coverage(share, len(grid), tuple(districts))


def coverage(
    grid: Grid, weights: Floats, units: Iterable[Unit], limit_s: float = CIRCLE_S
) -> Coverage:
    """The weighted share of the grid some unit reaches within ``limit_s`` (turnout plus
    travel), overall and per district."""
    return _coverage(grid, weights, _reach(grid, units, limit_s) > 0)


@dataclass(frozen=True, slots=True)
class DistrictLoss:
    district: str
    before: float | None
    after: float | None


@dataclass(frozen=True, slots=True)
class MoveUp:
    """Station ``unit_id`` (now at ``from_station``) at ``to_station``: the share goes
    from ``before`` to ``after``."""

    unit_id: str
    from_station: str
    to_station: str
    before: float
    after: float


@dataclass(frozen=True, slots=True)
class CommitmentImpact:
    before: Coverage  # every unit given as available
    after: Coverage  # without the committed ones
    fallen: tuple[DistrictLoss, ...]  # districts whose share fell, the biggest loss first
    move_up: MoveUp | None  # the best single move, if any raises the share


def commitment_impact(
    grid: Grid,
    weights: Floats,
    available: Collection[Unit],
    committed: Collection[str],
    limit_s: float = CIRCLE_S,
) -> CommitmentImpact:
    """Coverage with the ``available`` units, and again once the ``committed`` ones
    (unit ids) leave; the districts that fall; and the move-up (one free unit to one
    station) that restores the most of the weighted share."""
    before = coverage(grid, weights, available, limit_s)
    free = [u for u in available if u.unit_id not in committed]
    after = coverage(grid, weights, free, limit_s)
    fallen = [
        DistrictLoss(b.district, b.share, a.share)
        for b, a in zip(before.districts, after.districts, strict=True)
        if b.share is not None and a.share is not None and a.share < b.share - 1e-12
    ]
    fallen.sort(key=lambda d: ((d.after or 0) - (d.before or 0), d.district))
    return CommitmentImpact(
        before, after, tuple(fallen), best_move_up(grid, weights, free, limit_s)
    )


def best_move_up(
    grid: Grid, weights: Floats, free: Collection[Unit], limit_s: float = CIRCLE_S
) -> MoveUp | None:
    """The single move of a free unit to another station that raises the weighted share
    the most; among moves that raise it as much, the shortest (straight line, so the
    unit is back in its own area soonest), then by unit id. None when no move raises it."""
    total = float(weights.sum())
    units = sorted(free, key=lambda u: u.unit_id)
    if total <= 0 or not units:
        return None
    turnout = np.array([u.turnout_s for u in units])
    reach = grid.travel_s[None, :, :] + turnout[:, None, None] <= limit_s  # [unit, station, cell]
    row = {s: i for i, s in enumerate(grid.station_ids)}
    count = np.zeros(len(grid))
    for k, unit in enumerate(units):
        count += reach[k, row[unit.station]]
    base = float(weights[count > 0].sum())
    best: tuple[float, float, str, str] | None = None  # (-gain, km, unit, station)
    for k, unit in enumerate(units):
        home = row[unit.station]
        without = count - reach[k, home]
        gains = ((without[None, :] + reach[k]) > 0) @ weights  # per target station
        km = distances_km(
            (float(grid.station_lats[home]), float(grid.station_lons[home])),
            grid.station_lats,
            grid.station_lons,
        )
        for s, gained in enumerate(gains):
            if s == home or gained <= base + 1e-9:
                continue
            key = (-float(gained), float(km[s]), unit.unit_id, grid.station_ids[s])
            if best is None or key < best:
                best = key
    if best is None:
        return None
    gained, _, unit_id, station = -best[0], *best[1:]
    origin = next(u.station for u in units if u.unit_id == unit_id)
    return MoveUp(unit_id, origin, station, base / total, gained / total)
