"""The incident log and the incidents board: read models built from every service's
events, in one transaction per batch of events (see ``services/common/projection.py``).

- ``incident_log_entries``: each event of an incident, with its whole envelope as it
  arrived, so a replay gives back exactly what was published. Read in the canonical order
  (``replay.ordered``): when it happened, then source, stream and version, so the store and
  the Kafka topics give the same sequence.
- ``incident_summaries``: one row per incident (type, status, level, place, times), what
  the board and searches read.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    select,
)

from services.common.enums import IncidentStatus
from services.common.envelope import EventEnvelope, micros
from services.common.projection import execute_many
from services.migrations import upgrade

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

summaries_table = Table(
    "incident_summaries",
    metadata,
    Column("incident_id", String(64), primary_key=True),
    Column("incident_type", String(100), nullable=False, default=""),
    Column("status", String(20), nullable=False, default=IncidentStatus.NONE.name),
    Column("alarm_level", Integer, nullable=False, default=0),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("address", String(500), nullable=False, default=""),
    Column("opened_at", BigInteger, nullable=False, default=0),
    Column("ended_at", BigInteger, nullable=False, default=0),
    Column("events", Integer, nullable=False, default=0),
    Column("last_event_at", BigInteger, nullable=False, default=0),
)
Index("ix_summaries_opened", summaries_table.c.opened_at)

# What a dispatch event changes on the board's row (besides the event count).
# The table keeps a status by its name, which reads well in SQL and survives renumbering.
_STATUS_AFTER = {
    "incident_under_control": IncidentStatus.UNDER_CONTROL.name,
    "incident_closed": IncidentStatus.CLOSED.name,
    "incident_cancelled": IncidentStatus.CANCELLED.name,
}


class IncidentLogProjection:
    """Writes every event that belongs to an incident into that incident's log, and keeps
    the incident's row on the board. A batch costs a few statements whatever its size:
    one multi-row insert of log entries, one read of the board rows it touches, and one
    multi-row insert and one multi-row update of those rows."""

    name = "incident-log"

    def apply(self, conn: Connection, envelope: EventEnvelope) -> None:
        self.apply_batch(conn, [envelope])

    def apply_batch(self, conn: Connection, envelopes: Sequence[EventEnvelope]) -> None:
        mine = [e for e in envelopes if e.correlation_id]  # others: not about an incident
        if not mine:
            return
        at = [micros(envelope.occurred_at) for envelope in mine]
        execute_many(
            conn,
            _INSERT_ENTRY,
            [
                (
                    envelope.correlation_id,
                    envelope.source,
                    envelope.stream_id,
                    envelope.stream_version,
                    envelope.event_id,
                    envelope.event_type,
                    when,
                    envelope.SerializeToString(deterministic=True),
                )
                for envelope, when in zip(mine, at, strict=True)
            ],
        )
        self._summarize(conn, mine, at)

    @staticmethod
    def _summarize(conn: Connection, envelopes: Sequence[EventEnvelope], at: list[int]) -> None:
        ids = sorted({e.correlation_id for e in envelopes})
        t = summaries_table.c
        rows: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            found = conn.execute(
                select(summaries_table).where(t.incident_id.in_(ids[start : start + _IN_CHUNK]))
            ).mappings()
            rows.update({row["incident_id"]: dict(row) for row in found})
        existing = set(rows)
        for envelope, when in zip(envelopes, at, strict=True):
            row = rows.get(envelope.correlation_id)
            if row is None:
                row = rows[envelope.correlation_id] = {
                    "incident_id": envelope.correlation_id,
                    **_NEW_SUMMARY,
                }
            _fold_summary(row, envelope, when)
        new = [
            (key, *(row[c] for c in _SUMMARY_COLUMNS))
            for key, row in rows.items()
            if key not in existing
        ]
        changed = [
            (*(row[c] for c in _SUMMARY_COLUMNS), key)
            for key, row in rows.items()
            if key in existing
        ]
        if new:
            execute_many(conn, _INSERT_SUMMARY, new)
        if changed:
            execute_many(conn, _UPDATE_SUMMARY, changed)


_IN_CHUNK = 400  # ids per IN (...) of a query
_SUMMARY_COLUMNS = [c.name for c in summaries_table.columns if c.name != "incident_id"]
# A board row before its first event (the table's defaults, but no place yet).
_NEW_SUMMARY: dict[str, Any] = {
    "incident_type": "",
    "status": IncidentStatus.NONE.name,
    "alarm_level": 0,
    "latitude": None,
    "longitude": None,
    "address": "",
    "opened_at": 0,
    "ended_at": 0,
    "events": 0,
    "last_event_at": 0,
}
# Multi-row writes go to the driver directly (``execute_many``).
_INSERT_ENTRY = (
    "INSERT INTO incident_log_entries (incident_id, source, stream_id, stream_version, "
    "event_id, event_type, occurred_at, envelope) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_SUMMARY = (
    f"INSERT INTO incident_summaries (incident_id, {', '.join(_SUMMARY_COLUMNS)}) "
    f"VALUES ({', '.join('?' * (len(_SUMMARY_COLUMNS) + 1))})"
)
_UPDATE_SUMMARY = (
    f"UPDATE incident_summaries SET {', '.join(f'{c} = ?' for c in _SUMMARY_COLUMNS)} "
    "WHERE incident_id = ?"
)


def _fold_summary(row: dict[str, Any], envelope: EventEnvelope, at: int) -> None:
    """What one event changes on its incident's board row (``at``: when it happened, µs)."""
    row["events"] += 1
    row["last_event_at"] = max(at, row["last_event_at"])
    kind = envelope.WhichOneof("payload")
    if kind == "incident_created":
        created = envelope.incident_created
        row.update(
            incident_type=created.incident_type,
            status=IncidentStatus.OPEN.name,
            alarm_level=created.alarm_level or 1,
            address=created.address,
            opened_at=micros(created.opened_at) or at,
        )
        if created.HasField("location"):
            row.update(latitude=created.location.latitude, longitude=created.location.longitude)
    elif kind == "incident_classified":
        row["incident_type"] = envelope.incident_classified.to_type
    elif kind == "alarm_level_raised":
        row["alarm_level"] = envelope.alarm_level_raised.to_level
    elif kind in _STATUS_AFTER:
        row["status"] = _STATUS_AFTER[kind]
        if kind != "incident_under_control":
            row["ended_at"] = at


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """An incident on the board. Times in µs since the epoch, 0 when not (yet)."""

    incident_id: str
    incident_type: str
    status: IncidentStatus
    alarm_level: int
    latitude: float | None
    longitude: float | None
    address: str
    opened_at: int
    ended_at: int
    events: int
    last_event_at: int


