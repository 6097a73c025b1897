"""The dispatch application service: 119 intake, dispatching and unified command. Each
command loads the incident, lets it decide, and appends the events (idempotent by
request id; on a concurrent change it decides again on the fresh state)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from typing import Protocol

import numpy as np
import structlog
from google.protobuf.message import Message

from emergency.v1 import common_pb2, events_pb2
from services.analytics.coverage import (
    CommitmentImpact,
    Grid,
    build_grid,
    capable_units,
    cell_size_for,
    commitment_impact,
)
from services.analytics.coverage import Unit as CoverageUnit
from services.common.commands import (
    append_decision,
    client_key,
    derived_request_id,
    system_key,
)
from services.common.enums import IncidentStatus
from services.common.envelope import Actor, EventEnvelope, actor_ref, micros, new_event
from services.common.errors import (
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from services.common.eventstore import (
    CommandKey,
    ConcurrencyConflict,
    EventStore,
    RecordedEvent,
    now_us,
)
from services.common.geo import Point
from services.common.jurisdiction import CAPABILITIES, Bounds, Jurisdiction
from services.common.repository import AggregateRepository
from services.common.streams import recorded_payload
from services.dispatch.commands import (
    AssumeCommand,
    CancelIncident,
    CancelResourceRequest,
    ClassifyIncident,
    CloseIncident,
    DispatchUnit,
    IncidentCommand,
    MarkUnderControl,
    RaiseAlarmLevel,
    ReceiveCall,
    RequestUnits,
    TransferCommand,
)
from services.dispatch.domain import MAX_ALARM_LEVEL, Call, Incident, Outcome, stream_id
from services.dispatch.duplicates import LikelyDuplicate, OpenIncident, find_duplicates
from services.dispatch.history import (
    ImportHistoricalIncident,
    KnownUnit,
    check_import,
    historical_events,
    historical_incident_id,
    history_stream,
    import_actor,
)
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
        known_units: Mapping[str, KnownUnit] | None = None,
        jurisdiction: Jurisdiction | None = None,
    ) -> None:
        self.store = store
        self.jurisdiction = jurisdiction  # for coverage: its stations, units and grid
        self._grid: Grid | None = None
        self._grid_lock = threading.Lock()
        # The jurisdiction's units (station, tier), for importing historical incidents.
        self.known_units: Mapping[str, KnownUnit] = known_units or {}
        self.bounds = bounds  # the jurisdiction's: calls from outside are refused
        self.units = units
        self.run_cards = run_cards or load_run_cards()
        self.travel = travel or StraightLineTravel()
        self.incidents: AggregateRepository[Incident] = AggregateRepository(
            store, "incident-", Incident, self._index_work
        )
        # Incidents with work for the request filler, kept as events are folded, so a pass
        # with nothing to do costs a read of the new events and no scan.
        self._with_work: dict[str, int] = {}  # incident id -> when it opened (µs)
        self._pool: CandidatePool | None = None  # see _candidates
        self._pool_at = 0.0
        self._pool_lock = threading.Lock()

    def receive_call(self, command: ReceiveCall, actor: str) -> tuple[Incident, str]:
        """Open an incident from a call (or link the call to ``link_to_incident_id``);
        returns the incident and the call's id."""
        key = client_key(command, "ReceiveCall", actor)
        seen = self.store.find_request(key)
        if seen is None:
            self.run_cards.check_incident_type(command.incident_type)
            call = Call(
                call_id=str(uuid.uuid4()),
                caller_number=command.caller_number,
                source=command.source,
                location=self._checked_location(command.location),
                address=command.address,
                incident_type=command.incident_type,
                description=command.description,
            )
            if command.link_to_incident_id:
                incident = self.get_incident(command.link_to_incident_id)
                events = incident.link_call(call, actor)
                incident_id, expected = incident.incident_id, incident.version
            else:
                incident_id, expected = str(uuid.uuid4()), 0
                events = Incident.open_from_call(incident_id, call, now_us())
            seen = self.store.append(
                stream_id(incident_id),
                expected,
                [
                    new_event(
                        e, correlation_id=incident_id, causation_id=key.request_id, actor=actor
                    )
                    for e in events
                ],
                key,
            )
        incident_id = seen.events[0].correlation_id
        received = recorded_payload(seen.events[0])  # the command's CallReceived
        assert isinstance(received, events_pb2.CallReceived)
        structlog.contextvars.bind_contextvars(correlation_id=incident_id)
        log.info("call received", replayed=seen.replayed, linked=bool(command.link_to_incident_id))
        return self.get_incident(incident_id), received.call_id

    def dispatch_unit(
        self, command: DispatchUnit, actor: str, authorization: str
    ) -> tuple[Incident, bool]:
        """Reserve the unit through the units service, then record the dispatch. A retry
        with the same request id repeats neither. When the units service cannot be
        reached, the dispatch is recorded as a request for that unit instead, and the
        request filler completes it: returns the incident and whether it is pending."""
        key = client_key(command, "DispatchUnit", actor)
        seen = self.store.find_request(key)
        structlog.contextvars.bind_contextvars(correlation_id=command.incident_id)
        if seen is not None:
            pending = any(e.event_type == "UnitsRequested" for e in seen.events)
            return self.get_incident(command.incident_id), pending
        incident = self.get_incident(command.incident_id)
        incident.check_can_dispatch(command.unit_id)
        if command.capability and command.capability not in CAPABILITIES:
            raise InvalidArgument(
                f"unknown capability {command.capability!r}; known: {sorted(CAPABILITIES)}"
            )
        assert self.units is not None, "dispatching needs the units service"
        try:
            self.units.reserve(
                command.unit_id,
                incident.incident_id,
                derived_request_id(key.request_id, "reserve"),
                authorization,
            )
            self.taken(command.unit_id)
        except Unavailable as exc:
            log.warning(
                "units service unavailable; dispatch kept as pending",
                unit_id=command.unit_id,
                error=str(exc),
            )
            incident = self.command(
                key,
                command.incident_id,
                lambda i: i.request_units(
                    command.capability, 1, command.reason or "dispatch", unit_id=command.unit_id
                ),
                actor,
            )
            return incident, True
        # The unit is now held for this incident. If another decision lands on the
        # incident meanwhile, decide again on the fresh state rather than give up and
        # leave the unit reserved with no dispatch recorded.
        try:
            incident = self.command(
                key,
                command.incident_id,
                lambda i: i.dispatch(command.unit_id, command.reason, command.capability),
                actor,
            )
        except DomainError:  # the incident moved on (closed, say): give the unit back
            self.units.release(
                command.unit_id,
                command.incident_id,
                derived_request_id(key.request_id, "undo"),
                authorization,
                "dispatch refused after reservation",
            )
            raise
        log.info("unit dispatched", unit_id=command.unit_id, capability=command.capability)
        return incident, False

    # --- unified command -------------------------------------------------------------

    def handle(self, command: IncidentCommand, actor: str) -> Incident:
        """A unified-command decision on the incident the command names: load, decide,
        append (idempotent by the command's request id); the incident it leaves."""
        return self.command(
            client_key(command, type(command).__name__, actor),
            command.incident_id,
            lambda incident: self._decide(incident, command, actor),
            actor,
        )

    def _decide(self, incident: Incident, command: IncidentCommand, actor: str) -> list[Message]:
        match command:
            case RaiseAlarmLevel():
                if not 1 <= command.alarm_level <= MAX_ALARM_LEVEL:
                    raise InvalidArgument(
                        f"alarm_level {command.alarm_level} is outside 1..{MAX_ALARM_LEVEL}"
                    )
                card = self.run_cards.card(incident.incident_type, command.alarm_level)
                return incident.raise_alarm(command.alarm_level, command.reason, card)
            case RequestUnits():
                return incident.request_units(
                    command.capability,
                    command.count or 1,
                    command.reason or f"requested by {actor}",
                )
            case AssumeCommand():
                return incident.assume_command(
                    command.commander_id or actor, command.commander_name, command.unit_id
                )
            case TransferCommand():
                return incident.transfer_command(
                    command.to_commander_id or actor,
                    command.to_commander_name,
                    command.unit_id,
                    command.reason,
                )
            case MarkUnderControl():
                return incident.mark_under_control(command.note, command.keep_requests)
            case CloseIncident():
                return incident.close(command.note)
            case CancelIncident():
                return incident.cancel(command.reason or "OTHER", command.note)
            case ClassifyIncident():
                self.run_cards.check_incident_type(command.incident_type)
                return incident.classify(command.incident_type, command.note)
            case CancelResourceRequest():
                return incident.cancel_request(command.resource_request_id, command.reason)
        raise AssertionError(f"no decision for {type(command).__name__}")

    # --- history ----------------------------------------------------------------------

    def import_history(
        self, command: ImportHistoricalIncident, actor: str
    ) -> tuple[str, bool, int]:
        """Write one historical incident into the record (a ``history-`` stream, one
        append: all of it or nothing), at its original times, with the actor
        ``SYSTEM:import:<file>``; ``actor`` (the admin) is kept in ``IncidentImported``.
        Returns the incident id, whether it was written now (False: it was in the record
        already) and how many events it has."""
        check_import(command, self.known_units)
        self.run_cards.check_incident_type(command.incident_type)
        if command.location is not None:
            self._checked_location(command.location)
        incident_id = historical_incident_id(command.source, command.source_incident_id)
        structlog.contextvars.bind_contextvars(correlation_id=incident_id)
        stream = history_stream(incident_id)
        held = self.store.stream_version(stream)
        if held:
            return incident_id, False, held
        key = system_key(f"history:{incident_id}", "ImportHistoricalIncident")
        who = import_actor(command.file_name or command.source)
        events = [
            new_event(
                message, correlation_id=incident_id, causation_id=key.request_id, actor=who
            )._replace(occurred_at=at)
            for at, message in historical_events(command, incident_id, self.known_units, actor)
        ]
        try:
            result = self.store.append(stream, 0, events, key)
        except ConcurrencyConflict:  # another import of the same incident got there first
            return incident_id, False, self.store.stream_version(stream)
        if result.replayed:
            return incident_id, False, self.store.stream_version(stream)
        log.info("historical incident imported", events=len(events), source=command.source)
        return incident_id, True, len(events)

    # --- coverage -----------------------------------------------------------------------

    def coverage_grid(self) -> Grid:
        """The jurisdiction's grid with the travel time from every station to every cell,
        built once (seconds on a big jurisdiction: ``warm_coverage`` builds it at start)."""
        if self.jurisdiction is None:
            raise FailedPrecondition("coverage needs the jurisdiction: this dispatch has none")
        with self._grid_lock:
            if self._grid is None:
                self._grid = build_grid(
                    self.jurisdiction, self.travel, cell_size_for(self.jurisdiction)
                )
            return self._grid

    def coverage_now(
        self, capability: str, authorization: str
    ) -> tuple[CommitmentImpact, list[CoverageUnit], set[str]]:
        """The 5-minute circle with every capable unit in quarters and with those
        available now (the units service's board), the districts that fell and the best
        move-up; with the capable units and the committed ones' ids."""
        capability = capability or "engine"
        if capability not in CAPABILITIES:
            raise InvalidArgument(
                f"capability {capability!r} is unknown; known: {sorted(CAPABILITIES)}"
            )
        grid = self.coverage_grid()
        assert self.jurisdiction is not None and self.units is not None
        capable = capable_units(self.jurisdiction, capability)
        free = {c.unit_id for c in self.units.available(authorization) if not c.returning}
        committed = {u.unit_id for u in capable if u.unit_id not in free}
        weights = np.ones(len(grid))
        return commitment_impact(grid, weights, capable, committed), capable, committed

    # --- what the units service reports --------------------------------------------------

    def on_unit_event(self, envelope: EventEnvelope) -> None:
        """A unit on one of our incidents declined, timed out, was released or is
        returning: take it off the incident and, for a decline or time-out, ask for a
        replacement (a unit returning by itself leaves nothing to replace)."""
        if not wants_unit_event(envelope):
            return
        kind = envelope.WhichOneof("payload")
        assert kind is not None  # wants_unit_event picked it by its payload
        payload = getattr(envelope, kind)
        incident_id = envelope.correlation_id
        if self.incidents.find(incident_id) is None:
            return  # not an incident of ours (or not one at all)
        if not self._about_current_dispatch(envelope, incident_id, payload.unit_id):
            return  # about an earlier dispatch of the unit (a topic read again, say)
        reason = getattr(payload, "reason", "") or (
            "the crew reported returning" if kind == "unit_status_changed" else ""
        )
        self.command(
            system_key(f"units-event:{envelope.event_id}", "RecordUnitOutcome"),
            incident_id,
            lambda i: i.unit_answered(payload.unit_id, UNIT_OUTCOMES[kind], reason),
            SYSTEM_ACTOR,
        )

    def _about_current_dispatch(
        self, envelope: EventEnvelope, incident_id: str, unit_id: str
    ) -> bool:
        """Whether a units event concerns the unit's latest dispatch to the incident: an
        answer must be to that dispatch's alert (its id is the dispatch event's id), a
        release or a status change must come after it."""
        assignment = self.get_incident(incident_id).assignments.get(unit_id)
        if assignment is None or not assignment.dispatch_event_id:
            return False
        kind = envelope.WhichOneof("payload")
        if kind in ("unit_released", "unit_status_changed"):
            return micros(envelope.occurred_at) >= assignment.dispatched_at_us
        return bool(getattr(envelope, kind or "").alert_id == assignment.dispatch_event_id)

    # --- the command pattern ---------------------------------------------------------------

    def command(self, key: CommandKey, incident_id: str, decide: Decision, actor: str) -> Incident:
        """Load, decide, append; the same key again returns the state without deciding
        again. Wakes the request filler when the events leave it work."""
        structlog.contextvars.bind_contextvars(correlation_id=incident_id)
        if self.store.find_request(key) is not None:
            return self.get_incident(incident_id)
        result = append_decision(
            self.store,
            stream_id(incident_id),
            lambda: self.get_incident(incident_id),
            decide,
            lambda _, events: [
                new_event(e, correlation_id=incident_id, causation_id=key.request_id, actor=actor)
                for e in events
            ],
            key,
        )
        if result is None:
            return self.get_incident(incident_id)
        for event in result.events:  # the store has them: a line each only when debugging
            log.debug(
                "incident event",
                event_type=event.event_type,
                version=event.stream_version,
                actor=actor,
            )
        return self.get_incident(incident_id)

    def _checked_location(self, where: Point | None) -> Point | None:
        """The call's location, if it is inside the jurisdiction (InvalidArgument if not)."""
        if where is None:
            return None
        where = Point.checked(where.latitude, where.longitude, "call location")
        if self.bounds is not None and not self.bounds.contains(where.latitude, where.longitude):
            b = self.bounds
            raise InvalidArgument(
                f"call location ({where.latitude}, {where.longitude}) is outside the "
                f"jurisdiction (latitude {b.south}..{b.north}, longitude {b.west}..{b.east}): "
                "transfer the call to the neighbouring 119 centre"
            )
        return where

    def find_duplicates(
        self, incident_type: str, location: Point | None, address: str
    ) -> list[LikelyDuplicate]:
        """Open incidents a new call (of ``incident_type``, at ``location`` or
        ``address``) may be about, nearest first."""
        self.run_cards.check_incident_type(incident_type)
        if location is not None:
            location = Point.checked(location.latitude, location.longitude, "call location")
        open_incidents = self.incidents.select(
            lambda i: i.active,  # a further call about a fire under control is still one
            lambda i: OpenIncident(
                i.incident_id,
                i.incident_type,
                (i.location.latitude, i.location.longitude) if i.location else None,
                i.address,
                i.opened_at_us,
            ),
        )
        at = (location.latitude, location.longitude) if location else None
        return find_duplicates(incident_type, at, address, now_us(), open_incidents, self.run_cards)

    def recommend(
        self, incident_id: str, alarm_level: int, authorization: str
    ) -> tuple[Incident, int, Recommendation]:
        """The units to send across every tier for the incident's run card at
        ``alarm_level`` (0: its current level); returns the incident, the level and the
        recommendation."""
        incident = self.get_incident(incident_id)
        if incident.location is None:
            raise FailedPrecondition(
                f"incident {incident.incident_id} has no coordinates yet: locate it first"
            )
        level = alarm_level or incident.alarm_level or 1
        if not 1 <= level <= MAX_ALARM_LEVEL:
            raise InvalidArgument(f"alarm_level {level} is outside 1..{MAX_ALARM_LEVEL}")
        pool = self._candidates(authorization)
        result = recommend(
            self.run_cards.card(incident.incident_type, level),
            pool,
            (incident.location.latitude, incident.location.longitude),
            self.travel,
            first_intervention_within=(
                self.run_cards.first_intervention.within_seconds
                if self.run_cards.incident_types[incident.incident_type].first_intervention
                else None
            ),
            exclude=set(incident.dispatched),
        )
        return incident, level, result

    def list_incidents(self, statuses: Collection[IncidentStatus], limit: int) -> list[Incident]:
        """Newest first; active ones when no status is named."""
        wanted = statuses or {IncidentStatus.OPEN, IncidentStatus.UNDER_CONTROL}
        found = self.incidents.select(lambda i: i.status in wanted)
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
        """Active incidents with open requests and ended ones owing releases: the filler's,
        in the order they were opened."""
        return self.incidents.find_all(
            lambda: sorted(self._with_work, key=lambda i: (self._with_work[i], i))
        )

    def _index_work(self, incident_id: str, _event: RecordedEvent, incident: Incident) -> None:
        if (incident.active and incident.resource_requests) or incident.releases_owed():
            self._with_work[incident_id] = incident.opened_at_us
        else:
            self._with_work.pop(incident_id, None)

    def get_incident(self, incident_id: str) -> Incident:
        incident = self.incidents.find(incident_id)
        if incident is None:
            raise NotFound(f"no incident {incident_id!r}")
        return incident
