"""The call generator: the same seed gives the same stream, and over a long stream the
rate, the mix, the duplicates and the false alarms are what was asked."""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from itertools import pairwise
from typing import Any

import pytest

from emergency.v1 import common_pb2
from services.common.config import DEMO_JURISDICTION
from services.common.geo import distance_km
from services.common.jurisdiction import Jurisdiction, load_jurisdiction
from services.dispatch.domain import AUTOMATIC_SOURCES
from services.dispatch.duplicates import OpenIncident, find_duplicates
from services.dispatch.runcards import RunCards, load_run_cards
from tools.callgen import (
    AUTOMATIC_ALARM,
    DEFAULT_TYPE_WEIGHTS,
    TIER_WEIGHTS,
    CallGenerator,
    CallMix,
    GeneratedCall,
    summary,
)

CITY = load_jurisdiction(DEMO_JURISDICTION)
BOUNDS = CITY.jurisdiction.bounds
CARDS = load_run_cards()
MIX = CallMix(rate_per_second=0.5)


def generate(mix: CallMix = MIX, seed: int = 7, count: int = 5000) -> list[GeneratedCall]:
    return list(CallGenerator(CITY, mix, seed, CARDS).calls(count=count))


@pytest.fixture(scope="module")
def long_stream() -> list[GeneratedCall]:
    return generate(count=10_000)


def where(call: GeneratedCall) -> tuple[float, float]:
    return call.latitude, call.longitude


def jurisdiction(
    stations: list[tuple[str, str, tuple[float, float], float]], bounds: dict[str, float]
) -> Jurisdiction:
    return Jurisdiction.model_validate(
        {
            "jurisdiction": {"name": "Test", "time_zone": "Asia/Shanghai", "bounds": bounds},
            "stations": [
                {
                    "id": sid,
                    "name": sid,
                    "tier": tier,
                    "location": list(loc),
                    "area_radius_km": r,
                    "units": [{"id": f"{sid}-E1", "name": "Engine", "capabilities": ["engine"]}],
                }
                for sid, tier, loc, r in stations
            ],
        }
    )


# --- determinism --------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_stream_and_another_seed_another() -> None:
    first = generate(seed=1, count=500)
    assert generate(seed=1, count=500) == first
    other = generate(seed=2, count=500)
    assert other != first
    assert sum(a.at_seconds == b.at_seconds for a, b in zip(first, other, strict=True)) == 0
    generator = CallGenerator(CITY, MIX, 1, CARDS)
    assert list(generator.calls(count=500)) == first  # each call of calls() starts afresh
    assert list(generator.calls(count=200)) == first[:200]  # a shorter stream is a prefix
    until = first[299].at_seconds
    assert list(generator.calls(duration_seconds=until)) == first[:300]


# --- the stream is what was asked ---------------------------------------------------------


@pytest.mark.parametrize("rate", [0.002, 0.5, 20.0])
def test_rate_mix_duplicates_and_false_alarms_are_close_to_the_mix(rate: float) -> None:
    # A quiet centre (0.002/s, 0.6 calls in a duplicate window) still gets its duplicates:
    # one drawn when there is nothing recent to repeat comes with a later call.
    mix = CallMix(rate_per_second=rate)
    calls = generate(mix, seed=11, count=10_000)
    n = len(calls)
    assert n == 10_000 and [c.seq for c in calls] == list(range(n))
    assert all(a.at_seconds <= b.at_seconds for a, b in pairwise(calls))
    assert calls[-1].at_seconds > 0
    assert n / calls[-1].at_seconds == pytest.approx(rate, rel=0.05)

    duplicates = [c for c in calls if c.duplicate_of is not None]
    assert len(duplicates) / n == pytest.approx(mix.duplicate_share, abs=0.02)

    # The type mix is of first reports; duplicates follow their originals.
    originals = [c for c in calls if c.duplicate_of is None]
    total = sum(mix.type_weights.values())
    counts = Counter(c.incident_type for c in originals)
    assert set(counts) <= set(mix.type_weights)
    for kind, weight in mix.type_weights.items():
        p = weight / total
        tolerance = 4.5 * math.sqrt(p * (1 - p) / len(originals)) + 0.002
        assert counts[kind] / len(originals) == pytest.approx(p, abs=tolerance), kind

    alarms = [c for c in originals if c.incident_type == AUTOMATIC_ALARM]
    false = sum(c.false_alarm for c in alarms)
    assert false / len(alarms) == pytest.approx(mix.false_alarm_share, abs=0.06)
    assert sum(c.false_alarm for c in calls) == false  # only first reports are false


