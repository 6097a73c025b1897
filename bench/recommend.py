"""Recommendation over 5,000 units: the demo city's units, replicated with jitter into a
region of 5,000 units keeping the city's tier and capability mix. Each sample recommends
for a high-rise fire at alarm level 3 (the largest card: 17 card + first intervention)
at a random point of the city. The pool is built once, as dispatch does between changes
of the board; building it is reported separately."""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from services.common.config import DEMO_JURISDICTION
from services.common.geo import Point
from services.common.jurisdiction import load_jurisdiction
from services.dispatch.recommend import Candidate, CandidatePool, recommend
from services.dispatch.runcards import load_run_cards
from services.dispatch.travel import StraightLineTravel

UNITS = 5000
SAMPLES = 1000


def candidates(count: int, rng: random.Random) -> list[Candidate]:
    jurisdiction = load_jurisdiction(DEMO_JURISDICTION)
    base = [
        (station, unit, jurisdiction.policy(station).turnout_seconds)
        for station, unit in jurisdiction.units()
    ]
    out = []
    for n in range(count):
        station, unit, turnout = base[n % len(base)]
        lat, lon = station.location
        out.append(
            Candidate(
                f"{unit.id}-{n}",
                station.name,
                station.tier.value,
                frozenset(unit.capabilities),
                Point(lat + rng.uniform(-0.05, 0.05), lon + rng.uniform(-0.05, 0.05)),
                turnout,
            )
        )
    return out


def run() -> dict[str, Any]:
    rng = random.Random(119)
    units = candidates(UNITS, rng)
    started = time.perf_counter()
    pool = CandidatePool(units, first_intervention_only={"MICRO_STATION"})
    build_ms = (time.perf_counter() - started) * 1000
    card = load_run_cards().card("high_rise_fire", 3)
    travel = StraightLineTravel()
    timings = []
    for n in range(SAMPLES + 50):
        at = (rng.uniform(28.05, 28.35), rng.uniform(112.6, 113.3))
        started = time.perf_counter()
        result = recommend(card, pool, at, travel)
        if n >= 50:  # warm-up
            timings.append((time.perf_counter() - started) * 1000)
        assert result.picks
    timings.sort()
    return {
        "what": "recommend(high_rise_fire level 3) over one pool of every tier",
        "units": len(pool),
        "card": sum(card.values()) + 1,
        "samples": len(timings),
        "latency_ms": {
            "p50": round(timings[len(timings) // 2], 3),
            "p99": round(timings[int(len(timings) * 0.99) - 1], 3),
            "max": round(timings[-1], 3),
            "mean": round(statistics.fmean(timings), 3),
        },
        "pool_build_ms": round(build_ms, 1),
    }
