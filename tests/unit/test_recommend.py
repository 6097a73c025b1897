"""Recommendation across all tiers: given units and a run card, expect picks with reasons."""

from __future__ import annotations

import pytest

from services.common.geo import Point
from services.dispatch.recommend import Candidate, CandidatePool, recommend
from services.dispatch.runcards import RunCardError, load_run_cards
from services.dispatch.travel import StraightLineTravel

INCIDENT = (28.2000, 112.9800)
TRAVEL = StraightLineTravel()


def unit(
    unit_id: str, tier: str, caps: str, km_north: float, turnout: int = 60, returning: bool = False
) -> Candidate:
    # about 0.009 degrees of latitude per kilometre
    where = Point(INCIDENT[0] + km_north * 0.009, INCIDENT[1])
    return Candidate(
        unit_id, f"{unit_id} station", tier, frozenset(caps.split(",")), where, turnout, returning
    )


def picked(result, capability: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.unit_id for p in result.picks if p.capability == capability]


def test_the_fastest_units_of_every_tier_compete_in_one_pool() -> None:
    pool = CandidatePool(
        [
            unit("PRO-E1", "PROFESSIONAL", "engine", km_north=6.0),
            unit("VOL-E1", "VOLUNTEER", "engine", km_north=1.0, turnout=300),
            unit("GOV-E1", "GOV_FULLTIME", "engine", km_north=2.0, turnout=90),
        ]
    )
    result = recommend({"engine": 2}, pool, INCIDENT, TRAVEL, first_intervention_within=None)
    # the volunteer is nearest (1 km), but its 5-minute turnout puts it behind the
    # government team 2 km away (494 s against 479 s); the professionals at 6 km are last
    assert picked(result, "engine") == ["GOV-E1", "VOL-E1"]
    assert "fastest available engine: gov fulltime" in result.picks[0].reason
    assert "300 s turnout" in result.picks[1].reason


def test_a_scarce_capability_is_filled_first_so_it_is_not_used_up() -> None:
    pool = CandidatePool(
        [
            unit("LADDER", "PROFESSIONAL", "engine,aerial", km_north=1.0),
            unit("E2", "PROFESSIONAL", "engine", km_north=3.0),
        ]
    )
    result = recommend(
        {"engine": 1, "aerial": 1}, pool, INCIDENT, TRAVEL, first_intervention_within=None
    )
    assert (picked(result, "aerial"), picked(result, "engine")) == (["LADDER"], ["E2"])


def test_unfilled_slots_say_what_is_missing() -> None:
    pool = CandidatePool([unit("E1", "PROFESSIONAL", "engine", km_north=1.0)])
    result = recommend(
        {"engine": 3, "hazmat": 1}, pool, INCIDENT, TRAVEL, first_intervention_within=None
    )
    reasons = {s.capability: (s.missing, s.reason) for s in result.shortfalls}
    assert reasons["engine"] == (2, "only 1 of 3 engine card can be filled: no more units free")
    assert reasons["hazmat"] == (1, "no available unit can fill a hazmat capability")


def test_the_nearest_micro_station_is_added_only_within_three_minutes() -> None:
    near = CandidatePool([unit("MIC-1", "MICRO_STATION", "first_intervention", km_north=0.4)])
    result = recommend({}, near, INCIDENT, TRAVEL)
    assert picked(result, "first_intervention") == ["MIC-1"]
    assert "within the 3-minute rule" in result.picks[0].reason

    far = CandidatePool([unit("MIC-9", "MICRO_STATION", "first_intervention", km_north=4.0)])
    (shortfall,) = recommend({}, far, INCIDENT, TRAVEL).shortfalls
    assert "no micro station can be on scene within 3 min" in shortfall.reason


def test_excluded_units_are_passed_over_and_a_returning_unit_needs_no_turnout() -> None:
    pool = CandidatePool(
        [
            unit("E1", "PROFESSIONAL", "engine", km_north=0.5),
            unit("E2", "PROFESSIONAL", "engine", km_north=1.5, returning=True),
            unit("E3", "PROFESSIONAL", "engine", km_north=1.4),
        ]
    )
    result = recommend(
        {"engine": 1}, pool, INCIDENT, TRAVEL, exclude={"E1"}, first_intervention_within=None
    )
    assert picked(result, "engine") == ["E2"]
    assert "already on the road" in result.picks[0].reason


def test_run_cards_give_the_slots_of_a_level_and_fall_back_to_the_highest_defined() -> None:
    cards = load_run_cards()
    assert cards.card("high_rise_fire", 1) == {"engine": 3, "aerial": 1, "command": 1}
    assert cards.card("vehicle_fire", 5) == cards.card("vehicle_fire", 3)
    assert cards.same_family("automatic_alarm", "high_rise_fire")
    assert not cards.same_family("water_rescue", "high_rise_fire")


def test_a_bad_run_card_file_is_refused_naming_the_field(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "cards.yaml"
    bad.write_text(
        "incident_types:\n  x:\n    label: X\n    family: f\n    levels: {1: {teleporter: 1}}\n"
    )
    with pytest.raises(RunCardError, match="unknown capabilities"):
        load_run_cards(bad)


def test_micro_stations_fill_only_the_first_intervention_slot() -> None:
    pool = CandidatePool(
        [
            unit("MIC-E1", "MICRO_STATION", "engine,first_intervention", km_north=0.2),
            unit("PRO-E1", "PROFESSIONAL", "engine", km_north=3.0),
        ],
        first_intervention_only={"MICRO_STATION"},
    )
    result = recommend({"engine": 1}, pool, INCIDENT, TRAVEL)
    assert picked(result, "engine") == ["PRO-E1"]
    assert picked(result, "first_intervention") == ["MIC-E1"]
