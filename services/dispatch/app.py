"""The dispatch application service: 119 intake."""

from __future__ import annotations

import uuid

import structlog

from emergency.v1 import dispatch_pb2
from services.common.board import StreamBoard
from services.common.commands import fingerprint, require_request_id
from services.common.envelope import new_event
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.eventstore import ConcurrencyConflict, EventStore, now_us
from services.common.geo import Point
from services.common.jurisdiction import Bounds
from services.common.streams import typed
from services.dispatch.domain import Call, Incident, stream_id
from services.dispatch.duplicates import LikelyDuplicate, OpenIncident, find_duplicates
from services.dispatch.recommend import CandidatePool, Recommendation, recommend
from services.dispatch.runcards import RunCards, load_run_cards
from services.dispatch.travel import StraightLineTravel, TravelTime
from services.dispatch.units_client import UnitsClient

log = structlog.get_logger(__name__)
RETRIES_ON_CONFLICT = 5


class DispatchApp:
    def __init__(
        self,
        store: EventStore,
        units: UnitsClient | None = None,
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

    def receive_call(
        self, request: dispatch_pb2.ReceiveCallRequest, actor: str
    ) -> tuple[Incident, str]:
        """Open an incident from a call; returns it and the call's id."""
        request_id = require_request_id(request.request_id)
        request_print = fingerprint(request)
        seen = self.store.find_request(request_id, request_print)
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
                [new_event(e, correlation_id=incident_id, causation_id=request_id, actor=actor)
                 for e in events],
                request_id=request_id, fingerprint=request_print,
            )  # fmt: skip
        incident_id = seen.events[0].correlation_id
        call_id = typed(seen.events[0]).call_id  # the command's CallReceived
        structlog.contextvars.bind_contextvars(correlation_id=incident_id)
        log.info("call received", replayed=seen.replayed,
                 linked=bool(request.link_to_incident_id))  # fmt: skip
        return self.get_incident(incident_id), call_id

    def dispatch_unit(
        self, request: dispatch_pb2.DispatchUnitRequest, actor: str, authorization: str
    ) -> Incident:
        """Reserve the unit through the units service, then record the dispatch. A retry
        with the same request id repeats neither."""
        request_id = require_request_id(request.request_id)
        request_print = fingerprint(request)
        seen = self.store.find_request(request_id, request_print)
        if seen is None:
            incident = self.get_incident(request.incident_id)
            incident.check_can_dispatch(request.unit_id)
            assert self.units is not None, "dispatching needs the units service"
            self.units.reserve(request.unit_id, incident.incident_id, f"{request_id}:reserve",
                               authorization)  # fmt: skip
            # The unit is now held for this incident. If another decision lands on the
            # incident meanwhile, decide again on the fresh state rather than give up and
            # leave the unit reserved with no dispatch recorded.
            for attempt in range(RETRIES_ON_CONFLICT):
                try:
                    self.store.append(
                        stream_id(incident.incident_id), incident.version,
                        [new_event(e, correlation_id=incident.incident_id,
                                   causation_id=request_id, actor=actor)
                         for e in incident.dispatch(request.unit_id, request.reason)],
                        request_id=request_id, fingerprint=request_print,
                    )  # fmt: skip
                    break
                except ConcurrencyConflict:
                    if attempt == RETRIES_ON_CONFLICT - 1:
                        raise
                    incident = self.get_incident(request.incident_id)
        structlog.contextvars.bind_contextvars(correlation_id=request.incident_id)
        log.info("unit dispatched", unit_id=request.unit_id, replayed=seen is not None)
        return self.get_incident(request.incident_id)

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
        open_incidents = [
            OpenIncident(i.incident_id, i.incident_type,
                         (i.location.latitude, i.location.longitude) if i.location else None,
                         i.address, i.opened_at_us)
            for i in self.board.values() if i.status == "OPEN"
        ]  # fmt: skip
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
        assert self.units is not None, "recommending needs the units service"
        pool = CandidatePool(
            self.units.available(authorization),
            first_intervention_only=self.run_cards.first_intervention.only_tiers,
        )
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

    def get_incident(self, incident_id: str) -> Incident:
        incident = self.board.find(incident_id)
        if incident is None:
            raise NotFound(f"no incident {incident_id!r}")
        return incident
