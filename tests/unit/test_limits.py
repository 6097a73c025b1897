"""The limits on what clients send: one table, every request field covered."""

from __future__ import annotations

import math

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from emergency.v1 import (
    common_pb2,
    dispatch_pb2,
    incidents_pb2,
    units_pb2,
)
from services.common.errors import InvalidArgument
from services.common.limits import FIELDS, check_request, field_constraints, rule_for

SERVICES = [
    dispatch_pb2.DESCRIPTOR.services_by_name["DispatchService"],
    units_pb2.DESCRIPTOR.services_by_name["UnitsService"],
    incidents_pb2.DESCRIPTOR.services_by_name["IncidentsService"],
]
BOUNDED = (
    FieldDescriptor.TYPE_STRING,
    FieldDescriptor.TYPE_DOUBLE,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_INT64,
)


def request_fields(message: Descriptor, seen: set[str]) -> list[tuple[Descriptor, FieldDescriptor]]:
    found = []
    for field in message.fields:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            nested = field.message_type
            if nested.full_name != "google.protobuf.Timestamp" and nested.full_name not in seen:
                seen.add(nested.full_name)
                found += request_fields(nested, seen)
        elif field.type in BOUNDED:
            found.append((message, field))
    return found


def test_every_string_and_number_a_client_sends_has_a_limit() -> None:
    seen: set[str] = set()
    uncovered = [
        f"{message.name}.{field.name}"
        for service in SERVICES
        for method in service.methods
        for message, field in request_fields(method.input_type, seen)
        if rule_for(message, field) is None
    ]
    assert uncovered == []


@pytest.mark.parametrize(
    ("request_message", "message"),
    [
        (
            dispatch_pb2.ReceiveCallRequest(address="x" * 100_000),
            "address is 100000 characters long; at most 300",
        ),
        (dispatch_pb2.ReceiveCallRequest(caller_number="1" * 1000), "caller_number is 1000"),
        (dispatch_pb2.ReceiveCallRequest(description="d" * 100_000), "description is 100000"),
        (dispatch_pb2.AssumeCommandRequest(commander_name="n" * 100_000), "commander_name is"),
        (dispatch_pb2.AssumeCommandRequest(commander_id="c" * 1000), "commander_id is 1000"),
        (units_pb2.ReserveUnitRequest(incident_id="i" * 1000), "incident_id is 1000"),
        (
            units_pb2.ReserveUnitRequest(incident_id="x'; DROP TABLE events;--"),
            'incident_id "x\'; DROP TABLE events;--" is not an id',
        ),
        (
            units_pb2.AcknowledgeAlertRequest(responders=4_294_967_295),
            "responders 4294967295 is outside 0..1000",
        ),
        (
            units_pb2.AcknowledgeAlertRequest(eta_seconds=4_294_967_295),
            "eta_seconds 4294967295 is outside 0..86400",
        ),
        (units_pb2.DeclineAlertRequest(reason="r" * 100_000), "reason is 100000"),
        (incidents_pb2.AddNoteRequest(text="t" * 100_000), "text is 100000"),
        (units_pb2.ListUnitsRequest(tiers=[99]), "tiers[0] 99 is not a Tier"),
        (units_pb2.ListUnitsRequest(statuses=[1, 99]), "statuses[1] 99 is not a UnitStatus"),
        (
            units_pb2.ListUnitsRequest(near=common_pb2.GeoPoint(latitude=math.nan)),
            "near.latitude must be a finite number",
        ),
        (
            units_pb2.ListUnitsRequest(near=common_pb2.GeoPoint(latitude=91)),
            "near.latitude 91 is outside -90..90",
        ),
        (units_pb2.ListUnitsRequest(within_km=math.nan), "within_km must be a finite number"),
        (units_pb2.ListUnitsRequest(within_km=1e9), "within_km 1e+09 is outside 0..1000"),
        (incidents_pb2.GetIncidentLogRequest(source=99), "source 99 is not a ReplaySource"),
        (incidents_pb2.ReplayIncidentRequest(speed=math.inf), "speed must be a finite"),
        (dispatch_pb2.ReceiveCallRequest(request_id="r" * 129), "request_id is 129"),
        (dispatch_pb2.ReceiveCallRequest(address="line\x00break"), "control character U+0000"),
        (
            units_pb2.RegisterUnitRequest(profile=common_pb2.UnitProfile(staffing=10**9)),
            "profile.staffing 1000000000 is outside",
        ),
        (units_pb2.ListUnitsRequest(capabilities=["engine"] * 21), "capabilities has 21"),
    ],
)
def test_a_request_past_a_limit_is_refused_naming_the_field_and_the_limit(
    request_message: object, message: str
) -> None:
    with pytest.raises(InvalidArgument, match=None) as info:
        check_request(request_message)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_ordinary_requests_pass() -> None:
    check_request(
        dispatch_pb2.ReceiveCallRequest(
            request_id="3f0c2a1e-8d7b-4c55-9e61-0b1a2c3d4e5f:VOL-03-E1",
            caller_number="+86 138-0000-0000",
            source=common_pb2.PHONE,
            location=common_pb2.GeoPoint(latitude=28.2, longitude=112.9),
            address="岳麓区麓山南路932号",
            incident_type="high_rise_fire",
            description="12楼冒烟\n有人被困",
        )
    )
    check_request(units_pb2.AcknowledgeAlertRequest(responders=1000, eta_seconds=86_400))
    stamp = incidents_pb2.GetIncidentStateRequest()
    stamp.at.FromSeconds(1_800_000_000)
    check_request(stamp)


def test_an_instant_outside_protobuf_s_range_is_refused() -> None:
    request = incidents_pb2.GetIncidentStateRequest()
    request.at.seconds = 10**12
    with pytest.raises(InvalidArgument, match="at is not a valid instant"):
        check_request(request)


def test_the_http_edge_reads_the_same_limits() -> None:
    assert field_constraints("note") == {"max_length": FIELDS["note"].max_chars}  # type: ignore[union-attr]
    assert field_constraints("responders") == {"ge": 0, "le": 1000, "strict": True}
    assert field_constraints("unit_id")["max_length"] == 64
