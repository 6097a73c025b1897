"""Coverage on three stations in a row: the share a unit reaches within 5 minutes, the
districts that fall when a unit is committed, weighting by calls, and the move-up that
restores the most (the nearest free unit among equals)."""

from __future__ import annotations

import pytest

from services.analytics.coverage import (
    build_grid,
    call_weights,
    capable_units,
    commitment_impact,
    coverage,
)
from services.analytics.history import HistoricalIncident, HistoricalUnitResponse
from services.common.geo import KM_PER_DEGREE_LAT
from services.common.jurisdiction import parse_jurisdiction
from services.dispatch.travel import StraightLineTravel

LAT = 37.75
DEG_KM = 1 / KM_PER_DEGREE_LAT  # degrees of latitude per km


def station(sid: str, km_north: float, unit: str) -> str:
    return f"""
  - id: {sid}
    name: Station {sid}
    tier: PROFESSIONAL
    location: [{LAT + km_north * DEG_KM:.6f}, -122.45]
    units: [{{id: {unit}, name: Engine {unit}, capabilities: [engine]}}]"""


CITY = parse_jurisdiction(
    """
jurisdiction: {name: Row, time_zone: America/Los_Angeles,
               bounds: {south: 37.70, west: -122.50, north: 37.83, east: -122.40}}
stations:"""
    + station("A", 0.0, "EA")
    + station("B", 2.9, "EB")
    + station("C", 6.2, "EC")
)
# Turnout 60 s + straight line x 1.35 at 25 km/h: 240 s of travel is 1.23 km around each
# station, and the three circles do not touch.
GRID = build_grid(CITY, StraightLineTravel(), cell_m=100, reach_km=1.5)


def calls_near(km_north: float, count: int) -> list[HistoricalIncident]:
    unit = HistoricalUnitResponse("EB", "ENGINE", "engine", "B", 0)
    return [
        HistoricalIncident(
            str(i),
            str(i),
            "Structure Fire",
            0,
            0,
            LAT + km_north * DEG_KM,
            -122.45,
            "B",
            1,
            (unit,),
        )
        for i in range(count)
    ]


def test_each_station_covers_its_circle_and_no_more() -> None:
    units = capable_units(CITY)
    result = coverage(GRID, call_weights(GRID, None), units)
    # Cells are kept within 1.5 km of a station: of each such disc, the 1.23 km one is reached.
    assert result.share == pytest.approx((1.23 / 1.5) ** 2, abs=0.02)
    assert [d.district for d in result.districts] == ["A", "B", "C"]


def test_committing_a_unit_drops_its_district_and_the_nearest_free_unit_moves_up() -> None:
    units = capable_units(CITY)
    weights = call_weights(GRID, calls_near(2.9, 10) + calls_near(0.2, 2))
    assert weights.sum() == 12
    impact = commitment_impact(GRID, weights, units, committed={"EB"})
    assert impact.before.share == 1.0
    assert impact.after.share == pytest.approx(2 / 12)
    assert [(d.district, d.before, d.after) for d in impact.fallen] == [("B", 1.0, 0.0)]
    move = impact.move_up
    assert move is not None
    # Moving EA (2.9 km away) or EC (3.3 km) gains B's 10 calls; EA loses A's 2, EC nothing.
    assert (move.unit_id, move.from_station, move.to_station) == ("EC", "C", "B")
    assert move.after == 1.0  # A keeps EA; B has EC


def test_without_weight_nothing_is_shared_and_nothing_moves() -> None:
    units = capable_units(CITY)
    weights = call_weights(GRID, [])
    impact = commitment_impact(GRID, weights, units, committed={"EB"})
    assert impact.before.share is None and impact.move_up is None
