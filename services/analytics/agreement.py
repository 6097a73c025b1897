"""The recommendation measured against what really happened: each historical incident
is replayed through dispatch's recommendation (``services.dispatch.recommend``), every
unit of the jurisdiction free and in quarters, and the station of the engine it would
send first is compared with the station of the engine that really arrived first.

Variants, each a way to rank: the default straight-line travel estimate with the tier's
turnout (what dispatch does today), the calibrated travel profile, the calibrated profile
with each station's measured turnout, the same with the units that history shows busy on
another incident at the time taken out; and the city's own first-due plan (the incident's
station area), which needs no ranking. Pure: incidents and jurisdiction in, counts out.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from services.analytics.history import HistoricalIncident, moment
from services.common.geo import Point
from services.common.jurisdiction import Jurisdiction
from services.dispatch.recommend import Candidate, CandidatePool, recommend
from services.dispatch.travel import TravelTime

ENGINE = "engine"
PLAN = "first-due plan"


@dataclass(frozen=True, slots=True)
class Ranking:
    """One way to choose the first engine: a travel-time provider and, optionally, each
    station's turnout (seconds, by station id) instead of its tier's."""

    name: str
    travel: TravelTime
    turnout: Mapping[str, int] = field(default_factory=dict)
    skip_busy: bool = False  # take out units history shows on another incident then


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one way of choosing did: of ``n`` incidents, ``agreed`` picked the station
    whose engine really arrived first. For disagreements: the engine picked was not sent
    at all, was sent and arrived later, or was sent and never arrived (cancelled)."""

    name: str
    n: int
    agreed: int
    not_sent: int = 0
    sent_later: int = 0
    sent_not_arrived: int = 0

    @property
    def share(self) -> float | None:
        return self.agreed / self.n if self.n else None


@dataclass(frozen=True, slots=True)
class Agreement:
    years: tuple[int, ...]
    outcomes: tuple[Outcome, ...]
    skipped: int  # incidents without a first engine on scene from a known station


def pool_of(jurisdiction: Jurisdiction, turnout: Mapping[str, int] | None = None) -> CandidatePool:
    """Every unit of the jurisdiction, free and in quarters (turnout: the station's
    measured one when given, else its policy's)."""
    candidates = []
    for station, unit in jurisdiction.units():
        seconds = (turnout or {}).get(station.id, jurisdiction.policy(station).turnout_seconds)
        candidates.append(
            Candidate(
                unit_id=unit.id,
                station_name=station.name,
                tier=station.tier.value,
                capabilities=frozenset(unit.capabilities),
                location=Point(station.location[0], station.location[1]),
                turnout_seconds=int(seconds),
            )
        )
    return CandidatePool(candidates)


class _Commitments:
    """When each unit was on an incident in the history: dispatch to available (or to
    on scene, or dispatch plus an hour, when later times are missing)."""

    def __init__(self, incidents: Iterable[HistoricalIncident]) -> None:
        spans: dict[str, list[tuple[int, int, str]]] = {}
        for incident in incidents:
            for u in incident.units:
                end = u.available_us or u.on_scene_us or u.dispatched_us + 3_600_000_000
                spans.setdefault(u.unit_id, []).append((u.dispatched_us, end, incident.incident_id))
        self.spans = {unit: sorted(s) for unit, s in spans.items()}
        self.starts = {unit: [s[0] for s in spans] for unit, spans in self.spans.items()}

    def busy(self, at_us: int, other_than: str) -> set[str]:
        out = set()
        for unit, spans in self.spans.items():
            i = bisect.bisect_right(self.starts[unit], at_us)
            for start, end, incident_id in spans[max(0, i - 3) : i]:
                if start <= at_us < end and incident_id != other_than:
                    out.add(unit)
        return out


def measure(
    incidents: Sequence[HistoricalIncident],
    jurisdiction: Jurisdiction,
    rankings: Sequence[Ranking],
    years: Iterable[int] | None = None,
) -> Agreement:
    """Each ranking's agreement with the real first engine on scene, over the incidents
    of ``years`` (all when None) that had one, from a station of the jurisdiction; and
    the first-due plan's."""
    wanted = set(years) if years is not None else None
    station_of = {unit.id: station.id for station, unit in jurisdiction.units()}
    commitments = _Commitments(incidents)
    pools = {r.name: pool_of(jurisdiction, r.turnout) for r in rankings}
    tallies = {r.name: Tally() for r in rankings}
    plan = Tally()
    skipped = 0
    seen_years: set[int] = set()
    for incident in incidents:
        year = moment(incident.received_us).year
        if wanted is not None and year not in wanted:
            continue
        real = incident.first_on_scene(ENGINE)
        if real is None or real.unit_id not in station_of:
            skipped += 1
            continue
        seen_years.add(year)
        truth = station_of[real.unit_id]
        plan.add(incident.station_area, truth, incident, station_of)
        at = (incident.latitude, incident.longitude)
        for r in rankings:
            busy = (
                commitments.busy(incident.received_us, incident.incident_id)
                if r.skip_busy
                else set()
            )
            rec = recommend(
                {ENGINE: 1},
                pools[r.name],
                at,
                r.travel,
                first_intervention_within=None,
                exclude=busy,
            )
            picked = station_of.get(rec.picks[0].unit_id, "") if rec.picks else ""
            tallies[r.name].add(picked, truth, incident, station_of)
    outcomes = [tallies[r.name].outcome(r.name) for r in rankings]
    outcomes.append(plan.outcome(PLAN))
    return Agreement(tuple(sorted(seen_years)), tuple(outcomes), skipped)


@dataclass
class Tally:
    """Agreements and the kinds of disagreement, counted one incident at a time."""

    n: int = 0
    agreed: int = 0
    not_sent: int = 0
    sent_later: int = 0
    sent_not_arrived: int = 0

    def add(
        self, picked: str, truth: str, incident: HistoricalIncident, station_of: Mapping[str, str]
    ) -> None:
        self.n += 1
        if picked == truth:
            self.agreed += 1
            return
        engines = [
            u for u in incident.with_capability(ENGINE) if station_of.get(u.unit_id) == picked
        ]
        if not engines:
            self.not_sent += 1
        elif any(u.on_scene_us is not None for u in engines):
            self.sent_later += 1
        else:
            self.sent_not_arrived += 1

    def outcome(self, name: str) -> Outcome:
        return Outcome(
            name, self.n, self.agreed, self.not_sent, self.sent_later, self.sent_not_arrived
        )
