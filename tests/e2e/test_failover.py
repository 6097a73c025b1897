"""No single point of failure: two replicas of every service on one PostgreSQL database
and the embedded broker; the replicas holding the leases (and an incidents worker) are
killed with SIGKILL in the middle of a stream of calls and dispatches.

Each call opens an incident and sends it a volunteer engine, whose alert nobody answers:
its deadline (6 s here) falls due while the replicas are being killed, so the time-outs,
the re-dispatches that follow them and the publication of every event all have to be
taken over by the survivors.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from emergency.v1 import common_pb2, dispatch_pb2, incidents_pb2
from services.common.config import DEMO_JURISDICTION
from services.common.database import create_store_engine
from services.common.eventstore import EventStore, RecordedEvent
from services.common.grpc_client import Client
from services.common.streams import recorded_payload
from tests.e2e.conftest import eventually, rid, running_stack
from tools.broker import free_port
from tools.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.slow]

ACK_DEADLINE = 6  # seconds a volunteer team has to answer, in this test's city
TAKE_OVER_LIMIT = 10.0  # seconds (issue 12)
CALLS = 24
VOLUNTEERS = [f"VOL-{n:02d}-E1" for n in range(1, 25)]


def quick_deadlines(tmp_path: Path) -> Path:
    """The demo city with volunteers given ``ACK_DEADLINE`` seconds to answer."""
    text_ = DEMO_JURISDICTION.read_text(encoding="utf-8")
    old = "VOLUNTEER: {turnout_seconds: 300, ack_deadline_seconds: 120,"
    assert old in text_, "the demo city's volunteer policy changed: update this test"
    path = tmp_path / "city.yaml"
    path.write_text(
        text_.replace(
            old, f"VOLUNTEER: {{turnout_seconds: 300, ack_deadline_seconds: {ACK_DEADLINE},"
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def replicated(tmp_path: Path, postgres_server_url: str) -> Iterator[Stack]:
    engine = create_engine(postgres_server_url)
    with engine.begin() as conn:  # every run starts from empty stores
        for schema in ("dispatch", "units", "incidents", "edge"):
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()
    env = {
        "DATABASE_URL": postgres_server_url,
        "UC_JURISDICTION_FILE": str(quick_deadlines(tmp_path)),
    }
    ports = {
        name: free_port()
        for service in ("dispatch", "units", "incidents")
        for name in (service, f"{service}.2")
    }
    ports["edge"] = free_port()
    with running_stack(tmp_path / "var", env, ports=ports) as stack:
        yield stack


def store_of(url: str, service: str) -> EventStore:
    return EventStore(create_store_engine(f"{url}?uc_schema={service}"))


def lease_holders(engine: Engine) -> dict[str, tuple[str, int]]:
    """Lease name -> (holder, token) as the database has them now."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, holder, token FROM leases")).all()
    return {name: (holder, token) for name, holder, token in rows}


def process_holding(stack: Stack, service: str, holder: str) -> str:
    """The stack's process whose pid the lease holder names (``host:pid:random``)."""
    pid = int(holder.split(":")[1])
    return next(p for p in stack.replicas(service) if stack.processes[p].pid == pid)


@dataclass
class Stream:
    """Calls and dispatches sent through every replica (round robin, retries)."""

    client: Client
    accepted: list[str] = field(default_factory=list)  # incident ids
    dispatched: list[tuple[str, str]] = field(default_factory=list)  # (incident, unit)
    refused: list[str] = field(default_factory=list)

    def run(self, calls: int, every: float) -> None:
        for n in range(calls):
            started = time.monotonic()
            try:
                reply = self.client.dispatch.ReceiveCall(
                    dispatch_pb2.ReceiveCallRequest(
                        request_id=rid(),
                        caller_number=f"1390000{n:04d}",
                        source=common_pb2.PHONE,
                        location=common_pb2.GeoPoint(latitude=28.1 + n * 0.002, longitude=112.6),
                        address=f"{n} Orchard Road",
                        incident_type="residential_fire",
                    )
                )
                self.accepted.append(reply.incident_id)
                self.client.dispatch.DispatchUnit(
                    dispatch_pb2.DispatchUnitRequest(
                        request_id=rid(),
                        incident_id=reply.incident_id,
                        unit_id=VOLUNTEERS[n],
                        capability="engine",
                    )
                )
                self.dispatched.append((reply.incident_id, VOLUNTEERS[n]))
            except Exception as exc:  # counted, and the test says which
                self.refused.append(f"call {n}: {exc!r}")
            time.sleep(max(0.0, every - (time.monotonic() - started)))


def take_over_seconds(engine: Engine, lease: str, before: tuple[str, int]) -> float:
    """Wait for ``lease`` to pass to a new holder; seconds it took from now."""
    started = time.monotonic()
    eventually(
        lambda: lease_holders(engine)[lease][1] > before[1],
        timeout=TAKE_OVER_LIMIT + 10,
        what=f"a new holder of {lease}",
    )
    return time.monotonic() - started