@dataclass(frozen=True)
class IncidentQuery:
    statuses: Collection[IncidentStatus] = ()
    incident_types: Collection[str] = ()
    opened_from_us: int = 0
    opened_to_us: int = 0
    area: tuple[float, float, float, float] | None = None  # south, west, north, east
    limit: int = 100


class IncidentLogReader:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create_schema(self) -> None:
        """Bring the read models' tables up to date (the migrations)."""
        upgrade(self.engine, ["incident_log"])

    def entries(self, incident_id: str) -> list[EventEnvelope]:
        """The incident's events in the canonical order."""
        t = entries_table.c
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(t.envelope)
                    .where(t.incident_id == incident_id)
                    .order_by(t.occurred_at, t.source, t.stream_id, t.stream_version)
                )
                .scalars()
                .all()
            )
        return [EventEnvelope.FromString(row) for row in rows]

    def entries_opened_between(self, start_us: int, end_us: int) -> dict[str, list[EventEnvelope]]:
        """The events of every incident opened in [start_us, end_us), by incident, each in
        the canonical order: one query, for the period report."""
        t, s = entries_table.c, summaries_table.c
        opened = select(s.incident_id).where(s.opened_at >= start_us, s.opened_at < end_us)
        found: dict[str, list[EventEnvelope]] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.incident_id, t.envelope)
                .where(t.incident_id.in_(opened))
                .order_by(t.incident_id, t.occurred_at, t.source, t.stream_id, t.stream_version)
            )
            for incident_id, envelope in rows:
                found.setdefault(incident_id, []).append(EventEnvelope.FromString(envelope))
        return found

    def exists(self, incident_id: str) -> bool:
        key = summaries_table.c.incident_id == incident_id
        with self.engine.connect() as conn:
            return (
                conn.execute(select(summaries_table.c.incident_id).where(key)).first() is not None
            )

    def opened_at(self, incident_id: str) -> int | None:
        """When the incident was opened (µs), if the board knows it."""
        t = summaries_table.c
        with self.engine.connect() as conn:
            return conn.execute(
                select(t.opened_at).where(t.incident_id == incident_id)
            ).scalar_one_or_none()

    def search(self, query: IncidentQuery) -> list[IncidentRow]:
        """Rows of the board, newest first."""
        t = summaries_table.c
        statement = select(summaries_table).where(t.status != IncidentStatus.NONE.name)
        if query.statuses:
            statement = statement.where(t.status.in_([s.name for s in query.statuses]))
        if query.incident_types:
            statement = statement.where(t.incident_type.in_(list(query.incident_types)))
        if query.opened_from_us:
            statement = statement.where(t.opened_at >= query.opened_from_us)
        if query.opened_to_us:
            statement = statement.where(t.opened_at <= query.opened_to_us)
        if query.area is not None:
            south, west, north, east = query.area
            statement = statement.where(
                t.latitude.between(south, north), t.longitude.between(west, east)
            )
        statement = statement.order_by(t.opened_at.desc()).limit(query.limit)
        with self.engine.connect() as conn:
            return [
                IncidentRow(**{**row, "status": IncidentStatus[row["status"]]})
                for row in conn.execute(statement).mappings()
            ]
