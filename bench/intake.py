"""Intake to alert under load: calls arriving at a sustained rate, each taken, recommended
and dispatched as a call taker would, until the team's app has the alert.

The design's bar: "intake to alert delivered to the team p99 under 50 ms at 50 calls/s on
2 cores with Kafka in the loop", sustained for a minute, with nothing lost.

The whole system runs as processes on this machine, as `make run` starts it (embedded
broker; dispatch, units, incidents and the edge; SQLite stores), with the benchmark's
client as one more process on the same 2 cores. Every micro station of the demo city (80)
has a WatchAlerts stream open, as their apps would; each alert's arrival is stamped the
moment the stream hands it over.

The load is open-loop: calls are planned in advance (Poisson arrivals at ``RATE`` per
second with a fixed seed, or a constant gap) and each is started at its planned moment on
a worker thread, whatever happened to the calls before it; lateness of the scheduler is
measured and reported. A call: ``ReceiveCall`` at a point less than 300 m from a micro
station drawn at random (fixed seed; incident types drawn from the call generator's mix
of the types that want a first intervention), then ``RecommendUnits``, then
``DispatchUnit`` of the recommendation's ``first_intervention`` pick in that capability. If
another call took that unit between the recommendation and the dispatch, the call taker
asks again (at most ``DISPATCH_ATTEMPTS`` times; counted). No pick (every micro station
near is busy) is counted as "no unit free", not dropped. Once a call's alert has arrived,
the incident is cancelled (reason OTHER) so dispatch releases the unit for later calls.

Latency = the alert's arrival on the team's stream minus the moment ``ReceiveCall`` was
sent, both ``time.time()`` in this process. The report breaks it down into the three
RPCs' round trips and, from the stores' ``recorded_at``, into: sent -> UnitDispatched
committed by dispatch -> UnitAlerted committed by units (the Kafka hop) -> the stream.

A first call (not counted) waits for the units service's consumer to join its group;
then ``WARMUP_SECONDS`` at full rate (not counted), then ``SECONDS`` measured. Afterwards
every accepted incident's log in the incidents service is checked for IncidentCreated and
(when a unit was sent) UnitDispatched. Also reported: the CPU seconds each process (the
services, the broker, this client) used over the measured window, from /proc/<pid>/stat,
and how long the cancelled incidents' units took to be released (a unit not yet released
cannot be recommended: that is what makes a later call near it "no unit free").

``UC_BENCH_RATE``, ``UC_BENCH_SECONDS`` and ``UC_BENCH_ARRIVALS`` override the defaults,
e.g. ``UC_BENCH_SECONDS=10 .venv/bin/python -m bench intake`` for a quick run.
"""

from __future__ import annotations

import logging
import math
import os
import random
import re
import sqlite3
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import grpc

from bench.statistics import percentile, summary
from emergency.v1 import (
    common_pb2,
    dispatch_pb2,
    dispatch_pb2_grpc,
    incidents_pb2,
    incidents_pb2_grpc,
    units_pb2,
    units_pb2_grpc,
)
from services.common.config import DEMO_JURISDICTION
from services.common.geo import distance_km, offset_km
from services.common.jurisdiction import StationSpec, Tier, load_jurisdiction
from services.dispatch.recommend import FIRST_INTERVENTION
from services.dispatch.runcards import load_run_cards
from tools.broker import free_port
from tools.callgen import DEFAULT_TYPE_WEIGHTS
from tools.stack import Stack

log = logging.getLogger("bench.intake")

