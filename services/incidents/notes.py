"""Commanders' notes: situation reports and decisions, recorded by the incidents service
in its own store (stream ``notes-<incident>``) and published like any other event, so
they reach the incident log through Kafka and are part of every replay."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from emergency.v1 import events_pb2, incidents_pb2
from services.common.aggregate import Aggregate
from services.common.commands import append_decision, client_key
from services.common.envelope import new_event
from services.common.errors import InvalidArgument, NotFound
from services.common.eventstore import EventStore
from services.common.streams import typed

KINDS = ("SITUATION_REPORT", "DECISION", "OTHER")


@dataclass
class NoteStream(Aggregate):
    """An incident's notes: only the stream's version matters to an append."""

    version: int = 0


class Notes:
    def __init__(
        self, store: EventStore, incident_exists: Callable[[str], bool],
        opened_by_dispatch: Callable[[str], bool],
    ) -> None:  # fmt: skip
        """``incident_exists``: the incident log knows it; ``opened_by_dispatch``: asked
        when it does not, so a note made just after the call is not refused while the
        log catches up."""
        self.store = store
        self.incident_exists = incident_exists
        self.opened_by_dispatch = opened_by_dispatch

    def add(self, request: incidents_pb2.AddNoteRequest, actor: str) -> str:
        """Records the note; returns its id (the same id again for a retried request)."""
        key = client_key(request, "AddNote", actor)
        seen = self.store.find_request(key)
        if seen is not None:
            return typed(seen.events[0]).note_id  # type: ignore[attr-defined]
        text = request.text.strip()
        kind = request.kind.strip().upper() or "OTHER"
        if not text:
            raise InvalidArgument("text is required: what is the situation or the decision?")
        if kind not in KINDS:
            raise InvalidArgument(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        if not self.incident_exists(request.incident_id) and not self.opened_by_dispatch(
            request.incident_id
        ):
            raise NotFound(f"no incident {request.incident_id!r}: dispatch never opened one")
        note_id = str(uuid.uuid4())
        stream = f"notes-{request.incident_id}"
        event = events_pb2.CommanderNoteAdded(
            incident_id=request.incident_id, note_id=note_id, kind=kind, text=text
        )
        append_decision(
            self.store, stream, lambda: NoteStream(self.store.stream_version(stream)),
            lambda _: [event],
            lambda _, events: [new_event(e, correlation_id=request.incident_id,
                                         causation_id=key.request_id, actor=actor)
                               for e in events],
            key,
        )  # fmt: skip
        return note_id
