"""Duplicate calls: given open incidents, when a call comes, expect the likely duplicates."""

from __future__ import annotations

from services.dispatch.duplicates import OpenIncident, find_duplicates
from services.dispatch.runcards import load_run_cards

CARDS = load_run_cards()
NOW = 1_800_000_000_000_000
MINUTE = 60_000_000
FIRE = OpenIncident(
    "inc-fire", "high_rise_fire", (28.2000, 112.9800), "Wuyi Rd 88", NOW - 5 * MINUTE
)


def test_a_smoke_alarm_near_an_open_building_fire_is_offered_as_its_duplicate() -> None:
    (dup,) = find_duplicates("automatic_alarm", (28.2010, 112.9805), "", NOW, [FIRE], CARDS)
    assert dup.incident_id == "inc-fire" and 100 < dup.distance_m < 130
    assert dup.reason.startswith("building fire 1") and "opened 5 min ago" in dup.reason


def test_far_away_old_or_unrelated_incidents_are_not_duplicates() -> None:
    far = (28.2100, 112.9800)  # about 1.1 km
    assert find_duplicates("residential_fire", far, "", NOW, [FIRE], CARDS) == []
    old = OpenIncident("inc-old", "high_rise_fire", FIRE.location, "", NOW - 45 * MINUTE)
    assert find_duplicates("residential_fire", FIRE.location, "", NOW, [old], CARDS) == []
    assert find_duplicates("water_rescue", FIRE.location, "", NOW, [FIRE], CARDS) == []


def test_without_coordinates_the_same_address_matches() -> None:
    (dup,) = find_duplicates("residential_fire", None, " wuyi rd. 88 ", NOW, [FIRE], CARDS)
    assert dup.distance_m is None and "same address" in dup.reason


def test_the_nearest_comes_first() -> None:
    near = OpenIncident("inc-near", "residential_fire", (28.2001, 112.9800), "", NOW - MINUTE)
    found = find_duplicates("high_rise_fire", (28.2000, 112.9800), "", NOW, [FIRE, near], CARDS)
    assert [d.incident_id for d in found] == ["inc-fire", "inc-near"]
