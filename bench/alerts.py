"""Alert delivery: from a dispatch being stored to the team's app receiving the alert.

The whole system runs as processes (broker, dispatch, units, incidents; SQLite stores),
as `make run` starts it. Every volunteer team and micro station of the demo city has a
WatchAlerts stream open, as their apps would. Each sample takes a call, dispatches one
team's unit, and waits for the alert on that team's stream; the call taker then cancels
the incident (reason OTHER), and dispatch's request filler releases the unit on its own, a
moment later. (Declining would free the unit too, but dispatch now re-dispatches after a
decline: every sample would send a second unit and use up the city.) The teams take
turns, so a unit comes round again only after every other team has had a sample; if its
release has not landed by then, the sample waits (outside the measurement) until the
units service shows the unit AVAILABLE again.

Latency = the moment the stream hands the alert to the app, minus ``recorded_at`` of the
``UnitDispatched`` event in dispatch's store (the alert id is that event's id). Both
clocks are this machine's. The path: dispatch's commit -> its relay (woken in-process) ->
Kafka -> the units service's consumer -> the units store -> the team's stream.
"""

from __future__ import annotations

import logging
import sqlite3
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import grpc

from bench.statistics import percentile
from emergency.v1 import (
    common_pb2,
    dispatch_pb2,
    dispatch_pb2_grpc,
    units_pb2,
    units_pb2_grpc,
)
from services.common.config import DEMO_JURISDICTION
from services.common.jurisdiction import Tier, load_jurisdiction
from tools.broker import free_port
from tools.stack import Stack

log = logging.getLogger("bench.alerts")
SAMPLES = 300
WARMUP = 10
CALL_TAKER = (("authorization", "Bearer demo-ct-01"),)
ADMIN = (("authorization", "Bearer demo-admin-01"),)
RELEASE_WAIT = 10.0  # seconds a unit may take to be AVAILABLE again after the cancel


class TeamApps:
    """One WatchAlerts stream per team; records when each alert first arrives."""

    def __init__(self, channel: grpc.Channel, teams: list[str]) -> None:
        self.stub = units_pb2_grpc.UnitsServiceStub(channel)
        self.arrived: dict[str, float] = {}
        self.alerts: dict[str, units_pb2.Alert] = {}
        self.changed = threading.Condition()
        self.calls = []
        for team in teams:
            call = self.stub.WatchAlerts(
                units_pb2.WatchAlertsRequest(),
                metadata=(("authorization", f"Bearer demo-{team.lower()}"),),
            )
            self.calls.append(call)
            threading.Thread(target=self._read, args=(call,), daemon=True).start()

    def _read(self, call: Any) -> None:
        try:
            for alert in call:
                now = time.time()
                if alert.state == units_pb2.Alert.WAITING:
                    with self.changed:
                        self.arrived.setdefault(alert.alert_id, now)
                        self.alerts[alert.alert_id] = alert
                        self.changed.notify_all()
        except grpc.RpcError:
            pass

    def wait_for_incident(self, incident_id: str, timeout: float = 10.0) -> units_pb2.Alert:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = [a for a in self.alerts.values() if a.incident_id == incident_id]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no alert for incident {incident_id} in {timeout}s")
                self.changed.wait(left)

    def close(self) -> None:
        for call in self.calls:
            call.cancel()


def _wait_until_available(units: units_pb2_grpc.UnitsServiceStub, unit_id: str) -> bool:
    """Block until the units service shows the unit AVAILABLE; True if it already was."""
    deadline = time.monotonic() + RELEASE_WAIT
    first = True
    while True:
        unit = units.GetUnit(
            units_pb2.GetUnitRequest(unit_id=unit_id, history=1), metadata=ADMIN, timeout=10
        ).unit
        if unit.status == common_pb2.AVAILABLE:
            return first
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"unit {unit_id} still {common_pb2.UnitStatus.Name(unit.status)} "
                f"{RELEASE_WAIT}s after its incident was cancelled"
            )
        first = False
        time.sleep(0.02)


