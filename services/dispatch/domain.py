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


@dataclass
class Incident(Aggregate):
    incident_id: str = ""
    incident_type: str = ""
    location: Point | None = None
    address: str = ""
    status: str = "NONE"
    call_ids: list[str] = field(default_factory=list)
    dispatched: list[str] = field(default_factory=list)  # unit ids, in dispatch order
    version: int = 0

    @staticmethod
    def open_from_call(incident_id: str, call: Call) -> list[Message]:
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
        where = (
            common_pb2.GeoPoint(latitude=call.location.latitude, longitude=call.location.longitude)
            if call.location
            else None
        )
        return [
            events_pb2.CallReceived(
                call_id=call.call_id,
                caller_number=call.caller_number.strip(),
                source=call.source,
                location=where,
                address=call.address.strip(),
                incident_type=call.incident_type,
                description=call.description.strip(),
            ),
            events_pb2.IncidentCreated(
                incident_id=incident_id,
                call_id=call.call_id,
                incident_type=call.incident_type,
                location=where,
                address=call.address.strip(),
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
        where = (
            common_pb2.GeoPoint(latitude=self.location.latitude,
                                longitude=self.location.longitude)
            if self.location else None
        )  # fmt: skip
        return [
            events_pb2.UnitDispatched(
                incident_id=self.incident_id, unit_id=unit_id, incident_type=self.incident_type,
                location=where, address=self.address, reason=reason.strip(),
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
        elif isinstance(event, events_pb2.UnitDispatched):
            self.dispatched.append(event.unit_id)
        self.version += 1
