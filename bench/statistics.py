"""The one way the benchmarks summarise a sample: nearest-rank percentiles."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from typing import Any


def percentile(values: Iterable[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (``q`` in 0..100) of ``values`` (any order):
    the smallest value with at least q% of the sample at or below it."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(
    values: Iterable[float], points: tuple[float, ...] = (50, 90, 99), digits: int = 2
) -> dict[str, Any]:
    """``{"p50", "p90", "p99", "max", "mean", "count"}`` of a sample ({"count": 0} empty)."""
    values = list(values)
    if not values:
        return {"count": 0}
    out: dict[str, Any] = {f"p{q:g}": round(percentile(values, q), digits) for q in points}
    out["max"] = round(max(values), digits)
    out["mean"] = round(statistics.fmean(values), digits)
    out["count"] = len(values)
    return out
