"""``python -m services.common.healthcheck TARGET [SERVICE]``: is a server healthy?

For container health checks (compose's ``healthcheck``), where the image has no grpcurl
or curl: exit status 0 when healthy, 1 when not, with a one-line reason on stderr;
2 for a usage error.

- ``TARGET`` as ``host:port`` asks the standard gRPC health service
  (``grpc.health.v1.Health/Check``) for ``SERVICE`` (default ``""``, the whole server):
  healthy means SERVING.
- ``TARGET`` as ``http://host:port/path`` sends a GET: healthy means status 200 (the
  edge's ``/healthz``).

``--tls-ca FILE`` talks TLS to a gRPC server whose certificate that CA signed (``--tls``
with the system's roots); ``--authority NAME`` names the host the certificate is for when
the target is an address such as 127.0.0.1.

Kubernetes needs none of this: its kubelet asks the gRPC health service itself
(``grpc`` probes) and GETs ``/healthz`` (``httpGet`` probes).
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

DEFAULT_TIMEOUT = 3.0


class Unhealthy(Exception):
    """The target answered, or failed to, in a way that is not healthy: the reason."""


def check_grpc(
    address: str,
    service: str = "",
    timeout: float = DEFAULT_TIMEOUT,
    credentials: grpc.ChannelCredentials | None = None,
    authority: str | None = None,
) -> None:
    """Return when ``service`` at ``address`` is SERVING; raise ``Unhealthy`` otherwise."""
    options: list[tuple[str, str]] = []
    if authority:
        options += [("grpc.default_authority", authority)]
        if credentials is not None:
            options += [("grpc.ssl_target_name_override", authority)]
    if credentials is None:
        channel = grpc.insecure_channel(address, options=options)
    else:
        channel = grpc.secure_channel(address, credentials, options=options)
    name = repr(service) if service else "the server"
    try:
        with channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout
            )
    except grpc.RpcError as exc:
        assert isinstance(exc, grpc.Call), "a failed call is also its Call"
        code = exc.code()
        if code == grpc.StatusCode.NOT_FOUND:
            raise Unhealthy(f"{address}: the health service knows no service {service!r}") from None
        if code == grpc.StatusCode.UNIMPLEMENTED:
            raise Unhealthy(f"{address}: no gRPC health service there") from None
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            raise Unhealthy(f"{address}: no answer within {timeout:g} s") from None
        detail = (exc.details() or "").splitlines()[0] if exc.details() else ""
        raise Unhealthy(f"{address}: {code.name}{': ' + detail if detail else ''}") from None
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        raise Unhealthy(f"{address}: {name} is {status}")


def check_http(url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Return when a GET of ``url`` answers 200; raise ``Unhealthy`` otherwise."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            status = reply.status
    except urllib.error.HTTPError as exc:
        raise Unhealthy(f"GET {url} answered {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unhealthy(f"GET {url} failed: {reason}") from None
    if status != 200:
        raise Unhealthy(f"GET {url} answered {status}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.common.healthcheck",
        description="Exit 0 when the server is healthy, 1 when not (the reason on stderr).",
    )
    parser.add_argument("target", help="host:port (gRPC health) or http://host:port/path (GET)")
    parser.add_argument(
        "service", nargs="?", default="", help="gRPC health service name (default: the server)"
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds (default %(default)s)"
    )
    parser.add_argument("--tls", action="store_true", help="gRPC over TLS, the system's roots")
    parser.add_argument("--tls-ca", type=Path, help="gRPC over TLS, trusting this CA (PEM)")
    parser.add_argument("--authority", help="the host name the server's certificate is for")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    try:
        if args.target.startswith(("http://", "https://")):
            if args.service:
                parser.error("a service name goes with a gRPC target, not a URL")
            check_http(args.target, args.timeout)
        else:
            if ":" not in args.target:
                parser.error(f"target {args.target!r} is neither host:port nor an http:// URL")
            credentials = None
            if args.tls_ca is not None:
                try:
                    roots = args.tls_ca.read_bytes()
                except OSError as exc:
                    raise Unhealthy(f"cannot read --tls-ca {args.tls_ca}: {exc.strerror}") from None
                credentials = grpc.ssl_channel_credentials(root_certificates=roots)
            elif args.tls:
                credentials = grpc.ssl_channel_credentials()
            check_grpc(args.target, args.service, args.timeout, credentials, args.authority)
    except Unhealthy as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    print("healthy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
