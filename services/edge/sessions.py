"""Console sessions, kept in a small SQL table of the edge's own, so a session survives an
edge restart and is the same on every edge replica.

A session id is 32 random bytes (URL-safe base64) handed to the browser in an HttpOnly
cookie; the table keeps only its SHA-256, so a copy of the table opens no session. Each
row holds the operator, the CSRF token the page must echo in ``X-CSRF-Token`` on every
write, and two expiries: absolute (from log-in) and idle (from the last request; the
last-seen time is written at most once a minute, so reads do not each cost a write).

Failed log-ins are counted per user name (whether or not the user exists) in a second
table, so the delay after repeated failures holds across restarts and replicas.

Where: ``UC_EDGE_DATABASE_URL``; else ``DATABASE_URL`` narrowed to the ``edge`` schema
(PostgreSQL) or file (SQLite); else ``$UC_DATA_DIR/edge.db``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from services.common.config import SESSION_IDLE_SECONDS, SESSION_MAX_SECONDS, settings
from services.common.database import create_store_engine
from services.migrations import BRANCHES, SchemaNotCurrent, check, upgrade

TOUCH_EVERY = 60.0  # seconds between writes of last-seen for one session
FAILURE_WINDOW = 15 * 60.0  # failed log-ins older than this are forgotten

metadata = MetaData()
sessions_table = Table(
    "console_sessions",
    metadata,
    Column("id_sha256", String(64), primary_key=True),
    Column("operator_id", String(64), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", Float, nullable=False),  # seconds since the epoch
    Column("last_seen_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),  # absolute
)
failures_table = Table(
    "console_login_failures",
    metadata,
    Column("user_name", String(128), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("last_at", Float, nullable=False),
)


def sessions_url() -> str:
    """The edge's own store (see the module's docstring)."""
    return settings().store_url("edge")


@dataclass(frozen=True, slots=True)
class Session:
    operator_id: str
    csrf_token: str
    created_at: float
    last_seen_at: float
    expires_at: float  # absolute
    idle_expires_at: float

    def expires(self) -> float:
        """When the session ends if nothing more happens (seconds since the epoch)."""
        return min(self.expires_at, self.idle_expires_at)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    def __init__(
        self,
        engine: Engine,
        idle_seconds: float = SESSION_IDLE_SECONDS,
        max_seconds: float = SESSION_MAX_SECONDS,
    ) -> None:
        self.engine = engine
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds

    def create_schema(self) -> None:
        """Bring the tables up to date (the migrations; ``uc migrate`` in production)."""
        upgrade(self.engine, ["sessions"])

    @classmethod
    def from_environment(cls) -> SessionStore:
        """``UC_SESSION_IDLE_SECONDS`` and ``UC_SESSION_MAX_SECONDS`` override the expiries."""
        engine = create_store_engine(sessions_url())
        try:
            check(engine, BRANCHES["edge"], "the edge's session store")
        except SchemaNotCurrent as exc:
            raise SystemExit(str(exc)) from None
        return cls(
            engine,
            idle_seconds=settings().uc_session_idle_seconds,
            max_seconds=settings().uc_session_max_seconds,
        )

    def create(self, operator_id: str, now: float) -> tuple[str, Session]:
        """A new session for the operator: returns the session id (for the cookie; not
        stored) and the session. Every expired session is deleted on the way, so the
        table holds about as many rows as there are people logged in."""
        session_id = secrets.token_urlsafe(32)
        row = {
            "id_sha256": _digest(session_id),
            "operator_id": operator_id,
            "csrf_token": secrets.token_urlsafe(32),
            "created_at": now,
            "last_seen_at": now,
            "expires_at": now + self.max_seconds,
        }
        with self.engine.begin() as conn:
            self._purge(conn, now)
            conn.execute(insert(sessions_table).values(**row))
        return session_id, self._session(row)

    def get(self, session_id: str, now: float, touch: bool = True) -> Session | None:
        """The live session with this id, its idle clock restarted (unless ``touch`` is
        False: a check that is not the person's doing, such as an open live stream);
        None when there is none or it has expired (an expired row is deleted)."""
        if not session_id:
            return None
        key = _digest(session_id)
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(sessions_table).where(sessions_table.c.id_sha256 == key))
                .mappings()
                .first()
            )
        if row is None:
            return None
        session = self._session(dict(row))
        if now >= session.expires():
            self.delete(session_id)
            return None
        if touch and now - session.last_seen_at >= TOUCH_EVERY:
            with self.engine.begin() as conn:
                conn.execute(
                    update(sessions_table)
                    .where(sessions_table.c.id_sha256 == key)
                    .values(last_seen_at=now)
                )
            session = self._session({**row, "last_seen_at": now})
        return session

    def delete(self, session_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(sessions_table).where(sessions_table.c.id_sha256 == _digest(session_id))
            )

    def purge(self, now: float) -> int:
        """Delete every expired session; returns how many."""
        with self.engine.begin() as conn:
            return self._purge(conn, now)

    def _purge(self, conn: Connection, now: float) -> int:
        gone = conn.execute(
            delete(sessions_table).where(
                (sessions_table.c.expires_at <= now)
                | (sessions_table.c.last_seen_at <= now - self.idle_seconds)
            )
        )
        return gone.rowcount or 0

    def _session(self, row: Mapping[str, Any]) -> Session:
        """A session from its row: a database row mapping, or the row just written."""
        last_seen = float(row["last_seen_at"])
        return Session(
            operator_id=str(row["operator_id"]),
            csrf_token=str(row["csrf_token"]),
            created_at=float(row["created_at"]),
            last_seen_at=last_seen,
            expires_at=float(row["expires_at"]),
            idle_expires_at=last_seen + self.idle_seconds,
        )

    # --- failed log-ins --------------------------------------------------------------

    def failures(self, user_name: str, now: float) -> int:
        """Failed log-ins for this user name in the last ``FAILURE_WINDOW`` seconds."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(failures_table).where(failures_table.c.user_name == user_name[:128])
                )
                .mappings()
                .first()
            )
        if row is None or now - float(row["last_at"]) > FAILURE_WINDOW:
            return 0
        return int(row["count"])

    def record_failure(self, user_name: str, now: float) -> int:
        """Count one more failure; returns the count in the window."""
        count = self.failures(user_name, now) + 1
        name = user_name[:128]
        for _ in range(2):  # another replica may insert the same name first: update it then
            try:
                with self.engine.begin() as conn:
                    done = conn.execute(
                        update(failures_table)
                        .where(failures_table.c.user_name == name)
                        .values(count=count, last_at=now)
                    )
                    if not done.rowcount:
                        conn.execute(
                            insert(failures_table).values(user_name=name, count=count, last_at=now)
                        )
                break
            except IntegrityError:
                continue
        return count

    def clear_failures(self, user_name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(failures_table).where(failures_table.c.user_name == user_name[:128])
            )


def login_delay(failures: int) -> float:
    """Seconds to hold the answer to a log-in after ``failures`` recent failures: none for
    the first three (typing mistakes), then 1, 2, 4, 8 s and at most 8 s."""
    return 0.0 if failures < 3 else float(min(2 ** (failures - 3), 8))
