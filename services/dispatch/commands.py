"""What clients ask dispatch to do, as plain values: the gRPC servicer translates each
request into one of these, and the application service takes nothing else. Each class's
name is its operation's (the RPC's) name, which idempotency keys record.

Every command carries the client's ``request_id``: the same id again returns the first
result, and the same id for another command is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.common.geo import Point
from services.dispatch.domain import CallSource


@dataclass(frozen=True, slots=True)
class ReceiveCall:
    """A 119 call: opens an incident, or is linked to ``link_to_incident_id``."""

    request_id: str
    incident_type: str
    source: CallSource
    caller_number: str = ""
    location: Point | None = None  # WGS-84
    address: str = ""
    description: str = ""
    link_to_incident_id: str = ""


@dataclass(frozen=True, slots=True)
class DispatchUnit:
    """Send a unit: reserved through the units service, then recorded."""

    request_id: str
    incident_id: str
    unit_id: str
    reason: str = ""
    capability: str = ""  # the run-card capability it fills


@dataclass(frozen=True, slots=True)
class RaiseAlarmLevel:
    request_id: str
    incident_id: str
    alarm_level: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RequestUnits:
    request_id: str
    incident_id: str
    capability: str
    count: int = 1
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AssumeCommand:
    request_id: str
    incident_id: str
    commander_id: str = ""  # empty: the caller
    commander_name: str = ""
    unit_id: str = ""


@dataclass(frozen=True, slots=True)
class TransferCommand:
    request_id: str
    incident_id: str
    to_commander_id: str = ""  # empty: the caller takes over
    to_commander_name: str = ""
    unit_id: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class MarkUnderControl:
    request_id: str
    incident_id: str
    note: str = ""
    keep_requests: bool = False  # keep the open requests for units


@dataclass(frozen=True, slots=True)
class CloseIncident:
    request_id: str
    incident_id: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class CancelIncident:
    request_id: str
    incident_id: str
    reason: str = "OTHER"  # FALSE_ALARM, HOAX, HANDLED_ELSEWHERE, OTHER
    note: str = ""


@dataclass(frozen=True, slots=True)
class ClassifyIncident:
    request_id: str
    incident_id: str
    incident_type: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class CancelResourceRequest:
    """Withdraw an open request for units."""

    request_id: str
    incident_id: str
    resource_request_id: str
    reason: str = ""


IncidentCommand = (
    RaiseAlarmLevel
    | RequestUnits
    | AssumeCommand
    | TransferCommand
    | MarkUnderControl
    | CloseIncident
    | CancelIncident
    | ClassifyIncident
    | CancelResourceRequest
)