def test_the_default_mix_is_a_city_centre_s() -> None:
    mix = CallMix()
    weights = mix.type_weights
    assert set(weights) == set(CARDS.incident_types)  # every type can come
    assert max(weights, key=weights.__getitem__) == "social_assistance"
    fires = [
        "residential_fire",
        "high_rise_fire",
        "underground_fire",
        "large_complex_fire",
        "chemical_plant_fire",
    ]
    assert max(fires, key=weights.__getitem__) == "residential_fire"
    for rare in ("high_rise_fire", "underground_fire", "chemical_plant_fire", "collapse"):
        assert weights[rare] < weights["traffic_rescue"] / 3
    assert weights[AUTOMATIC_ALARM] > weights["vehicle_fire"]
    assert 0.1 <= mix.duplicate_share <= 0.2 and 0.5 <= mix.false_alarm_share <= 0.7
    # duplicates well inside dispatch's rule, so it offers them
    assert mix.duplicate_radius_m <= CARDS.duplicates.radius_m / 2
    assert mix.duplicate_window_seconds <= CARDS.duplicates.window_minutes * 60 / 2
    assert dict(weights) == dict(DEFAULT_TYPE_WEIGHTS)


def test_a_narrow_mix_gives_only_its_types_and_its_extremes() -> None:
    mix = CallMix(
        rate_per_second=1.0,
        duplicate_share=0.0,
        false_alarm_share=1.0,
        type_weights={"residential_fire": 3.0, AUTOMATIC_ALARM: 1.0, "vehicle_fire": 0.0},
    )
    calls = generate(mix, count=2000)
    kinds = Counter(c.incident_type for c in calls)
    assert set(kinds) == {"residential_fire", AUTOMATIC_ALARM}
    assert kinds["residential_fire"] / len(calls) == pytest.approx(0.75, abs=0.04)
    assert all(c.duplicate_of is None for c in calls)
    assert all(c.false_alarm == (c.incident_type == AUTOMATIC_ALARM) for c in calls)

    none_false = CallMix(rate_per_second=1.0, false_alarm_share=0.0)
    assert not any(c.false_alarm for c in generate(none_false, count=2000))


# --- every call is well formed ------------------------------------------------------------


def test_every_call_is_inside_the_city_of_a_known_type_with_the_right_caller(
    long_stream: list[GeneratedCall],
) -> None:
    sources = Counter()
    for call in long_stream:
        assert BOUNDS.contains(call.latitude, call.longitude), call
        assert call.incident_type in CARDS.incident_types
        automatic = call.source in AUTOMATIC_SOURCES
        assert automatic == (call.incident_type == AUTOMATIC_ALARM), call
        if automatic:
            assert call.caller_number == ""
        else:
            assert call.source in (common_pb2.PHONE, common_pb2.TRANSFER)
            assert re.fullmatch(r"1[3-9]\d{9}", call.caller_number), call.caller_number
        assert call.address.isascii() and re.match(r"No\. \d+, \w+", call.address)
        assert call.description.isascii() and call.description.strip()
        assert not call.false_alarm or (automatic and call.duplicate_of is None)
        sources[call.source] += 1
    people = sources[common_pb2.PHONE] + sources[common_pb2.TRANSFER]
    assert 0.02 < sources[common_pb2.TRANSFER] / people < 0.15  # mostly dialled
    assert sources[common_pb2.FIRE_ALARM_NETWORK] > 100
    assert sources[common_pb2.SMART_SMOKE_DETECTOR] > 100
    callers = [c.caller_number for c in long_stream if c.caller_number]
    assert len(set(callers)) > 0.99 * len(callers)  # each person their own number


