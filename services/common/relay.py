"""The outbox relay: publishes a service's stored events to its Kafka topic.

The event table is the outbox (positions are gap-free and commit in order, see
``eventstore.py``). The relay reads every event after its checkpoint, publishes them in
position order keyed by stream id (so each stream stays in order on one partition), waits
for the broker's acknowledgement, then moves the checkpoint. Delivery is at least once: a
crash between publish and checkpoint republishes a batch, and consumers dedupe.

While the broker is down the services keep accepting commands; the relay retries with
back-off and catches up when the broker returns. A broker that comes back *empty* (the
embedded broker keeps nothing on disk) is detected in two ways: a partition the relay has
written to reads as missing or empty, or the broker acknowledges a message at an offset
at or below one it acknowledged before (offsets never go backwards on a partition that
kept its data). The relay then recreates the topic and republishes from position 0.

Each message carries the relay's publish epoch in the ``uc-epoch`` header: the number of
times the topic has been rebuilt. A republished log need not line up offset for offset
with the lost one (a retried batch leaves duplicates behind), so a consumer that sees the
epoch rise rewinds the topic to its start instead of trusting its old offsets.

End offsets are not compared with acknowledged offsets: Tansu 0.6 answers ListOffsets
with the number of record batches, not records, so that comparison raises false alarms.

One relay per store publishes at a time: every replica of a service runs one, and only
the holder of the store's ``relay:<topic>`` lease (``lease.py``) publishes. A new holder
starts from the checkpoint in the store; every checkpoint it saves is fenced with its
token, so a holder that lost the lease mid-batch cannot move the checkpoint (its batch
may reach the topic twice: consumers dedupe).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping

import structlog
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import Connection

from services.common.config import settings
from services.common.envelope import encode
from services.common.eventstore import EventStore
from services.common.lease import Lease, LeaseKeeper, LeaseLost
from services.common.producer import BatchProducer
from services.common.topics import ensure_topics, security

log = structlog.get_logger(__name__)

EPOCH_HEADER = "uc-epoch"


def publish_epoch(headers: Mapping[str, bytes] | Iterable[tuple[str, bytes]] | None) -> int:
    """The relay's publish epoch from a message's headers (0 when absent): a dict (faust)
    or a list of pairs (kafka-python)."""
    items = headers.items() if isinstance(headers, Mapping) else (headers or [])
    for key, value in items:
        if key == EPOCH_HEADER:
            return int(value)
    return 0


class BrokerLostData(Exception):
    """The broker no longer holds messages it acknowledged."""

    def __init__(self, topic: str) -> None:
        super().__init__(f"the broker lost messages of {topic}")


class OutboxRelay:
    def __init__(
        self,
        store: EventStore,
        *,
        lease: Lease,
        source: str,
        topic: str,
        bootstrap: str,
        partitions: int,
        batch_size: int = 500,
        idle_wait: float = 0.5,
        loss_check_every: float = 2.0,
        checkpoint_every: float = 0.5,
    ) -> None:
        """``checkpoint_every``: seconds between saves of the relay's progress while it
        publishes (each save is a transaction, an fsync on SQLite): at most one save per
        ``checkpoint_every``, whether the relay is busy or publishes an event now and then
        (an idle relay looks every ``idle_wait`` and saves what is pending then), and a
        last one when it stops. A relay that dies meanwhile makes its successor publish
        those events again, which every consumer skips (they dedupe: the relay also
        republishes everything after the broker loses its data)."""
        self.store = store
        self.source = source
        self.topic = topic
        self.bootstrap = bootstrap
        self.partitions = partitions
        self.batch_size = batch_size
        self.idle_wait = idle_wait
        self.loss_check_every = loss_check_every
        self.checkpoint_every = checkpoint_every
        self._unsaved: tuple[int, int] | None = None  # (position, token) published, not saved
        self._saved_at = 0.0  # time.monotonic() of the last save
        self.name = f"relay:{topic}"
        self._epoch_name = f"epoch:{topic}"
        self.epoch = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._producer: BatchProducer | None = None
        self._checker: KafkaConsumer | None = None
        self._acked: dict[int, int] = {}  # partition -> highest offset the broker acknowledged
        # The checkpoints as this relay last saved them, under the lease token it saved
        # them with: the next save writes only what changed (see ``_save``).
        self._saved: tuple[int, dict[str, int]] | None = None
        self.published = 0  # messages sent since start, republished ones included
        self.republishes = 0
        # Called (in the relay's thread) when the broker turns out to have lost its data:
        # consumers in this process may hold offsets that mean nothing now.
        self.on_broker_reset: Callable[[], None] | None = None
        self.lease = lease
        self._keeper = LeaseKeeper(lease, lambda _token: self._wake.set(), self._wake.set)
        store.on_append(lambda _position: self._wake.set())

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> OutboxRelay:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        self._keeper.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._keeper.stop()  # after the last batch: the next holder starts where it ended
        self._close_clients()

    def caught_up(self) -> bool:
        return self.store.load_checkpoint(self.name) >= self.store.max_position()

    # --- the loop --------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.1
        next_loss_check = 0.0
        checkpoint: int | None = None  # loaded inside the loop: a failing store is retried
        token: int | None = None
        while not self._stopping.is_set():
            holding = self.lease.held()
            if holding is None:  # another replica publishes; stand by
                if self._producer is not None:
                    self._close_clients()
                checkpoint = token = None
                self._unsaved = None  # not ours to save any more
                self._wake.wait(self.idle_wait)
                self._wake.clear()
                continue
            if holding.token != token:  # newly ours: start from what the store says
                checkpoint, token = None, holding.token
            try:
                if checkpoint is None:
                    self._unsaved = None
                    self._acked = self._load_acked()
                    self.epoch = self.store.load_checkpoint(self._epoch_name)
                    checkpoint = self.store.load_checkpoint(self.name)
                if self._producer is None:
                    self._connect()
                    next_loss_check = 0.0
                if time.monotonic() >= next_loss_check:
                    if self._broker_lost_data():
                        checkpoint = self._restart_from_zero(token)
                    next_loss_check = time.monotonic() + self.loss_check_every
                self._wake.clear()
                try:
                    published = self._publish_after(checkpoint, token)
                except BrokerLostData:
                    checkpoint = self._restart_from_zero(token)
                    continue
                if published:
                    checkpoint = published
                else:  # caught up: save what was published, unless saved just now
                    if time.monotonic() - self._saved_at >= self.checkpoint_every:
                        self._save_progress()
                    self._wake.wait(self.idle_wait)
                backoff = 0.1
            except LeaseLost as exc:
                log.info("relay lost its lease mid-batch; standing by", error=str(exc))
                checkpoint = token = None
            except Exception as exc:
                log.warning(
                    "relay cannot publish; retrying",
                    topic=self.topic,
                    error=repr(exc),
                    retry_in=backoff,
                )
                self._close_clients()
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)
        try:  # stopping: the next holder starts where this one ended
            self._save_progress()
        except Exception as exc:  # it publishes those events again; consumers skip them
            log.warning("relay could not save its progress on stopping", error=repr(exc))

    def _publish_after(self, checkpoint: int, token: int) -> int:
        """Publish one batch; return the new checkpoint, or 0 when there was nothing."""
        batch = self.store.read_all(checkpoint, self.batch_size)
        if not batch:
            return 0
        assert self._producer is not None
        headers = [(EPOCH_HEADER, str(self.epoch).encode())]
        # Raises if the broker refused a message or did not acknowledge it in time.
        acknowledged = self._producer.publish(
            self.topic,
            [(event.stream_id.encode(), encode(event, self.source)) for event in batch],
            headers,
        )
        acked = dict(self._acked)
        for partition, offset in acknowledged:
            if offset <= acked.get(partition, -1) and partition in self._acked:
                log.warning(
                    "broker acknowledged an offset it had passed: it lost its data",
                    topic=self.topic,
                    partition=partition,
                    offset=offset,
                    previously_acknowledged=self._acked[partition],
                )
                raise BrokerLostData(self.topic)
            acked[partition] = max(offset, acked.get(partition, -1))
        self._acked = acked
        position = batch[-1].position
        self._unsaved = (position, token)
        if time.monotonic() - self._saved_at >= self.checkpoint_every:
            self._save_progress()
        self.published += len(batch)
        return position

    def _save_progress(self) -> None:
        """Save the progress published and not yet saved, if any."""
        if self._unsaved is not None:
            position, token = self._unsaved
            self._save(position, token)
            self._unsaved = None
            self._saved_at = time.monotonic()

    # --- broker state ----------------------------------------------------------------

    def _connect(self) -> None:
        ensure_topics(self.bootstrap, [self.topic], self.partitions)
        self._producer = BatchProducer(
            self.bootstrap,
            enable_idempotence=settings().kafka_enable_idempotence,
            name=self.name,
        )
        self._checker = KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            **security(),
            request_timeout_ms=10000,
            enable_auto_commit=False,
            allow_auto_create_topics=False,
        )
        log.info("relay connected", topic=self.topic, bootstrap=self.bootstrap)

    def _broker_lost_data(self) -> bool:
        """True when the topic is gone (even if this relay never published: its consumers
        subscribe to it), or a partition it wrote to reads as empty."""
        assert self._checker is not None
        partitions = self._checker.partitions_for_topic(self.topic)
        if not partitions:
            log.warning("topic missing on the broker; recreating it", topic=self.topic)
            return True
        if not self._acked:
            return False
        ends = self._checker.end_offsets([TopicPartition(self.topic, p) for p in partitions])
        for partition, offset in self._acked.items():
            end = ends.get(TopicPartition(self.topic, partition))
            if not end:
                log.warning(
                    "broker lost published events",
                    topic=self.topic,
                    partition=partition,
                    acknowledged_up_to=offset,
                    broker_end_offset=end,
                )
                return True
        return False

    def _restart_from_zero(self, token: int) -> int:
        self._unsaved = None  # superseded: everything is published again from 0
        ensure_topics(self.bootstrap, [self.topic], self.partitions)
        if self.on_broker_reset is not None:
            self.on_broker_reset()
        self._acked = {}
        self.epoch += 1
        self.store.save_checkpoints({self._epoch_name: self.epoch}, fence=self._fence(token))
        self._save(0, token)
        self.republishes += 1
        log.warning(
            "republishing every stored event",
            topic=self.topic,
            events=self.store.max_position(),
        )
        return 0

    def _close_clients(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=1)
        if self._checker is not None:
            # Closing a client of a dead broker may fail; it is gone anyway.
            with contextlib.suppress(Exception):
                self._checker.close()
        self._producer = None
        self._checker = None

    # --- persistence of progress ---------------------------------------------------------

    def _save(self, position: int, token: int) -> None:
        """The position published up to and each partition's acknowledged offset, in one
        fenced transaction. Only the rows that changed since this relay's last save under
        the same lease token are written (usually the position and one partition); the
        first save, a new token (another replica may have written meanwhile) or a change
        in the set of partitions rewrites them all, clearing the marks that are gone."""
        marks = {f"{self.name}:partition:{p}": offset for p, offset in self._acked.items()}
        wanted = {self.name: position, **marks}
        saved = self._saved
        if saved is not None and saved[0] == token and saved[1].keys() == wanted.keys():
            changed = {name: at for name, at in wanted.items() if saved[1][name] != at}
            self.store.save_checkpoints(changed, fence=self._fence(token))
        else:
            self._saved = None
            self.store.save_checkpoints(
                wanted, clear_prefix=f"{self.name}:", fence=self._fence(token)
            )
        self._saved = (token, wanted)

    def _fence(self, token: int) -> Callable[[Connection], None]:
        return lambda conn: self.lease.fence(conn, token)

    def _load_acked(self) -> dict[int, int]:
        prefix = f"{self.name}:partition:"
        return {
            int(name[len(prefix) :]): offset
            for name, offset in self.store.load_checkpoints(prefix).items()
        }