def run() -> dict[str, Any]:
    jurisdiction = load_jurisdiction(DEMO_JURISDICTION)
    teams = {
        station.id: station.units[0].id
        for station in jurisdiction.stations
        if station.tier in (Tier.VOLUNTEER, Tier.MICRO_STATION)
    }
    with tempfile.TemporaryDirectory(prefix="uc-bench-") as tmp:
        stack = Stack(
            data_dir=Path(tmp),
            ports={name: free_port() for name in ("dispatch", "units", "incidents", "edge")},
            broker_port=free_port(),
            log_to_files=True,
            extra_env={"UC_LOG_FORMAT": "json", "UC_LOG_LEVEL": "WARNING"},
        )
        stack.start()
        try:
            return _measure(stack, Path(tmp) / "dispatch.db", teams)
        finally:
            stack.stop()


def _measure(stack: Stack, dispatch_db: Path, teams: dict[str, str]) -> dict[str, Any]:
    dispatch_channel = grpc.insecure_channel(stack.address("dispatch"))
    units_channel = grpc.insecure_channel(stack.address("units"))
    dispatch = dispatch_pb2_grpc.DispatchServiceStub(dispatch_channel)
    units = units_pb2_grpc.UnitsServiceStub(units_channel)
    apps = TeamApps(units_channel, list(teams))
    store = sqlite3.connect(f"file:{dispatch_db}?mode=ro", uri=True)
    rotation = list(teams.values())  # unit ids, one per team
    latencies: list[float] = []
    # Units whose incident was cancelled but not yet seen AVAILABLE again.
    releasing: set[str] = set()
    waited = 0  # samples that found their unit not yet released
    log.info("alerts: %d teams watching; %d samples", len(teams), SAMPLES)
    try:
        for n in range(WARMUP + SAMPLES):
            unit_id = rotation[n % len(rotation)]
            if unit_id in releasing:
                waited += not _wait_until_available(units, unit_id)
                releasing.discard(unit_id)
            incident = dispatch.ReceiveCall(
                dispatch_pb2.ReceiveCallRequest(
                    request_id=str(uuid.uuid4()),
                    caller_number="13800000000",
                    source=common_pb2.PHONE,
                    incident_type="field_fire",
                    location=common_pb2.GeoPoint(latitude=28.2, longitude=112.9),
                ),
                metadata=CALL_TAKER,
                timeout=10,
            ).incident_id
            dispatch.DispatchUnit(
                dispatch_pb2.DispatchUnitRequest(
                    request_id=str(uuid.uuid4()), incident_id=incident, unit_id=unit_id
                ),
                metadata=CALL_TAKER,
                timeout=10,
            )
            # the first alert waits for the units service's consumer to join its group
            alert = apps.wait_for_incident(incident, timeout=60 if n == 0 else 10)
            (recorded_at,) = store.execute(
                "SELECT recorded_at FROM events WHERE event_id = ?", (alert.alert_id,)
            ).fetchone()
            if n >= WARMUP:
                latencies.append((apps.arrived[alert.alert_id] - recorded_at / 1e6) * 1000)
            # Free the unit: dispatch releases every unit of a cancelled incident.
            dispatch.CancelIncident(
                dispatch_pb2.CancelIncidentRequest(
                    request_id=str(uuid.uuid4()),
                    incident_id=incident,
                    reason="OTHER",
                    note="benchmark",
                ),
                metadata=CALL_TAKER,
                timeout=10,
            )
            releasing.add(unit_id)
    finally:
        apps.close()
        store.close()
        dispatch_channel.close()
        units_channel.close()
    return {
        "what": "UnitDispatched stored in dispatch -> alert received on the team's "
        "WatchAlerts stream, through Kafka (embedded broker); one dispatch at a time",
        "teams_watching": len(teams),
        "samples": len(latencies),
        "unit_freed_by": "CancelIncident (reason OTHER); dispatch releases the unit",
        "samples_that_waited_for_a_release": waited,
        "latency_ms": {
            "p50": round(percentile(latencies, 50), 2),
            "p90": round(percentile(latencies, 90), 2),
            "p99": round(percentile(latencies, 99), 2),
            "max": round(max(latencies), 2),
            "mean": round(statistics.fmean(latencies), 2),
        },
    }
