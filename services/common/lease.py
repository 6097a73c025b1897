"""Leases: work that must run in one replica at a time (a store's outbox relay,
dispatch's request filler, the alert deadlines) runs only in the replica holding its
lease, a row in the service's own database.

A lease row names its holder, a fencing token that rises with every new holder, and an
expiry in the *database's* clock, so replicas on machines whose clocks disagree still
agree on who holds it. A holder renews well before the expiry; anyone may take a lease
whose expiry has passed. The holder's own view is kept on its monotonic clock: a renewal
sent at local time *t* is good until *t* + ``ttl`` − ``margin``, which ends before the
database's expiry (set at or after *t*) passes, so the old holder stops before a new one
can start, even when its renewals stop getting through. Writes the singleton makes to the
database can also carry the token (``fence``), refused once the lease moved on; that
covers a holder paused (a stopped process, a long GC) across the hand-over.

This is the lease of Gray and Cheriton, "Leases: An Efficient Fault-Tolerant Mechanism
for Distributed File Cache Consistency" (SOSP 1989), with the fencing token of
Kleppmann's "How to do distributed locking" (2016).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from sqlalchemy import Connection, Engine, text

from services.common.database import is_sqlite

log = structlog.get_logger(__name__)

DEFAULT_TTL = 6.0  # seconds; a dead holder's work resumes elsewhere within about this


class LeaseLost(Exception):
    """A fenced write found the lease held by someone else (or expired and taken)."""

    def __init__(self, name: str, token: int) -> None:
        super().__init__(f"lease {name!r} (token {token}) is no longer held by this replica")


def replica_id() -> str:
    """Who this process is, for lease rows and logs: host, pid and a random part (a pid
    is reused across restarts)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _now_us_sql(engine: Engine) -> str:
    """The database's clock in µs since the Unix epoch, as SQL."""
    if is_sqlite(engine):
        return "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)"
    return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)"


@dataclass(frozen=True, slots=True)
class Holding:
    """A lease held: its fencing token and until when (this process's monotonic clock)."""

    token: int
    good_until: float


