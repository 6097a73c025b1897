"""The child processes of the ``clients`` suite (``bench/clients.py``), one role each:

    python -m bench.client_processes consume CLIENT BOOTSTRAP TOPIC FETCH_MAX_WAIT_MS
    python -m bench.client_processes produce CLIENT BOOTSTRAP TOPIC MESSAGES
    python -m bench.client_processes rpc-server MODE
    python -m bench.client_processes rpc-client TARGET CALLS THREADS WARMUP

Each runs in a process of its own so that its CPU is its client's alone. They speak to
the suite in lines: a child says a word on stdout (``joined``, ``ready PORT``, ``warm``,
``cpu SECONDS``, ``result JSON``) and reads one line on stdin per request; stdin closing
(the suite done with it, or dead) tells it to finish. CLIENT is ``kafka-python``,
``aiokafka`` or ``confluent``; MODE is ``sync``, ``aio`` or ``aio-pool``. Imports are
deferred to the role that needs them: a consumer loads one client library and no gRPC.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# The services' consumer settings (services.common.topics.CLIENT_TIMEOUTS): Tansu holds
# a JoinGroup for half the session timeout, so a short one makes joining quick.
SESSION_TIMEOUT_MS = 6000
HEARTBEAT_INTERVAL_MS = 600
POLL_MS = 200  # a consumer's wait in poll/getmany when nothing comes
BATCH = 8  # messages a producer sends before waiting for their acknowledgements
VALUE_BYTES = 600
WARMUP_BATCHES = 10  # sent and acknowledged before a producer is measured
HEADERS: list[tuple[str, str | bytes | None]] = [("uc-epoch", b"0")]  # as the relay's
SEND_TIMEOUT = 15.0  # seconds a batch may take to be acknowledged

Batch = list[tuple[bytes, bytes]]  # (key, value) pairs


def say(word: str, *rest: str) -> None:
    """One line to the suite."""
    print(word, *rest, flush=True)


def cpu_now() -> float:
    """User + system CPU seconds of this process (every thread) so far."""
    times = os.times()
    return times.user + times.system


def stop_on_stdin() -> threading.Event:
    """An event set when a line arrives on stdin or stdin closes."""
    stop = threading.Event()

    def wait() -> None:
        sys.stdin.readline()
        stop.set()

    threading.Thread(target=wait, name="stdin", daemon=True).start()
    return stop


# --- consumers ------------------------------------------------------------------------


def latency_ms(value: bytes, received: float) -> float | None:
    """Milliseconds from the send time a message's value carries (seconds since the epoch,
    as text) to ``received``; None for a value that is not such a time."""
    try:
        return (received - float(value)) * 1000
    except ValueError:
        return None


class Receiver:
    """What a consumer was handed: each message's latency. Says ``joined`` once the
    consumer has partitions assigned (asked only until then)."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.joined = False

    def took(self, values: Iterable[bytes | None]) -> None:
        received = time.time()  # one instant for a batch: when the client handed it over
        for value in values:
            latency = latency_ms(value, received) if value is not None else None
            if latency is not None:
                self.latencies.append(latency)

    def check_joined(self, assignment: Callable[[], Collection[Any]]) -> None:
        if not self.joined and assignment():
            self.joined = True
            say("joined")


def consume(client: str, bootstrap: str, topic: str, fetch_max_wait_ms: str) -> None:
    """One consumer in a group of its own until stdin closes; then ``result`` with the
    latencies (ms) of the messages it received."""
    stop = stop_on_stdin()
    receiver = Receiver()
    wait_ms = int(fetch_max_wait_ms)
    group = f"bench-clients-{client}-{wait_ms}"
    if client == "kafka-python":
        _consume_kafka_python(bootstrap, topic, group, wait_ms, stop, receiver)
    elif client == "aiokafka":
        asyncio.run(_consume_aiokafka(bootstrap, topic, group, wait_ms, stop, receiver))
    elif client == "confluent":
        _consume_confluent(bootstrap, topic, group, wait_ms, stop, receiver)
    else:
        raise SystemExit(f"unknown client {client!r}")
    say("result", json.dumps({"latencies_ms": receiver.latencies}))


def _python_options(bootstrap: str, group: str, wait_ms: int) -> dict[str, Any]:
    """kafka-python's and aiokafka's consumer options (they share the names)."""
    return {
        "bootstrap_servers": bootstrap,
        "group_id": group,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "fetch_max_wait_ms": wait_ms,
        "session_timeout_ms": SESSION_TIMEOUT_MS,
        "heartbeat_interval_ms": HEARTBEAT_INTERVAL_MS,
    }


