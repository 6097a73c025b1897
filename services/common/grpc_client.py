"""How clients talk to our gRPC services: one place for channels and their retry policy,
for turning a peer's refusal into the domain's error, and one client (``Client``) that
the CLI, the scenario player, the benchmarks and the tests all use.

Commands are idempotent by request id, so a call that met UNAVAILABLE (a service
restarting, a read model catching up with a command just made) is safe to send again
with the same request: gRPC's own retry policy does it, with back-off, before the
caller sees the error (gRFC A6; ``grpc.enable_retries``).
"""

from __future__ import annotations

import json
import socket
from collections import namedtuple
from collections.abc import Callable, Mapping
from typing import Any

import grpc

from emergency.v1 import dispatch_pb2_grpc, incidents_pb2_grpc, units_pb2_grpc
from services.common import errors
from services.common.config import service_address, settings

RETRY_POLICY = {
    "maxAttempts": 5,
    "initialBackoff": "0.1s",
    "maxBackoff": "1s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}
# A replica that went away is tried again soon (gRPC's default waits a second first, and
# up to two minutes): retries and fail-over land within the retry policy's 1.5 s.
RECONNECT = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
]


def grpc_target(address: str) -> str:
    """A gRPC target for ``address``: ``host:port``; a comma-separated list of replicas
    (``10.0.0.5:50052,10.0.0.6:50052``: every host resolved now, once); or a target
    already in gRPC's syntax (``dns:///units.uc.svc:50052``, which follows DNS)."""
    if "://" in address or address.startswith(("ipv4:", "ipv6:", "unix:")):
        return address
    parts = [part.strip() for part in address.split(",") if part.strip()]
    if len(parts) == 1:
        return parts[0]
    resolved = []
    for part in parts:
        host, _, port = part.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{part!r} in {address!r} is not host:port")
        found = socket.getaddrinfo(host, int(port), socket.AF_INET, socket.SOCK_STREAM)
        resolved += [f"{info[4][0]}:{port}" for info in found]
    return "ipv4:" + ",".join(dict.fromkeys(resolved))


def channel_options(retry: bool) -> list[tuple[str, Any]]:
    """Every channel spreads its calls round-robin over the target's addresses; with
    ``retry``, UNAVAILABLE is retried up to four times over about 1.5 s (gRFC A6)."""
    config: dict[str, Any] = {"loadBalancingConfig": [{"round_robin": {}}]}
    if retry:
        config["methodConfig"] = [{"name": [{}], "retryPolicy": RETRY_POLICY}]
    return [
        ("grpc.enable_retries", 1 if retry else 0),
        ("grpc.service_config", json.dumps(config)),
        *RECONNECT,
    ]


def channel_credentials() -> grpc.ChannelCredentials | None:
    """TLS when ``UC_GRPC_TLS_CA`` names the authority that signed the servers' certificates."""
    ca = settings().uc_grpc_tls_ca
    return grpc.ssl_channel_credentials(ca.read_bytes()) if ca is not None else None


def open_channel(address: str, retry: bool = True) -> grpc.Channel:
    """A channel to a service (see ``grpc_target`` for ``address``, ``channel_options``
    for what it does with calls)."""
    target, options = grpc_target(address), channel_options(retry)
    credentials = channel_credentials()
    if credentials is None:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, credentials, options=options)


def open_aio_channel(address: str, retry: bool = True) -> grpc.aio.Channel:
    """``open_channel`` for asyncio callers (the edge)."""
    target, options = grpc_target(address), channel_options(retry)
    credentials = channel_credentials()
    if credentials is None:
        return grpc.aio.insecure_channel(target, options=options)
    return grpc.aio.secure_channel(target, credentials, options=options)


# Worth a retry with the same request id; anything else unknown is not.
_TRANSIENT = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.CANCELLED,
}


def as_domain_error(exc: grpc.RpcError, peer: str) -> errors.DomainError:
    """A peer service's refusal as the domain's own error (its message kept); a peer that
    did not answer as ``Unavailable``; anything else as a plain ``DomainError``."""
    assert isinstance(exc, grpc.Call), "a failed call is also its Call"
    code = exc.code()
    if code in _TRANSIENT:
        return errors.Unavailable(
            f"the {peer} service did not answer ({code.name}): nothing was recorded; "
            "retry with the same request id"
        )
    kind = errors.error_for(code.name)
    if kind is not None:
        return kind(exc.details() or code.name)
    return errors.DomainError(f"the {peer} service failed ({code.name}); see its log")


class _Credentials(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds the caller's ``authorization`` and a default timeout to every call that does
    not bring its own."""

    def __init__(self, authorization: str, timeout: float) -> None:
        self.authorization = authorization
        self.timeout = timeout

    def _details(self, details: grpc.ClientCallDetails) -> _CallDetails:
        metadata = list(details.metadata or ())
        if self.authorization and not any(key == "authorization" for key, _ in metadata):
            metadata.append(("authorization", self.authorization))
        return _CallDetails(
            details.method,
            details.timeout if details.timeout is not None else self.timeout,
            metadata,
            details.credentials,
            details.wait_for_ready,
            details.compression,
        )

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        # A stream (an alert watch, a replay) may run for as long as its caller wants.
        metadata = self._details(details)
        return continuation(metadata._replace(timeout=details.timeout), request)


class _CallDetails(
    namedtuple(  # gRPC's own details class cannot be built
        "_CallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    """A call's details with our additions."""


class Client:
    """The three services, as one caller: ``client.dispatch.ReceiveCall(request)``.

    Every call carries the caller's token (``Bearer <token>``) unless it brings its own
    ``authorization`` metadata, and a timeout of ``timeout`` seconds unless it gives one
    (streams run until their caller stops them); UNAVAILABLE is retried (see
    ``open_channel``). ``addresses`` maps a service to host:port; by default each comes
    from ``UC_<SERVICE>_HOST``/``_PORT``.
    """

    def __init__(
        self,
        token: str = "",
        addresses: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        retry: bool = True,
    ) -> None:
        addresses = dict(addresses or {})
        credentials = _Credentials(f"Bearer {token}" if token else "", timeout)
        self._channels: list[grpc.Channel] = []

        def channel(service: str) -> grpc.Channel:
            raw = open_channel(addresses.get(service) or service_address(service), retry)
            self._channels.append(raw)
            return grpc.intercept_channel(raw, credentials)

        self.dispatch = dispatch_pb2_grpc.DispatchServiceStub(channel("dispatch"))
        self.units = units_pb2_grpc.UnitsServiceStub(channel("units"))
        self.incidents = incidents_pb2_grpc.IncidentsServiceStub(channel("incidents"))

    def close(self) -> None:
        for channel in self._channels:
            channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
