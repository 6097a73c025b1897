"""Live updates for the console: the edge's own fold of every service's topic, and the
items it streams to every open page (server-sent events).

**Consuming.** One thread per edge process reads the three topics from the start, in a
consumer group of its own (``uc-edge-<instance>``), so every edge replica sees every
event. It folds ``unit-*`` streams with the units service's own aggregate and
``incident-*`` streams with dispatch's, so the edge's picture of a unit or an incident at
stream version *v* is the service's at *v* (the same code applied to the same events).
An event at or below the version held is skipped (at-least-once delivery, rewinds); a
rising publish epoch rewinds the topic, as every other consumer here does.

**Items.** Each event applied becomes an item: the event's identity (event id, stream id,
stream version), what happened (type, actor, payload, a one-line summary) and the unit's
or incident's state after it. Items are numbered per edge process (``seq``) and the last
``RING`` of them are kept, so a page that lost its connection gets exactly what it
missed from the same process (``Last-Event-ID: <instance>.<seq>``), and from another
process (the edge restarted, or another replica) everything recorded since a moment it
names (``since``), which it dedupes by event id.

**The page's rule.** A page opens the stream, then fetches the board (``snapshot``), and
applies an item only when its stream version is above what it holds for that stream; it
shows an event once per event id. So nothing is missed between the snapshot and the
stream, and nothing is applied twice.

While the fold catches up with the topics after a start, nothing is streamed and the
board is not served (it would be the past): ``caught_up`` is set once a read of every
assigned partition comes back empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from services.common.config import TOPICS
from services.common.envelope import EventEnvelope, UndecodableEvent, decode, micros, payload_of
from services.common.relay import publish_epoch
from services.common.streams import is_history
from services.common.topics import CLIENT_TIMEOUTS, aiokafka_security
from services.dispatch.api import incident_message
from services.dispatch.domain import Incident
from services.incidents.narration import actor_of, summary
from services.units.api import unit_message
from services.units.domain import Unit

log = structlog.get_logger(__name__)

# A person reads the board: being up to this much behind costs nothing, and polling the
# broker four times less often saves it about 30 ms of CPU a second (docs/BENCHMARKS.md).
FETCH_MAX_WAIT_MS = 100

RING = 20_000  # items kept for pages that reconnect
QUEUE = 10_000  # items a slow page may fall behind before it is told to start over


def as_json(message: Message) -> dict[str, Any]:
    """A protobuf message as the console's JSON: proto field names, every field present
    (zero values included, so a page never guesses a default), enums by name. 64-bit
    integers come out of protobuf's JSON as strings; ``version`` is made a number again."""
    data = MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    for key in ("version", "incident_version"):
        if key in data:
            data[key] = int(data[key])
    return data


def _iso(us: int) -> str | None:
    if not us:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us // 1_000_000)) + (
        f".{us % 1_000_000:06d}Z"
    )


@dataclass
class UnitEntry:
    unit: Unit = field(default_factory=Unit)
    cached: dict[str, Any] | None = None

    def json(self) -> dict[str, Any]:
        """The unit as ``GET /api/units`` shows it: the units service's ``Unit`` message
        plus its latest alert (state, deadline: for the countdown)."""
        if self.cached is None:
            data = as_json(unit_message(self.unit))
            alert = self.unit.alert
            data["alert"] = (
                None
                if alert is None
                else {
                    "alert_id": alert.alert_id,
                    "incident_id": alert.alert.incident_id,
                    "state": alert.state,
                    "deadline": _iso(alert.deadline_us),
                    "responders_needed": alert.alert.responders_needed,
                    "responders_total": alert.responders_total,
                }
            )
            self.cached = data
        return self.cached


@dataclass
class IncidentEntry:
    incident: Incident = field(default_factory=Incident)
    first_dispatched_us: int = 0  # when the first unit was sent: stops the call clock
    last_event_us: int = 0
    cached: dict[str, Any] | None = None

    @property
    def active(self) -> bool:
        return self.incident.active

    def json(self) -> dict[str, Any]:
        """The incident as dispatch's ``Incident`` message plus the first dispatch time
        and the time of its last event."""
        if self.cached is None:
            data = as_json(incident_message(self.incident))
            data["first_dispatched_at"] = _iso(self.first_dispatched_us)
            data["last_event_at"] = _iso(self.last_event_us)
            self.cached = data
        return self.cached


@dataclass
class Item:
    """One event as the pages get it."""

    seq: int
    recorded_us: int
    event_id: str
    envelope: EventEnvelope
    entity: tuple[str, dict[str, Any]] | None  # ("unit" | "incident", its state after it)
    _encoded: bytes | None = None

    def encode(self, instance: str) -> bytes:
        """The item as one server-sent event (``id``, ``event: change``, ``data``)."""
        if self._encoded is None:
            body = event_json(self.envelope)
            body["seq"] = self.seq
            if self.entity is not None:  # the unit's or incident's state after the event
                body["kind"], body["state"] = self.entity
            text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
            self._encoded = (
                f"id: {cursor(instance, self.seq, self.recorded_us)}\nevent: change\n"
                f"data: {text}\n\n"
            ).encode()
        return self._encoded


