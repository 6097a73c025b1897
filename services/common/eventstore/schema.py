"""The store's tables, and the SQL its hot paths send to the driver directly."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

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

# Idempotency keys (``model.CommandKey``): one row per command carried out.
requests_table = Table(
    "command_requests",
    metadata,
    Column("scope", String(250), primary_key=True),
    Column("request_id", String(250), primary_key=True),
    Column("operation", String(100), nullable=False),
    Column("fingerprint", String(128), nullable=False),
    Column("first_position", BigInteger, nullable=False),
    Column("last_position", BigInteger, nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
    sqlite_with_rowid=False,  # one b-tree per request instead of two
)

checkpoints_table = Table(
    "checkpoints",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

# Leases (``services/common/lease.py``): which replica runs each singleton, until when
# (µs, the database's clock), and the fencing token that rises with every new holder.
leases_table = Table(
    "leases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("token", BigInteger, nullable=False),
    Column("expires_at_us", BigInteger, nullable=False),
)

EVENT_COLUMNS = (
    "position, stream_id, stream_version, event_id, event_type, occurred_at, "
    "recorded_at, correlation_id, causation_id, actor, payload"
)


class Statements:
    """The hot paths' SQL for one driver's placeholder style (``?`` or ``%s``)."""

    def __init__(self, ph: str) -> None:
        self.ph = ph
        self.max_position = "SELECT coalesce(max(position), 0) FROM events"
        self.request = (
            "SELECT operation, fingerprint, first_position, last_position "
            f"FROM command_requests WHERE scope = {ph} AND request_id = {ph}"
        )
        # The common append in one statement: top position, the stream's version and any
        # earlier result of the request (NULLs when there is none).
        self.state_of_one_stream = (
            "SELECT (SELECT coalesce(max(position), 0) FROM events), "
            f"(SELECT max(stream_version) FROM events WHERE stream_id = {ph}), "
            "r.operation, r.fingerprint, r.first_position, r.last_position "
            "FROM (SELECT 1) AS one LEFT JOIN command_requests AS r "
            f"ON r.scope = {ph} AND r.request_id = {ph}"
        )
        self.insert_event = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({', '.join([ph] * 11)})"
        self.insert_request = (
            "INSERT INTO command_requests (scope, request_id, operation, fingerprint, "
            f"first_position, last_position, recorded_at) VALUES ({', '.join([ph] * 7)})"
        )
        self.read_after = (
            f"SELECT {EVENT_COLUMNS} FROM events WHERE position > {ph} ORDER BY position LIMIT {ph}"
        )
        self.read_range = (
            f"SELECT {EVENT_COLUMNS} FROM events WHERE position >= {ph} "
            f"AND position <= {ph} ORDER BY position"
        )

    def versions_of(self, streams: int) -> str:
        return (
            "SELECT stream_id, max(stream_version) FROM events "
            f"WHERE stream_id IN ({', '.join([self.ph] * streams)}) GROUP BY stream_id"
        )
