"""Realistic 119 call streams over a jurisdiction, for demos, load tests and benchmarks.

What it models, and why:

* Calls arrive as a Poisson process (exponential gaps) at ``rate_per_second``. A first
  report has a type drawn from ``CallMix.type_weights`` (by default, the mix of a Chinese
  city's 119 centre) and a place near a station picked at random, urban stations more often
  (more people, more calls), scattered by a Gaussian of half the station's area radius and
  kept inside the jurisdiction's bounds.
* A real incident is often reported again: another passer-by, the building's smoke detector.
  ``duplicate_share`` of the calls repeat a true first report of the last
  ``duplicate_window_seconds``, within ``duplicate_radius_m`` of it and in its family, so
  dispatch's duplicate rule should offer the match. When a call drawn as a duplicate finds
  nothing recent to repeat, it comes as a first report and the next call that can repeat
  one does: the share holds as long as most windows hold a true call (at the default rate
  and window, about 2.5 calls a window), and only the first calls of a stream miss out.
* Automatic alarms come from the fire-alarm network or smart smoke detectors, with no
  caller; ``false_alarm_share`` of them will turn out false (and nobody reports those again).

Pure: no clock and no I/O (but reading the run cards when none are given); the same seed
gives the same stream.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from types import MappingProxyType
from typing import Any

from emergency.v1 import common_pb2
from services.common.geo import offset_km
from services.common.jurisdiction import Jurisdiction, Tier
from services.dispatch.runcards import RunCards, load_run_cards

AUTOMATIC_ALARM = "automatic_alarm"
# Relative weights of incident types (first reports): a Chinese city's 119 centre, where
# social assistance and automatic alarms are common and the "high, low, large, chemical"
# fires rare.
DEFAULT_TYPE_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "residential_fire": 14.0,
        "high_rise_fire": 2.0,
        "underground_fire": 0.5,
        "large_complex_fire": 1.0,
        "chemical_plant_fire": 0.3,
        "vehicle_fire": 6.0,
        "field_fire": 6.0,
        "forest_fire": 1.5,
        "traffic_rescue": 10.0,
        "water_rescue": 2.0,
        "mountain_rescue": 1.0,
        "collapse": 0.5,
        "hazmat_leak": 0.7,
        "social_assistance": 30.0,
        AUTOMATIC_ALARM: 15.0,
    }
)
# How many calls come from around a station of each tier, relatively: urban stations cover
# the most people; civilian teams cover specialised rescue, not a populated area.
TIER_WEIGHTS: Mapping[Tier, float] = MappingProxyType(
    {
        Tier.PROFESSIONAL: 10.0,
        Tier.GOV_FULLTIME: 6.0,
        Tier.VOLUNTEER: 1.5,
        Tier.MICRO_STATION: 0.5,
        Tier.CIVILIAN: 0.0,
    }
)
TRANSFER_SHARE = 0.06  # calls from a person transferred from 110/120 rather than dialled
DETECTOR_SHARE = 0.3  # duplicates of a building fire raised by the building's detectors
_ROADS = (
    "Renmin",
    "Jiefang",
    "Wuyi",
    "Furong",
    "Shaoshan",
    "Laodong",
    "Xiangjiang",
    "Yingbin",
    "Zhongshan",
    "Huangxing",
    "Dongfeng",
    "Xinmin",
)
_DESCRIPTIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "residential_fire": ("Smoke from a flat on floor {n}", "Kitchen fire, family got out"),
        "high_rise_fire": ("Flames seen on floor {n} of a tower block",),
        "underground_fire": ("Smoke coming out of an underground car park",),
        "large_complex_fire": ("Fire in a shopping mall, people evacuating",),
        "chemical_plant_fire": ("Explosion and black smoke at a chemical plant",),
        "vehicle_fire": ("Car on fire at the roadside", "Bus engine on fire"),
        "field_fire": ("Straw burning in a field, spreading",),
        "forest_fire": ("Smoke on the wooded hillside",),
        "traffic_rescue": ("Collision, driver trapped in the car", "Truck overturned, {n} hurt"),
        "water_rescue": ("Person in the river, cannot swim",),
        "mountain_rescue": ("{n} hikers lost on the mountain",),
        "collapse": ("Part of an old building collapsed, people inside",),
        "hazmat_leak": ("Strong gas smell, a tanker is leaking",),
        "social_assistance": ("Locked out, child inside", "Flooded basement", "Cat stuck on roof"),
    }
)
_ALARM_TEXTS: Mapping[common_pb2.CallSource.ValueType, str] = MappingProxyType(
    {
        common_pb2.FIRE_ALARM_NETWORK: "Alarm network: smoke detector zone {n} activated",
        common_pb2.SMART_SMOKE_DETECTOR: "Smart smoke detector alarm, household not answering",
    }
)


@dataclass(frozen=True)
class GeneratedCall:
    seq: int
    at_seconds: float
    incident_type: str
    source: common_pb2.CallSource.ValueType
    caller_number: str
    latitude: float
    longitude: float
    address: str
    description: str
    duplicate_of: int | None = None
    false_alarm: bool = False


@dataclass(frozen=True)
class CallMix:
    """What to generate. ``type_weights`` are relative and apply to first reports;
    duplicates follow their originals. ``false_alarm_share`` is of automatic alarms."""

    rate_per_second: float = 1 / 120  # a busy city centre: a call every two minutes
    type_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TYPE_WEIGHTS))
    duplicate_share: float = 0.15
    false_alarm_share: float = 0.6
    duplicate_window_seconds: float = 300.0
    duplicate_radius_m: float = 120.0

    def __post_init__(self) -> None:
        for name in ("rate_per_second", "duplicate_window_seconds", "duplicate_radius_m"):
            if not 0 < getattr(self, name) < math.inf:
                raise ValueError(f"{name} must be a positive number, got {getattr(self, name)}")
        for name in ("duplicate_share", "false_alarm_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if self.duplicate_share == 1:
            raise ValueError("duplicate_share must be below 1: a duplicate repeats an original")
        weights = dict(self.type_weights)
        if bad := sorted(t for t, w in weights.items() if not 0 <= w < math.inf):
            raise ValueError(f"type_weights: weights must not be negative, got {bad}")
        if not sum(weights.values()) > 0:
            raise ValueError("type_weights: at least one weight must be positive")
        only_alarms = {t for t, w in weights.items() if w > 0} == {AUTOMATIC_ALARM}
        if self.duplicate_share and only_alarms and self.false_alarm_share == 1:
            raise ValueError("duplicate_share is positive but every call is a false alarm")
        object.__setattr__(self, "type_weights", MappingProxyType(weights))


class CallGenerator:
    """Streams of calls over ``jurisdiction`` as ``mix`` asks; ``seed`` fixes the stream."""

    def __init__(
        self, jurisdiction: Jurisdiction, mix: CallMix, seed: int, run_cards: RunCards | None = None
    ) -> None:
        self._cards = run_cards or load_run_cards()
        if unknown := sorted(set(mix.type_weights) - set(self._cards.incident_types)):
            raise ValueError(f"type_weights: incident types {unknown} are not in the run cards")
        rule = self._cards.duplicates
        if mix.duplicate_radius_m > rule.radius_m:
            raise ValueError(
                f"duplicate_radius_m {mix.duplicate_radius_m} is beyond the run cards' "
                f"duplicate radius of {rule.radius_m} m"
            )
        if mix.duplicate_window_seconds > rule.window_minutes * 60:
            raise ValueError(
                f"duplicate_window_seconds {mix.duplicate_window_seconds} is beyond the run "
                f"cards' duplicate window of {rule.window_minutes} min"
            )
        self._mix, self._seed, self._bounds = mix, seed, jurisdiction.jurisdiction.bounds
        self._stations = list(jurisdiction.stations)
        weights = list(accumulate(TIER_WEIGHTS.get(s.tier, 1.0) for s in self._stations))
        self._station_weights = weights if weights[-1] > 0 else None  # else all alike
        self._types = [t for t, w in mix.type_weights.items() if w > 0]
        self._type_weights = list(accumulate(mix.type_weights[t] for t in self._types))
        alarm = self._cards.incident_types.get(AUTOMATIC_ALARM)
        self._detector_family = alarm.family if alarm else None

    def calls(
        self, duration_seconds: float | None = None, count: int | None = None
    ) -> Iterator[GeneratedCall]:
        """The stream from its start, until ``duration_seconds`` or ``count`` calls."""
        if (duration_seconds is None) == (count is None):
            raise ValueError("give exactly one limit: duration_seconds or count")
        if duration_seconds is not None and not 0 <= duration_seconds < math.inf:
            raise ValueError(
                f"duration_seconds must be a non-negative number, got {duration_seconds}"
            )
        if count is not None and (type(count) is not int or count < 0):
            raise ValueError(f"count must be a non-negative integer, got {count!r}")
        until = math.inf if duration_seconds is None else duration_seconds
        return self._stream(until, math.inf if count is None else count)

    def _stream(self, until: float, count: float) -> Iterator[GeneratedCall]:
        rng, mix = random.Random(self._seed), self._mix
        recent: deque[GeneratedCall] = deque()  # true first reports still in the window
        owed, at, seq = 0, 0.0, 0  # owed: duplicates drawn when there was nothing to repeat
        while seq < count:
            at += rng.expovariate(mix.rate_per_second)
            if at > until:
                return
            while recent and recent[0].at_seconds < at - mix.duplicate_window_seconds:
                recent.popleft()
            owed += rng.random() < mix.duplicate_share
            if owed and recent:
                owed -= 1
                call = self._duplicate(rng, seq, at, rng.choice(recent))
            else:
                call = self._original(rng, seq, at)
                if not call.false_alarm:
                    recent.append(call)
            yield call
            seq += 1

    def _original(self, rng: random.Random, seq: int, at: float) -> GeneratedCall:
        kind = rng.choices(self._types, cum_weights=self._type_weights)[0]
        station = rng.choices(self._stations, cum_weights=self._station_weights)[0]
        sigma = station.area_radius_km / 2
        lat, lon = self._place(station.location, rng.gauss(0, sigma), rng.gauss(0, sigma))
        area = re.sub(r"\s*\(.*?\)", "", station.district or station.name)
        area = area.encode("ascii", "ignore").decode().strip() or "city centre"
        address = f"No. {rng.randint(1, 399)}, {rng.choice(_ROADS)} Road, {area}"
        false_alarm = kind == AUTOMATIC_ALARM and rng.random() < self._mix.false_alarm_share
        source, caller, text = self._report(rng, kind)
        return GeneratedCall(
            seq, at, kind, source, caller, lat, lon, address, text, None, false_alarm
        )

    def _duplicate(
        self, rng: random.Random, seq: int, at: float, original: GeneratedCall
    ) -> GeneratedCall:
        kind = original.incident_type
        family = self._cards.incident_types[kind].family
        if family == self._detector_family and rng.random() < DETECTOR_SHARE:
            kind = AUTOMATIC_ALARM
        km = self._mix.duplicate_radius_m / 1000 * math.sqrt(rng.random())  # uniform in disc
        angle = rng.uniform(0, 2 * math.pi)
        origin = (original.latitude, original.longitude)
        lat, lon = self._place(origin, km * math.cos(angle), km * math.sin(angle))
        source, caller, text = self._report(rng, kind)
        text = f"Reported again: {text}"
        address = original.address
        return GeneratedCall(seq, at, kind, source, caller, lat, lon, address, text, original.seq)

    def _report(
        self, rng: random.Random, kind: str
    ) -> tuple[common_pb2.CallSource.ValueType, str, str]:
        """Who reports a call of the type, and what they say: source, caller, description."""
        if kind == AUTOMATIC_ALARM:
            source = rng.choice(sorted(_ALARM_TEXTS))
            return source, "", _ALARM_TEXTS[source].format(n=rng.randint(1, 40))
        source = common_pb2.TRANSFER if rng.random() < TRANSFER_SHARE else common_pb2.PHONE
        caller = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        templates = _DESCRIPTIONS.get(kind) or (self._cards.incident_types[kind].label,)
        return source, caller, rng.choice(templates).format(n=rng.randint(2, 30))

    def _place(
        self, origin: tuple[float, float], north_km: float, east_km: float
    ) -> tuple[float, float]:
        """``origin`` moved by the offsets (``geo.offset_km``), clamped inside the bounds."""
        lat, lon = offset_km(origin, north_km, east_km)
        b = self._bounds
        return min(max(lat, b.south), b.north), min(max(lon, b.west), b.east)


def summary(
    calls: Iterable[GeneratedCall], duration_seconds: float | None = None
) -> dict[str, Any]:
    """Counts by type and source, duplicates, false alarms and the observed rate (over
    ``duration_seconds`` if given, else up to the last call)."""
    calls = list(calls)
    if duration_seconds is None:
        duration_seconds = calls[-1].at_seconds if calls else 0.0
    return {
        "calls": len(calls),
        "seconds": duration_seconds,
        "rate_per_second": len(calls) / duration_seconds if duration_seconds > 0 else 0.0,
        "by_type": dict(Counter(c.incident_type for c in calls).most_common()),
        "by_source": dict(
            Counter(common_pb2.CallSource.Name(c.source) for c in calls).most_common()
        ),
        "duplicates": sum(c.duplicate_of is not None for c in calls),
        "false_alarms": sum(c.false_alarm for c in calls),
    }
