"""The first slice through all three services, over gRPC, with the real broker."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from kafka import KafkaConsumer

from emergency.v1 import common_pb2, dispatch_pb2, units_pb2
from services.common.envelope import decode
from tests.e2e.conftest import ADMIN, CALL_TAKER, Clients, eventually
from tools.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("stack", ["sqlite", "postgres"], indirect=True)
def test_register_a_unit_take_a_call_and_read_the_incident_log(
    stack: Stack, clients: Clients
) -> None:
    unit = clients.units.RegisterUnit(
        units_pb2.RegisterUnitRequest(
            request_id="reg-e1",
            profile=common_pb2.UnitProfile(
                unit_id="E1",
                name="Furong Engine 1",
                tier=common_pb2.PROFESSIONAL,
                station_id="FR-1",
                capabilities=["engine"],
                home=common_pb2.GeoPoint(latitude=28.19, longitude=112.97),
            ),
        ),
        timeout=10,
        metadata=ADMIN,
    )
    assert (unit.status, unit.version) == (common_pb2.AVAILABLE, 1)

    reply = clients.call(1)
    incident = clients.dispatch.GetIncident(
        dispatch_pb2.GetIncidentRequest(incident_id=reply.incident_id),
        timeout=5,
        metadata=CALL_TAKER,
    )
    assert incident.status == common_pb2.OPEN and list(incident.call_ids) == [reply.call_id]

    # The two events are applied one transaction each: wait for both, not the first.
    wanted = ["CallReceived", "IncidentCreated"]
    eventually(lambda: clients.log_of(reply.incident_id) == wanted, what="the incident log")

    # The topics hold the same events, decodable with the project's protos.
    expected = {
        ("units", "UnitRegistered"),
        ("dispatch", "CallReceived"),
        ("dispatch", "IncidentCreated"),
    }
    consumer = KafkaConsumer(
        "emergency.dispatch.v1",
        "emergency.units.v1",
        bootstrap_servers=stack.bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=500,
    )
    envelopes: list = []

    def all_published() -> bool:
        envelopes.extend(decode(m.value) for m in consumer)
        return {(e.source, e.event_type) for e in envelopes} == expected

    eventually(all_published, timeout=20, what="the events on the topics")
    consumer.close()
    created = next(e for e in envelopes if e.event_type == "IncidentCreated")
    assert created.correlation_id == reply.incident_id
    assert created.actor.kind == created.actor.CALL_TAKER


def test_every_service_reports_serving_and_offers_reflection(stack: Stack) -> None:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    for service, name in [
        ("dispatch", "emergency.v1.DispatchService"),
        ("units", "emergency.v1.UnitsService"),
        ("incidents", "emergency.v1.IncidentsService"),
    ]:
        with grpc.insecure_channel(stack.address(service)) as channel:
            health = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=name), timeout=5
            )
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            answers = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
            )
            listed = {s.name for a in answers for s in a.list_services_response.service}
            assert name in listed


@pytest.mark.parametrize(
    ("change", "code", "fragment"),
    [
        (
            {"incident_type": "alien_landing"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "unknown incident type",
        ),
        (
            {"location": common_pb2.GeoPoint(latitude=95, longitude=112)},
            grpc.StatusCode.INVALID_ARGUMENT,
            "latitude 95",
        ),
        (
            {"location": common_pb2.GeoPoint(latitude=31.23, longitude=121.47)},  # Shanghai
            grpc.StatusCode.INVALID_ARGUMENT,
            "outside the jurisdiction",
        ),
        ({"caller_number": ""}, grpc.StatusCode.INVALID_ARGUMENT, "caller_number"),
        ({"request_id": ""}, grpc.StatusCode.INVALID_ARGUMENT, "request_id is required"),
    ],
)
def test_bad_calls_are_refused_with_a_clear_status_and_write_nothing(
    stack: Stack, clients: Clients, change: dict, code: grpc.StatusCode, fragment: str
) -> None:
    request = dispatch_pb2.ReceiveCallRequest(
        request_id="bad-1",
        caller_number="13800000000",
        source=common_pb2.PHONE,
        location=common_pb2.GeoPoint(latitude=28.2, longitude=112.9),
        incident_type="residential_fire",
    )
    for field, value in change.items():
        if isinstance(value, common_pb2.GeoPoint):
            getattr(request, field).CopyFrom(value)
        else:
            setattr(request, field, value)
    with pytest.raises(grpc.RpcError) as info:
        clients.dispatch.ReceiveCall(request, timeout=5, metadata=CALL_TAKER)
    assert info.value.code() == code and fragment in info.value.details()
    # Nothing was written: the same request id, made valid, still opens an incident.
    valid = dispatch_pb2.ReceiveCallRequest(
        request_id="bad-1",
        caller_number="13800000000",
        source=common_pb2.PHONE,
        location=common_pb2.GeoPoint(latitude=28.2, longitude=112.9),
        incident_type="residential_fire",
    )
    assert clients.dispatch.ReceiveCall(valid, timeout=5, metadata=CALL_TAKER).incident_version == 2


def test_a_retried_call_returns_the_first_incident(stack: Stack, clients: Clients) -> None:
    request = dispatch_pb2.ReceiveCallRequest(
        request_id="retry-1",
        caller_number="13800000000",
        source=common_pb2.PHONE,
        location=common_pb2.GeoPoint(latitude=28.2, longitude=112.9),
        incident_type="vehicle_fire",
    )
    first = clients.dispatch.ReceiveCall(request, timeout=5, metadata=CALL_TAKER)
    again = clients.dispatch.ReceiveCall(request, timeout=5, metadata=CALL_TAKER)
    assert again == first
    request.incident_type = "forest_fire"
    with pytest.raises(grpc.RpcError) as info:
        clients.dispatch.ReceiveCall(request, timeout=5, metadata=CALL_TAKER)
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.RpcError) as info:
        clients.dispatch.GetIncident(
            dispatch_pb2.GetIncidentRequest(incident_id="nope"), timeout=5, metadata=CALL_TAKER
        )
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("stack", ["postgres"], indirect=True)
def test_services_sharing_one_postgres_database_keep_their_own_tables(
    stack: Stack, clients: Clients
) -> None:
    from sqlalchemy import create_engine, text

    from services.common.config import DEMO_JURISDICTION
    from services.common.jurisdiction import load_jurisdiction

    clients.call(1)
    engine = create_engine(stack.extra_env["DATABASE_URL"])
    with engine.connect() as conn:
        counts = {
            schema: conn.execute(text(f'SELECT count(*) FROM "{schema}".events')).scalar()
            for schema in ("dispatch", "units", "incidents")
        }
    engine.dispose()
    units_in_file = len(list(load_jurisdiction(DEMO_JURISDICTION).units()))
    assert counts == {"dispatch": 2, "units": units_in_file, "incidents": 0}


def test_an_independent_kafka_client_lists_the_topics(stack: Stack) -> None:
    """librdkafka (confluent-kafka), not the clients the services use, sees the topics the
    stack created with their partitions."""
    from confluent_kafka.admin import AdminClient

    metadata = AdminClient({"bootstrap.servers": stack.bootstrap}).list_topics(timeout=10)
    partitions = {name: len(topic.partitions) for name, topic in metadata.topics.items()}
    assert partitions == {
        "emergency.dispatch.v1": stack.partitions,
        "emergency.units.v1": stack.partitions,
        "emergency.incidents.v1": stack.partitions,
    }
