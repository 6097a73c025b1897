"""The incident aggregate on the dispatch side: opened from a 119 call. Pure Python."""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import Message

from emergency.v1 import common_pb2, events_pb2
from services.common.aggregate import Aggregate
from services.common.errors import FailedPrecondition, InvalidArgument
from services.common.geo import Point

# The incident types a call can be classified as (the run cards of issue 4 key on these).
INCIDENT_TYPES = frozenset(
    {
        "residential_fire",
        "high_rise_fire",
        "underground_fire",
        "large_complex_fire",
        "chemical_plant_fire",
        "vehicle_fire",
        "forest_fire",
        "field_fire",
        "traffic_rescue",
        "water_rescue",
        "mountain_rescue",
        "collapse",
        "hazmat_leak",
        "social_assistance",
        "automatic_alarm",
    }
)
AUTOMATIC_SOURCES = frozenset({common_pb2.FIRE_ALARM_NETWORK, common_pb2.SMART_SMOKE_DETECTOR})


def stream_id(incident_id: str) -> str:
    return f"incident-{incident_id}"


@dataclass(frozen=True, slots=True)
class Call:
    call_id: str
    caller_number: str
    source: int
    location: Point | None
    address: str
    incident_type: str
    description: str


def check_call(call: Call) -> None:
    """A call must say how it came, who called (unless automatic), where and what."""
    if call.source not in common_pb2.CallSource.values() or (
        call.source == common_pb2.CALL_SOURCE_UNSPECIFIED
    ):
        raise InvalidArgument(
            "source is required: PHONE, FIRE_ALARM_NETWORK, SMART_SMOKE_DETECTOR or TRANSFER"
        )
    if call.source not in AUTOMATIC_SOURCES and not call.caller_number.strip():
        raise InvalidArgument("caller_number is required for a call from a person")
    if call.location is None and not call.address.strip():
        raise InvalidArgument("give the location (coordinates) or the address, or both")
    if call.incident_type not in INCIDENT_TYPES:
        raise InvalidArgument(
            f"unknown incident type {call.incident_type!r}; known: {sorted(INCIDENT_TYPES)}"
        )


def _geo(point: Point | None) -> common_pb2.GeoPoint | None:
    return (
        common_pb2.GeoPoint(latitude=point.latitude, longitude=point.longitude) if point else None
    )


def _call_received(call: Call) -> events_pb2.CallReceived:
    return events_pb2.CallReceived(
        call_id=call.call_id, caller_number=call.caller_number.strip(), source=call.source,
        location=_geo(call.location), address=call.address.strip(),
        incident_type=call.incident_type, description=call.description.strip(),
    )  # fmt: skip


@dataclass
class Incident(Aggregate):
    incident_id: str = ""
    incident_type: str = ""
    location: Point | None = None
    address: str = ""
    status: str = "NONE"
    call_ids: list[str] = field(default_factory=list)
    dispatched: list[str] = field(default_factory=list)  # unit ids, in dispatch order
    alarm_level: int = 0
    opened_at_us: int = 0
    version: int = 0

    @staticmethod
    def open_from_call(incident_id: str, call: Call, now_us: int = 0) -> list[Message]:
        check_call(call)
        created = events_pb2.IncidentCreated(
            incident_id=incident_id, call_id=call.call_id, incident_type=call.incident_type,
            location=_geo(call.location), address=call.address.strip(), alarm_level=1,
        )  # fmt: skip
        if now_us:
            created.opened_at.FromMicroseconds(now_us)
        return [_call_received(call), created]

    def link_call(self, call: Call, linked_by: str) -> list[Message]:
        """A further call about this incident: recorded on it, no new incident."""
        if self.status != "OPEN":
            raise FailedPrecondition(
                f"incident {self.incident_id} is {self.status}: take the call as a new incident"
            )
        check_call(call)
        return [
            _call_received(call),
            events_pb2.DuplicateCallLinked(
                incident_id=self.incident_id, call_id=call.call_id, linked_by=linked_by
            ),
        ]

    def check_can_dispatch(self, unit_id: str) -> None:
        if self.status != "OPEN":
            raise FailedPrecondition(f"incident {self.incident_id} is {self.status}")
        if not unit_id.strip():
            raise InvalidArgument("unit_id is required")
        if unit_id in self.dispatched:
            raise FailedPrecondition(
                f"unit {unit_id} is already dispatched to incident {self.incident_id}"
            )

    def dispatch(self, unit_id: str, reason: str) -> list[Message]:
        """Record that ``unit_id`` (already reserved for this incident) is sent to it."""
        self.check_can_dispatch(unit_id)
        return [
            events_pb2.UnitDispatched(
                incident_id=self.incident_id, unit_id=unit_id, incident_type=self.incident_type,
                location=_geo(self.location), address=self.address, reason=reason.strip(),
            )
        ]  # fmt: skip

    def apply(self, event: Message) -> None:
        if isinstance(event, events_pb2.CallReceived):
            self.call_ids.append(event.call_id)
        elif isinstance(event, events_pb2.IncidentCreated):
            self.incident_id = event.incident_id
            self.incident_type = event.incident_type
            self.address = event.address
            if event.HasField("location"):
                self.location = Point(event.location.latitude, event.location.longitude)
            self.status = "OPEN"
            self.alarm_level = event.alarm_level or 1
            self.opened_at_us = event.opened_at.ToMicroseconds()
        elif isinstance(event, events_pb2.UnitDispatched):
            self.dispatched.append(event.unit_id)
        self.version += 1
