"""The incidents stream processor: a faust-streaming app whose agents consume every
service's topic and write the incident log.

faust runs ``at_least_once`` (the embedded broker has no transactions, and faust's
exactly-once mode is unreliable even on real Kafka); the projection runner makes the
effects exactly-once by tracking stream versions in the same transaction.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Set
from typing import Any

import faust
import structlog
from faust.types import TP
from mode.types.signals import BaseSignalT

from services.common.config import TOPICS, settings
from services.common.projection import Message, ProjectionRunner
from services.common.relay import publish_epoch

log = structlog.get_logger(__name__)


def credentials() -> faust.types.auth.CredentialsT | None:
    """The configured Kafka security for faust (aiokafka), as kafka-python gets it."""
    environment = settings()
    protocol = environment.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    cafile = environment.kafka_ssl_cafile
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    password = environment.kafka_sasl_password
    return faust.SASLCredentials(
        username=environment.kafka_sasl_username,
        password=password.get_secret_value() if password else None,
        ssl_context=context if protocol == "SASL_SSL" else None,
        mechanism=environment.kafka_sasl_mechanism,
    )


def create_stream_app(
    bootstrap: str, partitions: int, runner: ProjectionRunner, app_id: str = "uc-incidents"
) -> faust.App:
    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap}",
        store="memory://",
        processing_guarantee="at_least_once",
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=False,
        # The embedded broker holds a JoinGroup for half the session timeout.
        broker_session_timeout=6.0,
        broker_heartbeat_interval=0.6,
        broker_commit_every=100,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        topic_partitions=partitions,
        topic_replication_factor=settings().uc_topic_replication_factor,
        broker_credentials=credentials(),
        # No tables, so no leader topic: nothing for faust to lose when the broker restarts.
        topic_disable_leader=True,
    )
    topics = app.topic(*TOPICS.values(), key_type=bytes, value_type=bytes)

    @app.on_partitions_assigned.connect
    async def log_assignment(
        _sender: object, /, *args: Any, signal: BaseSignalT[Any], **_: Any
    ) -> None:
        """Which partitions this worker reads now: replicas split them in one group."""
        assigned: Set[TP] = args[0]  # faust sends the set of TopicPartitions
        log.info(
            "partitions assigned",
            partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in assigned),
        )

    epochs: dict[str, int] = {}

    @app.agent(topics, name="incident-log-writer")
    async def write_incident_log(stream: faust.StreamT) -> None:
        """Every event of every service -> the incident log (duplicates skipped), in
        batches of what has arrived within ``BATCH_WITHIN`` seconds (at most
        ``BATCH_MAX``): one transaction each. faust acknowledges a batch's messages only
        once this loop has gone past it, that is, after its commit."""
        # take_events is faust-streaming's, not in faust's StreamT interface
        batches = stream.take_events(BATCH_MAX, within=BATCH_WITHIN)  # type: ignore[attr-defined]
        async for events in batches:
            batch: list[Message] = []
            for event in events:
                message = event.message
                epoch = publish_epoch(message.headers)
                known = epochs.setdefault(message.topic, epoch)
                if epoch > known:
                    epochs[message.topic] = epoch
                    await rewind(app, message.topic, epoch)
                batch.append((message.topic, message.partition, message.offset, event.value))
            await apply_until_done(runner, batch)

    return app


BATCH_MAX = 500  # messages per transaction of the incident log, at most
BATCH_WITHIN = 0.02  # seconds a batch waits to fill: the incident log's added delay, at most


async def apply_until_done(runner: ProjectionRunner, batch: list[Message]) -> None:
    """Apply a batch of messages, retrying a failing database with back-off for as long
    as it takes. An exception must not escape: faust would restart the agent past these
    messages, and every later event of their streams would then be held back for good."""
    delay = 0.1
    while True:
        try:
            await asyncio.to_thread(runner.handle_messages, batch)
            return
        except Exception as exc:
            topic, partition, offset, _value = batch[0]
            log.warning(
                "incident log cannot apply a batch of events; retrying",
                topic=topic,
                partition=partition,
                offset=offset,
                events=len(batch),
                error=repr(exc),
                retry_in=delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def rewind_everything_soon(app: faust.App, loop: asyncio.AbstractEventLoop) -> None:
    """From any thread: the broker lost its data, so every offset this worker holds may
    point past events it never saw. Rewind every topic now, and again after the group
    has had time to rejoin (a rejoin re-seeks to committed offsets). Rewinds are cheap to
    repeat: the projection skips what it has applied."""

    async def rewind_all() -> None:
        for delay in (0.0, 5.0, 10.0):
            await asyncio.sleep(delay)
            for topic in TOPICS.values():
                await rewind(app, topic, epoch=-1)

    asyncio.run_coroutine_threadsafe(rewind_all(), loop)


async def rewind(app: faust.App, topic: str, epoch: int) -> None:
    """The topic was rebuilt from the owning store: read it again from the start (the
    projection skips what it has already applied)."""
    partitions = [tp for tp in app.consumer.assignment() if tp.topic == topic]
    log.warning(
        "topic was rebuilt; rewinding", topic=topic, epoch=epoch, partitions=len(partitions)
    )
    for tp in partitions:
        await app.consumer.seek(tp, 0)
