"""The append-only event store each service owns: the source of truth.

- Events are appended per stream with optimistic concurrency: the caller states the
  version it decided on, and a stale one fails with :class:`ConcurrencyConflict`
  naming the stream, the expected and the actual version. The unique key
  ``(stream_id, stream_version)`` backs this up in the database.
- Every event gets a global ``position``. Appends are serialized (SQLite's write lock
  taken at BEGIN, a PostgreSQL transaction-level advisory lock) and positions are
  assigned as ``max + 1`` under that lock, so positions are gap-free and commit in
  order: a reader that has seen position N will never later find a new event below N.
  That makes the event table itself the transactional outbox: the relay publishes
  everything after its checkpoint (see ``relay.py``), and can republish from 0.
- A command carries a client request id. Appending with one that was seen before
  returns the first result and writes nothing; the same id with a different command
  (another fingerprint) is refused.

The store knows nothing of protobuf or Kafka: payloads are bytes, times are integer
microseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError

from services.common.database import is_sqlite
from services.common.errors import AlreadyExists, Conflict, InvalidArgument, NotFound

DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024
# Any constant will do: it names "the event table" among advisory locks on this database.
_APPEND_LOCK_KEY = 0x5543_4556  # "UCEV"

metadata = MetaData()

# SQLite only auto-assigns INTEGER PRIMARY KEY; BIGINT is right everywhere else.
_Position = BigInteger().with_variant(Integer(), "sqlite")

events_table = Table(
    "events",
    metadata,
    Column("position", _Position, primary_key=True, autoincrement=False),
    Column("stream_id", String(200), nullable=False),
    Column("stream_version", BigInteger, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("occurred_at", BigInteger, nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
    Column("correlation_id", String(64), nullable=False),
    Column("causation_id", String(200), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    UniqueConstraint("stream_id", "stream_version", name="uq_events_stream_version"),
)
Index("ix_events_correlation", events_table.c.correlation_id)

requests_table = Table(
    "command_requests",
    metadata,
    Column("request_id", String(200), primary_key=True),
    Column("fingerprint", String(128), nullable=False),
    Column("first_position", BigInteger, nullable=False),
    Column("last_position", BigInteger, nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
)

checkpoints_table = Table(
    "checkpoints",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

_EVENT_COLUMNS = (
    "position, stream_id, stream_version, event_id, event_type, occurred_at, "
    "recorded_at, correlation_id, causation_id, actor, payload"
)


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event decided by a command, not yet stored."""

    event_type: str
    payload: bytes
    correlation_id: str = ""
    causation_id: str = ""
    actor: str = ""
    occurred_at: int = field(default_factory=now_us)
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))


class RecordedEvent(NamedTuple):
    """An event as stored; field order matches the table's columns."""

    position: int
    stream_id: str
    stream_version: int
    event_id: str
    event_type: str
    occurred_at: int
    recorded_at: int
    correlation_id: str
    causation_id: str
    actor: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class StreamAppend:
    stream_id: str
    expected_version: int  # the stream's current version; 0 for a new stream
    events: Sequence[NewEvent]


@dataclass(frozen=True, slots=True)
class AppendResult:
    events: tuple[RecordedEvent, ...]
    replayed: bool  # True when the request id had been seen: nothing was written


class ConcurrencyConflict(Conflict):
    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, not the expected {expected}: "
            "it changed since it was read; reload it and decide again"
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class StreamNotFound(NotFound):
    def __init__(self, stream_id: str) -> None:
        super().__init__(f"no stream {stream_id!r} in this store")
        self.stream_id = stream_id


class RequestIdReused(AlreadyExists):
    def __init__(self, request_id: str) -> None:
        super().__init__(
            f"request id {request_id!r} was already used for a different command; "
            "use a new request id for a new command"
        )
        self.request_id = request_id


