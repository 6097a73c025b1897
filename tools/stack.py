"""The whole system on one machine: the broker (embedded unless KAFKA_BOOTSTRAP_SERVERS
is set) and the three services as child processes. ``make run`` uses it, and so do the
end-to-end tests, which also kill and restart its parts.

Children run in their own sessions, so a Ctrl-C reaches the launcher alone and it stops
them in order (services first, broker last); each child also gets SIGTERM from the kernel
if the launcher itself dies, so nothing is left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import grpc
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.config import DEFAULT_PARTITIONS, DEFAULT_PORTS, TOPICS
from services.common.topics import ensure_topics, wait_for_broker
from tools.broker import EmbeddedBroker
from tools.processes import dying_with_parent

log = structlog.get_logger(__name__)

SERVICES = ("units", "dispatch", "incidents", "edge")
HTTP_SERVICES = frozenset({"edge"})
DEFAULT_HTTP_PORTS = {"edge": 8080}


def check_http_health(address: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}/healthz", timeout=timeout) as reply:
            status: int = reply.status  # urlopen's reply is untyped (Any)
            return status == 200
    except OSError:
        return False


def check_health(address: str, timeout: float = 1.0) -> bool:
    try:
        with grpc.insecure_channel(address) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
        # grpc_health publishes no types: the reply is Any
        serving: bool = reply.status == health_pb2.HealthCheckResponse.SERVING
        return serving
    except grpc.RpcError:
        return False


def service_of(process: str) -> str:
    """The service a process runs: ``units`` for ``units`` and for ``units.2``."""
    return process.split(".", 1)[0]


@dataclass
class Stack:
    """``ports`` names the processes: one per service by default; a second replica of a
    service is another entry, ``<service>.2`` (``.3``, ...), with a port of its own."""

    data_dir: Path
    ports: dict[str, int] = field(default_factory=lambda: {**DEFAULT_PORTS, **DEFAULT_HTTP_PORTS})
    broker_port: int = 9092
    external_bootstrap: str | None = None
    partitions: int = DEFAULT_PARTITIONS
    log_to_files: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    broker: EmbeddedBroker | None = field(default=None, init=False)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, init=False)

    @property
    def bootstrap(self) -> str:
        return self.external_bootstrap or f"127.0.0.1:{self.broker_port}"

    def address(self, process: str) -> str:
        return f"127.0.0.1:{self.ports[process]}"

    def replicas(self, service: str) -> list[str]:
        """The processes running ``service``, the first one first."""
        return sorted((p for p in self.ports if service_of(p) == service), key=len)

    @property
    def all_processes(self) -> list[str]:
        return [p for service in SERVICES for p in self.replicas(service)]

    # --- the whole stack -----------------------------------------------------------

    def start(self, timeout: float = 60.0) -> Stack:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.external_bootstrap is None:
            self.start_broker()
        else:
            wait_for_broker(self.bootstrap)
        ensure_topics(self.bootstrap, TOPICS.values(), self.partitions)
        self.migrate()
        for process in self.all_processes:
            self.start_service(process)
        self.wait_healthy(self.all_processes, timeout)
        return self

    def stop(self) -> None:
        for process in reversed(self.all_processes):
            self.stop_service(process)
        if self.broker is not None:
            self.broker.stop()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the broker ----------------------------------------------------------------

    def start_broker(self) -> None:
        self.broker = EmbeddedBroker(
            port=self.broker_port, log_file=self.data_dir / "broker.log"
        ).start()
        wait_for_broker(self.bootstrap)

    def kill_broker(self) -> None:
        assert self.broker is not None, "the broker is external"
        self.broker.kill()

    # --- the services --------------------------------------------------------------

    def service_env(self, process: str | None = None) -> dict[str, str]:
        """The environment of a process of the stack (``process``: its own port), or of a
        client of it: every service's first port, and its replicas' address list."""
        ports = {s: self.ports[self.replicas(s)[0]] for s in SERVICES if self.replicas(s)}
        if process is not None:
            ports[service_of(process)] = self.ports[process]
        listed = {
            f"UC_{s.upper()}_ADDRESSES": ",".join(self.address(p) for p in self.replicas(s))
            for s in SERVICES
            if len(self.replicas(s)) > 1 and s not in HTTP_SERVICES
        }
        env = dict(os.environ)
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
                "UC_DATA_DIR": str(self.data_dir),
                "UC_TOPIC_PARTITIONS": str(self.partitions),
                **{f"UC_{name.upper()}_PORT": str(port) for name, port in ports.items()},
                **listed,
                # The embedded broker grants no producer ids (DESIGN.md, section 9).
                **(
                    {"KAFKA_ENABLE_IDEMPOTENCE": "false"} if self.external_bootstrap is None else {}
                ),
                **self.extra_env,
            }
        )
        return env

    def migrate(self) -> None:
        """``uc migrate``, as an operator runs it before starting a release."""
        done = subprocess.run(
            [sys.executable, "-m", "services.cli", "migrate"],
            env=self.service_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"uc migrate failed:\n{done.stdout}{done.stderr}")

    def start_service(self, process: str) -> None:
        """Start one process (``units``, or a replica such as ``units.2``)."""
        out: IO[bytes] | None = None
        if self.log_to_files:
            out = open(self.data_dir / f"{process}.log", "ab")  # noqa: SIM115
        self.processes[process] = subprocess.Popen(
            dying_with_parent([sys.executable, "-m", f"services.{service_of(process)}"]),
            env=self.service_env(process),
            stdout=out,
            stderr=subprocess.STDOUT if self.log_to_files else None,
            start_new_session=True,
        )
        if out is not None:
            out.close()

    def stop_service(self, service: str, timeout: float = 15.0) -> None:
        process = self.processes.pop(service, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("service did not stop in time; killing it", service=service)
            process.kill()
            process.wait()

    def kill_service(self, service: str) -> None:
        """Kill without warning, as a crash would."""
        process = self.processes.pop(service)
        process.kill()
        process.wait()

    def wait_healthy(self, services: tuple[str, ...] | list[str], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(services)
        while pending:
            for service in list(pending):
                process = self.processes.get(service)
                if process is not None and process.poll() is not None:
                    raise RuntimeError(
                        f"{service} exited with code {process.returncode} while starting"
                        + (
                            f"; see {self.data_dir / (service + '.log')}"
                            if self.log_to_files
                            else ""
                        )
                    )
                http = service_of(service) in HTTP_SERVICES
                healthy = check_http_health if http else check_health
                if healthy(self.address(service)):
                    pending.remove(service)
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not SERVING after {timeout}s: {', '.join(pending)}")
            if pending:
                time.sleep(0.1)

    def watch(self) -> None:
        """Block until Ctrl-C or SIGTERM, or until a service dies; then stop everything."""
        stop = False

        def request_stop(_signum: int, _frame: object) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        try:
            while not stop:
                for service, process in self.processes.items():
                    if process.poll() is not None:
                        log.error(
                            "service exited; stopping the stack",
                            service=service,
                            code=process.returncode,
                        )
                        stop = True
                time.sleep(0.2)
        finally:
            with contextlib.suppress(Exception):
                self.stop()