class Lease:
    """One named lease in one database. Not thread-safe: one ``LeaseKeeper`` drives it.

    ``ttl``: seconds a grant or renewal lasts in the database; ``margin``: seconds the
    holder gives up before that (default a fifth of ``ttl``)."""

    def __init__(
        self,
        engine: Engine,
        name: str,
        holder: str,
        ttl: float = DEFAULT_TTL,
        margin: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0:
            raise ValueError(f"a lease lasts a positive time, not {ttl} s")
        self.engine = engine
        self.name = name
        self.holder = holder
        self.ttl = ttl
        self.margin = ttl / 5 if margin is None else margin
        self.clock = clock
        self.holding: Holding | None = None
        now = _now_us_sql(engine)
        ttl_us = int(ttl * 1_000_000)
        self._insert = text(
            "INSERT INTO leases (name, holder, token, expires_at_us) "
            f"VALUES (:name, :holder, 1, {now} + {ttl_us}) ON CONFLICT (name) DO NOTHING"
        )
        self._take = text(
            f"UPDATE leases SET holder = :holder, token = token + 1, "
            f"expires_at_us = {now} + {ttl_us} "
            f"WHERE name = :name AND expires_at_us < {now}"
        )
        self._renew = text(
            f"UPDATE leases SET expires_at_us = {now} + {ttl_us} "
            f"WHERE name = :name AND holder = :holder AND token = :token "
            f"AND expires_at_us >= {now}"
        )
        self._token = text("SELECT token FROM leases WHERE name = :name AND holder = :holder")
        self._give_up = text(
            "UPDATE leases SET expires_at_us = 0 "
            "WHERE name = :name AND holder = :holder AND token = :token"
        )
        self._writer = engine.execution_options(immediate=True)  # SQLite: lock at BEGIN

    def held(self) -> Holding | None:
        """The holding, while this replica's own clock says it still holds the lease."""
        holding = self.holding
        if holding is None or self.clock() >= holding.good_until:
            return None
        return holding

    def acquire_or_renew(self) -> Holding | None:
        """Renew the lease held, or take it when free or expired; None when another
        replica holds it. Database errors propagate (the caller treats them as not
        holding once ``held`` runs out)."""
        sent = self.clock()
        params = {"name": self.name, "holder": self.holder}
        with self._writer.begin() as conn:
            if self.holding is not None:
                renewed = conn.execute(self._renew, {**params, "token": self.holding.token})
                if renewed.rowcount == 1:
                    self.holding = Holding(self.holding.token, sent + self.ttl - self.margin)
                    return self.holding
                log.warning("lease renewal refused: taken over", lease=self.name)
                self.holding = None
            taken = conn.execute(self._insert, params).rowcount == 1
            taken = taken or conn.execute(self._take, params).rowcount == 1
            if not taken:
                return None
            token = int(conn.execute(self._token, params).scalar_one())
        self.holding = Holding(token, sent + self.ttl - self.margin)
        log.info("lease acquired", lease=self.name, token=token, holder=self.holder)
        return self.holding

    def release(self) -> None:
        """Give the lease up now (a graceful stop), so another replica need not wait for
        it to expire."""
        holding, self.holding = self.holding, None
        if holding is None:
            return
        with self._writer.begin() as conn:
            conn.execute(self._give_up, {**self._params(), "token": holding.token})
        log.info("lease released", lease=self.name, token=holding.token)

    def fence(self, conn: Connection, token: int) -> None:
        """Inside a write transaction: ``LeaseLost`` unless this replica still holds the
        lease with ``token`` (the transaction then rolls back)."""
        found = conn.execute(self._token, self._params()).scalar_one_or_none()
        if found != token:
            raise LeaseLost(self.name, token)

    def _params(self) -> dict[str, str]:
        return {"name": self.name, "holder": self.holder}


class LeaseKeeper:
    """Keeps trying for a lease and renews it while held, in a thread of its own.

    ``on_acquired(token)`` runs when this replica gets the lease; ``on_lost()`` when it
    stops holding it (renewal refused, the database unreachable until the lease ran out,
    or a stop). The singleton's own loop should also check ``held()`` before each step:
    the callbacks tell it to start and stop, ``held()`` keeps it from acting on a lease
    that ran out while it was busy."""

    def __init__(
        self,
        lease: Lease,
        on_acquired: Callable[[int], None] = lambda token: None,
        on_lost: Callable[[], None] = lambda: None,
        every: float | None = None,
    ) -> None:
        self.lease = lease
        self.on_acquired = on_acquired
        self.on_lost = on_lost
        self.every = lease.ttl / 6 if every is None else every
        self._held_token: int | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        return self.lease.name

    def held(self) -> Holding | None:
        return self.lease.held()

    def start(self) -> LeaseKeeper:
        self._thread = threading.Thread(target=self._run, name=f"lease:{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop trying; a lease held is given up (after ``on_lost`` has run)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._lost()
        try:
            self.lease.release()
        except Exception as exc:  # the database away: the lease simply expires
            log.warning("could not release the lease", lease=self.name, error=repr(exc))

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                holding = self.lease.acquire_or_renew()
            except Exception as exc:
                log.warning("lease database unreachable", lease=self.name, error=repr(exc))
                holding = self.lease.held()  # still ours until our own clock says not
            if holding is None:
                self._lost()
            elif holding.token != self._held_token:
                self._lost()  # a new token: whatever ran under the old one stops first
                self._held_token = holding.token
                self.on_acquired(holding.token)
            self._stopping.wait(self._wait_time())

    def _wait_time(self) -> float:
        holding = self.lease.holding
        if holding is None:
            return self.every
        # Never sleep past the point where the holding runs out unrenewed.
        return max(0.0, min(self.every, holding.good_until - self.lease.clock()))

    def _lost(self) -> None:
        if self._held_token is None:
            return
        self._held_token = None
        log.info("stopping work under the lease", lease=self.name)
        self.on_lost()
