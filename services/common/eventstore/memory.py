"""The event store in memory: the same contract as the SQL backends (the contract suite
runs on all three), for application-service tests that need no database. Nothing
survives the process."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from sqlalchemy import Connection

from services.common.eventstore.model import (
    AppendResult,
    CommandKey,
    RecordedEvent,
    SeenRequest,
    StreamAppend,
    StreamNotFound,
    check_replay,
    recorded_events,
)


class MemoryBackend:
    def __init__(self) -> None:
        self._events: list[RecordedEvent] = []  # by position - 1
        self._streams: dict[str, list[RecordedEvent]] = {}
        self._requests: dict[tuple[str, str], SeenRequest] = {}
        self._checkpoints: dict[str, int] = {}
        self._lock = threading.Lock()  # appends serialized, as the databases do

    def create_schema(self) -> None:
        pass

    def close(self) -> None:
        pass

    def append(self, appends: Sequence[StreamAppend], key: CommandKey | None) -> AppendResult:
        with self._lock:
            if key is not None:
                seen = self._requests.get((key.scope, key.request_id))
                if seen is not None:
                    check_replay(seen, key)
                    events = self._events[seen.first_position - 1 : seen.last_position]
                    return AppendResult(tuple(events), replayed=True)
            versions = {a.stream_id: len(self._streams.get(a.stream_id, ())) for a in appends}
            rows = recorded_events(
                appends, len(self._events), {s: v for s, v in versions.items() if v}
            )
            for row in rows:
                self._events.append(row)
                self._streams.setdefault(row.stream_id, []).append(row)
            if key is not None:
                self._requests[(key.scope, key.request_id)] = SeenRequest(
                    key.operation, key.fingerprint, rows[0].position, rows[-1].position
                )
            return AppendResult(tuple(rows), replayed=False)

    def find_request(self, key: CommandKey) -> tuple[SeenRequest, list[RecordedEvent]] | None:
        with self._lock:
            seen = self._requests.get((key.scope, key.request_id))
            if seen is None:
                return None
            return seen, self._events[seen.first_position - 1 : seen.last_position]

    def read_after(self, after_position: int, limit: int) -> list[RecordedEvent]:
        with self._lock:
            return self._events[after_position : after_position + limit]

    def read_stream(self, stream_id: str, from_version: int) -> list[RecordedEvent]:
        with self._lock:
            stream = self._streams.get(stream_id)
            if not stream:
                raise StreamNotFound(stream_id)
            return stream[max(from_version, 1) - 1 :]

    def stream_version(self, stream_id: str) -> int:
        with self._lock:
            return len(self._streams.get(stream_id, ()))

    def max_position(self) -> int:
        with self._lock:
            return len(self._events)

    def save_checkpoints(
        self,
        positions: dict[str, int],
        clear_prefix: str | None,
        fence: Callable[[Connection], None] | None,
    ) -> None:
        if fence is not None:
            raise TypeError("the in-memory store has no leases to fence with")
        with self._lock:
            if clear_prefix is not None:
                for name in [n for n in self._checkpoints if n.startswith(clear_prefix)]:
                    del self._checkpoints[name]
            self._checkpoints.update(positions)

    def load_checkpoints(self, prefix: str) -> dict[str, int]:
        with self._lock:
            return {n: p for n, p in self._checkpoints.items() if n.startswith(prefix)}
