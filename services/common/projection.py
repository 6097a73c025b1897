"""The one way events from Kafka change a read model: exactly-once effects over
at-least-once delivery.

A projection's change and its tracking row (the last version applied per source stream)
are written in one transaction. A redelivered event (a consumer restarted before it
committed its offset, or the relay republishing after the broker lost its data) finds its
version already tracked and changes nothing. The tracking rows are the consumer's true
checkpoint; Kafka's committed offsets only save re-reading.

An event that skips versions of its stream is held back, not applied: its predecessors
were lost on the way, and the consumer's rewind (see ``relay.py``, publish epochs) brings
them again, in order.

Bytes that do not decode (a poison message) are parked with their topic, partition and
offset for a person to look at, and consumption goes on.
"""

from __future__ import annotations

from typing import Protocol

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

    def apply(self, conn: Connection, envelope: EventEnvelope) -> None:
        """Change the read model for one event, inside the caller's transaction."""


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
        try:
            envelope = decode(value)
        except UndecodableEvent as exc:
            self._park(topic, partition, offset, str(exc), value)
            return False
        return self.handle(envelope)

    def handle(self, envelope: EventEnvelope) -> bool:
        key = {
            "projection": self.projection.name,
            "source": envelope.source,
            "stream_id": envelope.stream_id,
        }
        with self._writer.begin() as conn:
            seen = conn.execute(
                select(tracking_table.c.version).where(
                    *(tracking_table.c[k] == v for k, v in key.items())
                )
            ).scalar_one_or_none()
            if seen is not None and envelope.stream_version <= seen:
                self.duplicates += 1
                return False
            expected = (seen or 0) + 1
            if envelope.stream_version > expected:
                # Earlier events of this stream have not arrived (a consumer rewinding after
                # the broker lost its data gets them again); applying this one now would put
                # the stream out of order and make the missing ones look like duplicates.
                log.warning(
                    "event ahead of its stream held back",
                    stream_id=envelope.stream_id,
                    expected_version=expected,
                    got_version=envelope.stream_version,
                    correlation_id=envelope.correlation_id,
                )
                self.held_back += 1
                return False
            self.projection.apply(conn, envelope)
            if seen is None:
                conn.execute(tracking_table.insert(), {**key, "version": envelope.stream_version})
            else:
                conn.execute(
                    tracking_table.update()
                    .where(*(tracking_table.c[k] == v for k, v in key.items()))
                    .values(version=envelope.stream_version)
                )
        self.applied += 1
        return True

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
