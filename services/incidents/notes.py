"""Commanders' notes: situation reports and decisions, recorded by the incidents service
in its own store (stream ``notes-<incident>``) and published like any other event, so
they reach the incident log through Kafka and are part of every replay."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from emergency.v1 import events_pb2, incidents_pb2
from services.common.commands import fingerprint, require_request_id
from services.common.envelope import new_event
from services.common.errors import InvalidArgument, NotFound
from services.common.eventstore import ConcurrencyConflict, EventStore
from services.common.streams import typed

KINDS = ("SITUATION_REPORT", "DECISION", "OTHER")
MAX_NOTE_CHARS = 4000
RETRIES_ON_CONFLICT = 5


class Notes:
    def __init__(self, store: EventStore, incident_exists: Callable[[str], bool]) -> None:
        self.store = store
        self.incident_exists = incident_exists

    def add(self, request: incidents_pb2.AddNoteRequest, actor: str) -> str:
        """Records the note; returns its id (the same id again for a retried request)."""
        request_id = require_request_id(request.request_id)
        request_print = fingerprint(request)
        seen = self.store.find_request(request_id, request_print)
        if seen is not None:
            return typed(seen.events[0]).note_id  # type: ignore[attr-defined]
        text = request.text.strip()
        kind = request.kind.strip().upper() or "OTHER"
        if not text:
            raise InvalidArgument("text is required: what is the situation or the decision?")
        if len(text) > MAX_NOTE_CHARS:
            raise InvalidArgument(f"text is {len(text)} characters; at most {MAX_NOTE_CHARS}")
        if kind not in KINDS:
            raise InvalidArgument(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        if not self.incident_exists(request.incident_id):
            raise NotFound(f"no incident {request.incident_id!r} in the incident log")
        note_id = str(uuid.uuid4())
        stream = f"notes-{request.incident_id}"
        event = events_pb2.CommanderNoteAdded(
            incident_id=request.incident_id, note_id=note_id, kind=kind, text=text
        )
        for attempt in range(RETRIES_ON_CONFLICT):
            try:
                self.store.append(
                    stream, self.store.stream_version(stream),
                    [new_event(event, correlation_id=request.incident_id,
                               causation_id=request_id, actor=actor)],
                    request_id=request_id, fingerprint=request_print,
                )  # fmt: skip
                return note_id
            except ConcurrencyConflict:
                if attempt == RETRIES_ON_CONFLICT - 1:
                    raise
        raise AssertionError("unreachable")
