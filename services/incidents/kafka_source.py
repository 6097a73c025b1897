"""Reading an incident back from the Kafka topics, not the store: every service's topic
from the start, keeping the events whose correlation id is the incident. Replays from
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

IDLE_MS = 400  # nothing more for this long, past the end offsets: the read is complete


def read_incident(
    bootstrap: str, incident_id: str, timeout: float = 60.0, topics: tuple[str, ...] = ()
) -> list[EventEnvelope]:
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            group_id=None,
            fetch_max_wait_ms=50,
            request_timeout_ms=15000,
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
        consumer.seek_to_beginning(*partitions)
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