RATE = 50.0  # calls per second offered (UC_BENCH_RATE)
SECONDS = 60.0  # measured (UC_BENCH_SECONDS)
WARMUP_SECONDS = 5.0  # at full rate before the measured minute, not counted
ARRIVALS = "poisson"  # or "constant" (UC_BENCH_ARRIVALS)
SEED = 119
NEAR_M = 250.0  # calls fall uniformly in a disc of this radius around a micro station
DISPATCH_ATTEMPTS = 3  # recommend + dispatch again when another call took the unit
WORKERS = 256  # call threads: far more than ever needed at once (max in flight is reported)
CANCELLERS = 16
RPC_TIMEOUT = 10.0
FIRST_ALERT_TIMEOUT = 60.0  # the units consumer joins its group on the first call
DRAIN_SECONDS = 10.0  # after the last call, how long a missing alert is waited for
LOG_CHECK_SECONDS = 60.0  # how long the incident log may take to show every incident
RELEASE_WAIT_SECONDS = 30.0  # how long the last units may take to be released
LATE_MS = 10.0  # a call started this much after its planned moment counts as late
TARGET_P99_MS = 50.0
CALL_TAKER = (("authorization", "Bearer demo-ct-01"),)
WAITING = units_pb2.Alert.WAITING


def settings() -> tuple[float, float, str]:
    """Rate, measured seconds and arrival process, from the environment if set there."""
    rate = float(os.environ.get("UC_BENCH_RATE") or RATE)
    seconds = float(os.environ.get("UC_BENCH_SECONDS") or SECONDS)
    arrivals = os.environ.get("UC_BENCH_ARRIVALS") or ARRIVALS
    if not (0 < rate < math.inf and 0 < seconds < math.inf):
        raise ValueError(f"UC_BENCH_RATE and UC_BENCH_SECONDS must be positive: {rate}, {seconds}")
    if arrivals not in ("poisson", "constant"):
        raise ValueError(f"UC_BENCH_ARRIVALS must be poisson or constant, not {arrivals!r}")
    return rate, seconds, arrivals


# --- the plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedCall:
    n: int
    at: float  # seconds from the start of the load
    station_id: str
    incident_type: str
    latitude: float
    longitude: float
    distance_m: float  # from the station, by the system's own formula
    measured: bool  # False: warm-up


def plan(
    stations: list[StationSpec], rate: float, seconds: float, arrivals: str
) -> list[PlannedCall]:
    cards = load_run_cards()
    types = [
        t
        for t, w in DEFAULT_TYPE_WEIGHTS.items()
        if w > 0 and cards.incident_types[t].first_intervention
    ]
    weights = [DEFAULT_TYPE_WEIGHTS[t] for t in types]
    rng = random.Random(SEED)
    calls: list[PlannedCall] = []
    at, end = 0.0, WARMUP_SECONDS + seconds
    while True:
        at += rng.expovariate(rate) if arrivals == "poisson" else 1 / rate
        if at >= end:
            return calls
        station = rng.choice(stations)
        lat0, lon0 = station.location
        km = NEAR_M / 1000 * math.sqrt(rng.random())  # uniform in the disc
        bearing = rng.uniform(0, 2 * math.pi)
        lat, lon = offset_km((lat0, lon0), km * math.cos(bearing), km * math.sin(bearing))
        calls.append(
            PlannedCall(
                len(calls),
                at,
                station.id,
                rng.choices(types, weights)[0],
                lat,
                lon,
                distance_km((lat0, lon0), (lat, lon)) * 1000,
                at >= WARMUP_SECONDS,
            )
        )


# --- one call ---------------------------------------------------------------------------


@dataclass
class CallRecord:
    planned: PlannedCall
    scheduled: float = 0.0  # time.monotonic() it was planned for
    started: float = 0.0  # time.monotonic() its worker began
    sent_wall: float = 0.0  # time.time() ReceiveCall was sent
    incident_id: str = ""
    receive_ms: float = 0.0
    recommend_ms: list[float] = field(default_factory=list)
    dispatch_ms: list[float] = field(default_factory=list)
    unit_id: str = ""
    dispatched: bool = False
    pending: bool = False
    dispatched_wall: float = 0.0  # time.time() DispatchUnit returned
    races: int = 0
    no_unit: str = ""  # why the recommendation had no first-intervention pick
    error: str = ""
    alert_wall: float | None = None
    alert_id: str = ""
    extra_alerts: int = 0  # other alerts for the same incident
    redelivered: int = 0  # the same alert again
    cancel_ms: float | None = None
    cancel_error: str = ""
    alerted: threading.Event = field(default_factory=threading.Event)

    @property
    def accepted(self) -> bool:
        return bool(self.incident_id)

    @property
    def latency_ms(self) -> float:
        assert self.alert_wall is not None
        return (self.alert_wall - self.sent_wall) * 1000

    @property
    def dispatch_reply_to_alert_ms(self) -> float:
        assert self.alert_wall is not None
        return (self.alert_wall - self.dispatched_wall) * 1000