def assigned_partitions(stack: Stack, process: str) -> list[str]:
    """The partitions the incidents worker says (in its log) it was last assigned."""
    last: list[str] = []
    for line in (stack.data_dir / f"{process}.log").read_text(errors="replace").splitlines():
        if '"partitions assigned"' in line:
            last = json.loads(line)["partitions"]
    return last


def events_of_type(store: EventStore, kind: str) -> list[RecordedEvent]:
    return [e for e in store.read_all(0, 1_000_000) if e.event_type == kind]


def test_killing_the_lease_holders_mid_stream_loses_and_doubles_nothing(
    replicated: Stack, postgres_server_url: str
) -> None:
    stack = replicated
    dispatch_store = store_of(postgres_server_url, "dispatch")
    units_store = store_of(postgres_server_url, "units")
    dispatch_db, units_db = dispatch_store.engine, units_store.engine
    assert dispatch_db is not None and units_db is not None
    env = stack.service_env()
    client = Client(
        "demo-ct-01",
        addresses={s: env[f"UC_{s.upper()}_ADDRESSES"] for s in ("dispatch", "units", "incidents")},
    )
    stream = Stream(client)
    sender = threading.Thread(target=stream.run, args=(CALLS, 0.5))
    sender.start()

    # A few seconds in: the dispatch replica holding dispatch's relay lease dies, then the
    # units replica timing the alerts out, then one incidents worker.
    time.sleep(4)
    relay = lease_holders(dispatch_db)["relay:emergency.dispatch.v1"]
    filler = lease_holders(dispatch_db)["request-filler"]
    stack.kill_service(process_holding(stack, "dispatch", relay[0]))
    taken = {"dispatch relay": take_over_seconds(dispatch_db, "relay:emergency.dispatch.v1", relay)}
    if filler[0] == relay[0]:
        taken["request filler"] = take_over_seconds(dispatch_db, "request-filler", filler)
    deadlines = lease_holders(units_db)["alert-deadlines"]
    stack.kill_service(process_holding(stack, "units", deadlines[0]))
    taken["alert deadlines"] = take_over_seconds(units_db, "alert-deadlines", deadlines)
    # The two workers split the partitions between them; the survivor takes them all.
    split = [assigned_partitions(stack, p) for p in ("incidents", "incidents.2")]
    assert all(split) and not set(split[0]) & set(split[1]), split
    stack.kill_service("incidents.2")
    sender.join()
    client.close()
    every = sorted(split[0] + split[1])
    eventually(
        lambda: sorted(assigned_partitions(stack, "incidents")) == every,
        timeout=30,
        what="the surviving worker to take every partition",
    )

    print(f"take-over times (s): { {k: round(v, 1) for k, v in taken.items()} }")
    assert all(seconds < TAKE_OVER_LIMIT for seconds in taken.values()), taken
    assert stream.refused == []
    assert len(stream.accepted) == len(stream.dispatched) == CALLS

    # Every accepted call has its incident, on the replica that is left.
    (survivor,) = [p for p in stack.replicas("dispatch") if p in stack.processes]
    with Client("demo-ct-01", addresses={"dispatch": stack.address(survivor)}) as left:
        for incident_id in stream.accepted:
            left.dispatch.GetIncident(dispatch_pb2.GetIncidentRequest(incident_id=incident_id))

    # Each dispatch was alerted exactly once (the alert id is the dispatch event's id),
    # and every alert nobody answered timed out exactly once: the stream's volunteers and
    # any volunteer the request filler sent in their place.
    dispatches = events_of_type(dispatch_store, "UnitDispatched")
    sent = {
        (p.incident_id, p.unit_id): e.event_id
        for e in dispatches
        if (p := recorded_payload(e))  # type: ignore[attr-defined]
    }
    originals = {sent[pair] for pair in stream.dispatched}

    def timed_out_ids() -> list[str] | None:
        ids = [
            recorded_payload(e).alert_id  # type: ignore[attr-defined]
            for e in events_of_type(units_store, "AlertTimedOut")
        ]
        return ids if originals <= set(ids) else None

    timed_out = eventually(timed_out_ids, timeout=60, what="every volunteer's time-out")
    assert len(timed_out) == len(set(timed_out)), Counter(timed_out).most_common(3)

    def alerts_by_dispatch() -> tuple[list[RecordedEvent], Counter[str]] | None:
        # Time-outs go on bringing re-dispatches: wait until each has been alerted.
        dispatches = events_of_type(dispatch_store, "UnitDispatched")
        alerted = Counter(
            recorded_payload(e).alert_id  # type: ignore[attr-defined]
            for e in events_of_type(units_store, "UnitAlerted")
        )
        if {d.event_id for d in dispatches} <= set(alerted):
            return dispatches, alerted
        return None

    dispatches, alerted = eventually(alerts_by_dispatch, timeout=30, what="every dispatch alerted")
    assert {d.event_id for d in dispatches} == set(alerted)
    assert set(alerted.values()) == {1}, alerted.most_common(3)

    # The incident log has every event of every incident exactly once.
    incidents = Client("demo-ct-01", addresses={"incidents": stack.address("incidents")})  # alive
    try:
        for incident_id in stream.accepted:
            expected = sorted(
                e.event_id
                for store in (dispatch_store, units_store)
                for e in store.read_all(0, 1_000_000)
                if e.correlation_id == incident_id
            )

            def logged(
                incident_id: str = incident_id, expected: list[str] = expected
            ) -> list[str] | None:
                reply = incidents.incidents.GetIncidentLog(
                    incidents_pb2.GetIncidentLogRequest(incident_id=incident_id)
                )
                ids = sorted(entry.event_id for entry in reply.entries)
                return ids if ids == expected else None

            try:
                eventually(logged, timeout=60, what=f"incident {incident_id}'s whole log")
            except AssertionError:
                reply = incidents.incidents.GetIncidentLog(
                    incidents_pb2.GetIncidentLogRequest(incident_id=incident_id)
                )
                got = {e.event_id: e.event_type for e in reply.entries}
                stored = {
                    e.event_id: (e.stream_id, e.stream_version, e.event_type)
                    for store in (dispatch_store, units_store)
                    for e in store.read_all(0, 1_000_000)
                    if e.correlation_id == incident_id
                }
                missing = {i: stored[i] for i in stored if i not in got}
                extra = {i: got[i] for i in got if i not in stored}
                raise AssertionError(
                    f"incident {incident_id}: not in the log {missing}; not in the stores {extra}"
                ) from None
    finally:
        incidents.close()


