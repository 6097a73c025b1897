"""The one way events from Kafka change a read model: exactly-once effects over
at-least-once delivery.

A projection's change and its tracking row (the last version applied per source stream)
are written in one transaction; a batch of events shares one transaction (group commit:
one commit, one fsync, for every event the consumer has at hand). A redelivered event (a
consumer restarted before it committed its offset, or the relay republishing after the
broker lost its data) finds its version already tracked and changes nothing. The tracking
rows are the consumer's true checkpoint; Kafka's committed offsets only save re-reading.

An event that skips versions of its stream is held back, not applied: its predecessors
were lost on the way, and the consumer's rewind (see ``relay.py``, publish epochs) brings
them again, in order.

Bytes that do not decode (a poison message) are parked with their topic, partition and
offset for a person to look at, and consumption goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import structlog
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    select,
)

from services.common.envelope import EventEnvelope, UndecodableEvent, decode
from services.common.eventstore import now_us
from services.migrations import upgrade

log = structlog.get_logger(__name__)

tracking_metadata = MetaData()

tracking_table = Table(
    "projection_tracking",
    tracking_metadata,
    Column("projection", String(100), primary_key=True),
    Column("source", String(50), primary_key=True),
    Column("stream_id", String(200), primary_key=True),
    Column("version", BigInteger, nullable=False),
)

parked_table = Table(
    "parked_messages",
    tracking_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("projection", String(100), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("parked_at", BigInteger, nullable=False),
)


class Projection(Protocol):
    name: str

    def apply_batch(self, conn: Connection, envelopes: Sequence[EventEnvelope]) -> None:
        """Change the read model for events in order, inside the caller's transaction
        (each event once: the runner has already dropped duplicates)."""


def execute_many(conn: Connection, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Run ``sql`` (``?`` placeholders) once per row through the driver's executemany:
    none of SQLAlchemy's per-row work, which costs more than SQLite's own at a few
    hundred rows a batch."""
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    conn.exec_driver_sql(sql, list(rows))


# A message as the consumer hands it over: topic, partition, offset, bytes.
Message = tuple[str, int, int, bytes]
_IN_CHUNK = 400  # keys per IN (...) of the tracking query (SQLite's variable limit is 999+)
_INSERT_TRACKING = (
    "INSERT INTO projection_tracking (projection, source, stream_id, version) VALUES (?, ?, ?, ?)"
)
_UPDATE_TRACKING = (
    "UPDATE projection_tracking SET version = ? "
    "WHERE projection = ? AND source = ? AND stream_id = ?"
)


class ProjectionRunner:
    def __init__(self, engine: Engine, projection: Projection) -> None:
        self.engine = engine
        self.projection = projection
        self._writer = engine.execution_options(immediate=True)
        self.applied = 0
        self.duplicates = 0
        self.held_back = 0
        self.parked = 0

    def create_schema(self) -> None:
        """Bring the tracking tables up to date (the migrations; in the incident log's
        branch, the only projection there is)."""
        upgrade(self.engine, ["incident_log"])

    def handle_message(self, topic: str, partition: int, offset: int, value: bytes) -> bool:
        """Apply one Kafka message; False when it was a duplicate or parked."""
        return self.handle_messages([(topic, partition, offset, value)]) == 1

    def handle_messages(self, messages: Sequence[Message]) -> int:
        """Apply Kafka messages in order, in one transaction (group commit); returns how
        many were applied (duplicates, held back and parked ones are not)."""
        envelopes = []
        poison: list[tuple[Message, str]] = []
        for message in messages:
            try:
                envelopes.append(decode(message[3]))
            except UndecodableEvent as exc:
                poison.append((message, str(exc)))
        applied = self.handle_batch(envelopes)
        # After the batch's commit: a batch that fails is delivered again, and parks then.
        for (topic, partition, offset, value), reason in poison:
            self._park(topic, partition, offset, reason, value)
        return applied

    def handle(self, envelope: EventEnvelope) -> bool:
        """Apply one event; False when it was a duplicate or held back."""
        return self.handle_batch([envelope]) == 1

    def handle_batch(self, envelopes: Sequence[EventEnvelope]) -> int:
        """Apply events in order in one transaction: the read model's changes and the
        tracking rows commit together, so each event takes effect exactly once however
        often it is delivered, and a batch costs one commit instead of one per event.
        Returns how many were applied. On an error nothing of the batch is written (and
        the counters are not moved): the caller delivers the batch again."""
        if not envelopes:
            return 0
        with self._writer.begin() as conn:
            seen = self._tracked(conn, {(e.source, e.stream_id) for e in envelopes})
            known = dict(seen)
            applying: list[EventEnvelope] = []
            duplicates = held_back = 0
            for envelope in envelopes:
                key = (envelope.source, envelope.stream_id)
                version = known.get(key)
                if version is not None and envelope.stream_version <= version:
                    duplicates += 1
                    continue
                expected = (version or 0) + 1
                if envelope.stream_version > expected:
                    # Earlier events of this stream have not arrived (a consumer rewinding
                    # after the broker lost its data gets them again); applying this one
                    # now would put the stream out of order and make the missing ones look
                    # like duplicates.
                    log.warning(
                        "event ahead of its stream held back",
                        stream_id=envelope.stream_id,
                        expected_version=expected,
                        got_version=envelope.stream_version,
                        correlation_id=envelope.correlation_id,
                    )
                    held_back += 1
                    continue
                known[key] = envelope.stream_version
                applying.append(envelope)
            if applying:
                self.projection.apply_batch(conn, applying)
                self._track(conn, seen, known)
        self.applied += len(applying)
        self.duplicates += duplicates
        self.held_back += held_back
        return len(applying)

    def _tracked(self, conn: Connection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The tracked version of each (source, stream id) of ``keys`` that has one."""
        t = tracking_table.c
        streams = sorted({stream_id for _source, stream_id in keys})
        found: dict[tuple[str, str], int] = {}
        for at in range(0, len(streams), _IN_CHUNK):
            rows = conn.execute(
                select(t.source, t.stream_id, t.version).where(
                    t.projection == self.projection.name,
                    t.stream_id.in_(streams[at : at + _IN_CHUNK]),
                )
            )
            for source, stream_id, version in rows:
                if (source, stream_id) in keys:
                    found[(source, stream_id)] = version
        return found

    def _track(
        self,
        conn: Connection,
        before: dict[tuple[str, str], int],
        after: dict[tuple[str, str], int],
    ) -> None:
        name = self.projection.name
        new = [
            (name, source, stream_id, version)
            for (source, stream_id), version in after.items()
            if (source, stream_id) not in before
        ]
        moved = [
            (version, name, source, stream_id)
            for (source, stream_id), version in after.items()
            if (source, stream_id) in before and before[(source, stream_id)] != version
        ]
        if new:
            execute_many(conn, _INSERT_TRACKING, new)
        if moved:
            execute_many(conn, _UPDATE_TRACKING, moved)

    def _park(self, topic: str, partition: int, offset: int, reason: str, value: bytes) -> None:
        log.error(
            "poison message parked",
            topic=topic,
            partition=partition,
            offset=offset,
            reason=reason,
            projection=self.projection.name,
        )
        with self._writer.begin() as conn:
            conn.execute(
                parked_table.insert(),
                {
                    "projection": self.projection.name,
                    "topic": topic,
                    "partition": partition,
                    "offset": offset,
                    "reason": reason,
                    "value": value,
                    "parked_at": now_us(),
                },
            )
        self.parked += 1