class Intake:
    def __init__(self, stack: Stack, teams: list[str]) -> None:
        self.channels = [grpc.insecure_channel(stack.address(s)) for s in ("dispatch", "units")]
        self.incidents_channel = grpc.insecure_channel(stack.address("incidents"))
        self.dispatch = dispatch_pb2_grpc.DispatchServiceStub(self.channels[0])
        self.units = units_pb2_grpc.UnitsServiceStub(self.channels[1])
        self.incidents = incidents_pb2_grpc.IncidentsServiceStub(self.incidents_channel)
        self.lock = threading.Lock()
        self.by_incident: dict[str, CallRecord] = {}
        self.unexpected_alerts = 0  # for an incident this benchmark did not open
        self.other_states: Counter[str] = Counter()  # alert updates that are not WAITING
        self.stream_errors: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.stopping = False
        self.cancellers = ThreadPoolExecutor(CANCELLERS, thread_name_prefix="cancel")
        self.streams = []
        for team in teams:
            call = self.units.WatchAlerts(
                units_pb2.WatchAlertsRequest(),
                metadata=(("authorization", f"Bearer demo-{team.lower()}"),),
            )
            self.streams.append(call)
            threading.Thread(target=self._read, args=(team, call), daemon=True).start()

    def close(self) -> None:
        self.stopping = True
        for call in self.streams:
            call.cancel()
        self.cancellers.shutdown(wait=True)
        for channel in [*self.channels, self.incidents_channel]:
            channel.close()

    # --- the teams' apps --------------------------------------------------------------

    def _read(self, team: str, call: Any) -> None:
        try:
            for alert in call:
                now = time.time()
                if alert.state != WAITING:
                    with self.lock:
                        self.other_states[units_pb2.Alert.State.Name(alert.state)] += 1
                    continue
                with self.lock:
                    record = self.by_incident.get(alert.incident_id)
                    if record is None:
                        self.unexpected_alerts += 1
                        continue
                    if record.alert_wall is not None:
                        if alert.alert_id == record.alert_id:
                            record.redelivered += 1
                        else:
                            record.extra_alerts += 1
                        continue
                    record.alert_wall, record.alert_id = now, alert.alert_id
                record.alerted.set()
                self._cancel_later(record)
        except grpc.RpcError as exc:
            if not self.stopping:
                self.stream_errors.append(f"{team}: {exc.code().name}")

    # --- the call taker ---------------------------------------------------------------

    def handle(self, record: CallRecord) -> None:
        record.started = time.monotonic()
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self._take(record)
        except grpc.RpcError as exc:
            record.error = f"{exc.code().name}: {exc.details()}"
        except Exception as exc:  # reported, never lost
            record.error = f"{type(exc).__name__}: {exc}"
        finally:
            with self.lock:
                self.in_flight -= 1

    def _take(self, record: CallRecord) -> None:
        p = record.planned
        record.sent_wall = time.time()
        t = time.perf_counter()
        reply = self.dispatch.ReceiveCall(
            dispatch_pb2.ReceiveCallRequest(
                request_id=str(uuid.uuid4()),
                caller_number=f"138{p.n:08d}",
                source=common_pb2.PHONE,
                incident_type=p.incident_type,
                location=common_pb2.GeoPoint(latitude=p.latitude, longitude=p.longitude),
                address=f"{p.distance_m:.0f} m from micro station {p.station_id}",
                description="benchmark call",
            ),
            metadata=CALL_TAKER,
            timeout=RPC_TIMEOUT,
        )
        record.receive_ms = (time.perf_counter() - t) * 1000
        with self.lock:
            record.incident_id = reply.incident_id
            self.by_incident[reply.incident_id] = record
        for attempt in range(1, DISPATCH_ATTEMPTS + 1):
            t = time.perf_counter()
            advice = self.dispatch.RecommendUnits(
                dispatch_pb2.RecommendUnitsRequest(incident_id=record.incident_id),
                metadata=CALL_TAKER,
                timeout=RPC_TIMEOUT,
            )
            record.recommend_ms.append((time.perf_counter() - t) * 1000)
            pick = next((x for x in advice.picks if x.capability == FIRST_INTERVENTION), None)
            if pick is None:
                record.no_unit = next(
                    (s.reason for s in advice.shortfalls if s.capability == FIRST_INTERVENTION),
                    "no first-intervention pick and no shortfall given",
                )
                self._cancel_later(record)
                return
            t = time.perf_counter()
            try:
                sent = self.dispatch.DispatchUnit(
                    dispatch_pb2.DispatchUnitRequest(
                        request_id=str(uuid.uuid4()),
                        incident_id=record.incident_id,
                        unit_id=pick.unit_id,
                        capability=pick.capability,
                        reason=pick.reason,
                    ),
                    metadata=CALL_TAKER,
                    timeout=RPC_TIMEOUT,
                )
            except grpc.RpcError as exc:
                record.dispatch_ms.append((time.perf_counter() - t) * 1000)
                code = exc.code()
                if code == grpc.StatusCode.FAILED_PRECONDITION and attempt < DISPATCH_ATTEMPTS:
                    record.races += 1  # taken by another call meanwhile: ask again
                    continue
                raise
            record.dispatch_ms.append((time.perf_counter() - t) * 1000)
            record.dispatched_wall = time.time()
            record.unit_id, record.pending, record.dispatched = pick.unit_id, sent.pending, True
            return

    def _cancel_later(self, record: CallRecord) -> None:
        try:
            self.cancellers.submit(self._cancel, record)
        except RuntimeError:  # shut down: the run is over, the stack goes with it
            record.cancel_error = "not cancelled: the run was over"

    def _cancel(self, record: CallRecord) -> None:
        t = time.perf_counter()
        try:
            self.dispatch.CancelIncident(
                dispatch_pb2.CancelIncidentRequest(
                    request_id=str(uuid.uuid4()),
                    incident_id=record.incident_id,
                    reason="OTHER",
                    note="benchmark",
                ),
                metadata=CALL_TAKER,
                timeout=RPC_TIMEOUT,
            )
            record.cancel_ms = (time.perf_counter() - t) * 1000
        except grpc.RpcError as exc:
            record.cancel_error = exc.code().name

    # --- the incident log -------------------------------------------------------------

    def log_types(self, incident_id: str) -> set[str] | None:
        """The event types in the incident's log; None while it is not there yet."""
        try:
            reply = self.incidents.GetIncidentLog(
                incidents_pb2.GetIncidentLogRequest(incident_id=incident_id),
                metadata=CALL_TAKER,
                timeout=RPC_TIMEOUT,
            )
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return {entry.event_type for entry in reply.entries}


