"""The incidents gRPC servicer: the log, the board, time travel and replay, notes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import grpc
import structlog
from google.protobuf.timestamp_pb2 import Timestamp

from emergency.v1 import common_pb2, incidents_pb2, incidents_pb2_grpc
from services.common.auth import current_principal
from services.common.envelope import EventEnvelope, micros, timestamp
from services.common.errors import InvalidArgument, NotFound, ResourceExhausted
from services.common.grpc_server import GrpcServer
from services.common.jurisdiction import Role
from services.incidents.log import IncidentLogReader, IncidentQuery
from services.incidents.notes import Notes
from services.incidents.replay import IncidentView, ordered, state_message, summary, timeline

log = structlog.get_logger(__name__)
STAFF = {Role.CALL_TAKER, Role.COMMANDER, Role.ADMIN}
READERS = STAFF | {Role.VIEWER}  # read-only staff (supervisors, wall boards) read too
ACCESS = {
    "GetIncidentLog": READERS,
    "GetIncidentState": READERS,
    "SearchIncidents": READERS,
    "GetTimeline": READERS,
    "ReplayIncident": READERS,
    "AddNote": {Role.COMMANDER, Role.ADMIN},
}
STATUSES = frozenset({"OPEN", "UNDER_CONTROL", "CLOSED", "CANCELLED"})
MAX_SEARCH = 1000
PACING_SLICE = 0.1  # seconds: how often a paced replay checks that its client is still there
# A paced replay holds one of the server's threads for the incident's length (scaled):
# past this many at once, more are refused rather than starving every other call.
MAX_PACED_REPLAYS = 8
ReadKafka = Callable[[str], list[EventEnvelope]]


def _timestamp(us: int) -> Timestamp | None:
    """Unset (None) for 0: not reached."""
    return timestamp(us) if us else None


class IncidentsServicer(incidents_pb2_grpc.IncidentsServiceServicer):
    def __init__(self, reader: IncidentLogReader, notes: Notes, read_kafka: ReadKafka) -> None:
        self.reader = reader
        self.notes = notes
        self.read_kafka = read_kafka
        self._paced = threading.BoundedSemaphore(MAX_PACED_REPLAYS)

    def _entries(self, incident_id: str, source: int) -> list[EventEnvelope]:
        """The incident's events in the canonical order, from the store or from Kafka."""
        if not incident_id.strip():
            raise InvalidArgument("incident_id is required")
        if source == incidents_pb2.KAFKA:
            entries = ordered(self.read_kafka(incident_id))
        else:
            entries = ordered(self.reader.entries(incident_id))
        if not entries:
            raise NotFound(
                f"no incident {incident_id!r} in the incident log (yet): events reach the "
                "log a few milliseconds after they are stored"
            )
        return entries

    def GetIncidentLog(self, request, context):  # type: ignore[no-untyped-def]
        entries = self._entries(request.incident_id, request.source)
        return incidents_pb2.IncidentLog(incident_id=request.incident_id, entries=entries)

    def GetIncidentState(self, request, context):  # type: ignore[no-untyped-def]
        entries = self._entries(request.incident_id, request.source)
        view = IncidentView()
        until = micros(request.at) if request.HasField("at") else None
        for envelope in entries:
            if until is not None and micros(envelope.occurred_at) > until:
                break
            view.apply(envelope)
        state = state_message(view)
        if until is not None:
            state.as_of.CopyFrom(request.at)
        return state

    def SearchIncidents(self, request, context):  # type: ignore[no-untyped-def]
        unknown = set(request.statuses) - STATUSES
        if unknown:
            raise InvalidArgument(f"unknown status {sorted(unknown)}; use {sorted(STATUSES)}")
        if request.limit > MAX_SEARCH:
            raise InvalidArgument(f"limit {request.limit} is above {MAX_SEARCH}")
        opened_from, opened_to = micros(request.opened_from), micros(request.opened_to)
        if opened_from and opened_to and opened_to < opened_from:
            raise InvalidArgument(
                "opened_to is before opened_from: the range ends before it starts"
            )
        area = None
        if request.HasField("area"):
            a = request.area
            if not (-90 <= a.south < a.north <= 90 and -180 <= a.west < a.east <= 180):
                raise InvalidArgument(
                    "area: give south < north within -90..90 and west < east within -180..180"
                )
            area = (a.south, a.west, a.north, a.east)
        rows = self.reader.search(
            IncidentQuery(
                statuses=tuple(request.statuses), incident_types=tuple(request.incident_types),
                opened_from_us=opened_from, opened_to_us=opened_to, area=area,
                limit=request.limit or 100,
            )
        )  # fmt: skip
        return incidents_pb2.SearchIncidentsResponse(incidents=[_summary(r) for r in rows])

    def GetTimeline(self, request, context):  # type: ignore[no-untyped-def]
        entries = self._entries(request.incident_id, request.source)
        return incidents_pb2.Timeline(incident_id=request.incident_id, entries=timeline(entries))

    def ReplayIncident(
        self, request: incidents_pb2.ReplayIncidentRequest, context: grpc.ServicerContext
    ) -> Iterator[incidents_pb2.ReplayFrame]:
        if not request.as_fast_as_possible and not request.speed > 0:
            raise InvalidArgument(
                f"speed {request.speed:g} must be above 0 (1 is the original pacing), or ask "
                "for as_fast_as_possible"
            )
        start = micros(getattr(request, "from")) if request.HasField("from") else None
        end = micros(request.to) if request.HasField("to") else None
        if start is not None and end is not None and end < start:
            raise InvalidArgument("to is before from: the time range ends before it starts")
        entries = self._entries(request.incident_id, request.source)
        if request.as_fast_as_possible:
            yield from self._replay(request, entries, context, start, end)
            return
        if not self._paced.acquire(blocking=False):
            raise ResourceExhausted(
                f"{MAX_PACED_REPLAYS} paced replays are running: wait for one to end, or "
                "replay as fast as possible"
            )
        try:
            yield from self._replay(request, entries, context, start, end)
        finally:
            self._paced.release()

    def _replay(
        self, request: incidents_pb2.ReplayIncidentRequest, entries: list[EventEnvelope],
        context: grpc.ServicerContext, start: int | None, end: int | None,
    ) -> Iterator[incidents_pb2.ReplayFrame]:  # fmt: skip
        structlog.contextvars.bind_contextvars(correlation_id=request.incident_id)
        log.info("replay started", events=len(entries), speed=request.speed,
                 fast=request.as_fast_as_possible, source=request.source)  # fmt: skip
        first_at = micros(entries[0].occurred_at)
        view = IncidentView()
        paced_from: tuple[float, int] | None = None  # (wall clock, event time) of frame one
        sent = 0
        for index, envelope in enumerate(entries):
            at = micros(envelope.occurred_at)
            if end is not None and at > end:
                break
            view.apply(envelope)
            if start is not None and at < start:
                continue  # before the window: it shapes the state, it is not shown
            if not request.as_fast_as_possible:
                if paced_from is None:
                    paced_from = (time.monotonic(), at)
                due = paced_from[0] + (at - paced_from[1]) / 1e6 / request.speed
                if not _wait_until(due, context):
                    log.info("replay cancelled by the client", sent=sent)
                    return
            elif not context.is_active():
                log.info("replay cancelled by the client", sent=sent)
                return
            frame = incidents_pb2.ReplayFrame(
                index=index, event=envelope, seconds_from_start=(at - first_at) / 1e6,
                summary=summary(envelope),
            )  # fmt: skip
            if request.with_state:
                frame.state.CopyFrom(state_message(view))
            sent += 1
            yield frame
        log.info("replay finished", sent=sent)

    def AddNote(self, request, context):  # type: ignore[no-untyped-def]
        note_id = self.notes.add(request, current_principal().actor)
        return incidents_pb2.AddNoteResponse(note_id=note_id)