class EventStore:
    def __init__(self, engine: Engine, max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> None:
        self.engine = engine
        self.max_payload_bytes = max_payload_bytes
        self._writer = engine.execution_options(immediate=True)
        self._sqlite = is_sqlite(engine)
        self._listeners: list[Callable[[int], None]] = []

    def create_schema(self) -> None:
        metadata.create_all(self.engine)

    def on_append(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(last_position)`` after each commit that wrote events."""
        self._listeners.append(listener)

    # --- writing ---------------------------------------------------------------------

    def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        request_id: str | None = None,
        fingerprint: str = "",
    ) -> AppendResult:
        return self.append_batch(
            [StreamAppend(stream_id, expected_version, events)], request_id, fingerprint
        )

    def append_batch(
        self,
        appends: Sequence[StreamAppend],
        request_id: str | None = None,
        fingerprint: str = "",
    ) -> AppendResult:
        """Append one command's events to one or more streams, atomically."""
        self._validate(appends, request_id)
        recorded_at = now_us()
        try:
            with self._writer.begin() as conn:
                if not self._sqlite:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _APPEND_LOCK_KEY})
                if request_id:
                    seen = self._recorded_request(conn, request_id, fingerprint)
                    if seen is not None:
                        return AppendResult(seen, replayed=True)
                position = conn.execute(
                    select(func.coalesce(func.max(events_table.c.position), 0))
                ).scalar_one()
                rows: list[RecordedEvent] = []
                for append in appends:
                    actual = self._stream_version(conn, append.stream_id)
                    if actual != append.expected_version:
                        raise ConcurrencyConflict(append.stream_id, append.expected_version, actual)
                    for offset, event in enumerate(append.events, start=1):
                        position += 1
                        rows.append(
                            RecordedEvent(
                                position,
                                append.stream_id,
                                actual + offset,
                                event.event_id,
                                event.event_type,
                                event.occurred_at,
                                recorded_at,
                                event.correlation_id,
                                event.causation_id,
                                event.actor,
                                event.payload,
                            )
                        )
                conn.execute(events_table.insert(), [row._asdict() for row in rows])
                if request_id:
                    conn.execute(
                        requests_table.insert(),
                        {
                            "request_id": request_id,
                            "fingerprint": fingerprint,
                            "first_position": rows[0].position,
                            "last_position": rows[-1].position,
                            "recorded_at": recorded_at,
                        },
                    )
        except IntegrityError as exc:
            # Only reachable when another writer bypassed the lock (a second store on
            # the same tables without it); the unique key still keeps streams whole.
            raise Conflict(f"concurrent append rejected by the database: {exc.orig}") from exc
        for listener in self._listeners:
            listener(rows[-1].position)
        return AppendResult(tuple(rows), replayed=False)

    def _validate(self, appends: Sequence[StreamAppend], request_id: str | None) -> None:
        if not appends:
            raise InvalidArgument("nothing to append: give at least one stream")
        if request_id is not None and not request_id.strip():
            raise InvalidArgument("request id is blank: omit it or give a unique value")
        seen_streams: set[str] = set()
        for append in appends:
            if not append.stream_id:
                raise InvalidArgument("stream id is empty")
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
                if len(event.payload) > self.max_payload_bytes:
                    raise InvalidArgument(
                        f"{event.event_type} payload for stream {append.stream_id!r} is "
                        f"{len(event.payload)} bytes, over the limit of "
                        f"{self.max_payload_bytes} bytes"
                    )

    def _recorded_request(
        self, conn, request_id: str, fingerprint: str
    ) -> tuple[RecordedEvent, ...] | None:  # type: ignore[no-untyped-def]
        row = conn.execute(
            select(
                requests_table.c.fingerprint,
                requests_table.c.first_position,
                requests_table.c.last_position,
            ).where(requests_table.c.request_id == request_id)
        ).first()
        if row is None:
            return None
        if row.fingerprint != fingerprint:
            raise RequestIdReused(request_id)
        return tuple(self._read_positions(conn, row.first_position, row.last_position))

    @staticmethod
    def _stream_version(conn, stream_id: str) -> int:  # type: ignore[no-untyped-def]
        return conn.execute(
            select(func.coalesce(func.max(events_table.c.stream_version), 0)).where(
                events_table.c.stream_id == stream_id
            )
        ).scalar_one()

    # --- reading ---------------------------------------------------------------------

    def find_request(self, request_id: str, fingerprint: str) -> AppendResult | None:
        """The first result of a command already carried out under ``request_id``."""
        with self.engine.connect() as conn:
            seen = self._recorded_request(conn, request_id, fingerprint)
        return None if seen is None else AppendResult(seen, replayed=True)

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        """The stream's events from ``from_version`` on; :class:`StreamNotFound` if the
        stream has no events at all."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(events_table)
                .where(events_table.c.stream_id == stream_id)
                .where(events_table.c.stream_version >= from_version)
                .order_by(events_table.c.stream_version)
            ).all()
            if not rows and (from_version <= 1 or self._stream_version(conn, stream_id) == 0):
                raise StreamNotFound(stream_id)
        return [RecordedEvent._make(row) for row in rows]

    def stream_version(self, stream_id: str) -> int:
        with self.engine.connect() as conn:
            return self._stream_version(conn, stream_id)

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """Up to ``limit`` events after ``after_position``, in position order."""
        with self.engine.connect() as conn:
            return self._read_after(conn, after_position, limit)

    def iter_all(self, after_position: int = 0, batch_size: int = 5000) -> Iterator[RecordedEvent]:
        """Every event after ``after_position``, read in batches."""
        while True:
            batch = self.read_all(after_position, batch_size)
            yield from batch
            if len(batch) < batch_size:
                return
            after_position = batch[-1].position

    def read_correlated(self, correlation_id: str) -> list[RecordedEvent]:
        """Every event of one incident in this store, in position order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(events_table)
                .where(events_table.c.correlation_id == correlation_id)
                .order_by(events_table.c.position)
            ).all()
        return [RecordedEvent._make(row) for row in rows]

    def max_position(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.coalesce(func.max(events_table.c.position), 0))
            ).scalar_one()

    def _read_after(self, conn, after: int, limit: int) -> list[RecordedEvent]:  # type: ignore[no-untyped-def]
        # The hot path of replays and the relay: plain SQL, rows straight into tuples.
        placeholder = "?" if self._sqlite else "%(p)s"
        limit_ph = "?" if self._sqlite else "%(n)s"
        sql = (
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE position > {placeholder} "
            f"ORDER BY position LIMIT {limit_ph}"
        )
        params: tuple[int, int] | dict[str, int] = (
            (after, limit) if self._sqlite else {"p": after, "n": limit}
        )
        cursor = conn.exec_driver_sql(sql, params)
        make = RecordedEvent._make
        return [make(row) for row in cursor.fetchall()]

    def _read_positions(self, conn, first: int, last: int) -> list[RecordedEvent]:  # type: ignore[no-untyped-def]
        return self._read_after(conn, first - 1, last - first + 1)

    # --- checkpoints (the relay's and the projections' progress) ----------------------

    def load_checkpoint(self, name: str) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(checkpoints_table.c.position).where(checkpoints_table.c.name == name)
            ).scalar_one_or_none()
        return value or 0

    def save_checkpoint(self, name: str, position: int) -> None:
        self.save_checkpoints({name: position})

    def save_checkpoints(self, positions: dict[str, int], clear_prefix: str | None = None) -> None:
        """Write several checkpoints in one transaction; with ``clear_prefix``, first drop
        every checkpoint whose name starts with it (so a mark that is gone stays gone)."""
        with self._writer.begin() as conn:
            if clear_prefix is not None:
                conn.execute(
                    checkpoints_table.delete().where(
                        checkpoints_table.c.name.startswith(clear_prefix, autoescape=True)
                    )
                )
            for name, position in positions.items():
                updated = conn.execute(
                    checkpoints_table.update()
                    .where(checkpoints_table.c.name == name)
                    .values(position=position)
                ).rowcount
                if not updated:
                    conn.execute(checkpoints_table.insert(), {"name": name, "position": position})

    def load_checkpoints(self, prefix: str) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(checkpoints_table.c.name, checkpoints_table.c.position).where(
                    checkpoints_table.c.name.startswith(prefix, autoescape=True)
                )
            ).all()
        return {row.name: row.position for row in rows}
