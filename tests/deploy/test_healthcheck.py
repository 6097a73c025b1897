"""``python -m services.common.healthcheck``, the health check inside the image, against
real servers in this process: a gRPC server with the standard health service (plain and
TLS) and an HTTP server standing in for the edge's ``/healthz``."""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from services.common.healthcheck import main

ROOT = Path(__file__).resolve().parents[2]
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def grpc_server() -> Iterator[tuple[str, health.HealthServicer]]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", servicer
    server.stop(0).wait()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_serving_server_is_healthy(grpc_server, capsys) -> None:
    address, servicer = grpc_server
    servicer.set("", SERVING)
    assert run(capsys, address) == (0, "healthy\n", "")


def test_not_serving_is_unhealthy_with_the_status_in_one_line(grpc_server, capsys) -> None:
    address, servicer = grpc_server
    servicer.set("", NOT_SERVING)  # a service whose database or Kafka is not reachable yet
    code, out, err = run(capsys, address)
    assert code == 1 and out == ""
    assert err == f"unhealthy: {address}: the server is NOT_SERVING\n"


def test_a_named_service_is_asked_for_itself(grpc_server, capsys) -> None:
    address, servicer = grpc_server
    servicer.set("", NOT_SERVING)
    servicer.set("liveness", SERVING)
    assert run(capsys, address, "liveness")[0] == 0
    servicer.set("liveness", NOT_SERVING)
    code, _, err = run(capsys, address, "liveness")
    assert code == 1 and "'liveness' is NOT_SERVING" in err


def test_an_unknown_service_is_named(grpc_server, capsys) -> None:
    address, servicer = grpc_server
    servicer.set("", SERVING)
    code, _, err = run(capsys, address, "emergency.v1.Nothing")
    assert code == 1
    assert "knows no service 'emergency.v1.Nothing'" in err


def test_graceful_shutdown_turns_unhealthy(grpc_server, capsys) -> None:
    address, servicer = grpc_server
    servicer.set("", SERVING)
    servicer.enter_graceful_shutdown()  # what a server does on SIGTERM
    assert run(capsys, address)[0] == 1


def test_nothing_listening_is_unhealthy(capsys) -> None:
    address = f"127.0.0.1:{closed_port()}"
    code, _, err = run(capsys, address, "--timeout", "2")
    assert code == 1
    assert err.startswith(f"unhealthy: {address}: UNAVAILABLE")
    assert err.count("\n") == 1


def test_a_server_without_the_health_service(capsys) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        code, _, err = run(capsys, f"127.0.0.1:{port}")
    finally:
        server.stop(0).wait()
    assert code == 1 and "no gRPC health service" in err


def test_a_server_that_does_not_answer_in_time(capsys) -> None:
    with socket.socket() as listener:  # accepts TCP, never speaks HTTP/2
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        code, _, err = run(capsys, address, "--timeout", "0.5")
    assert code == 1 and "no answer within 0.5 s" in err


@pytest.mark.parametrize(
    "argv",
    [["50051"], ["127.0.0.1:1", "--timeout", "0"], ["http://127.0.0.1:1/healthz", "svc"]],
)
def test_usage_errors_exit_2(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    capsys.readouterr()


# --- the edge's /healthz ----------------------------------------------------------------


@pytest.fixture
def http_server() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = 200 if self.path == "/healthz" else 503
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}')

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_200_is_healthy(http_server, capsys) -> None:
    assert run(capsys, f"{http_server}/healthz")[0] == 0


def test_http_error_status_is_unhealthy(http_server, capsys) -> None:
    code, _, err = run(capsys, f"{http_server}/not-ready")
    assert code == 1 and err == f"unhealthy: GET {http_server}/not-ready answered 503\n"


def test_http_nothing_listening(capsys) -> None:
    url = f"http://127.0.0.1:{closed_port()}/healthz"
    code, _, err = run(capsys, url)
    assert code == 1 and err.startswith(f"unhealthy: GET {url} failed:")


# --- TLS --------------------------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=uc-test",
         "-addext", "subjectAltName=DNS:dispatch.uc.internal"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    servicer.set("", SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    credentials = grpc.ssl_server_credentials([(key.read_bytes(), cert.read_bytes())])
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    yield f"127.0.0.1:{port}", cert
    server.stop(0).wait()


def test_tls_with_the_ca_and_the_certificates_name(tls_server, capsys) -> None:
    address, cert = tls_server
    argv = [address, "--tls-ca", str(cert), "--authority", "dispatch.uc.internal"]
    assert run(capsys, *argv)[0] == 0


def test_tls_refuses_a_name_the_certificate_is_not_for(tls_server, capsys) -> None:
    address, cert = tls_server
    code, _, err = run(capsys, address, "--tls-ca", str(cert), "--timeout", "2")
    assert code == 1 and "UNAVAILABLE" in err


def test_plaintext_to_a_tls_server_is_unhealthy(tls_server, capsys) -> None:
    address, _ = tls_server
    assert run(capsys, address, "--timeout", "2")[0] == 1


def test_an_unreadable_ca_file_is_named(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nowhere.pem"
    code, _, err = run(capsys, "127.0.0.1:1", "--tls-ca", str(missing))
    assert code == 1 and str(missing) in err


# --- as the container runs it -----------------------------------------------------------


def test_as_a_module_exit_status_and_one_line(grpc_server) -> None:
    """The command compose runs: the exit status and the single stderr line."""
    address, servicer = grpc_server
    servicer.set("", SERVING)
    command = [sys.executable, "-m", "services.common.healthcheck"]
    ok = subprocess.run([*command, address], cwd=ROOT, capture_output=True, text=True)
    assert (ok.returncode, ok.stdout) == (0, "healthy\n")
    servicer.set("", NOT_SERVING)
    bad = subprocess.run([*command, address], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0 and "NOT_SERVING" in bad.stderr
