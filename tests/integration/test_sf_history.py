"""San Francisco's real calls (../shared/data/sf) through the analytics: the CAD export's
bad rows named, the travel calibration reproduced and under its target on the years held
out, the recommendation replayed against what really happened, and coverage. The figures
are the ones docs/ARCHITECTURE.md states."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.analytics.agreement import PLAN, Ranking, measure
from services.analytics.cad import load_mapping, read_cad
from services.analytics.calibration import calibrate, parse_calibration
from services.analytics.coverage import (
    build_grid,
    call_weights,
    capable_units,
    commitment_impact,
    coverage,
)
from services.analytics.history import HistoricalIncident
from services.common.jurisdiction import Jurisdiction, load_jurisdiction
from services.dispatch.travel import BandedTravel, StraightLineTravel, travel_for

ROOT = Path(__file__).resolve().parents[2]
CALLS = ROOT.parent / "shared" / "data" / "sf" / "calls-lone-mountain-2009-2019.csv"
SF = ROOT / "services/config/jurisdiction/san-francisco.yaml"
TRAVEL = ROOT / "services/config/jurisdiction/sources/san-francisco-travel.yaml"
HELD_OUT = range(2016, 2020)

pytestmark = pytest.mark.skipif(not CALLS.exists(), reason=f"the shared SF data is not at {CALLS}")


@pytest.fixture(scope="module")
def city() -> Jurisdiction:
    return load_jurisdiction(SF)


@pytest.fixture(scope="module")
def incidents(city: Jurisdiction) -> tuple[HistoricalIncident, ...]:
    units = {u.id: s.id for s, u in city.units()}
    return read_cad(CALLS.read_text(encoding="utf-8"), load_mapping(), units).incidents


def test_the_sf_export_reads_with_its_bad_rows_named(city: Jurisdiction) -> None:
    units = {u.id: s.id for s, u in city.units()}
    found = read_cad(CALLS.read_text(encoding="utf-8"), load_mapping(), units)
    assert found.rows == 4340 and len(found.incidents) == 900
    before_en_route = [p for p in found.problems if "on scene before it was en route" in p.reason]
    assert [p.row for p in before_en_route] == [159, 1055, 1067, 1402]  # the four known
    assert all(p.field == "On Scene DtTm" for p in before_en_route)
    assert len(found.problems) == 11  # and 7 units available before on scene or en route
    assert found.skipped == {"AIRPORT": 1, "INVESTIGATION": 16, "PRIVATE": 31, "SUPPORT": 11}


def test_calibrating_again_gives_the_shipped_profile_under_the_target(
    city: Jurisdiction, incidents: tuple[HistoricalIncident, ...]
) -> None:
    stations = {s.id: (s.location[0], s.location[1]) for s in city.stations}
    result = calibrate(incidents, stations, HELD_OUT, source=CALLS.name)
    shipped = parse_calibration(TRAVEL.read_text(encoding="utf-8"))
    assert result.profile == shipped.travel
    assert dict(result.station_turnout_seconds) == shipped.station_turnout_seconds
    assert result.before_held_out.median_s == pytest.approx(49.4, abs=0.05)
    assert result.after_held_out.median_s is not None
    assert result.after_held_out.median_s < 45  # the target
    assert result.after_held_out.median_s == pytest.approx(22.6, abs=0.05)


def test_the_recommendation_against_what_really_happened(
    city: Jurisdiction, incidents: tuple[HistoricalIncident, ...]
) -> None:
    shipped = parse_calibration(TRAVEL.read_text(encoding="utf-8"))
    plain = city.model_copy(
        update={"stations": [s.model_copy(update={"turnout_seconds": None}) for s in city.stations]}
    )
    rankings = [
        Ranking("straight", StraightLineTravel()),
        Ranking("calibrated", BandedTravel(shipped.travel), shipped.station_turnout_seconds),
    ]
    result = measure(incidents, plain, rankings, HELD_OUT)
    by_name = {o.name: o for o in result.outcomes}
    assert result.years == (2016, 2017, 2018, 2019)
    assert {o.n for o in result.outcomes} == {230}
    assert by_name["straight"].agreed == 152  # 66.1%
    assert by_name["calibrated"].agreed == 180  # 78.3%
    assert by_name[PLAN].agreed == 185  # 80.4%: the target (beat the plan) is not met
    assert by_name["calibrated"].not_sent == 19  # the plan sent another engine instead


def test_coverage_of_the_calls_and_the_move_up_when_five_engines_are_committed(
    city: Jurisdiction, incidents: tuple[HistoricalIncident, ...]
) -> None:
    grid = build_grid(city, travel_for(city))
    units = capable_units(city)
    uniform = coverage(grid, call_weights(grid, None), units)
    assert uniform.share == pytest.approx(0.861, abs=0.001)
    weights = call_weights(grid, incidents)
    assert weights.sum() == 900
    impact = commitment_impact(grid, weights, units, {"E21", "E10", "E05", "E12", "E31"})
    assert impact.before.share == 1.0
    assert impact.after.share == pytest.approx(0.876, abs=0.001)
    assert [d.district for d in impact.fallen] == ["SF-10", "SF-21"]
    move = impact.move_up
    assert move is not None and (move.unit_id, move.to_station, move.after) == ("E36", "SF-05", 1.0)