# --- measuring ---------------------------------------------------------------------------


def run() -> dict[str, Any]:
    rate, seconds, arrivals = settings()
    jurisdiction = load_jurisdiction(DEMO_JURISDICTION)
    micro = [s for s in jurisdiction.stations if s.tier == Tier.MICRO_STATION]
    calls = plan(micro, rate, seconds, arrivals)
    with tempfile.TemporaryDirectory(prefix="uc-bench-") as tmp:
        stack = Stack(
            data_dir=Path(tmp),
            ports={name: free_port() for name in ("dispatch", "units", "incidents", "edge")},
            broker_port=free_port(),
            log_to_files=True,
            extra_env={
                "UC_LOG_FORMAT": "json",
                "UC_LOG_LEVEL": "WARNING",
                # SQLite files under the data dir, whatever the shell has set
                "DATABASE_URL": "",
                **{
                    f"UC_{s.upper()}_DATABASE_URL": ""
                    for s in ("dispatch", "units", "incidents", "edge")
                },
            },
        )
        log.info("intake: starting the stack in %s", tmp)
        stack.start()
        try:
            return _measure(stack, Path(tmp), [s.id for s in micro], calls, rate, seconds, arrivals)
        finally:
            stack.stop()


def _measure(
    stack: Stack,
    data_dir: Path,
    teams: list[str],
    calls: list[PlannedCall],
    rate: float,
    seconds: float,
    arrivals: str,
) -> dict[str, Any]:
    intake = Intake(stack, teams)
    pids = {name: process.pid for name, process in stack.processes.items()}
    if stack.broker is not None and stack.broker.process is not None:
        pids["broker"] = stack.broker.process.pid
    pids["bench_client"] = os.getpid()
    try:
        _prime(intake, calls[0])
        records = [CallRecord(c) for c in calls]
        cpu, schedule_end = _load(intake, records, pids, seconds)
        _drain(records, DRAIN_SECONDS)
        intake.cancellers.shutdown(wait=True)
        alive = {name: stack.processes[name].poll() is None for name in stack.processes}
        incident_log = _check_log(intake, records)
        measured = [r for r in records if r.planned.measured]
        path = _path_from_stores(data_dir, measured)
        path["release_ms"] = _releases_from_stores(data_dir, measured)
        timeouts = _count(data_dir / "units.db", "AlertTimedOut")
    finally:
        intake.close()
    return _report(
        records,
        intake,
        cpu,
        path,
        incident_log,
        timeouts,
        alive,
        rate=rate,
        seconds=seconds,
        arrivals=arrivals,
        teams=len(teams),
        schedule_end=schedule_end,
    )