@pytest.fixture
def two_edges(tmp_path: Path, postgres_server_url: str) -> Iterator[Stack]:
    engine = create_engine(postgres_server_url)
    with engine.begin() as conn:
        for schema in ("dispatch", "units", "incidents", "edge"):
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()
    ports = {name: free_port() for name in ("dispatch", "units", "incidents", "edge", "edge.2")}
    with running_stack(tmp_path / "var", {"DATABASE_URL": postgres_server_url}, ports) as stack:
        yield stack


class LiveStream:
    """A console's ``GET /api/live`` on one edge replica, read in a thread."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.data: list[dict[str, object]] = []
        self.instance = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            self._follow()
        except (httpx.HTTPError, RuntimeError):
            if not self._stop.is_set():  # closing the client ends the stream: expected
                raise

    def _follow(self) -> None:
        with self.http.stream("GET", "/api/live", timeout=None) as reply:
            event = ""
            for line in reply.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    body = json.loads(line.removeprefix("data: "))
                    if event == "hello":
                        self.instance = str(body["instance"])
                    elif event == "change":
                        self.data.append(body)

    def saw_incident(self, incident_id: str) -> bool:
        return any(item.get("stream") == f"incident-{incident_id}" for item in self.data)

    def close(self) -> None:
        self._stop.set()
        self.http.close()


def test_two_edge_replicas_each_serve_live_updates_to_their_own_consoles(
    two_edges: Stack,
) -> None:
    stack = two_edges
    consoles = []
    for edge in ("edge", "edge.2"):
        http = httpx.Client(base_url=f"http://{stack.address(edge)}", timeout=15)
        reply = http.post("/api/session", json={"username": "ct-01", "password": "demo-ct-01"})
        reply.raise_for_status()
        consoles.append(LiveStream(http))
    try:
        eventually(lambda: all(c.instance for c in consoles), what="both streams open")
        assert consoles[0].instance != consoles[1].instance  # two edge processes

        with Client("demo-ct-01", addresses={"dispatch": stack.address("dispatch")}) as client:
            opened = client.dispatch.ReceiveCall(
                dispatch_pb2.ReceiveCallRequest(
                    request_id=rid(),
                    caller_number="13900001111",
                    source=common_pb2.PHONE,
                    location=common_pb2.GeoPoint(latitude=28.2, longitude=112.95),
                    address="1 Riverside Road",
                    incident_type="residential_fire",
                )
            )
        for console in consoles:
            eventually(
                lambda console=console: console.saw_incident(opened.incident_id),
                timeout=15,
                what=f"the incident on the console of edge {console.instance}",
            )

        # A session made on one replica is good on the other: the sessions are shared.
        cookies = consoles[0].http.cookies
        with httpx.Client(base_url=f"http://{stack.address('edge.2')}", cookies=cookies) as other:
            assert other.get("/api/session").status_code == 200
    finally:
        for console in consoles:
            console.close()
