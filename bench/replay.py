"""Replaying incidents into their state, and building after-action reports.

- ``large_incident``: one incident of 100,000 events (a long operation: dozens of units
  reporting their location every few seconds, status changes, notes), folded into its
  state in memory, and read back from a real incident-log store (SQLite, written by the
  same projection the service runs) then folded.
- ``city_day``: a day of the demo city (the call generator at its default rate, each
  incident played out with the events a real one leaves), every incident read back from
  the store and folded, as a day's after-action review would.
- ``report``: ``build_report`` + ``render_html`` for an incident of 2,000 events.

Events are synthetic but shaped as the services write them (envelopes with the real
payload types, sources, streams and versions).
"""

from __future__ import annotations

import logging
import random
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import text

from emergency.v1 import common_pb2, events_pb2
from services.common.config import DEMO_JURISDICTION
from services.common.database import create_store_engine
from services.common.enums import IncidentStatus
from services.common.envelope import micros
from services.common.jurisdiction import load_jurisdiction
from services.common.projection import ProjectionRunner
from services.incidents.read_models import IncidentLogProjection, IncidentLogReader
from services.incidents.report import build_report, render_html
from services.incidents.view import fold
from tools.callgen import CallGenerator, CallMix

log = logging.getLogger("bench.replay")
E = events_pb2.EventEnvelope
TIERS = [
    common_pb2.PROFESSIONAL,
    common_pb2.GOV_FULLTIME,
    common_pb2.VOLUNTEER,
    common_pb2.MICRO_STATION,
]
ARRIVAL = [common_pb2.EN_ROUTE, common_pb2.ON_SCENE]


class IncidentScript:
    """Writes one incident's events in order, with the sources, streams and versions the
    services would give them."""

    def __init__(
        self,
        incident_id: str,
        start_us: int,
        rng: random.Random,
        versions: dict[tuple[str, str], int] | None = None,
    ) -> None:
        """``versions``: the streams' versions so far, shared by the incidents of one day
        (a unit's stream goes on from one incident to the next)."""
        self.incident_id = incident_id
        self.at = start_us
        self.rng = rng
        self.versions: dict[tuple[str, str], int] = (
            versions if versions is not None else defaultdict(int)
        )
        self.events: list[E] = []

    def emit(self, source: str, stream: str, step_s: float, **payload: Any) -> None:
        self.at += int(step_s * 1e6)
        self.versions[(source, stream)] += 1
        envelope = E(
            event_id=uuid.uuid4().hex,
            stream_id=stream,
            stream_version=self.versions[(source, stream)],
            source=source,
            correlation_id=self.incident_id,
            actor=events_pb2.Actor(kind=events_pb2.Actor.SYSTEM, id="bench"),
            **payload,
        )
        envelope.occurred_at.FromMicroseconds(self.at)
        envelope.event_type = next(iter(payload.values())).DESCRIPTOR.name
        self.events.append(envelope)

    def open(self, incident_type: str, lat: float, lon: float) -> None:
        stream = f"incident-{self.incident_id}"
        where = common_pb2.GeoPoint(latitude=lat, longitude=lon)
        self.emit(
            "dispatch",
            stream,
            0,
            call_received=events_pb2.CallReceived(
                call_id=uuid.uuid4().hex,
                caller_number="13912345678",
                source=common_pb2.PHONE,
                location=where,
                incident_type=incident_type,
            ),
        )
        self.emit(
            "dispatch",
            stream,
            0.001,
            incident_created=events_pb2.IncidentCreated(
                incident_id=self.incident_id,
                incident_type=incident_type,
                location=where,
                alarm_level=1,
            ),
        )

    def send(self, unit_id: str, tier: common_pb2.Tier.ValueType, capability: str) -> None:
        incident, unit = f"incident-{self.incident_id}", f"unit-{unit_id}"
        i = self.incident_id
        self.emit(
            "dispatch",
            incident,
            self.rng.uniform(5, 40),
            unit_dispatched=events_pb2.UnitDispatched(
                incident_id=i, unit_id=unit_id, capability=capability
            ),
        )
        reserved = events_pb2.UnitReserved(unit_id=unit_id, incident_id=i)
        self.emit("units", unit, 0.01, unit_reserved=reserved)
        self.emit(
            "units",
            unit,
            0.05,
            unit_alerted=events_pb2.UnitAlerted(
                unit_id=unit_id, alert_id=uuid.uuid4().hex, incident_id=i, tier=tier
            ),
        )
        self.emit(
            "units",
            unit,
            self.rng.uniform(2, 60),
            alert_acknowledged=events_pb2.AlertAcknowledged(
                unit_id=unit_id, complete=True, responders=4
            ),
        )
        for status in ARRIVAL:
            self.emit(
                "units",
                unit,
                self.rng.uniform(30, 240),
                unit_status_changed=events_pb2.UnitStatusChanged(
                    unit_id=unit_id, to_status=status, incident_id=i
                ),
            )

    def locate(self, unit_id: str, lat: float, lon: float) -> None:
        self.emit(
            "units",
            f"unit-{unit_id}",
            self.rng.uniform(1, 5),
            unit_location_reported=events_pb2.UnitLocationReported(
                unit_id=unit_id, location=common_pb2.GeoPoint(latitude=lat, longitude=lon)
            ),
        )

    def note(self, text: str) -> None:
        self.emit(
            "incidents",
            f"notes-{self.incident_id}",
            30,
            commander_note_added=events_pb2.CommanderNoteAdded(
                incident_id=self.incident_id,
                note_id=uuid.uuid4().hex,
                kind="SITUATION_REPORT",
                text=text,
            ),
        )

    def close(self, units: list[str]) -> None:
        i = self.incident_id
        self.emit(
            "dispatch",
            f"incident-{i}",
            60,
            incident_closed=events_pb2.IncidentClosed(incident_id=i),
        )
        for unit_id in units:
            self.emit(
                "units",
                f"unit-{unit_id}",
                0.1,
                unit_released=events_pb2.UnitReleased(
                    unit_id=unit_id, incident_id=i, reason="incident closed"
                ),
            )


