"""The intake benchmark's load: the plan of calls, the call taker's client that takes
each call (``ReceiveCall``, ``RecommendUnits``, ``DispatchUnit``), the teams' apps that
receive the alerts, and the open-loop scheduler that starts each call at its planned
moment. What is measured from the outside (CPU, the stores) is in ``probes.py``; the
summaries in ``statistics.py``."""

from __future__ import annotations

import logging
import math
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import grpc

from bench.probes import cpu_seconds
from emergency.v1 import (
    common_pb2,
    dispatch_pb2,
    dispatch_pb2_grpc,
    incidents_pb2,
    incidents_pb2_grpc,
    units_pb2,
    units_pb2_grpc,
)
from services.common.geo import distance_km, offset_km
from services.common.jurisdiction import StationSpec
from services.dispatch.recommend import FIRST_INTERVENTION
from services.dispatch.runcards import load_run_cards
from tools.callgen import DEFAULT_TYPE_WEIGHTS
from tools.stack import Stack

log = logging.getLogger("bench.intake")

WARMUP_SECONDS = 5.0  # at full rate before the measured minute, not counted
SEED = 119
NEAR_M = 250.0  # calls fall uniformly in a disc of this radius around a micro station
DISPATCH_ATTEMPTS = 3  # recommend + dispatch again when another call took the unit
WORKERS = 256  # call threads: far more than ever needed at once (max in flight is reported)
CANCELLERS = 16
RPC_TIMEOUT = 10.0
FIRST_ALERT_TIMEOUT = 60.0  # the units consumer joins its group on the first call
PRIME_ATTEMPTS = 5
CALL_TAKER = (("authorization", "Bearer demo-ct-01"),)
WAITING = units_pb2.Alert.WAITING


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
    """Calls at ``rate`` per second over the warm-up and ``seconds``, each near a micro
    station: the stations are taken in rounds (each once per round, shuffled), so a
    station gets a call every ``len(stations) / rate`` seconds on average (1.6 s at 50
    calls/s with 80 stations) and never two in a row."""
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
    rounds: list[StationSpec] = []
    while True:
        at += rng.expovariate(rate) if arrivals == "poisson" else 1 / rate
        if at >= end:
            return calls
        if not rounds:  # every station once per round, in a new random order each round
            rounds = rng.sample(stations, len(stations))
        station = rounds.pop()
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
        # One channel per replica; calls go round-robin over them, as the services' own
        # clients spread theirs, and the teams' streams are spread over the units replicas.
        dispatch = [grpc.insecure_channel(stack.address(p)) for p in stack.replicas("dispatch")]
        units = [grpc.insecure_channel(stack.address(p)) for p in stack.replicas("units")]
        self.channels = [*dispatch, *units]
        self.incidents_channel = grpc.insecure_channel(stack.address("incidents"))
        self.dispatchers = [dispatch_pb2_grpc.DispatchServiceStub(c) for c in dispatch]
        self.units_replicas = [units_pb2_grpc.UnitsServiceStub(c) for c in units]
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
        for n, team in enumerate(teams):
            call = self.units_replicas[n % len(self.units_replicas)].WatchAlerts(
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

    def _dispatch(self, n: int) -> dispatch_pb2_grpc.DispatchServiceStub:
        return self.dispatchers[n % len(self.dispatchers)]

    def _take(self, record: CallRecord) -> None:
        p = record.planned
        record.sent_wall = time.time()
        t = time.perf_counter()
        reply = self._dispatch(p.n).ReceiveCall(
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
            advice = self._dispatch(p.n + 1).RecommendUnits(
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
                sent = self._dispatch(p.n + 2).DispatchUnit(
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
            self._dispatch(record.planned.n + 3).CancelIncident(
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


def prime(intake: Intake, like: PlannedCall) -> None:
    """One call end to end before the load: the units service's consumer joins its group
    on the first dispatch, and the incidents service its groups on the first events."""
    for attempt in range(PRIME_ATTEMPTS):  # a service just started may not answer yet
        record = CallRecord(replace(like, n=-1 - attempt, measured=False))
        intake.handle(record)
        if not record.error.startswith("UNAVAILABLE"):
            break
        log.info("intake: priming call: %s; again", record.error)
        time.sleep(2.0)
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


def run_load(
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
                sleep_until(window[0])
                cpu_before = cpu_seconds(pids)
            sleep_until(record.scheduled)
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
            cpu_before = cpu_seconds(pids)
        sleep_until(window[1])
        cpu_after = cpu_seconds(pids)
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


def sleep_until(moment: float) -> None:
    while (left := moment - time.monotonic()) > 0:
        time.sleep(left)


def drain(records: list[CallRecord], timeout: float) -> None:
    """Wait (bounded) for the alerts of every call that sent a unit."""
    deadline = time.monotonic() + timeout
    for record in records:
        if record.dispatched:
            record.alerted.wait(max(0.0, deadline - time.monotonic()))
