"""The incidents application service: the record of every incident, read back from the
incident log's store or again from Kafka; its state at any instant; replays; reports;
commanders' notes (load, decide, append, idempotently).

Read-your-writes: the log is a read model a few milliseconds behind dispatch. An
incident dispatch has opened is never refused as unknown because of that: a note is
accepted once dispatch confirms the incident, and a read answers ``Unavailable`` ("its
log is catching up"), which clients retry.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import tzinfo

import structlog

from emergency.v1 import events_pb2
from services.analytics.period import PeriodReport, PeriodStandards, period_report
from services.common.commands import append_decision, client_key
from services.common.envelope import EventEnvelope, micros, new_event
from services.common.errors import InvalidArgument, NotFound, ResourceExhausted, Unavailable
from services.common.eventstore import EventStore
from services.common.streams import recorded_payload
from services.incidents.domain import (
    MAX_PACED_REPLAYS,
    AddNote,
    NoteStream,
    ReplayPlan,
    Source,
    check_search,
    note_stream,
)
from services.incidents.narration import TimelineLine, summary, timeline
from services.incidents.ordering import ordered
from services.incidents.period import historical_incidents
from services.incidents.read_models import IncidentLogReader, IncidentQuery, IncidentRow
from services.incidents.report import Report, ResponseStandards, report_from_view
from services.incidents.view import IncidentView, fold

log = structlog.get_logger(__name__)
# Reads an incident's envelopes from the Kafka topics: (incident id, opened at µs or None).
ReadKafka = Callable[[str, int | None], list[EventEnvelope]]
PACING_SLICE = 0.1  # seconds: how often a paced replay checks that its client is still there


@dataclass(frozen=True, slots=True)
class ReplayFrame:
    """One event of a replay: its place in the whole log, how far into the incident (s),
    the line a person reads, and (when asked for) the state after it."""

    index: int
    envelope: EventEnvelope
    seconds_from_start: float
    summary: str
    view: IncidentView | None


class IncidentRecord:
    def __init__(
        self,
        store: EventStore,
        reader: IncidentLogReader,
        read_kafka: ReadKafka,
        opened_by_dispatch: Callable[[str], bool],
        standards: ResponseStandards,
    ) -> None:
        """``store``: the service's own (notes); ``reader``: the incident log and board;
        ``opened_by_dispatch``: asked when the log does not know an incident."""
        self.store = store
        self.reader = reader
        self.read_kafka = read_kafka
        self.opened_by_dispatch = opened_by_dispatch
        self.standards = standards
        self._paced = threading.BoundedSemaphore(MAX_PACED_REPLAYS)

    # --- reading the record --------------------------------------------------------------

    def entries(self, incident_id: str, source: Source) -> list[EventEnvelope]:
        """The incident's events in the canonical order, from the store or from Kafka."""
        if not incident_id.strip():
            raise InvalidArgument("incident_id is required")
        if source is Source.KAFKA:
            found = self.read_kafka(incident_id, self.reader.opened_at(incident_id))
        else:
            found = self.reader.entries(incident_id)
        entries = ordered(found)
        if not entries:
            if self.opened_by_dispatch(incident_id):
                # The incident exists; the log has not caught up: a retryable status.
                raise Unavailable(
                    f"incident {incident_id!r} is open and its log is catching up: retry "
                    "in a moment"
                )
            raise NotFound(f"no incident {incident_id!r}: dispatch never opened one")
        return entries

    def state(self, incident_id: str, at_us: int | None, source: Source) -> IncidentView:
        """The incident as it stood at ``at_us`` (µs), or now."""
        return fold(self.entries(incident_id, source), at_us)

    def timeline(self, incident_id: str, source: Source) -> list[TimelineLine]:
        return timeline(self.entries(incident_id, source))

    def report(self, incident_id: str, source: Source) -> Report:
        """The after-action report, checked against the configured standards."""
        return report_from_view(fold(self.entries(incident_id, source)), self.standards)

    def period(
        self,
        start_us: int | None,
        end_us: int | None,
        district: str,
        zone: tzinfo,
        standards: PeriodStandards | None = None,
    ) -> PeriodReport:
        """Response performance over [start_us, end_us) from the record: every incident
        opened then, folded and measured as ``services.analytics.period`` measures a CAD
        export (``services/incidents/period.py``). No incident: an empty report."""
        if start_us is None:
            raise InvalidArgument("period_from is required: the first instant of the period")
        if end_us is None:
            raise InvalidArgument("period_to is required: the instant the period ends (excluded)")
        if end_us <= start_us:
            raise InvalidArgument("period_to is not after period_from: give a later period_to")
        found = self.reader.entries_opened_between(start_us, end_us)
        incidents = historical_incidents(fold(ordered(e)) for e in found.values())
        return period_report(incidents, start_us, end_us, zone, district or None, standards)

    def search(self, query: IncidentQuery) -> list[IncidentRow]:
        check_search(query.limit, query.opened_from_us, query.opened_to_us, query.area)
        return self.reader.search(query)

    # --- replay --------------------------------------------------------------------------

    def replay(
        self,
        incident_id: str,
        plan: ReplayPlan,
        source: Source,
        with_state: bool,
        still_wanted: Callable[[], bool],
    ) -> Iterator[ReplayFrame]:
        """The incident's events again, paced by the plan; stops as soon as
        ``still_wanted()`` is False (the client went away). A paced replay holds its
        thread for the incident's length: past ``MAX_PACED_REPLAYS`` at once, more are
        refused with ``ResourceExhausted``."""
        entries = self.entries(incident_id, source)
        if plan.as_fast_as_possible:
            yield from self._frames(incident_id, plan, entries, with_state, still_wanted)
            return
        if not self._paced.acquire(blocking=False):
            raise ResourceExhausted(
                f"{MAX_PACED_REPLAYS} paced replays are running: wait for one to end, or "
                "replay as fast as possible"
            )
        try:
            yield from self._frames(incident_id, plan, entries, with_state, still_wanted)
        finally:
            self._paced.release()

    def _frames(
        self,
        incident_id: str,
        plan: ReplayPlan,
        entries: list[EventEnvelope],
        with_state: bool,
        still_wanted: Callable[[], bool],
    ) -> Iterator[ReplayFrame]:
        structlog.contextvars.bind_contextvars(correlation_id=incident_id)
        log.info(
            "replay started", events=len(entries), speed=plan.speed, fast=plan.as_fast_as_possible
        )
        first_at = micros(entries[0].occurred_at)
        view = IncidentView()
        paced_from: tuple[float, int] | None = None  # (wall clock, event time) of frame one
        sent = 0
        try:
            for index, envelope in enumerate(entries):
                at = micros(envelope.occurred_at)
                if plan.past_end(at):
                    break
                view.apply(envelope)
                if not plan.shows(at):
                    continue  # before the window: it shapes the state, it is not shown
                if not plan.as_fast_as_possible:
                    if paced_from is None:
                        paced_from = (time.monotonic(), at)
                    due = plan.due(paced_from[0], paced_from[1], at)
                    if not _wait_until(due, still_wanted):
                        log.info("replay cancelled by the client", sent=sent)
                        return
                elif not still_wanted():
                    log.info("replay cancelled by the client", sent=sent)
                    return
                sent += 1
                yield ReplayFrame(
                    index,
                    envelope,
                    (at - first_at) / 1e6,
                    summary(envelope),
                    view if with_state else None,
                )
        except GeneratorExit:
            # The client went away while its frame was on the wire: gRPC drops the
            # stream without asking for the next frame, and the generator is closed.
            log.info("replay cancelled by the client", sent=sent)
            raise
        log.info("replay finished", sent=sent)

    # --- notes ---------------------------------------------------------------------------

    def add_note(self, command: AddNote, actor: str) -> str:
        """Records the note; returns its id (the same id again for a retried command)."""
        key = client_key(command, "AddNote", actor)
        seen = self.store.find_request(key)
        if seen is not None:
            first = recorded_payload(seen.events[0])
            assert isinstance(first, events_pb2.CommanderNoteAdded)
            return first.note_id
        note_id = str(uuid.uuid4())
        events = NoteStream.add(command, note_id)  # checked before the incident is looked up
        incident_id = command.incident_id
        if not self.reader.exists(incident_id) and not self.opened_by_dispatch(incident_id):
            raise NotFound(f"no incident {incident_id!r}: dispatch never opened one")
        stream = note_stream(incident_id)
        append_decision(
            self.store,
            stream,
            lambda: NoteStream(self.store.stream_version(stream)),
            lambda _: events,
            lambda _, decided: [
                new_event(e, correlation_id=incident_id, causation_id=key.request_id, actor=actor)
                for e in decided
            ],
            key,
        )
        return note_id


def _wait_until(due: float, still_wanted: Callable[[], bool]) -> bool:
    """Sleep until ``due`` (monotonic), in short slices; False when no longer wanted."""
    while True:
        if not still_wanted():
            return False
        left = due - time.monotonic()
        if left <= 0:
            return True
        time.sleep(min(left, PACING_SLICE))
