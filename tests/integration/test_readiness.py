"""Readiness follows the database; liveness only the process. The database is the real
PostgreSQL server behind a line the test cuts and mends."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from services.common.database import create_store_engine
from services.common.eventstore import EventStore
from services.common.grpc_server import LIVENESS, GrpcServer
from services.common.runtime import DatabaseReadiness
from tests.e2e.conftest import eventually
from tests.support.tcp_cut import CuttableLine
from tools.broker import free_port

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def status(address: str, service: str) -> int:
    with grpc.insecure_channel(address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=5
        )
    return int(reply.status)


def test_readiness_follows_the_database_and_liveness_the_process(
    postgres_server_url: str,
) -> None:
    url = make_url(postgres_server_url)
    line = CuttableLine(url.host or "127.0.0.1", url.port or 5432)
    store = EventStore(
        create_store_engine(
            url.set(host="127.0.0.1", port=line.port).render_as_string(hide_password=False)
        )
    )
    store.create_schema()
    server = GrpcServer("units", "127.0.0.1", free_port()).start()
    address = f"127.0.0.1:{server.port}"
    readiness = DatabaseReadiness(store, server, every=0.1).start()
    try:
        eventually(lambda: status(address, "") == SERVING, timeout=10, what="ready")

        line.cut()
        eventually(lambda: status(address, "") == NOT_SERVING, timeout=10, what="not ready")
        assert status(address, LIVENESS) == SERVING  # alive: nothing to restart

        line.mend()
        eventually(lambda: status(address, "") == SERVING, timeout=10, what="ready again")
    finally:
        readiness.stop()
        server.stop(0)
        store.close()
        line.close()
