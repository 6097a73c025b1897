"""The whole system as processes: broker plus the three services, on free ports."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import grpc
import pytest
from sqlalchemy import create_engine, text

from emergency.v1 import (
    common_pb2,
    dispatch_pb2,
    incidents_pb2,
)
from services.common.grpc_client import Client
from tools.broker import free_port
from tools.stack import Stack

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], timeout: float = 30.0, what: str = "") -> T:
    """Poll until ``probe`` returns something truthy (tests wait on facts, not on clocks)."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = probe()
            if result:
                return result
        except grpc.RpcError as exc:
            last_error = exc
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or probe}: {last_error}")


@contextmanager
def running_stack(
    data_dir: Path, env: dict[str, str], ports: dict[str, int] | None = None
) -> Iterator[Stack]:
    """``ports``: the processes (``units.2`` for a second replica); one of each service by
    default."""
    stack = Stack(
        data_dir=data_dir,
        ports=ports or {name: free_port() for name in ("dispatch", "units", "incidents", "edge")},
        broker_port=free_port(),
        log_to_files=True,
        extra_env={"UC_LOG_FORMAT": "json", **env},
    )
    try:
        stack.start(timeout=60)
        yield stack
    finally:
        stack.stop()
        for log in sorted(stack.data_dir.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-15:]
            print(f"--- {log.name} (last lines)\n" + "\n".join(tail))


@pytest.fixture
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    """A fresh stack on SQLite files; parametrize indirectly with "postgres" to run it on
    one shared PostgreSQL database (each service in its own schema)."""
    env: dict[str, str] = {}
    if getattr(request, "param", "sqlite") == "postgres":
        env["DATABASE_URL"] = url = request.getfixturevalue("postgres_server_url")
        engine = create_engine(url)
        with engine.begin() as conn:  # every stack starts from empty stores
            for schema in ("dispatch", "units", "incidents"):
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
    with running_stack(tmp_path / "var", env) as running:
        yield running


def share_one_stack_per_module() -> tuple[object, object]:
    """For a module whose tests kill nothing and touch distinct units: its ``stack`` and
    ``clients`` fixtures become one stack for the whole module. Use as
    ``stack, clients = share_one_stack_per_module()`` at the module's top level."""

    @pytest.fixture(scope="module", name="stack")
    def module_stack(shared_stack: Stack) -> Stack:
        return shared_stack

    @pytest.fixture(scope="module", name="clients")
    def module_clients(shared_stack: Stack) -> Iterator[Clients]:
        clients = Clients(shared_stack)
        yield clients
        clients.close()

    return module_stack, module_clients


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One stack for a module whose tests kill nothing and touch distinct units."""
    with running_stack(tmp_path_factory.mktemp("stack") / "var", {}) as running:
        yield running


def rid() -> str:
    """A fresh request id."""
    return str(uuid.uuid4())


def team(station_id: str) -> list[tuple[str, str]]:
    """A station's demo team token, as call metadata."""
    return [("authorization", f"Bearer demo-{station_id.lower()}")]


CALL_TAKER = [("authorization", "Bearer demo-ct-01")]
ADMIN = [("authorization", "Bearer demo-admin-01")]


class Clients(Client):
    """The product's client for the stack's three services, with no token of its own
    (each test says who calls, in metadata) and no retries (a test sees every refusal as
    it came); calls made through ``call`` and ``log_of`` carry a call taker's token."""

    def __init__(self, stack: Stack) -> None:
        addresses = {s: stack.address(s) for s in ("dispatch", "units", "incidents")}
        super().__init__(addresses=addresses, timeout=30.0, retry=False)

    def call(self, n: int = 0, timeout: float = 10.0) -> dispatch_pb2.ReceiveCallResponse:
        return self.dispatch.ReceiveCall(
            dispatch_pb2.ReceiveCallRequest(
                request_id=str(uuid.uuid4()),
                caller_number=f"1380000{n:04d}",
                source=common_pb2.PHONE,
                location=common_pb2.GeoPoint(latitude=28.2 + n * 1e-4, longitude=112.9),
                address=f"{n} Furong Rd",
                incident_type="residential_fire",
            ),
            timeout=timeout,
            metadata=CALL_TAKER,
        )

    def log_of(self, incident_id: str) -> list[str]:
        try:
            reply = self.incidents.GetIncidentLog(
                incidents_pb2.GetIncidentLogRequest(incident_id=incident_id),
                timeout=5,
                metadata=CALL_TAKER,
            )
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return []
            raise
        return [entry.event_type for entry in reply.entries]


@pytest.fixture
def clients(stack: Stack) -> Iterator[Clients]:
    clients = Clients(stack)
    yield clients
    clients.close()
