"""Kill the broker or a service mid-stream: every accepted call reaches the incident log,
exactly once."""

from __future__ import annotations

import threading
import time
import uuid

import grpc
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from emergency.v1 import common_pb2, dispatch_pb2
from tests.e2e.conftest import CALL_TAKER, Clients, eventually
from tools.stack import Stack

pytestmark = pytest.mark.e2e
COMPLETE_LOG = ["CallReceived", "IncidentCreated"]


class CallStream:
    """Calls placed one after another in a thread, each retried under its request id until
    accepted, as a console would: a call is never given up."""

    def __init__(self, clients: Clients, count: int, pause: float = 0.03) -> None:
        self.clients = clients
        self.count = count
        self.pause = pause
        self.accepted: list[str] = []
        self.retries = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for n in range(self.count):
            request = dispatch_pb2.ReceiveCallRequest(
                request_id=str(uuid.uuid4()),
                caller_number=f"1390000{n:04d}",
                source=common_pb2.PHONE,
                location=common_pb2.GeoPoint(latitude=28.2 + n * 1e-4, longitude=112.9),
                incident_type="residential_fire",
            )
            while True:
                try:
                    reply = self.clients.dispatch.ReceiveCall(
                        request, timeout=3, metadata=CALL_TAKER
                    )
                    break
                except grpc.RpcError as exc:
                    assert exc.code() in (
                        grpc.StatusCode.UNAVAILABLE,
                        grpc.StatusCode.DEADLINE_EXCEEDED,
                    ), exc
                    self.retries += 1
                    time.sleep(0.2)
            self.accepted.append(reply.incident_id)
            time.sleep(self.pause)

    def start(self) -> CallStream:
        self.thread.start()
        return self

    def wait_for(self, n: int) -> None:
        eventually(lambda: len(self.accepted) >= n, timeout=60, what=f"{n} accepted calls")

    def join(self) -> list[str]:
        self.thread.join(120)
        assert not self.thread.is_alive()
        assert len(self.accepted) == self.count
        return self.accepted


def assert_every_incident_logged_once(clients: Clients, incidents: list[str]) -> None:
    def all_complete() -> bool:
        return all(clients.log_of(i) == COMPLETE_LOG for i in incidents)

    eventually(all_complete, timeout=90, what="every incident's complete log")
    # and still exactly once a moment later, after any redelivery has come through
    time.sleep(1.0)
    logs = {i: clients.log_of(i) for i in incidents}
    assert {i: log for i, log in logs.items() if log != COMPLETE_LOG} == {}


def test_broker_killed_and_restarted_empty_mid_stream(stack: Stack, clients: Clients) -> None:
    calls = CallStream(clients, count=60).start()
    calls.wait_for(15)
    stack.kill_broker()
    calls.wait_for(30)  # services keep taking calls while the broker is gone
    stack.start_broker()  # same port, empty
    incidents = calls.join()

    assert_every_incident_logged_once(clients, incidents)


def test_incident_log_service_killed_mid_stream_resumes_without_loss_or_duplicates(
    stack: Stack, clients: Clients
) -> None:
    calls = CallStream(clients, count=60).start()
    calls.wait_for(20)
    stack.kill_service("incidents")
    calls.wait_for(35)
    stack.start_service("incidents")
    stack.wait_healthy(["incidents"])
    incidents = calls.join()

    assert_every_incident_logged_once(clients, incidents)


def test_dispatch_killed_mid_stream_loses_no_accepted_call(stack: Stack, clients: Clients) -> None:
    calls = CallStream(clients, count=50).start()
    calls.wait_for(15)
    stack.kill_service("dispatch")
    time.sleep(0.5)
    stack.start_service("dispatch")
    stack.wait_healthy(["dispatch"])
    incidents = calls.join()

    assert calls.retries > 0  # the kill really interrupted the stream
    assert len(set(incidents)) == len(incidents)
    assert_every_incident_logged_once(clients, incidents)


def duplicate_published_messages(bootstrap: str, topic: str, count: int) -> None:
    """Publish the topic's first messages again, as a relay retrying a half-acknowledged
    batch does: the log then holds more messages than the store has events."""
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=1000
    )
    messages = [m for _, m in zip(range(count), consumer, strict=False)]
    consumer.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for m in messages:
        producer.send(topic, key=m.key, value=m.value, headers=m.headers)
    producer.flush()
    producer.close()
    assert len(messages) == count


def duplicate_and_read_past_them(stack: Stack, clients: Clients, calls: CallStream) -> None:
    """Put 30 duplicates into the dispatch topic, as a retried relay batch would, and wait
    until the incident log's consumer has read past them (calls taken after them are in
    the log), so that its offsets now count the duplicates."""
    duplicate_published_messages(stack.bootstrap, "emergency.dispatch.v1", 30)
    placed = len(calls.accepted)
    calls.wait_for(placed + 10)
    later = calls.accepted[placed : placed + 10]
    eventually(
        lambda: all(clients.log_of(i) == COMPLETE_LOG for i in later),
        timeout=30,
        what="calls placed after the duplicates in the log",
    )


def test_broker_lost_after_duplicates_shifted_the_offsets(stack: Stack, clients: Clients) -> None:
    """The republished log is shorter than the lost one (it has no duplicates), so the
    incident log's consumer must not trust its old offsets. (It recovers here either by
    the epoch rewind or by rejoining its group; see docs/ARCHITECTURE.md.)"""
    calls = CallStream(clients, count=200).start()
    calls.wait_for(20)
    duplicate_and_read_past_them(stack, clients, calls)
    stack.kill_broker()
    at_kill = len(calls.accepted)
    calls.wait_for(at_kill + 15)
    stack.start_broker()
    assert len(calls.accepted) < calls.count  # calls keep coming after the broker is back
    incidents = calls.join()

    assert_every_incident_logged_once(clients, incidents)


def test_topic_rebuilt_while_the_consumer_keeps_its_group(stack: Stack, clients: Clients) -> None:
    """The broker stays up while the topic is lost and rebuilt shorter than before: every
    event still reaches the incident log once. (The consumer recovers by the epoch rewind
    or by the rebalance the deleted topic causes; see docs/ARCHITECTURE.md.)"""
    calls = CallStream(clients, count=200).start()
    calls.wait_for(20)
    duplicate_and_read_past_them(stack, clients, calls)
    admin = KafkaAdminClient(bootstrap_servers=stack.bootstrap)
    admin.delete_topics(["emergency.dispatch.v1"])
    admin.close()
    incidents = calls.join()

    assert_every_incident_logged_once(clients, incidents)