def _wait_until(due: float, context: grpc.ServicerContext) -> bool:
    """Sleep until ``due`` (monotonic), in short slices; False when the client went away."""
    while True:
        if not context.is_active():
            return False
        left = due - time.monotonic()
        if left <= 0:
            return True
        time.sleep(min(left, PACING_SLICE))


def _summary(row: dict[str, object]) -> incidents_pb2.IncidentSummary:
    where = (
        common_pb2.GeoPoint(latitude=row["latitude"], longitude=row["longitude"])  # type: ignore[arg-type]
        if row["latitude"] is not None
        else None
    )
    return incidents_pb2.IncidentSummary(
        incident_id=row["incident_id"], incident_type=row["incident_type"],
        status=row["status"], alarm_level=row["alarm_level"], location=where,
        address=row["address"], opened_at=_timestamp(row["opened_at"]),  # type: ignore[arg-type]
        ended_at=_timestamp(row["ended_at"]), events=row["events"],  # type: ignore[arg-type]
        last_event_at=_timestamp(row["last_event_at"]),  # type: ignore[arg-type]
    )  # fmt: skip


def mount(server: GrpcServer, servicer: IncidentsServicer) -> None:
    server.add(
        incidents_pb2_grpc.add_IncidentsServiceServicer_to_server,
        servicer,
        incidents_pb2.DESCRIPTOR.services_by_name["IncidentsService"].full_name,
    )
