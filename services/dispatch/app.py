"""The dispatch application service: 119 intake."""

from __future__ import annotations

import uuid

import structlog

from emergency.v1 import dispatch_pb2
from services.common.commands import fingerprint, require_request_id
from services.common.envelope import new_event
from services.common.errors import NotFound
from services.common.eventstore import EventStore, StreamNotFound
from services.common.geo import Point
from services.common.streams import typed
from services.dispatch.domain import Call, Incident, stream_id
from services.dispatch.units_client import UnitsClient

log = structlog.get_logger(__name__)


class DispatchApp:
    def __init__(self, store: EventStore, units: UnitsClient | None = None) -> None:
        self.store = store
        self.units = units

    def receive_call(
        self, request: dispatch_pb2.ReceiveCallRequest, actor: str
    ) -> tuple[Incident, str]:
        """Open an incident from a call; returns it and the call's id."""
        request_id = require_request_id(request.request_id)
        request_print = fingerprint(request)
        seen = self.store.find_request(request_id, request_print)
        if seen is None:
            location = (
                Point.checked(
                    request.location.latitude, request.location.longitude, "call location"
                )
                if request.HasField("location")
                else None
            )
            call = Call(
                call_id=str(uuid.uuid4()),
                caller_number=request.caller_number,
                source=request.source,
                location=location,
                address=request.address,
                incident_type=request.incident_type,
                description=request.description,
            )
            incident_id = str(uuid.uuid4())
            events = Incident.open_from_call(incident_id, call)
            seen = self.store.append(
                stream_id(incident_id),
                0,
                [
                    new_event(e, correlation_id=incident_id, causation_id=request_id, actor=actor)
                    for e in events
                ],
                request_id=request_id,
                fingerprint=request_print,
            )
        incident = Incident.from_events(typed(e) for e in seen.events)
        structlog.contextvars.bind_contextvars(correlation_id=incident.incident_id)
        log.info("call received", incident_type=incident.incident_type, replayed=seen.replayed)
        return incident, incident.call_ids[0]

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
            events = incident.dispatch(request.unit_id, request.reason)
            self.store.append(
                stream_id(incident.incident_id), incident.version,
                [new_event(e, correlation_id=incident.incident_id, causation_id=request_id,
                           actor=actor) for e in events],
                request_id=request_id, fingerprint=request_print,
            )  # fmt: skip
        structlog.contextvars.bind_contextvars(correlation_id=request.incident_id)
        log.info("unit dispatched", unit_id=request.unit_id, replayed=seen is not None)
        return self.get_incident(request.incident_id)

    def get_incident(self, incident_id: str) -> Incident:
        try:
            events = self.store.read_stream(stream_id(incident_id))
        except StreamNotFound:
            raise NotFound(f"no incident {incident_id!r}") from None
        return Incident.from_events(typed(e) for e in events)
