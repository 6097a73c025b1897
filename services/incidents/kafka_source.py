"""Reading an incident back from the Kafka topics, not the store: every service's topic,
keeping the events whose correlation id is the incident. With the time the incident was
opened, each partition is read from the first record produced a margin before it
(ListOffsets by timestamp): an incident's events are all produced after it opened, by
relays that stamp records with their own clock. Without it, or where the broker cannot
look offsets up by time (Tansu 0.6 answers offset 0 for any time: measured), from the
start. Replays from
here and from the incident log give the same events in the same order (``replay.ordered``
sorts and drops repeats), which is how we show the log is faithful to what was published.

The read ends when every partition has been read past the end offset it had at the start
and the broker then has nothing more for a short while: Tansu answers ListOffsets with the
first offset of the last write plus one, so the end offsets alone can stop short of a
batch's tail. A message that does not decode is skipped (the log parks it).
"""

from __future__ import annotations

import contextlib
import time

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from services.common.config import TOPICS
from services.common.envelope import EventEnvelope, UndecodableEvent, decode
from services.common.errors import NotFound, Unavailable
from services.common.topics import security

IDLE_MS = 400  # nothing more for this long, past the end offsets: the read is complete
# How long before the opening records may be stamped: the clocks of the services' hosts
# may differ by this much (NTP keeps them far closer).
CLOCK_MARGIN_US = 5 * 60 * 1_000_000


def read_incident(
    bootstrap: str,
    incident_id: str,
    timeout: float = 60.0,
    topics: tuple[str, ...] = (),
    opened_at_us: int | None = None,
) -> list[EventEnvelope]:
    """The incident's envelopes as the topics hold them (unordered; ``replay.ordered``
    sorts them). ``opened_at_us``: when it opened, to skip what came before."""
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            group_id=None,
            fetch_max_wait_ms=50,
            request_timeout_ms=15000,
            **security(),
        )
    except KafkaError as exc:
        raise Unavailable(
            f"the broker at {bootstrap} cannot be reached ({exc.__class__.__name__}): "
            "read the incident from the store instead"
        ) from None
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics or tuple(TOPICS.values())
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            raise NotFound(
                f"the broker at {bootstrap} has none of the topics {list(TOPICS.values())}"
            )
        consumer.assign(partitions)
        _seek_to_start(consumer, partitions, opened_at_us)
        ends = consumer.end_offsets(partitions)
        found: list[EventEnvelope] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batches = consumer.poll(timeout_ms=IDLE_MS)
            for records in batches.values():
                for record in records:
                    with contextlib.suppress(UndecodableEvent):
                        envelope = decode(record.value)
                        if envelope.correlation_id == incident_id:
                            found.append(envelope)
            if not batches and all(consumer.position(tp) >= ends[tp] for tp in partitions):
                return found
        raise Unavailable(
            f"reading incident {incident_id} from Kafka took over {timeout:g} s: the broker is "
            "slow or the topics are very long; read it from the store instead"
        )
    finally:
        with contextlib.suppress(Exception):
            consumer.close(autocommit=False)


def _seek_to_start(
    consumer: KafkaConsumer, partitions: list[TopicPartition], opened_at_us: int | None
) -> None:
    """Each partition at the first record produced since the incident opened (less the
    clock margin), or at its beginning when that cannot be known."""
    consumer.seek_to_beginning(*partitions)
    if opened_at_us is None:
        return
    since_ms = max((opened_at_us - CLOCK_MARGIN_US) // 1000, 0)
    try:
        found = consumer.offsets_for_times({tp: since_ms for tp in partitions})
    except KafkaError:  # the broker cannot look offsets up by time: read it all
        return
    ends = consumer.end_offsets(partitions)
    for tp in partitions:
        hit = found.get(tp)
        if hit is None:  # nothing produced since then in this partition
            consumer.seek(tp, ends[tp])
        elif hit.offset > 0:
            consumer.seek(tp, hit.offset)
