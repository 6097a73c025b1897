"""Readiness follows the database; liveness only the process. The database is the real
PostgreSQL server behind a line the test cuts and mends."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import text
from sqlalchemy.engine import make_url

from emergency.v1 import units_pb2
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


def test_a_call_while_the_database_is_away_is_unavailable_not_internal(
    postgres_server_url: str,
) -> None:
    """A database that does not answer is a dependency unavailable: the client is told to
    retry (UNAVAILABLE, which our clients do), not that the service broke (INTERNAL)."""
    url = make_url(postgres_server_url)
    line = CuttableLine(url.host or "127.0.0.1", url.port or 5432)
    engine = create_store_engine(
        url.set(host="127.0.0.1", port=line.port).render_as_string(hide_password=False)
    )

    def read(request: units_pb2.GetUnitRequest, context: grpc.ServicerContext) -> units_pb2.Unit:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return units_pb2.Unit(incident_id=request.unit_id)

    server = GrpcServer("units", "127.0.0.1", free_port())
    server.server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "test.Probe",
                {
                    "Read": grpc.unary_unary_rpc_method_handler(
                        read,
                        request_deserializer=units_pb2.GetUnitRequest.FromString,
                        response_serializer=units_pb2.Unit.SerializeToString,
                    )
                },
            ),
        )
    )
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            probe = channel.unary_unary(
                "/test.Probe/Read",
                request_serializer=units_pb2.GetUnitRequest.SerializeToString,
                response_deserializer=units_pb2.Unit.FromString,
            )
            assert probe(units_pb2.GetUnitRequest(unit_id="E1"), timeout=10).incident_id == "E1"
            line.cut()
            try:
                probe(units_pb2.GetUnitRequest(unit_id="E1"), timeout=30)
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.UNAVAILABLE, exc.details()
                assert "retry with the same request id" in (exc.details() or "")
            else:
                raise AssertionError("a read through a cut line answered")
    finally:
        server.stop(0)
        engine.dispose()
        line.close()
