"""Dispatch over real gRPC with the real broker: recommendation across every tier,
duplicate calls, dispatching the recommendation."""

from __future__ import annotations

import uuid

import grpc
import pytest

from emergency.v1 import common_pb2, dispatch_pb2
from tests.e2e.conftest import CALL_TAKER, Clients, eventually, share_one_stack_per_module

pytestmark = pytest.mark.e2e
stack, clients = share_one_stack_per_module()
DOWNTOWN = common_pb2.GeoPoint(latitude=28.1950, longitude=112.9780)  # Wuyi Square


def take_call(clients: Clients, kind: str, where: common_pb2.GeoPoint, **extra: str) -> str:
    return clients.dispatch.ReceiveCall(
        dispatch_pb2.ReceiveCallRequest(
            request_id=str(uuid.uuid4()),
            caller_number="13800001111",
            source=common_pb2.PHONE,
            location=where,
            incident_type=kind,
            address="Wuyi Square tower, 18F",
            **extra,
        ),
        metadata=CALL_TAKER,
        timeout=10,
    ).incident_id


def recommendation(clients: Clients, incident_id: str, level: int = 0):  # type: ignore[no-untyped-def]
    return clients.dispatch.RecommendUnits(
        dispatch_pb2.RecommendUnitsRequest(incident_id=incident_id, alarm_level=level),
        metadata=CALL_TAKER,
        timeout=10,
    )


def test_a_high_rise_fire_gets_units_of_several_tiers_with_reasons(clients: Clients) -> None:
    incident = take_call(clients, "high_rise_fire", DOWNTOWN)
    first = recommendation(clients, incident)

    card = sorted(p.capability for p in first.picks)
    assert card == ["aerial", "command", "engine", "engine", "engine", "first_intervention"]
    tiers = {p.tier for p in first.picks}
    assert common_pb2.MICRO_STATION in tiers and len(tiers) >= 2
    assert all(p.reason and p.eta_seconds > 0 for p in first.picks)
    micro = next(p for p in first.picks if p.capability == "first_intervention")
    assert micro.eta_seconds <= 180 and "3-minute rule" in micro.reason

    for pick in first.picks:
        clients.dispatch.DispatchUnit(
            dispatch_pb2.DispatchUnitRequest(
                request_id=str(uuid.uuid4()),
                incident_id=incident,
                unit_id=pick.unit_id,
                reason=pick.reason,
            ),
            metadata=CALL_TAKER,
            timeout=10,
        )

    # Raising to level 2 asks for more: the units already sent are not offered again.
    second = recommendation(clients, incident, level=2)
    assert second.alarm_level == 2
    assert not {p.unit_id for p in second.picks} & {p.unit_id for p in first.picks}


def test_a_second_call_about_the_same_fire_is_linked_not_opened(clients: Clients) -> None:
    incident = take_call(
        clients, "residential_fire", common_pb2.GeoPoint(latitude=28.2300, longitude=112.9400)
    )
    near = common_pb2.GeoPoint(latitude=28.2308, longitude=112.9404)  # about 100 m away
    found = clients.dispatch.FindDuplicates(
        dispatch_pb2.FindDuplicatesRequest(incident_type="automatic_alarm", location=near),
        metadata=CALL_TAKER,
    ).duplicates
    assert [d.incident_id for d in found] == [incident]
    assert 50 < found[0].distance_m < 150 and "building fire" in found[0].reason

    linked = take_call(clients, "automatic_alarm", near, link_to_incident_id=incident)
    assert linked == incident
    state = clients.dispatch.GetIncident(
        dispatch_pb2.GetIncidentRequest(incident_id=incident), metadata=CALL_TAKER
    )
    assert len(state.call_ids) == 2
    eventually(
        lambda: "DuplicateCallLinked" in clients.log_of(incident),
        what="the linked call in the incident log",
    )

    # the call taker can still open a new incident (no link given): an override
    assert take_call(clients, "automatic_alarm", near) != incident


@pytest.mark.parametrize(
    ("call", "code", "fragment"),
    [
        (
            lambda c: c.dispatch.FindDuplicates(
                dispatch_pb2.FindDuplicatesRequest(incident_type="alien_landing"),
                metadata=CALL_TAKER,
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "unknown incident type",
        ),
        (
            lambda c: recommendation(c, "no-such-incident"),
            grpc.StatusCode.NOT_FOUND,
            "no-such-incident",
        ),
        (
            lambda c: recommendation(c, take_call(c, "vehicle_fire", DOWNTOWN), level=9),
            grpc.StatusCode.INVALID_ARGUMENT,
            "alarm_level 9",
        ),
        (
            lambda c: take_call(c, "vehicle_fire", DOWNTOWN, link_to_incident_id="nope"),
            grpc.StatusCode.NOT_FOUND,
            "no incident 'nope'",
        ),
    ],
)
def test_bad_dispatch_requests_get_a_clear_status(
    clients: Clients, call: object, code: grpc.StatusCode, fragment: str
) -> None:
    with pytest.raises(grpc.RpcError) as info:
        call(clients)  # type: ignore[operator]
    assert info.value.code() == code and fragment in info.value.details()
