"""The event store's hot paths on PostgreSQL, through psycopg 3 directly.

Appends are serialized by a transaction-level advisory lock, taken before anything is
read. Pipeline mode keeps an append to two round trips: BEGIN, the lock and the state
query in the first; the inserts, a NOTIFY and COMMIT in the second. Reads run in
autocommit: a lone SELECT needs no BEGIN or ROLLBACK round trips.

Every append notifies ``uc_appended_<schema>`` (delivered at commit), so the replicas of
a service sharing the store hear of each other's appends at once (``watch_appends``):
their relays, repositories and alert streams need not poll.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
import structlog
from psycopg import sql
from sqlalchemy import Engine, text
from sqlalchemy.pool import PoolProxiedConnection

from services.common.errors import Conflict
from services.common.eventstore.model import (
    AppendResult,
    CommandKey,
    RecordedEvent,
    SeenRequest,
    StreamAppend,
    check_replay,
    recorded_events,
    request_row,
)
from services.common.eventstore.schema import Statements
from services.common.eventstore.sql import SqlBackend

log = structlog.get_logger(__name__)
SQL = Statements("%s")
# Any constant will do: it names "the event table" among advisory locks on this database.
APPEND_LOCK_KEY = 0x5543_4556  # "UCEV"


class PostgresBackend(SqlBackend):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        self.channel = f"uc_appended_{schema}"

    def append(self, appends: Sequence[StreamAppend], key: CommandKey | None) -> AppendResult:
        raw = self.engine.raw_connection()
        pg = _driver(raw)
        try:
            with pg.pipeline() as pipeline:
                lock, request, top, versions = (pg.cursor() for _ in range(4))
                lock.execute("SELECT pg_advisory_xact_lock(%s)", (APPEND_LOCK_KEY,))
                if key is not None:
                    request.execute(SQL.request, (key.scope, key.request_id))
                top.execute(SQL.max_position)
                streams = [a.stream_id for a in appends]
                versions.execute(SQL.versions_of(len(streams)), streams)
                pipeline.sync()
                found = request.fetchone() if key is not None else None
                if found is not None:
                    assert key is not None
                    seen = SeenRequest(*found)
                    check_replay(seen, key)
                    lock.execute(SQL.read_range, (seen.first_position, seen.last_position))
                    pipeline.sync()
                    events = tuple(map(RecordedEvent._make, lock.fetchall()))
                    pg.commit()
                    return AppendResult(events, replayed=True)
                (top_position,) = top.fetchone() or (0,)
                rows = recorded_events(appends, top_position, dict(versions.fetchall()))
                lock.executemany(SQL.insert_event, rows)
                if key is not None:
                    lock.execute(SQL.insert_request, request_row(key, rows))
                lock.execute("SELECT pg_notify(%s, %s)", (self.channel, str(rows[-1].position)))
                pg.commit()
            return AppendResult(tuple(rows), replayed=False)
        except psycopg.errors.UniqueViolation as exc:
            pg.rollback()
            # Only reachable when a writer bypassed the advisory lock; the unique key
            # still keeps every stream whole. The database's text stays in the log.
            log.warning("append rejected by a unique key", error=str(exc))
            raise Conflict(
                "another writer changed these streams at the same moment; reload and retry"
            ) from exc
        except BaseException:
            pg.rollback()
            raise
        finally:
            raw.close()

    def find_request(self, key: CommandKey) -> tuple[SeenRequest, list[RecordedEvent]] | None:
        rows = self._autocommit_query(SQL.request, (key.scope, key.request_id))
        if not rows:
            return None
        seen = SeenRequest(*rows[0])
        events = self._autocommit_query(SQL.read_range, (seen.first_position, seen.last_position))
        return seen, list(map(RecordedEvent._make, events))

    def read_after(self, after_position: int, limit: int) -> list[RecordedEvent]:
        return list(
            map(
                RecordedEvent._make, self._autocommit_query(SQL.read_after, (after_position, limit))
            )
        )

    def _autocommit_query(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        raw = self.engine.raw_connection()
        pg = _driver(raw)
        try:
            pg.autocommit = True
            try:
                with pg.cursor() as cursor:
                    cursor.execute(sql, params)
                    return cursor.fetchall()
            finally:
                pg.autocommit = False
        finally:
            raw.close()

    def watch_appends(self, appended: Callable[[int], None], stopping: threading.Event) -> None:
        """Call ``appended(last_position)`` for every append any process commits, until
        ``stopping`` is set (blocks: run it in a thread). After a lost connection it
        reconnects and calls ``appended(0)`` once, for whatever it may have missed."""
        kwargs = self.engine.dialect.create_connect_args(self.engine.url)[1]
        backoff = 0.1
        while not stopping.is_set():
            try:
                with psycopg.connect(**kwargs, autocommit=True) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    appended(0)
                    backoff = 0.1
                    while not stopping.is_set():
                        for note in conn.notifies(timeout=0.5):
                            appended(int(note.payload or 0))
            except psycopg.Error as exc:
                log.warning("append notifications lost; reconnecting", error=repr(exc))
                stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)


def _driver(connection: PoolProxiedConnection) -> psycopg.Connection[tuple[Any, ...]]:
    """The psycopg connection under SQLAlchemy's pooled one."""
    driver = connection.driver_connection
    assert isinstance(driver, psycopg.Connection), "a PostgreSQL engine's connection"
    return driver
