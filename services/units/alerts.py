"""Getting alerts to the teams' apps, and taking them back when nobody answers.

- :class:`AlertHub` fans alert changes out to the ``WatchAlerts`` streams open for a
  team (in this process).
- :class:`AlertDeadlines` times out alerts whose deadline has passed unanswered.
"""

from __future__ import annotations

import heapq
import queue
import threading
from collections import defaultdict
from collections.abc import Callable

import structlog

from emergency.v1 import units_pb2
from services.common.eventstore import now_us

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


class AlertDeadlines:
    """Times each unanswered alert out at its deadline, once.

    A queue ordered by due time, fed with every alert waiting for an answer (``add``) and
    emptied of those answered or withdrawn (``discard``), served by one thread that sleeps
    until the earliest is due: the time-out fires at the deadline, not at the next tick
    of a periodic scan. ``time_out(unit_id, alert_id)`` records it; it is idempotent and
    returns False when the alert was answered or withdrawn meanwhile. One that fails
    (the database away) is tried again a second later.

    Every replica of the units service keeps the queue; only the one ``in_charge`` (the
    holder of the ``alert-deadlines`` lease) fires. The others wait, and one of them
    fires what falls due once it takes the lease over.
    """

    RETRY_AFTER_US = 1_000_000
    NOT_IN_CHARGE_WAIT = 0.5  # seconds between looks at the lease while another fires

    def __init__(
        self,
        time_out: Callable[[str, str], bool],
        in_charge: Callable[[], bool] = lambda: True,
    ) -> None:
        self.time_out = time_out
        self.in_charge = in_charge
        self._due: list[tuple[int, str, str]] = []  # (deadline µs, unit id, alert id)
        self._waiting: dict[str, int] = {}  # alert id -> its deadline (µs)
        self._changed = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="alert-deadlines", daemon=True)

    def start(self) -> AlertDeadlines:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify()
        self._thread.join(5)

    def add(self, deadline_us: int, unit_id: str, alert_id: str) -> None:
        """An alert waits for an answer until ``deadline_us`` (again: a no-op)."""
        with self._changed:
            if self._waiting.get(alert_id) == deadline_us:
                return
            self._waiting[alert_id] = deadline_us
            heapq.heappush(self._due, (deadline_us, unit_id, alert_id))
            if self._due[0][2] == alert_id:  # the new earliest: wake up sooner
                self._changed.notify()

    def discard(self, alert_id: str) -> None:
        """The alert no longer waits (answered, withdrawn, timed out)."""
        with self._changed:
            self._waiting.pop(alert_id, None)  # its heap entry is skipped when it comes up

    def nudge(self) -> None:
        """Look again now (this replica was just put in charge)."""
        with self._changed:
            self._changed.notify()

    def pending(self) -> int:
        with self._changed:
            return len(self._waiting)

    def _next_due(self) -> tuple[int, str, str] | None:
        """Wait for the earliest alert still waiting to fall due (None: stopping)."""
        with self._changed:
            while not self._stopping:
                while self._due and self._waiting.get(self._due[0][2]) != self._due[0][0]:
                    heapq.heappop(self._due)  # answered meanwhile, or added again
                wait = (self._due[0][0] - now_us()) / 1e6 if self._due else None
                if wait is not None and wait <= 0:
                    if self.in_charge():
                        deadline, unit_id, alert_id = heapq.heappop(self._due)
                        del self._waiting[alert_id]
                        return deadline, unit_id, alert_id
                    wait = self.NOT_IN_CHARGE_WAIT
                self._changed.wait(wait)
            return None

    def _run(self) -> None:
        while (due := self._next_due()) is not None:
            deadline, unit_id, alert_id = due
            try:
                fired = self.time_out(unit_id, alert_id)
            except Exception:
                log.exception("alert time-out failed; trying again", alert_id=alert_id)
                self.add(now_us() + self.RETRY_AFTER_US, unit_id, alert_id)
                continue
            if fired:
                late_ms = (now_us() - deadline) / 1000
                log.info(
                    "alert timed out",
                    alert_id=alert_id,
                    unit_id=unit_id,
                    ms_after_deadline=round(late_ms, 1),
                )
