"""The event store's hot paths on SQLite, through the ``sqlite3`` driver directly.

SQLite allows one writer at a time. Appends in this process share one connection and
queue on a lock (first come, first served, no busy-wait sleeps); a writer in another
process waits on SQLite's own lock, which ``BEGIN IMMEDIATE`` takes before anything is
read, so the version checks and position numbering cannot race.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence

from sqlalchemy import Engine
from sqlalchemy.pool import PoolProxiedConnection, QueuePool

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

SQL = Statements("?")


class SQLiteBackend(SqlBackend):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._lock = threading.Lock()
        # A pooled connection kept checked out for appends.
        self._writer: PoolProxiedConnection | None = None
        # Each thread's connection for reads, kept out of the pool: a check-out and
        # check-in per read cost 15 us against 5 for the query (docs/BENCHMARKS.md, issue
        # 13). Only for a file: a memory database lives in its pool's one connection.
        self._readers = threading.local()
        self._keep_readers = isinstance(engine.pool, QueuePool)

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        super().close()

    def append(self, appends: Sequence[StreamAppend], key: CommandKey | None) -> AppendResult:
        with self._lock:
            if self._writer is None:
                self._writer = self.engine.raw_connection()
            db = _driver(self._writer)
            cursor = db.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                result = self._append_in_transaction(cursor, appends, key)
                cursor.execute("COMMIT")
                return result
            except BaseException:
                if db.in_transaction:
                    cursor.execute("ROLLBACK")
                raise
            finally:
                cursor.close()

    @staticmethod
    def _append_in_transaction(
        cursor: sqlite3.Cursor,
        appends: Sequence[StreamAppend],
        key: CommandKey | None,
    ) -> AppendResult:
        scope, request_id = (key.scope, key.request_id) if key else (None, None)
        if len(appends) == 1:
            top, version, *request = cursor.execute(
                SQL.state_of_one_stream, (appends[0].stream_id, scope, request_id)
            ).fetchone()
            versions = {appends[0].stream_id: version} if version else {}
            seen = SeenRequest(*request) if request[0] is not None else None
        else:
            found = cursor.execute(SQL.request, (scope, request_id)).fetchone() if key else None
            seen = SeenRequest(*found) if found else None
            top = cursor.execute(SQL.max_position).fetchone()[0]
            streams = [a.stream_id for a in appends]
            versions = dict(cursor.execute(SQL.versions_of(len(streams)), streams).fetchall())
        if seen is not None:
            assert key is not None
            check_replay(seen, key)
            cursor.execute(SQL.read_range, (seen.first_position, seen.last_position))
            return AppendResult(tuple(map(RecordedEvent._make, cursor.fetchall())), True)
        rows = recorded_events(appends, top, versions)
        cursor.executemany(SQL.insert_event, rows)
        if key is not None:
            cursor.execute(SQL.insert_request, request_row(key, rows))
        return AppendResult(tuple(rows), replayed=False)

    def find_request(self, key: CommandKey) -> tuple[SeenRequest, list[RecordedEvent]] | None:
        with self._reading() as cursor:
            found = cursor.execute(SQL.request, (key.scope, key.request_id)).fetchone()
            if found is None:
                return None
            seen = SeenRequest(*found)
            cursor.execute(SQL.read_range, (seen.first_position, seen.last_position))
            return seen, list(map(RecordedEvent._make, cursor.fetchall()))

    def read_after(self, after_position: int, limit: int) -> list[RecordedEvent]:
        with self._reading() as cursor:
            rows = cursor.execute(SQL.read_after, (after_position, limit)).fetchall()
        return list(map(RecordedEvent._make, rows))

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Cursor]:
        """A cursor for reads in autocommit (each statement sees the latest commit)."""
        if not self._keep_readers:
            raw = self.engine.raw_connection()
            try:
                cursor = _driver(raw).cursor()
                yield cursor
                cursor.close()
            finally:
                raw.close()
            return
        reader: sqlite3.Connection | None = getattr(self._readers, "connection", None)
        if reader is None:
            raw = self.engine.raw_connection()  # set up by the engine's connect event
            reader = self._readers.connection = _driver(raw)
            raw.detach()  # this thread's from now on; closed when the thread ends
        cursor = reader.cursor()
        try:
            yield cursor
        finally:
            cursor.close()


def _driver(connection: PoolProxiedConnection) -> sqlite3.Connection:
    """The sqlite3 connection under SQLAlchemy's pooled one."""
    driver = connection.driver_connection
    assert isinstance(driver, sqlite3.Connection), "an SQLite engine's connection"
    return driver