def _prime(intake: Intake, like: PlannedCall) -> None:
    """One call end to end before the load: the units service's consumer joins its group
    on the first dispatch, and the incidents service its groups on the first events."""
    record = CallRecord(replace(like, n=-1, measured=False))
    intake.handle(record)
    if record.error or not record.dispatched:
        raise RuntimeError(f"the priming call failed: {record.error or record.no_unit}")
    if not record.alerted.wait(FIRST_ALERT_TIMEOUT):
        raise TimeoutError(f"no alert for the priming call in {FIRST_ALERT_TIMEOUT}s")
    deadline = time.monotonic() + FIRST_ALERT_TIMEOUT
    while True:
        try:
            if "UnitDispatched" in (intake.log_types(record.incident_id) or set()):
                break
        except grpc.RpcError as exc:
            # UNAVAILABLE: dispatch opened the incident and the log is catching up
            if exc.code() != grpc.StatusCode.UNAVAILABLE:
                raise
        if time.monotonic() > deadline:
            raise TimeoutError("the incident log did not show the priming call's dispatch")
        time.sleep(0.1)
    log.info("intake: primed (first alert after %.0f ms)", record.latency_ms)


def _load(
    intake: Intake, records: list[CallRecord], pids: dict[str, int], seconds: float
) -> tuple[dict[str, Any], float]:
    """Start every call at its planned moment; returns the CPU used by each process over
    the measured window, and the monotonic time the window ended."""
    workers = ThreadPoolExecutor(WORKERS, thread_name_prefix="call")
    start = time.monotonic() + 0.1
    window = (start + WARMUP_SECONDS, start + WARMUP_SECONDS + seconds)
    cpu_before: dict[str, float] | None = None
    next_progress = start + 10
    log.info(
        "intake: %d calls over %.0f s (%.0f s warm-up)",
        len(records),
        WARMUP_SECONDS + seconds,
        WARMUP_SECONDS,
    )
    try:
        for record in records:
            record.scheduled = start + record.planned.at
            if cpu_before is None and record.scheduled >= window[0]:
                _sleep_until(window[0])
                cpu_before = _cpu_seconds(pids)
            _sleep_until(record.scheduled)
            workers.submit(intake.handle, record)
            if record.scheduled >= next_progress:
                next_progress += 10
                with intake.lock:
                    alerted = sum(r.alert_wall is not None for r in intake.by_incident.values())
                log.info(
                    "intake: %5.1f s: %d calls started, %d alerts, %d in flight",
                    record.scheduled - start,
                    record.planned.n + 1,
                    alerted,
                    intake.in_flight,
                )
        if cpu_before is None:
            cpu_before = _cpu_seconds(pids)
        _sleep_until(window[1])
        cpu_after = _cpu_seconds(pids)
    except BaseException:
        workers.shutdown(wait=True, cancel_futures=True)
        raise
    workers.shutdown(wait=True)  # every call runs to its end; its RPCs have deadlines
    used = {name: cpu_after[name] - cpu_before[name] for name in cpu_after if name in cpu_before}
    services = sum(v for k, v in used.items() if k != "bench_client")
    return {
        "window_seconds": round(seconds, 1),
        "seconds": {name: round(v, 2) for name, v in used.items()},
        "percent_of_one_core": {name: round(v / seconds * 100, 1) for name, v in used.items()},
        "services_and_broker_percent_of_2_cores": round(services / seconds / 2 * 100, 1),
        "all_percent_of_2_cores": round(sum(used.values()) / seconds / 2 * 100, 1),
    }, window[1]