def test_every_duplicate_repeats_a_recent_true_first_report_nearby_in_its_family(
    long_stream: list[GeneratedCall],
) -> None:
    mix = MIX
    duplicates = [c for c in long_stream if c.duplicate_of is not None]
    detector_reports = 0
    for dup in duplicates:
        original = long_stream[dup.duplicate_of]
        assert original.seq == dup.duplicate_of < dup.seq
        assert original.duplicate_of is None and not original.false_alarm
        assert 0 <= dup.at_seconds - original.at_seconds <= mix.duplicate_window_seconds + 1e-9
        metres = 1000 * distance_km(where(original), where(dup))
        assert metres <= mix.duplicate_radius_m + 1e-6
        assert CARDS.same_family(original.incident_type, dup.incident_type)
        assert dup.incident_type in (original.incident_type, AUTOMATIC_ALARM)
        assert dup.caller_number != original.caller_number or not dup.caller_number
        if dup.incident_type != original.incident_type:
            detector_reports += 1
            assert dup.source in AUTOMATIC_SOURCES and dup.caller_number == ""
        # and dispatch's own rule offers the original as the likely duplicate
        opened = OpenIncident(
            "orig",
            original.incident_type,
            where(original),
            original.address,
            int(original.at_seconds * 1e6),
        )
        found = find_duplicates(
            dup.incident_type, where(dup), dup.address, int(dup.at_seconds * 1e6), [opened], CARDS
        )
        assert [d.incident_id for d in found] == ["orig"]
    assert len(duplicates) > 1000 and detector_reports > 50  # detectors join in on fires


# --- where calls come from ----------------------------------------------------------------


def test_urban_stations_see_more_calls_by_their_tier_weight() -> None:
    # Two stations 50 km apart, far from the bounds: each call belongs to the nearer one.
    city = jurisdiction(
        [("PRO", "PROFESSIONAL", (28.0, 112.0), 2.0), ("VOL", "VOLUNTEER", (28.0, 112.5), 2.0)],
        {"south": 27.5, "west": 111.5, "north": 28.5, "east": 113.0},
    )
    mix = CallMix(rate_per_second=1.0, duplicate_share=0.0)
    calls = list(CallGenerator(city, mix, 3, CARDS).calls(count=4000))
    near_pro = sum(c.longitude < 112.25 for c in calls) / len(calls)
    pro, vol = TIER_WEIGHTS["PROFESSIONAL"], TIER_WEIGHTS["VOLUNTEER"]
    assert pro > vol
    assert near_pro == pytest.approx(pro / (pro + vol), abs=0.03)
    # In the demo city, calls crowd the urban stations' areas: many times their share of
    # the city's box (measured with points spread evenly over it).
    urban = [s.location for s in CITY.stations if s.tier in ("PROFESSIONAL", "GOV_FULLTIME")]

    def urban_share(points: list[tuple[float, float]]) -> float:
        return sum(min(distance_km(p, u) for u in urban) < 8 for p in points) / len(points)

    even = random.Random(0)
    box = [
        (even.uniform(BOUNDS.south, BOUNDS.north), even.uniform(BOUNDS.west, BOUNDS.east))
        for _ in range(3000)
    ]
    assert urban_share([where(c) for c in generate(count=3000)]) > 5 * urban_share(box)


def test_calls_scatter_by_half_the_area_radius_and_never_leave_the_bounds() -> None:
    radius = 4.0
    alone = jurisdiction(
        [("PRO", "PROFESSIONAL", (28.0, 112.0), radius)],
        {"south": 27.0, "west": 111.0, "north": 29.0, "east": 113.0},
    )
    mix = CallMix(rate_per_second=1.0, duplicate_share=0.0)
    calls = list(CallGenerator(alone, mix, 5, CARDS).calls(count=4000))
    mean_km = sum(distance_km((28.0, 112.0), where(c)) for c in calls) / len(calls)
    # a 2-D Gaussian of sigma per axis puts points at sigma * sqrt(pi / 2) on average
    assert mean_km == pytest.approx(radius / 2 * math.sqrt(math.pi / 2), rel=0.05)

    # A corner station with a wide area: the calls beyond the bounds are clamped onto them.
    bounds = {"south": 28.0, "west": 112.0, "north": 28.1, "east": 112.1}
    corner = jurisdiction([("VOL", "VOLUNTEER", (28.001, 112.001), 30.0)], bounds)
    calls = list(CallGenerator(corner, CallMix(rate_per_second=1.0), 5, CARDS).calls(count=2000))
    box = corner.jurisdiction.bounds
    assert all(box.contains(c.latitude, c.longitude) for c in calls)
    on_edge = sum(c.latitude in (box.south, box.north) for c in calls)
    assert on_edge > 500  # clamped, not redrawn or dropped


# --- summary ------------------------------------------------------------------------------


