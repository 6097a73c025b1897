"""A thread that runs one piece of work whenever it is woken, and every ``every`` seconds
besides: how the request filler and the store follower wait for work without polling
hot and without missing a wake-up that comes while they work."""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)


class WakeLoop:
    def __init__(self, name: str, work: Callable[[], None], every: float) -> None:
        """``work`` runs in the loop's thread; an exception it raises is logged and the
        loop goes on (the next round tries again)."""
        self.name = name
        self.work = work
        self.every = every
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> WakeLoop:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.every)
            self._wake.clear()  # before the work: a wake-up during it means "again"
            if self._stopping.is_set():
                return
            try:
                self.work()
            except Exception:
                log.exception("work failed; trying again", loop=self.name)