def _sleep_until(moment: float) -> None:
    while (left := moment - time.monotonic()) > 0:
        time.sleep(left)


def _cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU seconds of each process so far, from /proc/<pid>/stat."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for name, pid in pids.items():
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[name] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return out


def _drain(records: list[CallRecord], timeout: float) -> None:
    """Wait (bounded) for the alerts of every call that sent a unit."""
    deadline = time.monotonic() + timeout
    for record in records:
        if record.dispatched:
            record.alerted.wait(max(0.0, deadline - time.monotonic()))


def _check_log(intake: Intake, records: list[CallRecord]) -> dict[str, Any]:
    """Every accepted incident (warm-up included) is in the incident log with its
    IncidentCreated, and its UnitDispatched when a unit was sent: polled, bounded."""
    want = {
        r.incident_id: {"IncidentCreated", "UnitDispatched"}
        if r.dispatched
        else {"IncidentCreated"}
        for r in records
        if r.accepted
    }
    seen: dict[str, set[str]] = {}
    pending = set(want)
    started = time.monotonic()
    deadline = started + LOG_CHECK_SECONDS
    errors: Counter[str] = Counter()
    errors_lock = threading.Lock()

    def check(incident_id: str) -> tuple[str, set[str] | None]:
        try:
            return incident_id, intake.log_types(incident_id)
        except grpc.RpcError as exc:
            with errors_lock:
                errors[exc.code().name] += 1
            return incident_id, None

    with ThreadPoolExecutor(8, thread_name_prefix="log") as pool:
        while pending and time.monotonic() < deadline:
            for incident_id, types in pool.map(check, sorted(pending)):
                if types is not None:
                    seen[incident_id] = types
                    if want[incident_id] <= types:
                        pending.discard(incident_id)
            if pending:
                time.sleep(0.5)
    return {
        "incidents_checked": len(want),
        "complete": len(want) - len(pending),
        "missing_incident_created": sum(
            "IncidentCreated" not in seen.get(i, set()) for i in pending
        ),
        "missing_unit_dispatched": sum(
            "UnitDispatched" in want[i] and "UnitDispatched" not in seen.get(i, set())
            for i in pending
        ),
        "cancelled_in_log": sum("IncidentCancelled" in t for t in seen.values()),
        "seconds_to_check": round(time.monotonic() - started, 1),
        "errors": dict(errors),
    }


