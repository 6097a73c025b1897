"""The dispatch application service: 119 intake, dispatching and unified command. Each
command loads the incident, lets it decide, and appends the events (idempotent by
request id; on a concurrent change it decides again on the fresh state)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Protocol

import structlog
from google.protobuf.message import Message

from emergency.v1 import common_pb2, dispatch_pb2
from services.common.board import StreamBoard
from services.common.commands import (
    append_decision,
    client_key,
    derived_request_id,
    system_key,
)
from services.common.envelope import Actor, EventEnvelope, actor_ref, micros, new_event
from services.common.errors import (
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from services.common.eventstore import CommandKey, EventStore, now_us
from services.common.geo import Point
from services.common.jurisdiction import CAPABILITIES, Bounds
from services.common.streams import typed
from services.dispatch.domain import Call, Incident, Outcome, stream_id
from services.dispatch.duplicates import LikelyDuplicate, OpenIncident, find_duplicates
from services.dispatch.recommend import Candidate, CandidatePool, Recommendation, recommend
from services.dispatch.runcards import RunCards, load_run_cards
from services.dispatch.travel import StraightLineTravel, TravelTime

log = structlog.get_logger(__name__)
Decision = Callable[[Incident], list[Message]]
POOL_TTL = 1.0  # seconds a recommendation's list of free units may be reused
SYSTEM_ACTOR = actor_ref(Actor.SYSTEM, "dispatch")  # decisions dispatch makes on its own
# What the units service tells dispatch about a unit on an incident.
UNIT_OUTCOMES = {
    "alert_declined": Outcome.DECLINED,
    "alert_timed_out": Outcome.TIMED_OUT,
    "unit_released": Outcome.RELEASED,
    "unit_status_changed": Outcome.RETURNED,  # only a move to RETURNING: see wants_unit_event
}
_RETURNING = common_pb2.UnitStatus.Value("RETURNING")


def wants_unit_event(envelope: EventEnvelope) -> bool:
    """The units events dispatch acts on: a unit off one of its incidents (declined,
    timed out, released, or its crew returning by itself)."""
    kind = envelope.WhichOneof("payload")
    if kind == "unit_status_changed":
        return envelope.unit_status_changed.to_status == _RETURNING
    return kind in UNIT_OUTCOMES


WAKES_FILLER = frozenset({"UnitsRequested", "IncidentClosed", "IncidentCancelled"})


class UnitsPort(Protocol):
    """What dispatch needs of the units service (``units_client.UnitsClient`` over gRPC;
    an in-memory one in tests). ``authorization`` is the credential to act with: the
    caller's own, forwarded, or dispatch's service token. Refusals are the domain's
    errors; a service that cannot be reached is ``Unavailable``."""

    def reserve(
        self, unit_id: str, incident_id: str, request_id: str, authorization: str
    ) -> None: ...

    def release(
        self, unit_id: str, incident_id: str, request_id: str, authorization: str, reason: str
    ) -> None: ...

    def available(self, authorization: str) -> list[Candidate]:
        """Every unit free to send (available, or returning and so already on the road)."""
        ...

    def reservations(self, authorization: str) -> list[tuple[str, str]]:
        """(unit id, incident id) of every unit held RESERVED (not yet alerted)."""
        ...

    def reserved_by(self, unit_id: str, authorization: str) -> tuple[str, int] | None:
        """The id and the time (µs) of the event that reserved the unit, if it is held."""
        ...


class DispatchApp:
    def __init__(
        self,
        store: EventStore,
        units: UnitsPort | None = None,
        run_cards: RunCards | None = None,
        travel: TravelTime | None = None,
        bounds: Bounds | None = None,
    ) -> None:
        self.store = store
        self.bounds = bounds  # the jurisdiction's: calls from outside are refused
        self.units = units
        self.run_cards = run_cards or load_run_cards()
        self.travel = travel or StraightLineTravel()
        self.board: StreamBoard[Incident] = StreamBoard(store, "incident-", Incident)
        # Called after a command leaves work for the need filler (needs, releases owed).
        self.on_needs: Callable[[], None] = lambda: None
        self._pool: CandidatePool | None = None  # see _candidates
        self._pool_at = 0.0
        self._pool_lock = threading.Lock()

    def receive_call(
        self, request: dispatch_pb2.ReceiveCallRequest, actor: str
    ) -> tuple[Incident, str]:
        """Open an incident from a call; returns it and the call's id."""
        key = client_key(request, "ReceiveCall", actor)
        seen = self.store.find_request(key)
        if seen is None:
            location = self._checked_location(request)
            call = Call(
                call_id=str(uuid.uuid4()), caller_number=request.caller_number,
                source=request.source, location=location, address=request.address,
                incident_type=request.incident_type, description=request.description,
            )  # fmt: skip
            if request.link_to_incident_id:
                incident = self.get_incident(request.link_to_incident_id)
                events = incident.link_call(call, actor)
                incident_id, expected = incident.incident_id, incident.version
            else:
                incident_id, expected = str(uuid.uuid4()), 0
                events = Incident.open_from_call(incident_id, call, now_us())
            seen = self.store.append(
                stream_id(incident_id), expected,
                [new_event(e, correlation_id=incident_id, causation_id=key.request_id,
                           actor=actor)
                 for e in events],
                key,
            )  # fmt: skip
        incident_id = seen.events[0].correlation_id
        call_id = typed(seen.events[0]).call_id  # the command's CallReceived
        structlog.contextvars.bind_contextvars(correlation_id=incident_id)
        log.info("call received", replayed=seen.replayed,
                 linked=bool(request.link_to_incident_id))  # fmt: skip
        return self.get_incident(incident_id), call_id

    def dispatch_unit(
        self, request: dispatch_pb2.DispatchUnitRequest, actor: str, authorization: str
    ) -> tuple[Incident, bool]:
        """Reserve the unit through the units service, then record the dispatch. A retry
        with the same request id repeats neither. When the units service cannot be
        reached, the dispatch is recorded as a need for that unit instead, and the need
        filler completes it: returns the incident and whether the dispatch is pending."""
        key = client_key(request, "DispatchUnit", actor)
        request_id = key.request_id
        seen = self.store.find_request(key)
        structlog.contextvars.bind_contextvars(correlation_id=request.incident_id)
        if seen is not None:
            pending = any(e.event_type == "UnitsRequested" for e in seen.events)
            return self.get_incident(request.incident_id), pending
        incident = self.get_incident(request.incident_id)
        incident.check_can_dispatch(request.unit_id)
        if request.slot and request.slot not in CAPABILITIES:
            raise InvalidArgument(
                f"unknown slot {request.slot!r}; a slot is a capability: {sorted(CAPABILITIES)}"
            )
        assert self.units is not None, "dispatching needs the units service"
        try:
            self.units.reserve(
                request.unit_id, incident.incident_id,
                derived_request_id(request_id, "reserve"), authorization,
            )  # fmt: skip
            self.taken(request.unit_id)
        except Unavailable as exc:
            log.warning("units service unavailable; dispatch kept as pending",
                        unit_id=request.unit_id, error=str(exc))  # fmt: skip
            incident = self.command(
                key, request.incident_id,
                lambda i: i.request_units(request.slot, 1, request.reason or "dispatch",
                                          unit_id=request.unit_id),
                actor,
            )  # fmt: skip
            return incident, True
        # The unit is now held for this incident. If another decision lands on the
        # incident meanwhile, decide again on the fresh state rather than give up and
        # leave the unit reserved with no dispatch recorded.
        try:
            incident = self.command(
                key, request.incident_id,
                lambda i: i.dispatch(request.unit_id, request.reason, request.slot), actor,
            )  # fmt: skip
        except DomainError:  # the incident moved on (closed, say): give the unit back
            self.units.release(
                request.unit_id, request.incident_id, derived_request_id(request_id, "undo"),
                authorization, "dispatch refused after reservation",
            )  # fmt: skip
            raise
        log.info("unit dispatched", unit_id=request.unit_id, slot=request.slot)
        return incident, False

    # --- unified command -------------------------------------------------------------

    def raise_alarm(self, request: dispatch_pb2.RaiseAlarmLevelRequest, actor: str) -> Incident:
        def decide(incident: Incident) -> list[Message]:
            if not 1 <= request.alarm_level <= 5:
                raise InvalidArgument(f"alarm_level {request.alarm_level} is outside 1..5")
            slots = self.run_cards.slots(incident.incident_type, request.alarm_level)
            return incident.raise_alarm(request.alarm_level, request.reason, slots)

        return self._client_command(request, "RaiseAlarmLevel", decide, actor)

    def request_units(self, request: dispatch_pb2.RequestUnitsRequest, actor: str) -> Incident:
        return self._client_command(
            request, "RequestUnits",
            lambda i: i.request_units(request.capability, request.count or 1,
                                      request.reason or f"requested by {actor}"),
            actor,
        )  # fmt: skip

    def assume_command(self, request: dispatch_pb2.AssumeCommandRequest, actor: str) -> Incident:
        commander = request.commander_id or actor
        return self._client_command(
            request,
            "AssumeCommand",
            lambda i: i.assume_command(commander, request.commander_name, request.unit_id),
            actor,
        )

    def transfer_command(
        self, request: dispatch_pb2.TransferCommandRequest, actor: str
    ) -> Incident:
        to = request.to_commander_id or actor
        return self._client_command(
            request, "TransferCommand",
            lambda i: i.transfer_command(to, request.to_commander_name, request.unit_id,
                                         request.reason),
            actor,
        )  # fmt: skip

    def mark_under_control(self, request: dispatch_pb2.IncidentNoteRequest, actor: str) -> Incident:
        return self._client_command(
            request, "MarkUnderControl",
            lambda i: i.mark_under_control(request.note, request.keep_requests), actor,
        )  # fmt: skip

    def cancel_units_request(
        self, request: dispatch_pb2.CancelUnitsRequestRequest, actor: str
    ) -> Incident:
        return self._client_command(
            request, "CancelUnitsRequest",
            lambda i: i.cancel_request(request.need_id, request.reason), actor,
        )  # fmt: skip

    def close(self, request: dispatch_pb2.IncidentNoteRequest, actor: str) -> Incident:
        return self._client_command(
            request, "CloseIncident", lambda i: i.close(request.note), actor
        )

    def cancel(self, request: dispatch_pb2.CancelIncidentRequest, actor: str) -> Incident:
        return self._client_command(
            request,
            "CancelIncident",
            lambda i: i.cancel(request.reason or "OTHER", request.note),
            actor,
        )

    def classify(self, request: dispatch_pb2.ClassifyIncidentRequest, actor: str) -> Incident:
        return self._client_command(
            request,
            "ClassifyIncident",
            lambda i: i.classify(request.incident_type, request.note),
            actor,
        )

    # --- what the units service reports --------------------------------------------------

    def on_unit_event(self, envelope: EventEnvelope) -> None:
        """A unit on one of our incidents declined, timed out, was released or is
        returning: take it off the incident and, for a decline or time-out, ask for a
        replacement (a unit returning by itself leaves nothing to replace)."""
        if not wants_unit_event(envelope):
            return
        kind = envelope.WhichOneof("payload")
        payload = getattr(envelope, kind)
        incident_id = envelope.correlation_id
        if self.board.find(incident_id) is None:
            return  # not an incident of ours (or not one at all)
        if not self._about_current_dispatch(envelope, incident_id, payload.unit_id):
            return  # about an earlier dispatch of the unit (a topic read again, say)
        reason = getattr(payload, "reason", "") or (
            "the crew reported returning" if kind == "unit_status_changed" else ""
        )
        self.command(
            system_key(f"units-event:{envelope.event_id}", "RecordUnitOutcome"), incident_id,
            lambda i: i.unit_answered(payload.unit_id, UNIT_OUTCOMES[kind], reason),
            SYSTEM_ACTOR,
        )  # fmt: skip

    def _about_current_dispatch(
        self, envelope: EventEnvelope, incident_id: str, unit_id: str
    ) -> bool:
        """Whether a units event concerns the unit's latest dispatch to the incident: an
        answer must be to that dispatch's alert (its id is the dispatch event's id), a
        release must come after it."""
        latest = next(
            (e for e in reversed(self.store.read_stream(stream_id(incident_id)))
             if e.event_type == "UnitDispatched" and typed(e).unit_id == unit_id),
            None,
        )  # fmt: skip
        if latest is None:
            return False
        kind = envelope.WhichOneof("payload")
        if kind in ("unit_released", "unit_status_changed"):
            return micros(envelope.occurred_at) >= latest.occurred_at
        return getattr(envelope, kind).alert_id == latest.event_id

    # --- the command pattern ---------------------------------------------------------------

    def _client_command(
        self, request: Message, operation: str, decide: Decision, actor: str
    ) -> Incident:
        key = client_key(request, operation, actor)
        return self.command(key, request.incident_id, decide, actor)  # type: ignore[attr-defined]

    def command(self, key: CommandKey, incident_id: str, decide: Decision, actor: str) -> Incident:
        """Load, decide, append; the same key again returns the state without deciding
        again. Wakes the need filler when the events leave it work."""
        structlog.contextvars.bind_contextvars(correlation_id=incident_id)
        if self.store.find_request(key) is not None:
            return self.get_incident(incident_id)
        result = append_decision(
            self.store, stream_id(incident_id), lambda: self.get_incident(incident_id), decide,
            lambda _, events: [new_event(e, correlation_id=incident_id,
                                         causation_id=key.request_id, actor=actor)
                               for e in events],
            key,
        )  # fmt: skip
        if result is None:
            return self.get_incident(incident_id)
        for event in result.events:
            log.info("incident event", event_type=event.event_type,
                     version=event.stream_version, actor=actor)  # fmt: skip
        if any(e.event_type in WAKES_FILLER for e in result.events):
            self.on_needs()
        return self.get_incident(incident_id)

    def _checked_location(self, request: dispatch_pb2.ReceiveCallRequest) -> Point | None:
        if not request.HasField("location"):
            return None
        where = Point.checked(request.location.latitude, request.location.longitude,
                              "call location")  # fmt: skip
        if self.bounds is not None and not self.bounds.contains(where.latitude, where.longitude):
            b = self.bounds
            raise InvalidArgument(
                f"call location ({where.latitude}, {where.longitude}) is outside the "
                f"jurisdiction (latitude {b.south}..{b.north}, longitude {b.west}..{b.east}): "
                "transfer the call to the neighbouring 119 centre"
            )
        return where

    def find_duplicates(self, request: dispatch_pb2.FindDuplicatesRequest) -> list[LikelyDuplicate]:
        if request.incident_type not in self.run_cards.incident_types:
            raise InvalidArgument(f"unknown incident type {request.incident_type!r}")
        location = (
            (request.location.latitude, request.location.longitude)
            if request.HasField("location") else None
        )  # fmt: skip
        if location is not None:
            Point.checked(*location, "call location")
        open_incidents = self.board.select(
            lambda i: i.active,  # a further call about a fire under control is still one
            lambda i: OpenIncident(
                i.incident_id, i.incident_type,
                (i.location.latitude, i.location.longitude) if i.location else None,
                i.address, i.opened_at_us,
            ),
        )  # fmt: skip
        return find_duplicates(request.incident_type, location, request.address, now_us(),
                               open_incidents, self.run_cards)  # fmt: skip

    def recommend(
        self, request: dispatch_pb2.RecommendUnitsRequest, authorization: str
    ) -> tuple[Incident, int, Recommendation]:
        incident = self.get_incident(request.incident_id)
        if incident.location is None:
            raise FailedPrecondition(
                f"incident {incident.incident_id} has no coordinates yet: locate it first"
            )
        level = request.alarm_level or incident.alarm_level or 1
        if not 1 <= level <= 5:
            raise InvalidArgument(f"alarm_level {level} is outside 1..5")
        pool = self._candidates(authorization)
        result = recommend(
            self.run_cards.slots(incident.incident_type, level), pool,
            (incident.location.latitude, incident.location.longitude), self.travel,
            first_intervention_within=(
                self.run_cards.first_intervention.within_seconds
                if self.run_cards.incident_types[incident.incident_type].first_intervention
                else None
            ),
            exclude=set(incident.dispatched),
        )  # fmt: skip
        return incident, level, result

    def list_incidents(self, statuses: set[str], limit: int) -> list[Incident]:
        """Newest first; active ones when no status is named."""
        wanted = statuses or {"OPEN", "UNDER_CONTROL"}
        unknown = wanted - {"OPEN", "UNDER_CONTROL", "CLOSED", "CANCELLED"}
        if unknown:
            raise InvalidArgument(
                f"unknown status {sorted(unknown)}; use OPEN, UNDER_CONTROL, CLOSED, CANCELLED"
            )
        found = self.board.select(lambda i: i.status in wanted)
        found.sort(key=lambda i: i.opened_at_us, reverse=True)
        return found[: limit or 100]

    def _candidates(self, authorization: str) -> CandidatePool:
        """The units free to send, asked of the units service at most once a second: a
        recommendation per call would otherwise cost a whole ListUnits. A unit this
        service reserves meanwhile is taken out at once (``taken``); one freed meanwhile
        is offered from the next refresh on. The reservation itself stays the check."""
        assert self.units is not None, "recommending needs the units service"
        with self._pool_lock:
            if self._pool is None or time.monotonic() - self._pool_at > POOL_TTL:
                self._pool = CandidatePool(
                    self.units.available(authorization),
                    first_intervention_only=self.run_cards.first_intervention.only_tiers,
                )
                self._pool_at = time.monotonic()
            return self._pool

    def taken(self, unit_id: str) -> None:
        """This service reserved the unit: recommendations stop offering it."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.exclude(unit_id)

    def incidents_with_work(self) -> list[Incident]:
        """Active incidents with open needs, and ended ones owing releases: the filler's."""
        return self.board.select(lambda i: bool((i.active and i.needs) or i.releases_owed()))

    def get_incident(self, incident_id: str) -> Incident:
        incident = self.board.find(incident_id)
        if incident is None:
            raise NotFound(f"no incident {incident_id!r}")
        return incident