def test_the_summary_counts_the_stream(long_stream: list[GeneratedCall]) -> None:
    s: dict[str, Any] = summary(long_stream)
    assert s["calls"] == len(long_stream)
    assert sum(s["by_type"].values()) == sum(s["by_source"].values()) == len(long_stream)
    assert s["by_type"]["social_assistance"] == max(s["by_type"].values())
    assert set(s["by_source"]) == {
        "PHONE",
        "TRANSFER",
        "FIRE_ALARM_NETWORK",
        "SMART_SMOKE_DETECTOR",
    }
    assert s["duplicates"] == sum(c.duplicate_of is not None for c in long_stream)
    assert s["false_alarms"] == sum(c.false_alarm for c in long_stream)
    assert s["rate_per_second"] == pytest.approx(MIX.rate_per_second, rel=0.05)
    assert summary(long_stream[:10], duration_seconds=100.0)["rate_per_second"] == 0.1
    assert summary([])["calls"] == 0 and summary([])["rate_per_second"] == 0.0


# --- bad mixes and limits -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"rate_per_second": 0}, "rate_per_second must be a positive number"),
        ({"rate_per_second": -1.0}, "rate_per_second must be a positive number"),
        ({"rate_per_second": math.nan}, "rate_per_second must be a positive number"),
        ({"type_weights": {"residential_fire": -1.0}}, "must not be negative"),
        ({"type_weights": {"residential_fire": 0.0}}, "at least one weight must be positive"),
        ({"type_weights": {}}, "at least one weight must be positive"),
        ({"duplicate_share": 1.5}, "duplicate_share must be between 0 and 1"),
        ({"duplicate_share": -0.1}, "duplicate_share must be between 0 and 1"),
        ({"duplicate_share": 1.0}, "duplicate_share must be below 1"),
        ({"false_alarm_share": 2.0}, "false_alarm_share must be between 0 and 1"),
        ({"duplicate_window_seconds": 0}, "duplicate_window_seconds must be a positive number"),
        ({"duplicate_radius_m": -5}, "duplicate_radius_m must be a positive number"),
        (
            {"type_weights": {AUTOMATIC_ALARM: 1.0}, "false_alarm_share": 1.0},
            "every call is a false alarm",
        ),
    ],
)
def test_a_bad_mix_is_refused_naming_the_problem(kwargs: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        CallMix(**kwargs)


def test_a_mix_the_run_cards_cannot_serve_is_refused() -> None:
    cards = RunCards(
        incident_types={k: v for k, v in CARDS.incident_types.items() if k != "collapse"}
    )
    with pytest.raises(ValueError, match=r"\['collapse'\] are not in the run cards"):
        CallGenerator(CITY, CallMix(), 1, cards)
    with pytest.raises(ValueError, match=r"\['alien_landing'\] are not in the run cards"):
        CallGenerator(CITY, CallMix(type_weights={"alien_landing": 1.0}), 1, CARDS)
    with pytest.raises(ValueError, match=r"duplicate_radius_m 500\.0 is beyond"):
        CallGenerator(CITY, CallMix(duplicate_radius_m=500.0), 1, CARDS)
    with pytest.raises(ValueError, match="duplicate_window_seconds 3600 is beyond"):
        CallGenerator(CITY, CallMix(duplicate_window_seconds=3600), 1, CARDS)


@pytest.mark.parametrize(
    ("limits", "problem"),
    [
        ({}, "exactly one limit"),
        ({"count": 10, "duration_seconds": 60.0}, "exactly one limit"),
        ({"count": -1}, "count must be a non-negative integer"),
        ({"count": 2.5}, "count must be a non-negative integer"),
        ({"duration_seconds": -1.0}, "duration_seconds must be a non-negative number"),
        ({"duration_seconds": math.nan}, "duration_seconds must be a non-negative number"),
    ],
)
def test_bad_limits_are_refused_at_once(limits: dict[str, Any], problem: str) -> None:
    generator = CallGenerator(CITY, MIX, 1, CARDS)
    with pytest.raises(ValueError, match=re.escape(problem)):
        generator.calls(**limits)  # refused when asked, not at the first call drawn


def test_zero_limits_give_an_empty_stream_and_a_duration_bounds_the_times() -> None:
    generator = CallGenerator(CITY, MIX, 1, CARDS)
    assert list(generator.calls(count=0)) == []
    assert list(generator.calls(duration_seconds=0.0)) == []
    hour = list(generator.calls(duration_seconds=3600.0))
    assert hour and all(c.at_seconds <= 3600.0 for c in hour)
    assert len(hour) == pytest.approx(MIX.rate_per_second * 3600, rel=0.15)
