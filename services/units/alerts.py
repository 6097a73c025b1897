"""Getting alerts to the teams' apps, and taking them back when nobody answers.

- :class:`AlertHub` fans alert changes out to the ``WatchAlerts`` streams open for a
  team (in this process).
- :class:`DispatchListener` consumes the dispatch topic: each ``UnitDispatched`` becomes
  an alert to the unit's team, idempotently (the alert's request id is the dispatch
  event's id, so a redelivered event alerts nobody twice).
- :class:`DeadlineWatch` times out alerts whose deadline has passed unanswered.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import defaultdict
from collections.abc import Callable

import structlog
from kafka import KafkaConsumer

from emergency.v1 import units_pb2
from services.common.broker import CLIENT_TIMEOUTS
from services.common.envelope import UndecodableEvent, decode
from services.common.errors import DomainError
from services.common.relay import publish_epoch

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


class DispatchListener:
    """A thread consuming the dispatch topic in its own consumer group."""

    def __init__(self, bootstrap: str, topic: str, on_dispatched: Callable[..., None]) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.on_dispatched = on_dispatched
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dispatch-listener", daemon=True)

    def start(self) -> DispatchListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stopping.is_set():
            consumer = None
            try:
                consumer = KafkaConsumer(
                    self.topic,
                    bootstrap_servers=self.bootstrap,
                    group_id="uc-units-alerts",
                    enable_auto_commit=False,
                    auto_offset_reset="earliest",
                    fetch_max_wait_ms=25,
                    allow_auto_create_topics=False,
                    **CLIENT_TIMEOUTS,
                )
                epoch: int | None = None
                while not self._stopping.is_set():
                    batches = consumer.poll(timeout_ms=200)
                    rewound = False
                    for message in (m for messages in batches.values() for m in messages):
                        seen = publish_epoch(message.headers)
                        if epoch is not None and seen > epoch:
                            # The topic was rebuilt from dispatch's store: old offsets mean
                            # nothing now. Read it again; alerts are idempotent.
                            log.warning("dispatch topic rebuilt; rewinding", epoch=seen)
                            consumer.seek_to_beginning(*consumer.assignment())
                            epoch, rewound = seen, True
                            break
                        epoch = seen if epoch is None else max(epoch, seen)
                        self._handle(message.value, message.partition, message.offset)
                    if batches and not rewound:
                        consumer.commit()
            except Exception as exc:
                log.warning("dispatch listener lost the broker; reconnecting", error=repr(exc))
                self._stopping.wait(1.0)
            finally:
                if consumer is not None:
                    with contextlib.suppress(Exception):  # the broker may be gone
                        consumer.close(autocommit=False)

    def _handle(self, value: bytes, partition: int, offset: int) -> None:
        try:
            envelope = decode(value)
        except UndecodableEvent as exc:
            log.error("undecodable message on the dispatch topic skipped", partition=partition,
                      offset=offset, reason=str(exc))  # fmt: skip
            return
        if envelope.WhichOneof("payload") != "unit_dispatched":
            return
        try:
            self.on_dispatched(envelope)
        except DomainError as exc:
            # The unit is no longer reserved for the incident (released meanwhile): there is
            # nobody to alert. The dispatch side sees the unit's state on the board.
            log.warning("dispatch not turned into an alert", reason=str(exc),
                        correlation_id=envelope.correlation_id,
                        unit_id=envelope.unit_dispatched.unit_id)  # fmt: skip


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
