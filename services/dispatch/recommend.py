"""Which units to send: one candidate pool across every tier, ranked by ETA.

ETA = the unit's turnout time (from its tier's policy; nothing for a unit already on the
road, returning) + travel time from where it is. Slots of the run card are filled
scarcest capability first, so a rare unit (the only aerial ladder near) is not used up
by a commoner capability; each capability takes the fastest capable units left. Then the nearest
micro station that can be on scene within the first-intervention window is added.
Every pick says why; every unfilled capability says what is missing. Domain code: no I/O;
numpy does the arithmetic over the pool.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.common.geo import Point, distance_km
from services.dispatch.travel import Floats, LatLon, TravelTime

FIRST_INTERVENTION = "first_intervention"
MICRO_STATION = "MICRO_STATION"


@dataclass(frozen=True, slots=True)
class Candidate:
    unit_id: str
    station_name: str
    tier: str  # PROFESSIONAL, GOV_FULLTIME, VOLUNTEER, MICRO_STATION, CIVILIAN
    capabilities: frozenset[str]
    location: Point
    turnout_seconds: int
    returning: bool = False  # already on the road: no turnout


@dataclass(frozen=True, slots=True)
class Pick:
    capability: str
    unit_id: str
    station_name: str
    tier: str
    eta_seconds: float
    distance_km: float
    reason: str


@dataclass(frozen=True, slots=True)
class Shortfall:
    capability: str
    missing: int
    reason: str


@dataclass(frozen=True, slots=True)
class Recommendation:
    picks: tuple[Pick, ...]
    shortfalls: tuple[Shortfall, ...]


class CandidatePool:
    """The units free to send, as arrays: built once per change of the board, then used
    for every recommendation until the next change."""

    def __init__(
        self, candidates: Sequence[Candidate], first_intervention_only: Collection[str] = ()
    ) -> None:
        """``first_intervention_only``: tiers whose units fill no capability but the
        first-intervention one (micro stations)."""
        self.units = list(candidates)
        self.lats = np.array([c.location.latitude for c in self.units], dtype=np.float64)
        self.lons = np.array([c.location.longitude for c in self.units], dtype=np.float64)
        self.turnout = np.array(
            [0.0 if c.returning else float(c.turnout_seconds) for c in self.units]
        )
        index: dict[str, list[int]] = {}
        for i, unit in enumerate(self.units):
            if unit.tier in first_intervention_only:
                continue
            for capability in unit.capabilities:
                index.setdefault(capability, []).append(i)
        self.by_capability = {cap: np.array(ids, dtype=np.intp) for cap, ids in index.items()}
        self.micro_stations = np.array(
            [
                i
                for i, u in enumerate(self.units)
                if u.tier == MICRO_STATION and FIRST_INTERVENTION in u.capabilities
            ],
            dtype=np.intp,
        )
        self.position = {u.unit_id: i for i, u in enumerate(self.units)}

    def __len__(self) -> int:
        return len(self.units)

    def get(self, unit_id: str) -> Candidate | None:
        i = self.position.get(unit_id)
        return None if i is None else self.units[i]

    def exclude(self, unit_id: str) -> None:
        """Take a unit out of the pool (reserved meanwhile): it is never picked again."""
        i = self.position.get(unit_id)
        if i is not None:
            self.turnout[i] = np.inf


_NONE = np.array([], dtype=np.intp)


def recommend(
    card: Mapping[str, int],
    pool: CandidatePool,
    at: LatLon,
    travel: TravelTime,
    *,
    first_intervention_within: int | None = 180,
    exclude: Collection[str] = (),
) -> Recommendation:
    drive = travel.seconds(at, pool.lats, pool.lons)
    eta = pool.turnout + drive
    for unit_id in exclude:  # already on this incident, or refused it
        if unit_id in pool.position:
            eta[pool.position[unit_id]] = np.inf
    taken: set[int] = set()
    picks: list[Pick] = []
    shortfalls: list[Shortfall] = []
    supply = {capability: len(pool.by_capability.get(capability, _NONE)) for capability in card}
    for capability in sorted(card, key=lambda s: (supply[s] - card[s], s)):
        wanted = card[capability]
        chosen = _fastest(pool.by_capability.get(capability, _NONE), eta, wanted, taken)
        for rank, i in enumerate(chosen):
            taken.add(i)
            picks.append(_pick(capability, pool.units[i], eta[i], drive[i], _km(pool, at, i), rank))
        if len(chosen) < wanted:
            shortfalls.append(_shortfall(capability, wanted, len(chosen)))
    if first_intervention_within is not None:
        extra = _first_intervention(pool, at, eta, taken, first_intervention_within)
        if isinstance(extra, Pick):
            picks.append(extra)
        else:
            shortfalls.append(extra)
    return Recommendation(tuple(picks), tuple(shortfalls))


def _fastest(indices: NDArray[np.intp], eta: Floats, wanted: int, taken: set[int]) -> list[int]:
    """The ``wanted`` fastest of ``indices`` not yet taken (nor excluded: infinite ETA)."""
    free = indices[np.isfinite(eta[indices])]
    if taken:
        free = free[~np.isin(free, np.fromiter(taken, dtype=np.intp, count=len(taken)))]
    k = min(len(free), wanted)
    if k == 0:
        return []
    if k < len(free):
        free = free[np.argpartition(eta[free], k - 1)[:k]]
    fastest: list[int] = free[np.argsort(eta[free], kind="stable")].tolist()
    return fastest


def _km(pool: CandidatePool, at: LatLon, i: int) -> float:
    return distance_km(at, (float(pool.lats[i]), float(pool.lons[i])))


def _pick(capability: str, unit: Candidate, eta: float, drive: float, km: float, rank: int) -> Pick:
    eta, drive = float(eta), float(drive)
    turnout = "already on the road" if unit.returning else f"{unit.turnout_seconds} s turnout"
    order = "fastest" if rank == 0 else f"{_ordinal(rank + 1)} fastest"
    reason = (
        f"{order} available {capability}: {unit.tier.replace('_', ' ').lower()} "
        f"{unit.station_name}, ETA {eta / 60:.1f} min ({turnout} + {drive / 60:.1f} min "
        f"for {km:.1f} km)"
    )
    return Pick(capability, unit.unit_id, unit.station_name, unit.tier, eta, km, reason)


def _shortfall(capability: str, wanted: int, found: int) -> Shortfall:
    if found == 0:
        reason = f"no available unit can fill a {capability} capability"
    else:
        reason = f"only {found} of {wanted} {capability} card can be filled: no more units free"
    return Shortfall(capability, wanted - found, reason)


def _first_intervention(
    pool: CandidatePool, at: LatLon, eta: Floats, taken: set[int], within: int
) -> Pick | Shortfall:
    fastest = _fastest(pool.micro_stations, eta, 1, taken)
    if not fastest:
        return Shortfall(FIRST_INTERVENTION, 1, "no micro station is free")
    nearest = fastest[0]
    unit = pool.units[nearest]
    if eta[nearest] > within:
        return Shortfall(
            FIRST_INTERVENTION,
            1,
            f"no micro station can be on scene within {within / 60:.0f} min (nearest free: "
            f"{unit.station_name}, {eta[nearest] / 60:.1f} min)",
        )
    taken.add(nearest)
    return Pick(
        FIRST_INTERVENTION,
        unit.unit_id,
        unit.station_name,
        unit.tier,
        float(eta[nearest]),
        _km(pool, at, nearest),
        f"nearest micro station for first intervention: {unit.station_name}, on scene in "
        f"{eta[nearest] / 60:.1f} min, within the {within / 60:.0f}-minute rule",
    )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