def _consume_kafka_python(
    bootstrap: str, topic: str, group: str, wait_ms: int, stop: threading.Event, out: Receiver
) -> None:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, **_python_options(bootstrap, group, wait_ms))
    try:
        while not stop.is_set():
            batches = consumer.poll(timeout_ms=POLL_MS)
            out.took(m.value for ms in batches.values() for m in ms)
            out.check_joined(consumer.assignment)
    finally:
        consumer.close()


async def _consume_aiokafka(
    bootstrap: str, topic: str, group: str, wait_ms: int, stop: threading.Event, out: Receiver
) -> None:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(topic, **_python_options(bootstrap, group, wait_ms))
    await consumer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=POLL_MS)
            out.took(m.value for ms in batches.values() for m in ms)
            out.check_joined(consumer.assignment)
    finally:
        await consumer.stop()


def _consume_confluent(
    bootstrap: str, topic: str, group: str, wait_ms: int, stop: threading.Event, out: Receiver
) -> None:
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": wait_ms,
            "session.timeout.ms": SESSION_TIMEOUT_MS,
            "heartbeat.interval.ms": HEARTBEAT_INTERVAL_MS,
        }
    )
    consumer.subscribe([topic])
    try:
        while not stop.is_set():
            # poll, not consume: consume(n, timeout) waits for n messages or the timeout
            message = consumer.poll(POLL_MS / 1000)
            if message is not None and message.error() is None:
                out.took([message.value()])
            out.check_joined(consumer.assignment)
    finally:
        consumer.close()


# --- producers ------------------------------------------------------------------------