def _path_from_stores(data_dir: Path, records: list[CallRecord]) -> dict[str, Any]:
    """Where the time after ReceiveCall's sending goes, from the stores' recorded_at:
    dispatch's UnitDispatched (its id is the alert id) and units' UnitAlerted (caused by
    the request ``alert:<that id>``)."""
    dispatched = _recorded(data_dir / "dispatch.db", "UnitDispatched", "event_id")
    alerted = _recorded(data_dir / "units.db", "UnitAlerted", "causation_id")
    to_commit, kafka_hop, to_stream = [], [], []
    for r in records:
        if r.alert_wall is None or r.alert_id not in dispatched:
            continue
        committed = dispatched[r.alert_id]
        to_commit.append((committed - r.sent_wall) * 1000)
        units_commit = alerted.get(f"alert:{r.alert_id}")
        if units_commit is not None:
            kafka_hop.append((units_commit - committed) * 1000)
            to_stream.append((r.alert_wall - units_commit) * 1000)
    return {
        "sent_to_unit_dispatched_committed": summary(to_commit),
        "dispatch_commit_to_units_alert_committed": summary(kafka_hop),
        "units_commit_to_stream": summary(to_stream),
    }


def _releases_from_stores(data_dir: Path, records: list[CallRecord]) -> dict[str, Any]:
    """How long units stay taken: dispatch's IncidentCancelled -> units' UnitReleased
    (the request filler's asynchronous release), and UnitReserved -> UnitReleased, for the
    measured calls that sent a unit (both events carry the incident as correlation id)."""
    sent = {r.incident_id for r in records if r.dispatched}
    deadline = time.monotonic() + RELEASE_WAIT_SECONDS
    while True:  # the last releases may still be on their way
        released = _recorded(data_dir / "units.db", "UnitReleased", "correlation_id")
        if sent <= released.keys() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    cancelled = _recorded(data_dir / "dispatch.db", "IncidentCancelled", "correlation_id")
    reserved = _recorded(data_dir / "units.db", "UnitReserved", "correlation_id")
    after_cancel, held, unreleased = [], [], 0
    for r in records:
        if not r.dispatched:
            continue
        if r.incident_id not in released:
            unreleased += 1
            continue
        if r.incident_id in cancelled:
            after_cancel.append((released[r.incident_id] - cancelled[r.incident_id]) * 1000)
        if r.incident_id in reserved:
            held.append((released[r.incident_id] - reserved[r.incident_id]) * 1000)
    return {
        "cancel_committed_to_unit_released": summary(after_cancel),
        "unit_reserved_to_released": summary(held),
        "units_not_released_at_end": unreleased,
    }


def _recorded(db: Path, event_type: str, key: str) -> dict[str, float]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as store:
        rows = store.execute(
            f"SELECT {key}, recorded_at FROM events WHERE event_type = ?",
            (event_type,),
        ).fetchall()
    return {k: at / 1e6 for k, at in rows}


def _count(db: Path, event_type: str) -> int:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as store:
        (n,) = store.execute(
            "SELECT count(*) FROM events WHERE event_type = ?", (event_type,)
        ).fetchone()
    return int(n)


# --- the report ----------------------------------------------------------------------------