def incident(n_events: int, seed: int = 1, start_us: int = 1_790_000_000_000_000) -> list[E]:
    """One incident of about ``n_events`` events: units sent, then location reports and
    notes until the count, then the close."""
    rng = random.Random(seed)
    script = IncidentScript(uuid.UUID(int=rng.getrandbits(128)).hex, start_us, rng)
    script.open("high_rise_fire", 28.195, 112.978)
    units = [f"U-{n:03d}" for n in range(max(1, min(60, n_events // 200)))]
    for n, unit_id in enumerate(units):
        script.send(unit_id, TIERS[n % len(TIERS)], "engine")
    while len(script.events) < n_events - len(units) - 1:
        if rng.random() < 0.01:
            script.note("sitrep: interior attack continuing")
        else:
            script.locate(
                rng.choice(units),
                28.195 + rng.uniform(-0.01, 0.01),
                112.978 + rng.uniform(-0.01, 0.01),
            )
    script.close(units)
    return script.events


def city_day(seed: int = 7) -> Iterator[list[E]]:
    """Every incident of one day of the demo city, as the call generator makes them."""
    rng = random.Random(seed)
    generator = CallGenerator(load_jurisdiction(DEMO_JURISDICTION), CallMix(), seed)
    day_start = 1_790_000_000_000_000
    versions: dict[tuple[str, str], int] = defaultdict(int)
    for call in generator.calls(duration_seconds=86_400):
        if call.duplicate_of is not None:
            continue
        script = IncidentScript(
            uuid.UUID(int=rng.getrandbits(128)).hex,
            day_start + int(call.at_seconds * 1e6),
            rng,
            versions,
        )
        script.open(call.incident_type, call.latitude, call.longitude)
        units = [f"U-{rng.randrange(258):03d}" for _ in range(rng.randint(1, 6))]
        units = list(dict.fromkeys(units))
        for unit_id in units:
            script.send(unit_id, rng.choice(TIERS), "engine")
        for _ in range(rng.randint(5, 40)):
            script.locate(rng.choice(units), call.latitude, call.longitude)
        script.close(units)
        yield script.events


def _store(tmp: Path, incidents: list[list[E]]) -> IncidentLogReader:
    engine = create_store_engine(f"sqlite:///{tmp / 'incidents.db'}")
    reader = IncidentLogReader(engine)
    reader.create_schema()
    runner = ProjectionRunner(engine, IncidentLogProjection())
    runner.create_schema()
    for events in incidents:
        for at in range(0, len(events), PROJECTION_BATCH):
            runner.handle_batch(events[at : at + PROJECTION_BATCH])
    return reader


PROJECTION_BATCH = 500  # events per transaction, as the incidents service's agent takes them
PER_EVENT_SAMPLE = 2_000  # events fed one transaction each, for the comparison


def projection_throughput(day: list[list[E]], tmp: Path) -> dict[str, Any]:
    """The incident log's projection fed flat out: a city's day of events, interleaved
    across incidents in time order as the topics deliver them, in batches of
    ``PROJECTION_BATCH`` (one transaction each) into a fresh SQLite store; every event
    must be applied once, and feeding them all again must apply none. The first
    ``PER_EVENT_SAMPLE`` events are also fed one per transaction (how it ran before group
    commit) into another store."""
    events = _interleaved(day)
    engine = create_store_engine(f"sqlite:///{tmp / 'projection.db'}")
    runner = ProjectionRunner(engine, IncidentLogProjection())
    runner.create_schema()
    began = time.perf_counter()
    for at in range(0, len(events), PROJECTION_BATCH):
        runner.handle_batch(events[at : at + PROJECTION_BATCH])
    batched_seconds = time.perf_counter() - began
    applied = runner.applied
    began = time.perf_counter()
    for at in range(0, len(events), PROJECTION_BATCH):
        runner.handle_batch(events[at : at + PROJECTION_BATCH])
    again_seconds = time.perf_counter() - began
    with engine.connect() as conn:
        (entries,) = conn.execute(text("SELECT count(*) FROM incident_log_entries")).one()
    engine.dispose()
    single = create_store_engine(f"sqlite:///{tmp / 'projection-per-event.db'}")
    one_by_one = ProjectionRunner(single, IncidentLogProjection())
    one_by_one.create_schema()
    sample = events[:PER_EVENT_SAMPLE]
    began = time.perf_counter()
    for envelope in sample:
        one_by_one.handle(envelope)
    single_seconds = time.perf_counter() - began
    single.dispose()
    assert applied == len(events) == entries, (applied, len(events), entries)
    assert runner.duplicates == len(events)
    return {
        "events": len(events),
        "batch": PROJECTION_BATCH,
        "events_per_s": _rate(len(events), batched_seconds),
        "applied_once": applied == len(events) == entries,
        "fed_again_duplicates_skipped_events_per_s": _rate(len(events), again_seconds),
        "one_transaction_per_event_events_per_s": _rate(len(sample), single_seconds),
        "target_events_per_s": 20_000,
    }


def _interleaved(day: list[list[E]]) -> list[E]:
    """Every event of the day in time order across incidents, each stream's events still
    in version order (as a topic partition delivers them): an event is placed at the
    latest time of its stream so far."""
    streams: dict[tuple[str, str], list[E]] = defaultdict(list)
    for incident_events in day:
        for e in incident_events:
            streams[(e.source, e.stream_id)].append(e)
    keyed: list[tuple[int, int, E]] = []
    for stream_events in streams.values():
        latest = 0
        for e in sorted(stream_events, key=lambda e: e.stream_version):
            latest = max(latest, micros(e.occurred_at))
            keyed.append((latest, e.stream_version, e))
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [e for _at, _version, e in keyed]


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds)


def run() -> dict[str, Any]:
    result: dict[str, Any] = {}
    big = incident(100_000)
    timings = []
    for _ in range(5):
        began = time.perf_counter()
        state = fold(big)
        timings.append(time.perf_counter() - began)
    assert state.status is IncidentStatus.CLOSED and state.events_applied == len(big)
    with tempfile.TemporaryDirectory(prefix="uc-bench-replay-") as tmp:
        log.info("replay: writing a 100,000-event incident to a store")
        began = time.perf_counter()
        reader = _store(Path(tmp), [big])
        write_seconds = time.perf_counter() - began
        began = time.perf_counter()
        from_store = fold(reader.entries(big[0].correlation_id))
        store_seconds = time.perf_counter() - began
        assert from_store.events_applied == len(big)
    result["large_incident"] = {
        "events": len(big),
        "fold_in_memory_events_per_s": _rate(len(big), statistics.median(timings)),
        "read_from_store_and_fold_events_per_s": _rate(len(big), store_seconds),
        "target_events_per_s": 100_000,
        # the incident log's projection, in batches of PROJECTION_BATCH events
        "written_by_the_log_projection_events_per_s": _rate(len(big), write_seconds),
    }

    day = list(city_day())
    events = sum(len(i) for i in day)
    with tempfile.TemporaryDirectory(prefix="uc-bench-replay-") as tmp:
        log.info(
            "replay: writing a city day (%d incidents, %d events) to a store", len(day), events
        )
        reader = _store(Path(tmp), day)
        began = time.perf_counter()
        for incident_events in day:
            fold(reader.entries(incident_events[0].correlation_id))
        day_seconds = time.perf_counter() - began
        began = time.perf_counter()
        for incident_events in day:
            fold(incident_events)
        memory_seconds = time.perf_counter() - began
        log.info("replay: the incident log's projection fed flat out")
        result["projection"] = projection_throughput(day, Path(tmp))
    result["city_day"] = {
        "incidents": len(day),
        "events": events,
        "read_from_store_and_fold_events_per_s": _rate(events, day_seconds),
        "fold_in_memory_events_per_s": _rate(events, memory_seconds),
        "whole_day_seconds_from_store": round(day_seconds, 2),
    }

    report_incident = incident(2_000, seed=3)
    builds, renders = [], []
    for _ in range(10):
        began = time.perf_counter()
        figures = build_report(report_incident)
        built = time.perf_counter()
        html = render_html(figures)
        builds.append(built - began)
        renders.append(time.perf_counter() - built)
    result["report"] = {
        "events": len(report_incident),
        "units": len(figures.units),
        "build_ms_median": round(statistics.median(builds) * 1000, 1),
        "render_html_ms_median": round(statistics.median(renders) * 1000, 1),
        "html_kb": round(len(html.encode()) / 1024, 1),
    }
    return result
