"""Kafka topics as the services need them: created when missing (with the configured
partitions), and the broker waited for at start. aiokafka's clients (the relay's producer,
the listeners) allow auto-creation in their metadata requests, which is why the default
partition count is Tansu's own (config.DEFAULT_PARTITIONS). The short
group timeouts every consumer of ours uses live here too."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable
from typing import Any

import structlog
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from services.common.config import settings

log = structlog.get_logger(__name__)

# Short group timeouts: the embedded broker holds each JoinGroup for half the session
# timeout (DESIGN.md §9); on Apache Kafka they only make fail-over quicker.
CLIENT_TIMEOUTS = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 600}


def security() -> dict[str, Any]:
    """kafka-python options for the configured security (``KAFKA_SECURITY_PROTOCOL``,
    ``KAFKA_SASL_*``, ``KAFKA_SSL_CAFILE``): every client of ours passes them."""
    return settings().kafka_security()


def aiokafka_security() -> dict[str, Any]:
    """The same security as ``security()``, as aiokafka's clients take it (an SSL context
    instead of a CA file)."""
    options = security()
    cafile = options.pop("ssl_cafile", None)
    if options["security_protocol"] in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl.create_default_context(cafile=cafile)
    return options


def ensure_topics(bootstrap: str, topics: Iterable[str], partitions: int) -> None:
    """Create the topics that do not exist yet (idempotent)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000, **security())
    replicas = settings().uc_topic_replication_factor
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(name=t, num_partitions=partitions, replication_factor=replicas)
            for t in topics
            if t not in existing
        ]
        for topic in wanted:
            try:
                admin.create_topics([topic])
                log.info("topic created", topic=topic.name, partitions=partitions)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


def wait_for_broker(bootstrap: str, timeout: float = 30.0) -> None:
    """Block until the broker answers a metadata request."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap, request_timeout_ms=3000, **security()
            )
            admin.list_topics()
            admin.close()
            return
        except (KafkaError, OSError) as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Kafka at {bootstrap} did not answer: {exc}") from exc
            time.sleep(0.2)
