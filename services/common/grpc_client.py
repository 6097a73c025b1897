"""How clients of our gRPC services open a channel: one place for the retry policy.

Commands are idempotent by request id, so a call that met UNAVAILABLE (a service
restarting, a read model catching up with a command just made) is safe to send again
with the same request: gRPC's own retry policy does it, with back-off, before the
caller sees the error (gRFC A6; ``grpc.enable_retries``).
"""

from __future__ import annotations

import json

import grpc

from services.common import errors

RETRY_POLICY = {
    "methodConfig": [
        {
            "name": [{}],  # every method of every service on the channel
            "retryPolicy": {
                "maxAttempts": 5,
                "initialBackoff": "0.1s",
                "maxBackoff": "1s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ]
}


def open_channel(address: str, retry: bool = True) -> grpc.Channel:
    """A channel to ``address`` (host:port); with ``retry``, UNAVAILABLE is retried up to
    four times over about 1.5 s. Without it (dispatch's line to units, which records a
    pending dispatch at once instead) the first UNAVAILABLE comes back."""
    options: list[tuple[str, object]] = []
    if retry:
        options = [("grpc.enable_retries", 1), ("grpc.service_config", json.dumps(RETRY_POLICY))]
    return grpc.insecure_channel(address, options=options)


_ERRORS: dict[grpc.StatusCode, type[errors.DomainError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: errors.InvalidArgument,
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
    grpc.StatusCode.ABORTED: errors.Conflict,
    grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: errors.Unauthenticated,
    grpc.StatusCode.ALREADY_EXISTS: errors.AlreadyExists,
}
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
    code: grpc.StatusCode = exc.code()  # type: ignore[attr-defined]
    kind = _ERRORS.get(code)
    if kind is not None:
        return kind(exc.details())  # type: ignore[attr-defined]
    if code in _TRANSIENT:
        return errors.Unavailable(
            f"the {peer} service did not answer ({code.name}): nothing was recorded; "
            "retry with the same request id"
        )
    return errors.DomainError(f"the {peer} service failed ({code.name}); see its log")
