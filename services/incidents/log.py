"""The incident log: one ordered record per incident, built from every service's events.

Each entry keeps the whole envelope as it arrived, so a replay gives back exactly what
was published. Entries are ordered by when they happened; ``seq`` (arrival order) breaks
ties, and events of one stream always arrive in version order.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    select,
)

from services.common.envelope import EventEnvelope, micros

metadata = MetaData()

entries_table = Table(
    "incident_log_entries",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(64), nullable=False),
    Column("source", String(50), nullable=False),
    Column("stream_id", String(200), nullable=False),
    Column("stream_version", BigInteger, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("occurred_at", BigInteger, nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    UniqueConstraint("source", "stream_id", "stream_version", name="uq_log_stream_version"),
)
Index("ix_log_incident_time", entries_table.c.incident_id, entries_table.c.occurred_at)


class IncidentLogProjection:
    """Writes every event that belongs to an incident into that incident's log."""

    name = "incident-log"

    def apply(self, conn: Connection, envelope: EventEnvelope) -> None:
        if not envelope.correlation_id:
            return  # not about an incident (a unit registered, say)
        conn.execute(
            entries_table.insert(),
            {
                "incident_id": envelope.correlation_id,
                "source": envelope.source,
                "stream_id": envelope.stream_id,
                "stream_version": envelope.stream_version,
                "event_id": envelope.event_id,
                "event_type": envelope.event_type,
                "occurred_at": micros(envelope.occurred_at),
                "envelope": envelope.SerializeToString(deterministic=True),
            },
        )


class IncidentLogReader:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create_schema(self) -> None:
        metadata.create_all(self.engine)

    def entries(self, incident_id: str) -> list[EventEnvelope]:
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(entries_table.c.envelope)
                    .where(entries_table.c.incident_id == incident_id)
                    .order_by(entries_table.c.occurred_at, entries_table.c.seq)
                )
                .scalars()
                .all()
            )
        return [EventEnvelope.FromString(row) for row in rows]
