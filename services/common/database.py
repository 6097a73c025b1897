"""SQLAlchemy engines for the services' stores: SQLite by default, PostgreSQL in production."""

from __future__ import annotations

import sqlite3

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import ConnectionPoolEntry, NullPool


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def create_store_engine(url: str) -> Engine:
    """An engine with the durability the event store relies on.

    SQLite runs in WAL mode with ``synchronous=FULL`` (every commit is fsynced, the same
    durability as the ``eventsourcing`` library's recorder) and takes its write lock at
    BEGIN when a connection asks for ``immediate`` so that version checks and position
    assignment cannot race.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return _postgres_engine(parsed)

    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own
        # implicit transactions would defer locking to the first write).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if parsed.database and parsed.database != ":memory:":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgres_engine(parsed: URL) -> Engine:
    """``?uc_schema=NAME`` puts a service's tables in a schema of their own, so services
    can share one database without sharing tables."""
    query = dict(parsed.query)
    schema = query.pop("uc_schema", None)
    # No pre-ping: it costs a round trip per checkout; a dead connection fails one call
    # (the client retries with the same request id) and the pool replaces it.
    pool = {"pool_size": 10, "max_overflow": 20}
    if schema is None:
        return create_engine(parsed, **pool)
    if not isinstance(schema, str) or not schema.isidentifier():
        raise ValueError(f"schema name {schema!r} is not a plain identifier")
    base = parsed.set(query=query)
    with create_engine(base, poolclass=NullPool).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    return create_engine(base, connect_args={"options": f"-c search_path={schema}"}, **pool)