class Meter:
    """CPU (this process's, os.times) and wall seconds of a ``with`` block."""

    cpu = 0.0
    wall = 0.0

    def __enter__(self) -> Meter:
        self._cpu, self._wall = cpu_now(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu = cpu_now() - self._cpu
        self.wall = time.perf_counter() - self._wall


def batches(count: int) -> list[Batch]:
    """``count`` batches of BATCH messages: keys of 32 bytes (hex, as the relay's stream
    ids), values of VALUE_BYTES."""
    value = os.urandom(VALUE_BYTES)
    return [[(f"{n * BATCH + i:032x}".encode(), value) for i in range(BATCH)] for n in range(count)]


def produce(client: str, bootstrap: str, topic: str, messages: str) -> None:
    """Send ``messages`` in batches, each acknowledged (acks=all) before the next; then
    ``result`` with the CPU and wall seconds of the measured batches (after a warm-up)."""
    runners: dict[str, Callable[[str, str, list[Batch]], Meter]] = {
        "kafka-python": _produce_kafka_python,
        "aiokafka": lambda b, t, work: asyncio.run(_produce_aiokafka(b, t, work)),
        "confluent": _produce_confluent,
    }
    if client not in runners:
        raise SystemExit(f"unknown client {client!r}")
    work = batches(WARMUP_BATCHES + int(messages) // BATCH)
    meter = runners[client](bootstrap, topic, work)
    measured = len(work) - WARMUP_BATCHES
    say(
        "result",
        json.dumps(
            {
                "messages": measured * BATCH,
                "batches": measured,
                "cpu_seconds": meter.cpu,
                "wall_seconds": meter.wall,
            }
        ),
    )


def _produce_kafka_python(bootstrap: str, topic: str, work: list[Batch]) -> Meter:
    """As the relay did: ``send`` each message, ``flush``, then every future's result."""
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        max_in_flight_requests_per_connection=1,
        enable_idempotence=False,  # the embedded broker grants no producer ids
        linger_ms=0,
        retries=5,
    )

    def send(batch: Batch) -> None:
        futures = [producer.send(topic, key=k, value=v, headers=HEADERS) for k, v in batch]
        producer.flush(timeout=SEND_TIMEOUT)
        for future in futures:
            future.get(timeout=0)  # raises if the broker refused the message

    try:
        return _send_all(send, work)
    finally:
        producer.close()


async def _produce_aiokafka(bootstrap: str, topic: str, work: list[Batch]) -> Meter:
    """As the relay's BatchProducer does: ``send`` each message, then gather the futures."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=0,
        request_timeout_ms=10000,
    )
    await producer.start()

    async def send(batch: Batch) -> None:
        futures = [await producer.send(topic, key=k, value=v, headers=HEADERS) for k, v in batch]
        await asyncio.wait_for(asyncio.gather(*futures), SEND_TIMEOUT)

    try:
        for batch in work[:WARMUP_BATCHES]:
            await send(batch)
        with Meter() as meter:
            for batch in work[WARMUP_BATCHES:]:
                await send(batch)
        return meter
    finally:
        await producer.stop()


def _produce_confluent(bootstrap: str, topic: str, work: list[Batch]) -> Meter:
    """``produce`` each message, then ``flush``; a delivery error fails the run."""
    from confluent_kafka import KafkaError, Message, Producer

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "linger.ms": 0,
            "enable.idempotence": False,
            "max.in.flight": 1,
        }
    )
    errors: list[KafkaError] = []

    def delivered(error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            errors.append(error)

    def send(batch: Batch) -> None:
        for key, value in batch:
            producer.produce(topic, key=key, value=value, headers=HEADERS, on_delivery=delivered)
        if producer.flush(SEND_TIMEOUT) or errors:
            raise RuntimeError(f"confluent producer: not delivered: {errors or 'timed out'}")

    return _send_all(send, work)


def _send_all(send: Callable[[Batch], None], work: list[Batch]) -> Meter:
    for batch in work[:WARMUP_BATCHES]:
        send(batch)
    with Meter() as meter:
        for batch in work[WARMUP_BATCHES:]:
            send(batch)
    return meter


# --- gRPC -----------------------------------------------------------------------------


def rpc_server(mode: str) -> None:
    """The standard health service on a free loopback port: says ``ready PORT``, then
    ``cpu SECONDS`` (its own CPU so far) for each line read; stops when stdin closes."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    serving = health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)

    class Health(health_pb2_grpc.HealthServicer):
        def Check(self, request: Any, context: grpc.ServicerContext) -> Any:
            return serving

    class AsyncHealth(health_pb2_grpc.HealthServicer):
        async def Check(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            return serving

    if mode == "sync":
        server = grpc.server(ThreadPoolExecutor(32))
        health_pb2_grpc.add_HealthServicer_to_server(Health(), server)
        say("ready", str(server.add_insecure_port("127.0.0.1:0")))
        server.start()
        try:
            while sys.stdin.readline():
                say("cpu", repr(cpu_now()))
        finally:
            server.stop(0)
    elif mode in ("aio", "aio-pool"):
        asyncio.run(_serve_aio(mode, Health() if mode == "aio-pool" else AsyncHealth()))
    else:
        raise SystemExit(f"unknown server mode {mode!r}")


async def _serve_aio(mode: str, servicer: Any) -> None:
    import grpc
    from grpc_health.v1 import health_pb2_grpc

    pool = ThreadPoolExecutor(32) if mode == "aio-pool" else None
    server = grpc.aio.server(migration_thread_pool=pool)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    say("ready", str(port))
    loop = asyncio.get_running_loop()
    try:
        while await loop.run_in_executor(None, sys.stdin.readline):
            say("cpu", repr(cpu_now()))
    finally:
        await server.stop(0)


def rpc_client(target: str, calls: str, threads: str, warmup: str) -> None:
    """Calls Check from THREADS threads on one channel: WARMUP calls, ``warm``, then on a
    line from stdin CALLS calls, and ``result`` with the calls made and their seconds."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    width = int(threads)
    request = health_pb2.HealthCheckRequest()
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)

        def call(count: int) -> None:
            for _ in range(count):
                stub.Check(request, timeout=10)

        def in_threads(total: int) -> int:
            with ThreadPoolExecutor(width) as pool:
                list(pool.map(call, [total // width] * width))
            return total // width * width

        in_threads(int(warmup))
        say("warm")
        sys.stdin.readline()
        started = time.perf_counter()
        made = in_threads(int(calls))
        seconds = time.perf_counter() - started
    say("result", json.dumps({"calls": made, "seconds": seconds}))


ROLES: dict[str, Callable[..., None]] = {
    "consume": consume,
    "produce": produce,
    "rpc-server": rpc_server,
    "rpc-client": rpc_client,
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ROLES:
        print(
            f"usage: python -m bench.client_processes {{{','.join(ROLES)}}} ARGS...",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    ROLES[argv[0]](*argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
