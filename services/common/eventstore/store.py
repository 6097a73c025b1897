"""The append-only event store each service owns: the source of truth.

- Events are appended per stream with optimistic concurrency: the caller states the
  version it decided on, and a stale one fails with :class:`ConcurrencyConflict`
  naming the stream, the expected and the actual version. The unique key
  ``(stream_id, stream_version)`` backs this up in the database.
- Every event gets a global ``position``. Appends are serialized (see the backends) and
  positions are assigned as ``max + 1`` under that serialization, so positions are
  gap-free and commit in order: a reader that has seen position N will never later find
  a new event below N. That makes the event table itself the transactional outbox: the
  relay publishes everything after its checkpoint (``relay.py``), and can republish from 0.
- A command carries an idempotency key (``CommandKey``: scope, request id, operation,
  fingerprint). Appending with a key seen before returns the first result and writes
  nothing; the same scope and request id with another operation or other content is
  refused (``RequestIdReused``).

The store knows nothing of protobuf or Kafka: payloads are bytes, times are integer
microseconds since the Unix epoch (UTC). The hot paths (append, read everything after a
position) go to the driver directly, one backend module per database (``sqlite.py``,
``postgres.py``), the rest is shared SQLAlchemy Core (``sql.py``); ``memory.py`` keeps it
all in the process, for tests. One contract suite runs on all three.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from sqlalchemy import Connection, Engine, String, Table

from services.common.database import is_sqlite
from services.common.errors import InvalidArgument
from services.common.eventstore.memory import MemoryBackend
from services.common.eventstore.model import (
    AppendResult,
    CommandKey,
    ConcurrencyConflict,
    NewEvent,
    RecordedEvent,
    SeenRequest,
    StreamAppend,
    check_replay,
)
from services.common.eventstore.postgres import PostgresBackend
from services.common.eventstore.schema import events_table, requests_table
from services.common.eventstore.sqlite import SQLiteBackend

DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024
# Runs inside a write transaction; raises to refuse it.
Fence = Callable[[Connection], None]


class Backend(Protocol):
    """Where a store keeps its events: SQLite, PostgreSQL or memory (one contract)."""

    def create_schema(self) -> None: ...
    def close(self) -> None: ...
    def append(self, appends: Sequence[StreamAppend], key: CommandKey | None) -> AppendResult: ...
    def find_request(self, key: CommandKey) -> tuple[SeenRequest, list[RecordedEvent]] | None: ...
    def read_after(self, after_position: int, limit: int) -> list[RecordedEvent]: ...
    def read_stream(self, stream_id: str, from_version: int) -> list[RecordedEvent]: ...
    def stream_version(self, stream_id: str) -> int: ...
    def max_position(self) -> int: ...
    def save_checkpoints(
        self, positions: dict[str, int], clear_prefix: str | None, fence: Fence | None
    ) -> None: ...
    def load_checkpoints(self, prefix: str) -> dict[str, int]: ...


class EventStore:
    def __init__(
        self,
        engine: Engine | None,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        backend: Backend | None = None,
    ) -> None:
        """A store on ``engine`` (SQLite or PostgreSQL), or on ``backend`` (see
        ``in_memory``)."""
        self.engine = engine  # None in memory; the incidents service keeps its read models here
        self.max_payload_bytes = max_payload_bytes
        if backend is not None:
            self._backend: Backend = backend
        elif engine is not None:
            self._backend = SQLiteBackend(engine) if is_sqlite(engine) else PostgresBackend(engine)
        else:
            raise ValueError("an event store needs an engine or a backend")
        self._listeners: list[Callable[[int], None]] = []
        self._watcher: threading.Thread | None = None
        self._watching = threading.Event()

    @classmethod
    def in_memory(cls) -> EventStore:
        """A store that keeps everything in this process (application-service tests)."""
        return cls(None, backend=MemoryBackend())

    def create_schema(self) -> None:
        """Bring the store's tables up to date (the migrations; ``uc migrate`` in
        production, where a service only checks)."""
        self._backend.create_schema()

    def close(self) -> None:
        self._watching.set()  # stops the watcher thread, if any
        if self._watcher is not None:
            self._watcher.join(5)
        self._backend.close()

    def on_append(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(last_position)`` after each commit that wrote events: this
        process's at once, and, once ``watch_appends`` runs, every other process's too
        (``last_position`` 0 when unknown)."""
        self._listeners.append(listener)

    @property
    def shared(self) -> bool:
        """Whether other processes may append to this store (PostgreSQL: replicas); their
        appends reach ``on_append`` listeners only once notified."""
        return isinstance(self._backend, PostgresBackend)

    def watch_appends(self) -> None:
        """Hear of appends by the other processes sharing this store (replicas of the
        service): PostgreSQL's LISTEN/NOTIFY. SQLite and memory stores have one process."""
        if not isinstance(self._backend, PostgresBackend) or self._watcher is not None:
            return
        self._watcher = threading.Thread(
            target=self._backend.watch_appends,
            args=(self._appended, self._watching),
            name="store-appends",
            daemon=True,
        )
        self._watcher.start()

    def _appended(self, last_position: int) -> None:
        for listener in self._listeners:
            listener(last_position)

    # --- writing ---------------------------------------------------------------------

    def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        key: CommandKey | None = None,
    ) -> AppendResult:
        return self.append_batch([StreamAppend(stream_id, expected_version, events)], key)

    def append_batch(
        self, appends: Sequence[StreamAppend], key: CommandKey | None = None
    ) -> AppendResult:
        """Append one command's events to one or more streams, atomically. Raises
        ``InvalidArgument`` (nothing written) for an append the store cannot hold,
        ``ConcurrencyConflict`` for a stale expected version and ``RequestIdReused`` for
        a key seen before with another operation or content."""
        self._validate(appends, key)
        try:
            result = self._backend.append(appends, key)
        except ConcurrencyConflict:
            self._appended(0)  # someone else appended: readers must look again
            raise
        if not result.replayed:
            self._appended(result.events[-1].position)
        return result

    def _validate(self, appends: Sequence[StreamAppend], key: CommandKey | None) -> None:
        if not appends:
            raise InvalidArgument("nothing to append: give at least one stream")
        if key is not None:
            if not key.request_id.strip() or not key.scope or not key.operation:
                raise InvalidArgument("request id is blank: omit it or give a unique value")
            _fits(requests_table, "scope", key.scope)
            _fits(requests_table, "request_id", key.request_id)
            _fits(requests_table, "operation", key.operation)
        seen_streams: set[str] = set()
        for append in appends:
            if not append.stream_id:
                raise InvalidArgument("stream id is empty")
            _fits(events_table, "stream_id", append.stream_id)
            if append.stream_id in seen_streams:
                raise InvalidArgument(f"stream {append.stream_id!r} appears twice in one append")
            seen_streams.add(append.stream_id)
            if append.expected_version < 0:
                raise InvalidArgument(
                    f"expected version {append.expected_version} for stream "
                    f"{append.stream_id!r} is negative; use 0 for a new stream"
                )
            if not append.events:
                raise InvalidArgument(f"no events to append to stream {append.stream_id!r}")
            for event in append.events:
                if not event.event_type:
                    raise InvalidArgument(f"an event for stream {append.stream_id!r} has no type")
                for column in _BOUNDED_EVENT_COLUMNS:
                    _fits(events_table, column, getattr(event, column))
                if len(event.payload) > self.max_payload_bytes:
                    raise InvalidArgument(
                        f"{event.event_type} payload for stream {append.stream_id!r} is "
                        f"{len(event.payload)} bytes, over the limit of "
                        f"{self.max_payload_bytes} bytes"
                    )

    # --- reading ---------------------------------------------------------------------

    def find_request(self, key: CommandKey) -> AppendResult | None:
        """The first result of the command already carried out under ``key``; None if
        there was none; ``RequestIdReused`` if the key's id served another command."""
        found = self._backend.find_request(key)
        if found is None:
            return None
        seen, events = found
        check_replay(seen, key)
        return AppendResult(tuple(events), replayed=True)

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        """The stream's events from ``from_version`` on; :class:`StreamNotFound` if the
        stream has no events at all."""
        return self._backend.read_stream(stream_id, from_version)

    def stream_version(self, stream_id: str) -> int:
        """The stream's version: how many events it has (0: none)."""
        return self._backend.stream_version(stream_id)

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """Up to ``limit`` events after ``after_position``, in position order."""
        return self._backend.read_after(after_position, limit)

    def iter_all(self, after_position: int = 0, batch_size: int = 5000) -> Iterator[RecordedEvent]:
        """Every event after ``after_position``, read in batches."""
        while True:
            batch = self.read_all(after_position, batch_size)
            yield from batch
            if len(batch) < batch_size:
                return
            after_position = batch[-1].position

    def max_position(self) -> int:
        return self._backend.max_position()

    # --- checkpoints (the relay's and the projections' progress) ----------------------

    def load_checkpoint(self, name: str) -> int:
        return self._backend.load_checkpoints(name).get(name, 0)

    def save_checkpoint(self, name: str, position: int) -> None:
        self.save_checkpoints({name: position})

    def save_checkpoints(
        self,
        positions: dict[str, int],
        clear_prefix: str | None = None,
        fence: Fence | None = None,
    ) -> None:
        """Write several checkpoints in one transaction; with ``clear_prefix``, first drop
        every checkpoint whose name starts with it (so a mark that is gone stays gone).
        ``fence`` runs first inside the transaction and may refuse it by raising (a
        lease's fencing check: ``lease.py``)."""
        self._backend.save_checkpoints(positions, clear_prefix, fence)

    def load_checkpoints(self, prefix: str) -> dict[str, int]:
        return self._backend.load_checkpoints(prefix)


_BOUNDED_EVENT_COLUMNS = ("event_id", "event_type", "correlation_id", "causation_id", "actor")


def _fits(table: Table, column: str, value: str) -> None:
    """Refuse a value longer than its column before the database does (PostgreSQL would
    fail the whole transaction with an error no client could act on)."""
    kind = table.c[column].type
    length = kind.length if isinstance(kind, String) else None
    if length is not None and len(value) > length:
        raise InvalidArgument(
            f"{column} is {len(value)} characters long; the store holds at most {length}"
        )