def _report(
    records: list[CallRecord],
    intake: Intake,
    cpu: dict[str, Any],
    path: dict[str, Any],
    incident_log: dict[str, Any],
    timeouts: int,
    alive: dict[str, bool],
    *,
    rate: float,
    seconds: float,
    arrivals: str,
    teams: int,
    schedule_end: float,
) -> dict[str, Any]:
    measured = [r for r in records if r.planned.measured]
    warmup = [r for r in records if not r.planned.measured]
    started = [r for r in measured if r.started]
    accepted = [r for r in measured if r.accepted]
    dispatched = [r for r in measured if r.dispatched]
    alerted = [r for r in dispatched if r.alert_wall is not None]
    latencies = [r.latency_ms for r in alerted]
    lags = [(r.started - r.scheduled) * 1000 for r in started]
    in_window = sum(r.started <= schedule_end for r in started)

    def each(pick: Callable[[CallRecord], Iterable[float]], of: list[CallRecord]) -> list[float]:
        return [v for r in of for v in pick(r)]

    p99 = percentile(latencies, 99) if latencies else math.inf
    return {
        "what": "ReceiveCall sent -> RecommendUnits -> DispatchUnit of the first-intervention "
        "pick -> alert received on the micro station's WatchAlerts stream, through Kafka "
        "(embedded broker), calls arriving open-loop; each incident cancelled once alerted",
        "load": {
            "arrivals": f"{arrivals} (seed {SEED})" if arrivals == "poisson" else arrivals,
            "rate_per_s": rate,
            "measured_seconds": seconds,
            "warmup_seconds": WARMUP_SECONDS,
            "teams_watching": teams,
            "call_radius_m_max": round(max(r.planned.distance_m for r in records), 1),
        },
        "calls": {
            "scheduled": len(measured),
            "started": len(started),
            "accepted": len(accepted),
            "dispatched": len(dispatched),
            "dispatched_pending": sum(r.pending for r in dispatched),
            "no_unit_free": sum(bool(r.no_unit) for r in measured),
            "no_unit_free_reasons": dict(
                Counter(re.sub(r" \(.*\)$", "", r.no_unit) for r in measured if r.no_unit)
            ),
            "no_unit_free_example": next((r.no_unit for r in measured if r.no_unit), ""),
            "dispatch_retried_after_unit_taken": sum(r.races for r in measured),
            "failed": dict(Counter(r.error.split(":")[0] for r in measured if r.error)),
            "failed_examples": sorted({r.error for r in measured if r.error})[:3],
        },
        "rate_per_s": {
            "offered": round(len(measured) / seconds, 2),
            "achieved": round(in_window / seconds, 2),
            "accepted": round(len(accepted) / seconds, 2),
        },
        "scheduler": {
            "start_lag_ms": summary(lags, (50, 99)),
            f"calls_started_over_{LATE_MS:.0f}ms_late": sum(lag > LATE_MS for lag in lags),
            "workers": WORKERS,
            "max_calls_in_flight": intake.max_in_flight,
        },
        "alerts": {
            "received": len(alerted),
            "missing": len(dispatched) - len(alerted),
            "incidents_alerted_twice": sum(r.extra_alerts > 0 for r in measured),
            "same_alert_delivered_twice": sum(r.redelivered for r in measured),
            "for_unknown_incidents": intake.unexpected_alerts,
            "updates_in_other_states": dict(intake.other_states),
            "stream_errors": intake.stream_errors[:5],
            "missing_within_s": DRAIN_SECONDS,
        },
        "latency_ms": summary(latencies),
        "target": {"p99_ms": TARGET_P99_MS, "met": p99 < TARGET_P99_MS},
        "steps_ms": {
            "receive_call": summary((r.receive_ms for r in accepted), (50, 99)),
            "recommend_units": summary(each(lambda r: r.recommend_ms, accepted), (50, 99)),
            "dispatch_unit": summary(each(lambda r: r.dispatch_ms, accepted), (50, 99)),
            "dispatch_reply_to_alert": summary(
                (r.dispatch_reply_to_alert_ms for r in alerted), (50, 99)
            ),
            "cancel_incident": summary(
                (r.cancel_ms for r in measured if r.cancel_ms is not None), (50, 99)
            ),
            "cancel_failed": sum(bool(r.cancel_error) for r in measured),
        },
        "path_ms": path,
        "latency_from_planned_moment_ms": summary(
            (r.latency_ms + (r.started - r.scheduled) * 1000 for r in alerted), (50, 99)
        ),
        "cpu": cpu,
        "incident_log": incident_log,
        "warmup": {
            "calls": len(warmup),
            "dispatched": sum(r.dispatched for r in warmup),
            "missing_alerts": sum(r.dispatched and r.alert_wall is None for r in warmup),
            "duplicate_alerts": sum(r.extra_alerts + r.redelivered for r in warmup),
        },
        "units_alert_timeouts": timeouts,
        "services_alive_at_end": alive,
    }
