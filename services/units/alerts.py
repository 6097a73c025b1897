"""Getting alerts to the teams' apps, and taking them back when nobody answers.

- :class:`AlertHub` fans alert changes out to the ``WatchAlerts`` streams open for a
  team (in this process).
- :class:`DeadlineWatch` times out alerts whose deadline has passed unanswered.
"""

from __future__ import annotations

import queue
import threading
from collections import defaultdict
from collections.abc import Callable

import structlog

from emergency.v1 import units_pb2

log = structlog.get_logger(__name__)


class AlertHub:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[queue.SimpleQueue[units_pb2.Alert]]] = defaultdict(set)
        self._lock = threading.Lock()

    def subscribe(self, team_id: str) -> queue.SimpleQueue[units_pb2.Alert]:
        inbox: queue.SimpleQueue[units_pb2.Alert] = queue.SimpleQueue()
        with self._lock:
            self._subscribers[team_id].add(inbox)
        return inbox

    def unsubscribe(self, team_id: str, inbox: queue.SimpleQueue[units_pb2.Alert]) -> None:
        with self._lock:
            self._subscribers[team_id].discard(inbox)

    def publish(self, alert: units_pb2.Alert) -> None:
        with self._lock:
            inboxes = list(self._subscribers.get(alert.team_id, ()))
        for inbox in inboxes:
            inbox.put(alert)

    def watchers(self, team_id: str) -> int:
        with self._lock:
            return len(self._subscribers.get(team_id, ()))


class DeadlineWatch:
    """Checks twice a second for alerts past their deadline."""

    def __init__(self, sweep: Callable[[], int], every: float = 0.5) -> None:
        self.sweep = sweep
        self.every = every
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-deadlines", daemon=True)

    def start(self) -> DeadlineWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stopping.wait(self.every):
            try:
                self.sweep()
            except Exception:
                log.exception("alert deadline sweep failed; trying again")
