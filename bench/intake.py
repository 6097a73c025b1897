"""Intake to alert under load: calls arriving at a sustained rate, each taken, recommended
and dispatched as a call taker would, until the team's app has the alert; and what each
call costs in CPU.

The design's bar: "intake to alert delivered to the team p99 under 50 ms at 50 calls/s on
2 cores with Kafka in the loop", sustained for a minute, with nothing lost. Issue 13's:
at most 15 ms of CPU per call, every process of the stack (the broker included).

The whole system runs as processes on this machine, as `make run` starts it (embedded
broker; dispatch, units, incidents and the edge; SQLite stores, or PostgreSQL with
``UC_BENCH_POSTGRES_URL``; ``UC_BENCH_REPLICAS=2`` runs dispatch, units and incidents
twice), with the benchmark's client as one more process on the same 2 cores. Every micro
station of the demo city (80) has a WatchAlerts stream open, as their apps would; each
alert's arrival is stamped the moment the stream hands it over.

**The bench city**: the demo city with ``EXTRA_UNITS`` more first-intervention vehicles at
each micro station (10 each instead of 2), and calls spread over the stations in rounds
(each station once per round, in a new random order each round, see ``load.plan``). At
50 calls/s a station gets a call every 1.6 s on average and a vehicle every 16 s, far
longer than an alerted incident takes to be cancelled and its unit released, so every
call finds a free unit within 3 minutes: the benchmark measures the system, not a
shortage (``no_unit_free`` in the report says if that ever failed).

The load (``load.py``) is open-loop: calls are planned in advance (Poisson arrivals at
``RATE`` per second with a fixed seed, or a constant gap) and each is started at its
planned moment on a worker thread, whatever happened to the calls before it; lateness of
the scheduler is measured and reported. A call: ``ReceiveCall`` at a point less than
250 m from the station, then ``RecommendUnits``, then ``DispatchUnit`` of the
recommendation's ``first_intervention`` pick. If another call took that unit between the
recommendation and the dispatch, the call taker asks again (counted). Once a call's
alert has arrived, the incident is cancelled (reason OTHER) so dispatch releases the unit.

Latency = the alert's arrival on the team's stream minus the moment ``ReceiveCall`` was
sent, both ``time.time()`` in this process. The report breaks it down into the three
RPCs' round trips and, from the stores' ``recorded_at``, into: sent -> UnitDispatched
committed by dispatch -> UnitAlerted committed by units (the Kafka hop) -> the stream.

Cost (``probes.py``): the CPU seconds (user + system, ``/proc/<pid>/stat``) each process
used from the start of the warm-up until the stores and the incident log stopped growing
after the load (a process that fell behind is charged for the work it did late), divided
by the calls of the load (warm-up and measured), per process and in total (the services
and the broker; the benchmark's client shown apart); the same over ``IDLE_SECONDS`` with
no calls (what the stack burns waiting: polling consumers, lease and health loops), so
the cost of a call above idle is shown too; and the events written per call (every
store, and the incident log's entries), counted from the stores.

For each load: a fresh stack; a first call (not counted) waits for the consumers to join
their groups; ``IDLE_SECONDS`` idle; ``WARMUP_SECONDS`` at full rate (not counted);
``SECONDS`` measured. Afterwards every accepted incident's log in the incidents service
is checked for IncidentCreated and (when a unit was sent) UnitDispatched.

``UC_BENCH_RATES`` (default ``10,20,50``; ``UC_BENCH_RATE`` for one), ``UC_BENCH_SECONDS``
and ``UC_BENCH_ARRIVALS`` override the defaults, e.g.
``UC_BENCH_RATE=10 UC_BENCH_SECONDS=20 .venv/bin/python -m bench intake`` for a quick run.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, make_url, text

from bench import load
from bench.load import (
    CallRecord,
    Intake,
    PlannedCall,
    drain,
    plan,
    prime,
    run_load,
    sleep_until,
)
from bench.probes import (
    Stores,
    check_log,
    cost_per_call,
    count_events,
    cpu_seconds,
    events_in_stores,
    path_from_stores,
    releases_from_stores,
)
from bench.statistics import percentile, summary
from services.common.config import DEMO_JURISDICTION
from services.common.jurisdiction import Tier, load_jurisdiction
from tools.broker import free_port
from tools.stack import Stack

log = logging.getLogger("bench.intake")

RATES = (10.0, 20.0, 50.0)  # calls per second offered, one run each (UC_BENCH_RATES)
SECONDS = 60.0  # measured (UC_BENCH_SECONDS)
ARRIVALS = "poisson"  # or "constant" (UC_BENCH_ARRIVALS)
IDLE_SECONDS = 10.0  # the stack's CPU with no calls, measured before the load
EXTRA_UNITS = 8  # more first-intervention vehicles at each micro station of the bench city
DRAIN_SECONDS = 10.0  # after the last call, how long a missing alert is waited for
SETTLE_SECONDS = 120.0  # after the load, how long the stores may take to stop growing
LATE_MS = 10.0  # a call started this much after its planned moment counts as late
TARGET_P99_MS = 50.0
TARGET_CPU_MS_PER_CALL = 15.0
SERVICES = ("dispatch", "units", "incidents", "edge")
REPLICATED = ("dispatch", "units", "incidents")  # the services UC_BENCH_REPLICAS applies to


def settings() -> tuple[list[float], float, str]:
    """Rates, measured seconds and arrival process, from the environment if set there."""
    one = os.environ.get("UC_BENCH_RATE")
    listed = os.environ.get("UC_BENCH_RATES")
    rates = [float(one)] if one else [float(r) for r in listed.split(",")] if listed else [*RATES]
    seconds = float(os.environ.get("UC_BENCH_SECONDS") or SECONDS)
    arrivals = os.environ.get("UC_BENCH_ARRIVALS") or ARRIVALS
    if not all(0 < r < math.inf for r in rates) or not 0 < seconds < math.inf:
        raise ValueError(f"UC_BENCH_RATE(S) and UC_BENCH_SECONDS must be positive: {rates}")
    if arrivals not in ("poisson", "constant"):
        raise ValueError(f"UC_BENCH_ARRIVALS must be poisson or constant, not {arrivals!r}")
    return rates, seconds, arrivals


def bench_city(path: Path) -> Path:
    """Write the bench city (see the module's docstring) to ``path``."""
    city = yaml.safe_load(DEMO_JURISDICTION.read_text(encoding="utf-8"))
    for station in city["stations"]:
        if station["tier"] == Tier.MICRO_STATION.value:
            station["units"] = [
                *station["units"],
                *(
                    {
                        "id": f"{station['id']}-B{k}",
                        "name": f"Bench first-intervention vehicle {k}",
                        "capabilities": ["first_intervention"],
                    }
                    for k in range(1, EXTRA_UNITS + 1)
                ),
            ]
    path.write_text(yaml.safe_dump(city, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --- measuring ---------------------------------------------------------------------------


def run() -> dict[str, Any]:
    """Every load of ``settings()``, each on a fresh stack; the table of all of them."""
    rates, seconds, arrivals = settings()
    replicas = int(os.environ.get("UC_BENCH_REPLICAS") or 1)
    postgres_url = os.environ.get("UC_BENCH_POSTGRES_URL") or None
    loads = {
        f"{rate:g}_per_s": run_one(rate, seconds, arrivals, replicas, postgres_url)
        for rate in rates
    }
    table = {name: _headline(report) for name, report in loads.items()}
    for name, row in table.items():
        log.info("intake %s: %s", name, row)
    return {
        "stack": {
            "replicas": {s: replicas if s in REPLICATED else 1 for s in SERVICES},
            "stores": "PostgreSQL" if postgres_url else "SQLite",
        },
        "table": table,
        "loads": loads,
    }


def run_one(
    rate: float, seconds: float, arrivals: str, replicas: int = 1, postgres_url: str | None = None
) -> dict[str, Any]:
    jurisdiction = load_jurisdiction(DEMO_JURISDICTION)
    micro = [s for s in jurisdiction.stations if s.tier == Tier.MICRO_STATION]
    calls = plan(micro, rate, seconds, arrivals)
    with tempfile.TemporaryDirectory(prefix="uc-bench-") as tmp:
        city = bench_city(Path(tmp) / "bench-city.yaml")
        load_jurisdiction(city)  # fails here, not in every service, if it is not valid
        processes = [
            name
            for service in SERVICES
            for name in (
                [service]
                if service not in REPLICATED
                else [service, *(f"{service}.{n}" for n in range(2, replicas + 1))]
            )
        ]
        database = _throwaway_database(postgres_url) if postgres_url else None
        stack = Stack(
            data_dir=Path(tmp) / "var",
            ports={name: free_port() for name in processes},
            broker_port=free_port(),
            log_to_files=True,
            extra_env={
                "UC_LOG_FORMAT": "json",
                "UC_LOG_LEVEL": "WARNING",
                "UC_JURISDICTION_FILE": str(city),
                # SQLite files under the data dir unless PostgreSQL is asked for
                "DATABASE_URL": database or "",
                **{f"UC_{s.upper()}_DATABASE_URL": "" for s in SERVICES},
            },
        )
        log.info("intake: %g calls/s; starting the stack in %s", rate, tmp)
        stores = Stores(stack.data_dir, database)
        try:
            stack.start()
            report = _measure(stack, stores, [s.id for s in micro], calls, rate, seconds, arrivals)
        finally:
            stores.close()
            stack.stop()
            if database:
                _drop_database(database)
        report["service_errors"] = _errors_logged(stack.data_dir)
        return report


def _throwaway_database(server_url: str) -> str:
    """A new database on the server of ``server_url`` for this run (dropped after it):
    the server may be shared, and its other databases are not ours to change."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"uc_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _errors_logged(data_dir: Path, most: int = 3) -> dict[str, list[str]]:
    """The first error lines each process logged (JSON lines at level error; the end of
    each, where the exception is), so a failed call's cause is in the report after the
    run's directory is gone."""
    found: dict[str, list[str]] = {}
    for path in sorted(data_dir.glob("*.log")):
        lines = [
            line[-1500:]  # the end: the exception and its message
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
            if '"level": "error"' in line or "Traceback" in line
        ]
        if lines:
            found[path.stem] = lines[:most]
    return found


def _measure(
    stack: Stack,
    stores: Stores,
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
        events_before = events_in_stores(stores)
        prime(intake, calls[0])
        idle = _idle(pids)
        records = [CallRecord(c) for c in calls]
        load_began, cpu_began = time.monotonic(), cpu_seconds(pids)
        cpu, schedule_end = run_load(intake, records, pids, seconds)
        drain(records, DRAIN_SECONDS)
        intake.cancellers.shutdown(wait=True)
        settled = _settle(stores)
        cpu_whole = _used(cpu_began, cpu_seconds(pids), time.monotonic() - load_began)
        cpu_whole["settled_seconds"] = settled
        alive = {name: stack.processes[name].poll() is None for name in stack.processes}
        incident_log = check_log(intake, records)
        measured = [r for r in records if r.planned.measured]
        path = path_from_stores(stores, measured)
        path["release_ms"] = releases_from_stores(stores, measured)
        timeouts = count_events(stores, "units", "AlertTimedOut")
        events_after = events_in_stores(stores)
    finally:
        intake.close()
    accepted_all = 1 + sum(r.accepted for r in records)  # the priming call, warm-up, measured
    written = {k: events_after[k] - events_before.get(k, 0) for k in events_after}
    events = {
        "per_call": {k: round(v / accepted_all, 2) for k, v in written.items()},
        "store_events_per_call": round(
            sum(v for k, v in written.items() if k != "incident_log_entries") / accepted_all, 2
        ),
        "calls": accepted_all,
    }
    return _report(
        records,
        intake,
        cpu,
        cpu_whole,
        idle,
        events,
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


def _settle(stores: Stores) -> float:
    """Wait until the stores and the incident log stop growing (every process has done
    the work the calls gave it: a process that fell behind during the load does it
    now); returns how long that took, in seconds."""
    began = time.monotonic()
    last = events_in_stores(stores)
    quiet = 0
    while quiet < 3 and time.monotonic() - began < SETTLE_SECONDS:
        time.sleep(0.5)
        now = events_in_stores(stores)
        quiet = quiet + 1 if now == last else 0
        last = now
    return round(time.monotonic() - began, 1)


def _used(before: dict[str, float], after: dict[str, float], elapsed: float) -> dict[str, Any]:
    return {
        "elapsed_seconds": round(elapsed, 1),
        "seconds": {n: round(after[n] - before[n], 2) for n in after if n in before},
    }


def _idle(pids: dict[str, int]) -> dict[str, Any]:
    """CPU each process uses with no calls, over ``IDLE_SECONDS``: ms per second."""
    before = cpu_seconds(pids)
    started = time.monotonic()
    sleep_until(started + IDLE_SECONDS)
    after = cpu_seconds(pids)
    elapsed = time.monotonic() - started
    used = {name: after[name] - before[name] for name in after if name in before}
    return {
        "seconds": round(elapsed, 1),
        "cpu_ms_per_s": {name: round(v / elapsed * 1000, 1) for name, v in used.items()},
    }


# --- the report ----------------------------------------------------------------------------


def _report(
    records: list[CallRecord],
    intake: Intake,
    cpu: dict[str, Any],
    cpu_whole: dict[str, Any],
    idle: dict[str, Any],
    events: dict[str, Any],
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
    # Cost: the CPU from the start of the warm-up until the stores stopped growing
    # after the load (so a process that fell behind is charged for its work), over every
    # call of the load (warm-up and measured).
    used: dict[str, float] = cpu_whole["seconds"]
    handled = sum(bool(r.started) for r in records)
    per_call = cost_per_call(used, handled)
    idle_rate: dict[str, float] = idle["cpu_ms_per_s"]
    elapsed = cpu_whole["elapsed_seconds"]
    marginal = cost_per_call(
        {n: max(0.0, v - idle_rate.get(n, 0.0) / 1000 * elapsed) for n, v in used.items()},
        handled,
    )
    return {
        "what": "ReceiveCall sent -> RecommendUnits -> DispatchUnit of the first-intervention "
        "pick -> alert received on the micro station's WatchAlerts stream, through Kafka "
        "(embedded broker), calls arriving open-loop; each incident cancelled once alerted",
        "load": {
            "arrivals": f"{arrivals} (seed {load.SEED})" if arrivals == "poisson" else arrivals,
            "rate_per_s": rate,
            "measured_seconds": seconds,
            "warmup_seconds": load.WARMUP_SECONDS,
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
            "workers": load.WORKERS,
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
        "cost": {
            "calls": handled,
            "cpu_seconds": cpu_whole,
            "cpu_ms_per_call": per_call,
            "target_cpu_ms_per_call": TARGET_CPU_MS_PER_CALL,
            "met": per_call.get("total", math.inf) <= TARGET_CPU_MS_PER_CALL,
            "idle_cpu_ms_per_s": idle_rate,
            "cpu_ms_per_call_above_idle": marginal,
            "events_written": events,
        },
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


def _headline(report: dict[str, Any]) -> dict[str, Any]:
    """One row of the table: the load, what happened to the calls, latency, cost."""
    latency = report["latency_ms"]
    return {
        "calls": report["calls"]["started"],
        "alerted": report["alerts"]["received"],
        "no_unit_free": report["calls"]["no_unit_free"],
        "lost": report["alerts"]["missing"]
        + report["incident_log"]["incidents_checked"]
        - report["incident_log"]["complete"],
        "alerted_twice": report["alerts"]["incidents_alerted_twice"],
        **{k: latency.get(k) for k in ("p50", "p90", "p99", "max")},
        "cpu_ms_per_call": report["cost"]["cpu_ms_per_call"],
        "events_per_call": report["cost"]["events_written"]["store_events_per_call"],
        "cpu_percent_of_2_cores": report["cpu"]["all_percent_of_2_cores"],
    }
