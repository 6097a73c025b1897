"""A thread that runs a catch-up whenever the store was appended to (by this process or,
on PostgreSQL, by another replica), and every few seconds regardless, so read models in
memory follow the writes of every replica."""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from services.common.eventstore import EventStore

log = structlog.get_logger(__name__)


class StoreFollower:
    def __init__(self, store: EventStore, catch_up: Callable[[], None], every: float = 2.0) -> None:
        """``catch_up``: reads what is new (idempotent, cheap when nothing is);
        ``every``: seconds between catch-ups when no append is heard of."""
        self.catch_up = catch_up
        self.every = every
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-follower", daemon=True)
        store.on_append(lambda _position: self._wake.set())

    def start(self) -> StoreFollower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.every)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self.catch_up()
            except Exception as exc:  # the database away: the next round tries again
                log.warning("catching up with the store failed", error=repr(exc))
