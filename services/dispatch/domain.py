"""The incident aggregate on the dispatch side: opened from a 119 call, worked under one
command until it is closed or cancelled. Pure Python: decisions check the rules and
return events; ``apply`` evolves the state.

Besides the units on it (assignments), an incident keeps its *needs*: forces asked for
and not yet dispatched (a re-dispatch after a decline or time-out, a raised alarm level,
a commander's request, a dispatch the units service could not take at once). Dispatch's
request filler turns each into UnitDispatched events; a closed incident owes the release of
every unit still on it.

Statuses: OPEN -> UNDER_CONTROL -> CLOSED, and OPEN or UNDER_CONTROL -> CANCELLED.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import Message

from emergency.v1 import common_pb2, events_pb2
from services.common.aggregate import Aggregate
from services.common.enums import CallSource, IncidentStatus
from services.common.errors import FailedPrecondition, InvalidArgument
from services.common.geo import Point
from services.common.jurisdiction import CAPABILITIES

AUTOMATIC_SOURCES = frozenset({CallSource.FIRE_ALARM_NETWORK, CallSource.SMART_SMOKE_DETECTOR})


def stream_id(incident_id: str) -> str:
    return f"incident-{incident_id}"


@dataclass(frozen=True, slots=True)
class Call:
    call_id: str
    caller_number: str
    source: CallSource
    location: Point | None
    address: str
    incident_type: str
    description: str


def check_call(call: Call) -> None:
    """A call must say how it came, who called (unless automatic), and where. (What it
    is, the incident type, is checked against the run cards' catalogue by the caller.)"""
    if call.source == CallSource.CALL_SOURCE_UNSPECIFIED:
        raise InvalidArgument(
            "source is required: PHONE, FIRE_ALARM_NETWORK, SMART_SMOKE_DETECTOR or TRANSFER"
        )
    if call.source not in AUTOMATIC_SOURCES and not call.caller_number.strip():
        raise InvalidArgument("caller_number is required for a call from a person")
    if call.location is None and not call.address.strip():
        raise InvalidArgument("give the location (coordinates) or the address, or both")


def _geo(point: Point | None) -> common_pb2.GeoPoint | None:
    return (
        common_pb2.GeoPoint(latitude=point.latitude, longitude=point.longitude) if point else None
    )


def _call_received(call: Call) -> events_pb2.CallReceived:
    return events_pb2.CallReceived(
        call_id=call.call_id,
        caller_number=call.caller_number.strip(),
        source=common_pb2.CallSource.ValueType(call.source),
        location=_geo(call.location),
        address=call.address.strip(),
        incident_type=call.incident_type,
        description=call.description.strip(),
    )


MAX_ALARM_LEVEL = 5
MAX_UNITS_PER_REQUEST = 20
Outcome = events_pb2.AssignmentEnded.Outcome
CancelReason = events_pb2.IncidentCancelled.Reason


@dataclass
class Assignment:
    """A unit sent to the incident."""

    unit_id: str
    capability: str
    reason: str
    resource_request_id: str = ""
    replaces: str = ""
    state: str = "ACTIVE"  # or an AssignmentEnded outcome: DECLINED, TIMED_OUT, RELEASED
    ended_reason: str = ""
    # The UnitDispatched event's id (the team's alert carries it) and time (µs), when
    # read back from the store.
    dispatch_event_id: str = ""
    dispatched_at_us: int = 0


@dataclass
class ResourceRequest:
    """Forces asked for and not dispatched yet."""

    resource_request_id: str
    capability: str  # empty with unit_id: that unit, whatever it fills
    remaining: int
    unit_id: str = ""
    replaces: str = ""
    reason: str = ""
    unavailable_reason: str = ""  # the last UnitsUnavailable recorded for it


@dataclass
class Incident(Aggregate):
    incident_id: str = ""
    incident_type: str = ""
    location: Point | None = None
    address: str = ""
    status: IncidentStatus = IncidentStatus.NONE
    call_ids: list[str] = field(default_factory=list)
    dispatched: list[str] = field(default_factory=list)  # unit ids, in dispatch order
    assignments: dict[str, Assignment] = field(default_factory=dict)
    resource_requests: dict[str, ResourceRequest] = field(
        default_factory=dict
    )  # open ones, in request order
    requests_made: int = 0
    alarm_level: int = 0
    commander_id: str = ""
    commander_name: str = ""
    opened_at_us: int = 0
    version: int = 0

    @property
    def active(self) -> bool:
        return self.status.active

    def active_units(self) -> list[str]:
        return [a.unit_id for a in self.assignments.values() if a.state == "ACTIVE"]

    def releases_owed(self) -> list[str]:
        """Units still on an incident that is over: dispatch must send them home."""
        return [] if self.active else self.active_units()

    # --- intake ------------------------------------------------------------------------

    @staticmethod
    def open_from_call(incident_id: str, call: Call, now_us: int = 0) -> list[Message]:
        check_call(call)
        created = events_pb2.IncidentCreated(
            incident_id=incident_id,
            call_id=call.call_id,
            incident_type=call.incident_type,
            location=_geo(call.location),
            address=call.address.strip(),
            alarm_level=1,
        )
        if now_us:
            created.opened_at.FromMicroseconds(now_us)
        return [_call_received(call), created]

    def link_call(self, call: Call, linked_by: str) -> list[Message]:
        """A further call about this incident: recorded on it, no new incident."""
        self._require_active("link a call to it: take the call as a new incident")
        check_call(call)
        return [
            _call_received(call),
            events_pb2.DuplicateCallLinked(
                incident_id=self.incident_id, call_id=call.call_id, linked_by=linked_by
            ),
        ]

    def classify(self, incident_type: str, note: str) -> list[Message]:
        self._require_active("reclassify it")
        if incident_type == self.incident_type:
            raise FailedPrecondition(f"incident {self.incident_id} is a {incident_type} already")
        return [
            events_pb2.IncidentClassified(
                incident_id=self.incident_id,
                from_type=self.incident_type,
                to_type=incident_type,
                verified_alarm=self.incident_type == "automatic_alarm",
                note=note.strip(),
            )
        ]

    # --- dispatching -------------------------------------------------------------------

    def check_can_dispatch(self, unit_id: str) -> None:
        self._require_active("dispatch to it")
        if not unit_id.strip():
            raise InvalidArgument("unit_id is required")
        assignment = self.assignments.get(unit_id)
        if assignment is not None and assignment.state == "ACTIVE":
            raise FailedPrecondition(
                f"unit {unit_id} is already dispatched to incident {self.incident_id}"
            )

    def dispatch(self, unit_id: str, reason: str, capability: str = "") -> list[Message]:
        """Record that ``unit_id`` (already reserved for this incident) is sent to it. A
        request for that unit, or else an open request for the same capability, is filled by it."""
        self.check_can_dispatch(unit_id)
        request = next(
            (n for n in self.resource_requests.values() if n.unit_id == unit_id), None
        ) or next(
            (
                n
                for n in self.resource_requests.values()
                if capability and n.capability == capability and not n.unit_id
            ),
            None,
        )  # a pending dispatch of another unit stays that unit's
        return [
            self._dispatched(
                unit_id, capability or (request.capability if request else ""), reason, request
            )
        ]

    def fill(
        self, resource_request_id: str, unit_id: str, capability: str, reason: str
    ) -> list[Message]:
        """Dispatch's request filler sends ``unit_id`` (reserved) for the open request."""
        self.check_can_dispatch(unit_id)
        request = self.resource_requests.get(resource_request_id)
        if request is None:
            raise FailedPrecondition(
                f"incident {self.incident_id} has no open request {resource_request_id!r}: "
                "filled meanwhile"
            )
        return [self._dispatched(unit_id, capability or request.capability, reason, request)]

    def _dispatched(
        self, unit_id: str, capability: str, reason: str, request: ResourceRequest | None
    ) -> events_pb2.UnitDispatched:
        return events_pb2.UnitDispatched(
            incident_id=self.incident_id,
            unit_id=unit_id,
            incident_type=self.incident_type,
            location=_geo(self.location),
            address=self.address,
            reason=reason.strip(),
            capability=capability,
            resource_request_id=request.resource_request_id if request else "",
            replaces_unit_id=request.replaces if request else "",
        )

    def request_units(
        self, capability: str, count: int, reason: str, unit_id: str = "", replaces: str = ""
    ) -> list[Message]:
        self._require_active("request units for it")
        if capability and capability not in CAPABILITIES:
            raise InvalidArgument(
                f"unknown capability {capability!r}; known: {sorted(CAPABILITIES)}"
            )
        if not capability and not unit_id:
            raise InvalidArgument("name the capability needed (engine, aerial, ...)")
        if not 1 <= count <= MAX_UNITS_PER_REQUEST:
            raise InvalidArgument(f"count {count} is outside 1..{MAX_UNITS_PER_REQUEST}")
        if unit_id and unit_id in self.active_units():
            raise FailedPrecondition(
                f"unit {unit_id} is already dispatched to incident {self.incident_id}"
            )
        if unit_id and any(n.unit_id == unit_id for n in self.resource_requests.values()):
            raise FailedPrecondition(
                f"unit {unit_id} is already asked for on incident {self.incident_id} "
                "(pending): dispatch completes it as soon as the units service answers"
            )
        return [self._need(self.requests_made + 1, capability, count, reason, unit_id, replaces)]

    def _need(
        self,
        n: int,
        capability: str,
        count: int,
        reason: str,
        unit_id: str = "",
        replaces: str = "",
    ) -> events_pb2.UnitsRequested:
        return events_pb2.UnitsRequested(
            incident_id=self.incident_id,
            resource_request_id=f"n{n}",
            capability=capability,
            count=count,
            unit_id=unit_id,
            replaces_unit_id=replaces,
            reason=reason.strip(),
        )

    def units_unavailable(
        self, resource_request_id: str, missing: int, reason: str
    ) -> list[Message]:
        """Say once why a request is not filled (again only when the reason changes)."""
        request = self.resource_requests.get(resource_request_id)
        if request is None or request.unavailable_reason == reason:
            return []
        return [
            events_pb2.UnitsUnavailable(
                incident_id=self.incident_id,
                resource_request_id=resource_request_id,
                capability=request.capability,
                missing=missing,
                reason=reason,
            )
        ]

    def unit_answered(
        self, unit_id: str, outcome: events_pb2.AssignmentEnded.Outcome.ValueType, reason: str
    ) -> list[Message]:
        """The unit's team declined or did not answer in time, the unit was released by
        someone, or its crew reported it returning: it is off the incident. A decline or
        a time-out on an active incident asks for a replacement in the same capability."""
        assignment = self.assignments.get(unit_id)
        if assignment is None or assignment.state != "ACTIVE":
            return []
        events: list[Message] = [
            events_pb2.AssignmentEnded(
                incident_id=self.incident_id, unit_id=unit_id, outcome=outcome, reason=reason
            )
        ]
        if self.active and outcome in (Outcome.DECLINED, Outcome.TIMED_OUT):
            why = "declined" if outcome == Outcome.DECLINED else "did not answer in time"
            detail = f" ({reason})" if reason else ""
            events.append(
                self._need(
                    self.requests_made + 1,
                    assignment.capability,
                    1,
                    f"re-dispatch: {unit_id} {why}{detail}",
                    replaces=unit_id,
                )
            )
        return events

    # --- unified command ---------------------------------------------------------------

    def raise_alarm(self, level: int, reason: str, card: dict[str, int]) -> list[Message]:
        """Go to ``level``; ``card`` is the run card there. What the card asks for beyond
        the units on the incident and the needs still open is requested."""
        self._require_active("raise its alarm level")
        if not self.alarm_level < level <= MAX_ALARM_LEVEL:
            raise InvalidArgument(
                f"alarm level {level} is not above the current level {self.alarm_level} "
                f"(at most {MAX_ALARM_LEVEL})"
            )
        covered: dict[str, int] = {}
        for a in self.assignments.values():
            if a.state == "ACTIVE":
                covered[a.capability] = covered.get(a.capability, 0) + 1
        for request in self.resource_requests.values():
            covered[request.capability] = covered.get(request.capability, 0) + request.remaining
        events: list[Message] = [
            events_pb2.AlarmLevelRaised(
                incident_id=self.incident_id,
                from_level=self.alarm_level,
                to_level=level,
                reason=reason.strip(),
            )
        ]
        n = self.requests_made
        for capability, wanted in card.items():
            missing = wanted - covered.get(capability, 0)
            if missing > 0:
                n += 1
                have = covered.get(capability, 0)
                why = f"alarm level {level}: {capability} {have} of {wanted} sent or asked for"
                events.append(self._need(n, capability, missing, why))
        return events

    def assume_command(self, commander_id: str, name: str, unit_id: str) -> list[Message]:
        self._require_active("take command of it")
        if not commander_id.strip():
            raise InvalidArgument("commander_id is required")
        if self.commander_id:
            raise FailedPrecondition(
                f"{self.commander_name or self.commander_id} is in command of incident "
                f"{self.incident_id}: use TransferCommand to take over"
            )
        return [
            events_pb2.CommandAssumed(
                incident_id=self.incident_id,
                commander_id=commander_id.strip(),
                commander_name=name.strip(),
                unit_id=unit_id.strip(),
            )
        ]

    def transfer_command(
        self, to_id: str, to_name: str, unit_id: str, reason: str
    ) -> list[Message]:
        self._require_active("transfer its command")
        if not self.commander_id:
            raise FailedPrecondition(
                f"nobody is in command of incident {self.incident_id}: use AssumeCommand"
            )
        if not to_id.strip():
            raise InvalidArgument("to_commander_id is required")
        if to_id.strip() == self.commander_id:
            raise FailedPrecondition(f"{to_id.strip()} is in command already")
        return [
            events_pb2.CommandTransferred(
                incident_id=self.incident_id,
                from_commander_id=self.commander_id,
                to_commander_id=to_id.strip(),
                to_commander_name=to_name.strip(),
                unit_id=unit_id.strip(),
                reason=reason.strip(),
            )
        ]

    def mark_under_control(self, note: str, keep_requests: bool = False) -> list[Message]:
        """Under control: the open requests for units end with it (a tanker asked for
        hours ago is not wanted now), unless the commander keeps them."""
        if self.status is not IncidentStatus.OPEN:
            raise FailedPrecondition(
                f"incident {self.incident_id} is {self.status.name}: only an OPEN incident can "
                "be marked under control"
            )
        events: list[Message] = [
            events_pb2.IncidentUnderControl(incident_id=self.incident_id, note=note.strip())
        ]
        if not keep_requests:
            events += [
                self._request_cancelled(n, "incident under control")
                for n in self.resource_requests.values()
            ]
        return events

    def cancel_request(self, resource_request_id: str, reason: str) -> list[Message]:
        """Withdraw an open request for units: nothing more is sent for it."""
        self._require_active("cancel its requests")
        request = self.resource_requests.get(resource_request_id.strip())
        if request is None:
            open_ids = ", ".join(self.resource_requests) or "none"
            raise FailedPrecondition(
                f"incident {self.incident_id} has no open request {resource_request_id!r} (open: "
                f"{open_ids}): it was filled or ended already"
            )
        return [self._request_cancelled(request, reason.strip() or "cancelled")]

    def _request_cancelled(
        self, request: ResourceRequest, reason: str
    ) -> events_pb2.ResourceRequestCancelled:
        return events_pb2.ResourceRequestCancelled(
            incident_id=self.incident_id,
            resource_request_id=request.resource_request_id,
            capability=request.capability,
            remaining=request.remaining,
            reason=reason,
        )

    def close(self, note: str) -> list[Message]:
        self._require_active("close it")
        return [events_pb2.IncidentClosed(incident_id=self.incident_id, note=note.strip())]

    def cancel(self, reason: str, note: str) -> list[Message]:
        self._require_active("cancel it")
        names = [v.name for v in CancelReason.DESCRIPTOR.values if v.number]
        if reason not in names:
            raise InvalidArgument(f"cancel reason {reason!r} is not one of {names}")
        return [
            events_pb2.IncidentCancelled(
                incident_id=self.incident_id,
                reason=CancelReason.Value(reason),
                note=note.strip(),
            )
        ]

    def released(self, unit_id: str, reason: str) -> list[Message]:
        """Dispatch sent the unit home (the incident is over)."""
        return self.unit_answered(unit_id, Outcome.RELEASED, reason)

    def _require_active(self, to_do: str) -> None:
        if self.status is IncidentStatus.NONE:
            raise FailedPrecondition("no such incident")
        if not self.active:
            raise FailedPrecondition(
                f"incident {self.incident_id} is {self.status.name}: cannot {to_do}"
            )

    # --- evolution ---------------------------------------------------------------------

    def apply_recorded(self, event: Message, event_id: str, occurred_at_us: int) -> None:
        self.apply(event)
        if isinstance(event, events_pb2.UnitDispatched):
            assignment = self.assignments[event.unit_id]
            assignment.dispatch_event_id, assignment.dispatched_at_us = event_id, occurred_at_us

    def apply(self, event: Message) -> None:
        match event:
            case events_pb2.CallReceived():
                self.call_ids.append(event.call_id)
            case events_pb2.IncidentCreated():
                self.incident_id = event.incident_id
                self.incident_type = event.incident_type
                self.address = event.address
                if event.HasField("location"):
                    self.location = Point(event.location.latitude, event.location.longitude)
                self.status = IncidentStatus.OPEN
                self.alarm_level = event.alarm_level or 1
                self.opened_at_us = event.opened_at.ToMicroseconds()
            case events_pb2.UnitDispatched():
                self.dispatched.append(event.unit_id)
                self.assignments[event.unit_id] = Assignment(
                    event.unit_id,
                    event.capability,
                    event.reason,
                    event.resource_request_id,
                    event.replaces_unit_id,
                )
                request = self.resource_requests.get(event.resource_request_id)
                if request is not None:
                    request.remaining -= 1
                    if request.remaining <= 0:
                        del self.resource_requests[event.resource_request_id]
            case events_pb2.UnitsRequested():
                self.requests_made += 1
                self.resource_requests[event.resource_request_id] = ResourceRequest(
                    event.resource_request_id,
                    event.capability,
                    event.count,
                    event.unit_id,
                    event.replaces_unit_id,
                    event.reason,
                )
            case events_pb2.UnitsUnavailable():
                if event.resource_request_id in self.resource_requests:
                    self.resource_requests[
                        event.resource_request_id
                    ].unavailable_reason = event.reason
            case events_pb2.ResourceRequestCancelled():
                self.resource_requests.pop(event.resource_request_id, None)
            case events_pb2.AssignmentEnded():
                assignment = self.assignments[event.unit_id]
                assignment.state = Outcome.Name(event.outcome)
                assignment.ended_reason = event.reason
            case events_pb2.AlarmLevelRaised():
                self.alarm_level = event.to_level
            case events_pb2.CommandAssumed():
                self.commander_id, self.commander_name = event.commander_id, event.commander_name
            case events_pb2.CommandTransferred():
                self.commander_id = event.to_commander_id
                self.commander_name = event.to_commander_name
            case events_pb2.IncidentUnderControl():
                self.status = IncidentStatus.UNDER_CONTROL
            case events_pb2.IncidentClosed():
                self.status = IncidentStatus.CLOSED
                self.resource_requests.clear()
            case events_pb2.IncidentCancelled():
                self.status = IncidentStatus.CANCELLED
                self.resource_requests.clear()
            case events_pb2.IncidentClassified():
                self.incident_type = event.to_type
        self.version += 1
