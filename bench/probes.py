"""What the intake benchmark reads from outside the calls: the CPU each process used
(``/proc/<pid>/stat``), the events the stores hold and when they were recorded, and the
incident log's completeness. Summaries go through ``statistics.py``."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from bench.statistics import summary

LOG_CHECK_SECONDS = 60.0  # how long the incident log may take to show every incident
RELEASE_WAIT_SECONDS = 30.0  # how long the last units may take to be released
STORES = ("dispatch", "units", "incidents")  # the services whose stores are counted


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
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


def check_log(intake: Any, records: list[Any]) -> dict[str, Any]:
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


def path_from_stores(stores: Stores, records: list[Any]) -> dict[str, Any]:
    """Where the time after ReceiveCall's sending goes, from the stores' recorded_at:
    dispatch's UnitDispatched (its id is the alert id) and units' UnitAlerted (caused by
    the request ``alert:<that id>``)."""
    dispatched = recorded(stores, "dispatch", "UnitDispatched", "event_id")
    alerted = recorded(stores, "units", "UnitAlerted", "causation_id")
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


def releases_from_stores(stores: Stores, records: list[Any]) -> dict[str, Any]:
    """How long units stay taken: dispatch's IncidentCancelled -> units' UnitReleased
    (the request filler's asynchronous release), and UnitReserved -> UnitReleased, for the
    measured calls that sent a unit (both events carry the incident as correlation id)."""
    sent = {r.incident_id for r in records if r.dispatched}
    deadline = time.monotonic() + RELEASE_WAIT_SECONDS
    while True:  # the last releases may still be on their way
        released = recorded(stores, "units", "UnitReleased", "correlation_id")
        if sent <= released.keys() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    cancelled = recorded(stores, "dispatch", "IncidentCancelled", "correlation_id")
    reserved = recorded(stores, "units", "UnitReserved", "correlation_id")
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


class Stores:
    """The services' stores, read directly: SQLite files ``<service>.db`` under the data
    dir, or, with ``postgres_url``, one schema per service in that database."""

    def __init__(self, data_dir: Path, postgres_url: str | None = None) -> None:
        self.data_dir = data_dir
        self.postgres_url = postgres_url
        self._engines: dict[str, Engine] = {}

    def rows(self, store: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """The rows of ``sql`` (parameters as ``:name``) in ``store``'s database."""
        engine = self._engines.get(store)
        if engine is None:
            url = self.postgres_url or f"sqlite:///{self.data_dir / f'{store}.db'}"
            engine = self._engines[store] = create_engine(url, poolclass=NullPool)
        with engine.connect() as conn:
            if self.postgres_url:
                conn.execute(text(f'SET search_path TO "{store}"'))
            return [tuple(row) for row in conn.execute(text(sql), params)]

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()


def recorded(stores: Stores, store: str, event_type: str, key: str) -> dict[str, float]:
    """``key`` column -> recorded_at (seconds since the epoch) of ``event_type`` events."""
    rows = stores.rows(
        store, f"SELECT {key}, recorded_at FROM events WHERE event_type = :t", t=event_type
    )
    return {k: at / 1e6 for k, at in rows}


def count_events(stores: Stores, store: str, event_type: str) -> int:
    rows = stores.rows(store, "SELECT count(*) FROM events WHERE event_type = :t", t=event_type)
    return int(rows[0][0])


def events_in_stores(stores: Stores) -> dict[str, int]:
    """How many events each service's store holds, and how many entries the incident
    log has (the incidents service's projection of every incident's events)."""
    out = {name: int(stores.rows(name, "SELECT count(*) FROM events")[0][0]) for name in STORES}
    out["incident_log_entries"] = int(
        stores.rows("incidents", "SELECT count(*) FROM incident_log_entries")[0][0]
    )
    return out


def cost_per_call(cpu_seconds: dict[str, float], calls: int) -> dict[str, float]:
    """CPU milliseconds per call handled, per process and in total (the stack's processes
    and the broker; the benchmark's own client is reported but not in the total)."""
    if calls <= 0:
        return {}
    out = {name: round(used / calls * 1000, 2) for name, used in cpu_seconds.items()}
    out["total"] = round(
        sum(v for name, v in cpu_seconds.items() if name != "bench_client") / calls * 1000, 2
    )
    return out
