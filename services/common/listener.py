"""Acting on another service's events: a thread consuming one topic in its own consumer
group, at least once. The handler must be idempotent (events come again after a crash or
a rebuilt topic); an exception other than a domain refusal means "not handled": the
consumer reconnects without committing, and the event comes again.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable

import structlog
from aiokafka import AIOKafkaConsumer

from services.common.envelope import EventEnvelope, UndecodableEvent, decode
from services.common.errors import Conflict, DomainError, Unavailable
from services.common.relay import publish_epoch
from services.common.topics import CLIENT_TIMEOUTS, aiokafka_security

log = structlog.get_logger(__name__)

# Seconds between offset commits while events flow: a commit per batch was 9 % of the
# units service's profile samples at 20 calls/s. A consumer that dies redelivers at most
# this much, which the handlers skip (they are idempotent).
COMMIT_EVERY = 1.0


class TopicListener:
    def __init__(
        self,
        bootstrap: str,
        topic: str,
        group_id: str,
        handle: Callable[[EventEnvelope], None],
        wants: Callable[[EventEnvelope], bool] = lambda envelope: True,
        fetch_max_wait_ms: int = 25,
    ) -> None:
        """``wants`` picks the events ``handle`` is called for; the rest are skipped.
        ``fetch_max_wait_ms``: how long the broker holds a fetch that finds nothing new.
        Tansu does not answer a waiting fetch as soon as data arrives (a message waits up
        to half of it), so it sets this hop's latency; and each fetch costs the consumer
        and the broker CPU (an idle consumer at 25 ms: about 0.04 s of CPU a second in
        the consumer and 0.03-0.04 s in the broker; at 100 ms a third of that; ``make
        bench clients``)."""
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.bootstrap = bootstrap
        self.topic = topic
        self.group_id = group_id
        self.handle = handle
        self.wants = wants
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"listen-{topic}", daemon=True)

    def start(self) -> TopicListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._consume())

    async def _consume(self) -> None:
        # aiokafka (faust's client) rather than kafka-python: an idle consumer polling
        # every 25 ms costs about a third of the CPU (docs/BENCHMARKS.md, issue 13).
        while not self._stopping.is_set():
            consumer = None
            try:
                consumer = AIOKafkaConsumer(
                    self.topic,
                    bootstrap_servers=self.bootstrap,
                    group_id=self.group_id,
                    enable_auto_commit=False,
                    auto_offset_reset="earliest",
                    # Tansu does not answer a waiting fetch early: a short wait keeps
                    # latency low (measured in docs/BENCHMARKS.md, the alerts suite).
                    fetch_max_wait_ms=self.fetch_max_wait_ms,
                    **CLIENT_TIMEOUTS,
                    **aiokafka_security(),
                )
                await consumer.start()
                epoch: int | None = None
                pending = False  # handled, offsets not yet committed
                committed_at = time.monotonic()
                while not self._stopping.is_set():
                    batches = await consumer.getmany(timeout_ms=200)
                    rewound = False
                    for message in (m for messages in batches.values() for m in messages):
                        seen = publish_epoch(message.headers)
                        if epoch is not None and seen > epoch:
                            # The topic was rebuilt from its owner's store: old offsets
                            # mean nothing now. Read it again; handlers are idempotent.
                            log.warning("topic rebuilt; rewinding", topic=self.topic, epoch=seen)
                            await consumer.seek_to_beginning(*consumer.assignment())
                            epoch, rewound = seen, True
                            break
                        epoch = seen if epoch is None else max(epoch, seen)
                        assert message.value is not None
                        self._deliver(message.value, message.partition, message.offset)
                    if rewound:
                        pending = False  # the offsets handled so far mean nothing now
                    elif batches:
                        pending = True
                    if pending and time.monotonic() - committed_at >= COMMIT_EVERY:
                        await consumer.commit()
                        pending, committed_at = False, time.monotonic()
                if pending:  # stopping: the next consumer starts where this one ended
                    await consumer.commit()
            except Exception as exc:
                log.warning(
                    "listener lost the broker or failed; reconnecting",
                    topic=self.topic,
                    error=repr(exc),
                )
                await asyncio.to_thread(self._stopping.wait, 1.0)
            finally:
                if consumer is not None:
                    with contextlib.suppress(Exception):  # the broker may be gone
                        await consumer.stop()

    def _deliver(self, value: bytes, partition: int, offset: int) -> None:
        try:
            envelope = decode(value)
        except UndecodableEvent as exc:
            log.error(
                "undecodable message skipped",
                topic=self.topic,
                partition=partition,
                offset=offset,
                reason=str(exc),
            )
            return
        if not self.wants(envelope):
            return
        try:
            self.handle(envelope)
        except (Conflict, Unavailable):
            raise  # passing (a concurrent write, a peer down): not committed, comes again
        except DomainError as exc:
            # The rules refuse to act on it (the state moved on meanwhile): nothing to do.
            log.warning(
                "event not acted on",
                topic=self.topic,
                event_type=envelope.event_type,
                reason=str(exc),
                correlation_id=envelope.correlation_id,
            )