def event_json(e: EventEnvelope) -> dict[str, Any]:
    """An event as the page reads it, live or from an incident's log: its identity
    (event id, stream, version), type, source, incident, when it happened and was recorded
    (µs), who did it, a one-line summary and the payload's fields."""
    body: dict[str, Any] = {
        "id": e.event_id,
        "stream": e.stream_id,
        "v": e.stream_version,
        "type": e.event_type,
        "src": e.source,
        "incident": e.correlation_id,
        "at": micros(e.occurred_at),
        "rec": micros(e.recorded_at),
        "actor": actor_of(e),
        "text": summary(e),
    }
    payload = payload_of(e)
    if payload is not None:
        body["data"] = MessageToDict(payload, preserving_proto_field_name=True)
    return body


class Subscriber:
    """One open page: its items wait in an asyncio queue on the server's event loop."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Item] = asyncio.Queue(maxsize=QUEUE)
        self.overflowed = False

    def offer(self, item: Item) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True  # the page is told to reload the board (see console_api)


class LiveBoard:
    """The fold, the ring of recent items and the open pages (see the module docstring)."""

    def __init__(self, bootstrap: str = "", instance: str | None = None) -> None:
        self.bootstrap = bootstrap
        self.instance = instance or uuid.uuid4().hex[:12]
        self.units: dict[str, UnitEntry] = {}
        self.incidents: dict[str, IncidentEntry] = {}
        self.ring: deque[Item] = deque(maxlen=RING)
        self.seq = 0
        self.caught_up = threading.Event()
        self.last_event_at = 0.0  # wall clock of the last item (for "data as of")
        self._lock = threading.Lock()
        self._subscribers: set[Subscriber] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="edge-live", daemon=True)

    # --- the fold (no I/O: the unit tests drive it directly) ---------------------------

    def apply(self, envelope: EventEnvelope) -> Item | None:
        """Fold one event; returns its item, or None when it was applied before (or is
        of no stream the board keeps and repeats an event id seen last)."""
        with self._lock:
            entity = self._fold(envelope)
            if entity is False:
                return None
            self.seq += 1
            item = Item(
                self.seq,
                micros(envelope.recorded_at),
                envelope.event_id,
                envelope,
                entity if self.caught_up.is_set() else None,
            )
            self.ring.append(item)
        return item

    def _fold(self, envelope: EventEnvelope) -> tuple[str, dict[str, Any]] | Literal[False] | None:
        """Apply to the unit or incident; False when it is not new. The entity's JSON is
        built only once the board is caught up (history needs none)."""
        stream, version = envelope.stream_id, envelope.stream_version
        payload = payload_of(envelope)
        if payload is None or is_history(stream):
            return False  # undecodable, or imported history (in the record, not live)
        if stream.startswith("unit-"):
            entry = self.units.setdefault(stream.removeprefix("unit-"), UnitEntry())
            if not self._next(entry.unit.version, version, stream):
                return False
            entry.unit.apply(payload)
            entry.cached = None
            return ("unit", entry.json()) if self.caught_up.is_set() else None
        if stream.startswith("incident-"):
            incident = self.incidents.setdefault(stream.removeprefix("incident-"), IncidentEntry())
            if not self._next(incident.incident.version, version, stream):
                return False
            incident.incident.apply(payload)
            at = micros(envelope.occurred_at)
            incident.last_event_us = at
            if envelope.event_type == "UnitDispatched" and not incident.first_dispatched_us:
                incident.first_dispatched_us = at
            incident.cached = None
            return ("incident", incident.json()) if self.caught_up.is_set() else None
        # Other streams (commanders' notes): no state here, but one item per event.
        if any(i.event_id == envelope.event_id for i in _last(self.ring, 64)):
            return False
        return None

    @staticmethod
    def _next(held: int, version: int, stream: str) -> bool:
        if version <= held:
            return False  # seen already (redelivery, or a rewound topic)
        if version > held + 1:
            # Topics keep every event of a stream in order, so this means the topic lost
            # history (retention): the picture of this stream is incomplete from here on.
            log.warning(
                "stream version skipped; applying anyway", stream=stream, held=held, got=version
            )
        return True

    # --- what pages read --------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The board now: every active incident and every unit not retired, with the
        ``seq`` of the last item folded in (a page applies only newer stream versions)."""
        with self._lock:
            return {
                "instance": self.instance,
                "seq": self.seq,
                "incidents": [e.json() for e in self.incidents.values() if e.active],
                "units": [
                    e.json()
                    for e in self.units.values()
                    if e.unit.version > 0 and e.json()["status"] != "RETIRED"
                ],
            }

    def incident(self, incident_id: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self.incidents.get(incident_id)
            return entry.json() if entry is not None and entry.incident.version else None

    def items_after(self, seq: int) -> list[Item] | None:
        """Items after ``seq`` of this process; None when some have left the ring."""
        with self._lock:
            if seq >= self.seq:
                return []
            if not self.ring or self.ring[0].seq > seq + 1:
                return None
            return [i for i in self.ring if i.seq > seq]

    def items_since(self, recorded_us: int) -> list[Item]:
        """Items of events recorded at or after ``recorded_us`` (a page from another
        process dedupes them by event id), oldest first as folded."""
        with self._lock:
            return [i for i in self.ring if i.recorded_us >= recorded_us]

    # --- pages ------------------------------------------------------------------------

    def subscribe(self) -> Subscriber:
        subscriber = Subscriber()
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    @property
    def pages(self) -> int:
        return len(self._subscribers)

    def _publish(self, item: Item) -> None:  # on the event loop
        for subscriber in list(self._subscribers):
            subscriber.offer(item)

    # --- the consumer thread ---------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> LiveBoard:
        self._loop = loop
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(10)

    def _deliver(self, values: Iterable[bytes]) -> None:
        for value in values:
            try:
                envelope = decode(value)
            except UndecodableEvent as exc:
                log.error("undecodable message skipped", reason=str(exc))
                continue
            item = self.apply(envelope)
            if item is None or not self.caught_up.is_set() or self._loop is None:
                continue
            self.last_event_at = time.time()
            if self._subscribers:  # no page open: encoded when one asks for it, if ever
                item.encode(self.instance)  # once, here, for every page (cached on the item)
                self._loop.call_soon_threadsafe(self._publish, item)

    def _run(self) -> None:
        asyncio.run(self._consume())

    async def _consume(self) -> None:
        # Its own event loop in this thread: folding and encoding stay off the pages' loop.
        from aiokafka import AIOKafkaConsumer  # the edge without a broker (tests) never needs it

        while not self._stopping.is_set():
            consumer = None
            try:
                consumer = AIOKafkaConsumer(
                    *TOPICS.values(),
                    bootstrap_servers=self.bootstrap,
                    group_id=f"uc-edge-{self.instance}",
                    enable_auto_commit=False,  # every start reads from the beginning
                    auto_offset_reset="earliest",
                    # The broker does not answer a waiting fetch early: the board is at
                    # most this much behind, and each empty fetch costs the broker CPU.
                    fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
                    **CLIENT_TIMEOUTS,
                    **aiokafka_security(),
                )
                await consumer.start()
                epochs: dict[str, int] = {}
                while not self._stopping.is_set():
                    batches = await consumer.getmany(timeout_ms=200)
                    if not batches:
                        if consumer.assignment() and not self.caught_up.is_set():
                            self._mark_caught_up()
                        continue
                    for partition, messages in batches.items():
                        values = []
                        for message in messages:
                            seen = publish_epoch(message.headers)
                            held = epochs.get(partition.topic)
                            if held is not None and seen > held:
                                log.warning("topic rebuilt; rewinding", topic=partition.topic)
                                await consumer.seek_to_beginning(
                                    *[
                                        p
                                        for p in consumer.assignment()
                                        if p.topic == partition.topic
                                    ]
                                )
                                epochs[partition.topic] = seen
                                break
                            epochs[partition.topic] = max(held or 0, seen)
                            if message.value is not None:
                                values.append(message.value)
                        self._deliver(values)
            except Exception as exc:
                log.warning("live feed lost the broker; reconnecting", error=repr(exc))
                await asyncio.to_thread(self._stopping.wait, 1.0)
            finally:
                if consumer is not None:
                    with contextlib.suppress(Exception):
                        await consumer.stop()

    def _mark_caught_up(self) -> None:
        with self._lock:
            for entry in self.units.values():
                entry.cached = None
            for incident in self.incidents.values():
                incident.cached = None
            self.caught_up.set()
        self.last_event_at = time.time()
        log.info(
            "live board caught up",
            units=len(self.units),
            incidents=len(self.incidents),
            events=self.seq,
        )


def cursor(instance: str, seq: int, recorded_us: int) -> str:
    """Where a page stands: ``<instance>.<seq>.<recorded µs>``. The same process resumes
    after ``seq``; another resumes from the time (see ``LiveBoard.items_since``)."""
    return f"{instance}.{seq}.{recorded_us}"


def parse_cursor(text: str) -> tuple[str, int, int] | None:
    parts = text.strip().split(".")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return parts[0], int(parts[1]), int(parts[2])


def _last(ring: deque[Item], n: int) -> Iterable[Item]:
    for index in range(1, min(n, len(ring)) + 1):
        yield ring[-index]
