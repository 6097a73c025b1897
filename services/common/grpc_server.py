"""One way to run a gRPC server, shared by every service.

Every server gets the standard health service and server reflection (so ``grpcurl`` and
orchestrators work with no custom code), and one interceptor that

- binds the call's correlation id (metadata ``x-correlation-id``, usually the incident
  id) and the method into structlog's context, so every line logged during the call
  carries them, and logs the call with its status and duration;
- turns the domain's errors into gRPC status codes with their message, so servicers
  raise ``NotFound(...)`` instead of repeating status handling in every method;
- answers a request that does not decode (truncated bytes, a string that is not UTF-8)
  with INVALID_ARGUMENT, instead of gRPC's own INTERNAL and error-level traceback.

Inside authentication, every request is checked against the limits of ``limits.py``
before the servicer sees it.

SIGTERM or SIGINT marks the server NOT_SERVING, lets calls in flight finish within a grace
period, then stops.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
import sqlalchemy.exc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.common import errors
from services.common.limits import check_request

# A database that does not answer (refused, gone, out of connections, the pool's wait
# over) is a dependency unavailable, like any other: the client retries with the same
# request id, which is answered as a repeat if the command did go through.
DATABASE_UNAVAILABLE = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.TimeoutError)
_RETRY_LATER = (
    "the service's database did not answer; retry with the same request id "
    "(a command that did go through is answered as a repeat)"
)

Req = TypeVar("Req")
Resp = TypeVar("Resp")
if TYPE_CHECKING:  # grpc's classes are generic in its stubs only
    # What a server interceptor is handed: the next handler in the chain, for a call.
    Continuation = Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Req, Resp] | None]

log = structlog.get_logger(__name__)

CORRELATION_HEADER = "x-correlation-id"


def status_for(error: errors.DomainError) -> grpc.StatusCode:
    """The gRPC status of a domain error: the one its class declares."""
    return grpc.StatusCode[error.status]


class CallContextInterceptor(grpc.ServerInterceptor):
    def __init__(self, service: str) -> None:
        self.service = service

    def intercept_service(
        self,
        continuation: Continuation[Req, Resp],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Req, Resp] | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        metadata = dict(handler_call_details.invocation_metadata or ())
        correlation_id = str(metadata.get(CORRELATION_HEADER, ""))
        decode = _tolerant(handler.request_deserializer)

        def context_vars() -> dict[str, str]:
            bound = {"service": self.service, "grpc_method": method}
            if correlation_id:
                bound["correlation_id"] = correlation_id
            return bound

        if handler.unary_unary:
            inner = handler.unary_unary

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                with structlog.contextvars.bound_contextvars(**context_vars()):
                    return _observe(method, context, lambda: inner(_decoded(request), context))

            return grpc.unary_unary_rpc_method_handler(unary, decode, handler.response_serializer)
        if handler.unary_stream:
            inner_stream = handler.unary_stream

            def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                with structlog.contextvars.bound_contextvars(**context_vars()):
                    yield from _observe(
                        method, context, lambda: inner_stream(_decoded(request), context)
                    )

            return grpc.unary_stream_rpc_method_handler(stream, decode, handler.response_serializer)
        return handler


@dataclass(frozen=True, slots=True)
class _Undecodable:
    """Stands in for a request whose bytes did not decode, so the call can be refused
    with a status of ours instead of failing inside gRPC."""

    reason: str


def _tolerant(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserialize is None:
        return None

    def decode(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception as exc:  # DecodeError, or a string that is not UTF-8
            return _Undecodable(str(exc) or type(exc).__name__)

    return decode


def _decoded(request: Any) -> Any:
    if isinstance(request, _Undecodable):
        raise errors.InvalidArgument(
            f"the request could not be decoded ({request.reason}): send a valid protobuf "
            "message of the method's request type, with UTF-8 strings"
        )
    return request


class RequestLimitsInterceptor(grpc.ServerInterceptor):
    """Checks every request against ``limits.py`` before its servicer sees it."""

    def intercept_service(
        self,
        continuation: Continuation[Req, Resp],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Req, Resp] | None:
        handler = continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(_UNCHECKED_PREFIXES):
            return handler
        if handler.unary_unary:
            inner = handler.unary_unary

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                check_request(request)
                return inner(request, context)

            return grpc.unary_unary_rpc_method_handler(
                unary, handler.request_deserializer, handler.response_serializer
            )
        if handler.unary_stream:
            inner_stream = handler.unary_stream

            def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                check_request(request)
                yield from inner_stream(request, context)

            return grpc.unary_stream_rpc_method_handler(
                stream, handler.request_deserializer, handler.response_serializer
            )
        return handler


_UNCHECKED_PREFIXES = ("/grpc.health.", "/grpc.reflection.")
LIVENESS = "liveness"  # the health service name liveness probes ask for


def _observe(method: str, context: grpc.ServicerContext, call: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    try:
        result = call()
        if isinstance(result, Iterator):
            result = _stream_observed(method, context, result, started)
        else:
            _log_call(method, context, started)
        return result
    except errors.DomainError as exc:
        code = status_for(exc)
        log.info(
            "grpc call refused",
            code=code.name,
            reason=str(exc),
            ms=round((time.perf_counter() - started) * 1000, 2),
        )
        context.abort(code, str(exc))
    except DATABASE_UNAVAILABLE as exc:
        log.warning("grpc call: database unavailable", method=method, error=str(exc)[:300])
        context.abort(grpc.StatusCode.UNAVAILABLE, _RETRY_LATER)
    except Exception:
        log.exception("grpc call failed", method=method)
        context.abort(grpc.StatusCode.INTERNAL, "internal error; see the service log")


def _stream_observed(
    method: str, context: grpc.ServicerContext, items: Iterator[Any], started: float
) -> Iterator[Any]:
    try:
        yield from items
    except errors.DomainError as exc:
        context.abort(status_for(exc), str(exc))
    except DATABASE_UNAVAILABLE as exc:
        log.warning("grpc stream: database unavailable", method=method, error=str(exc)[:300])
        context.abort(grpc.StatusCode.UNAVAILABLE, _RETRY_LATER)
    except Exception:
        if not context.is_active():  # the client went away: nothing to report
            return
        log.exception("grpc stream failed", method=method)
        context.abort(grpc.StatusCode.INTERNAL, "internal error; see the service log")
    _log_call(method, context, started)


def _log_call(method: str, context: grpc.ServicerContext, started: float) -> None:
    """A call that went through, at debug level: at 50 calls/s a line per call is a
    cost on the hot path (refused and failed calls are logged at info and above)."""
    if not _debugging():
        return
    code = context.code() if hasattr(context, "code") else None
    log.debug(
        "grpc call",
        code=(code or grpc.StatusCode.OK).name,
        ms=round((time.perf_counter() - started) * 1000, 2),
    )


def _debugging() -> bool:
    return logging.getLogger(__name__).isEnabledFor(logging.DEBUG)


class GrpcServer:
    """A started server with health and reflection; ``wait()`` blocks until a signal."""

    def __init__(
        self,
        service: str,
        host: str,
        port: int,
        interceptors: Sequence[grpc.ServerInterceptor] = (),
        max_workers: int = 32,
        tls: tuple[bytes, bytes] | None = None,
    ) -> None:
        """``tls``: the server's certificate chain and private key (PEM); plaintext
        without."""
        self.service = service
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=service),
            # The call-context interceptor is outermost: it logs and maps the errors of
            # everything inside it, authentication included; limits are checked last,
            # for callers known to be allowed.
            interceptors=[
                CallContextInterceptor(service),
                *interceptors,
                RequestLimitsInterceptor(),
            ],
            options=[("grpc.so_reuseport", 0)],
        )
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.address = f"{host}:{port}"
        if tls is None:
            self.port = self.server.add_insecure_port(self.address)
        else:
            credentials = grpc.ssl_server_credentials([(tls[1], tls[0])])
            self.port = self.server.add_secure_port(self.address, credentials)
        if self.port == 0:
            raise RuntimeError(f"cannot listen on {self.address}: is the port taken?")
        self._service_names: list[str] = []
        self._stopped = threading.Event()

    def add(
        self, register: Callable[[Any, grpc.Server], None], servicer: Any, full_name: str
    ) -> None:
        register(servicer, self.server)
        self._service_names.append(full_name)

    def start(self) -> GrpcServer:
        reflection.enable_server_reflection(
            [*self._service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], self.server
        )
        self.server.start()
        # "liveness": the process is up (orchestrators restart it when not); "" and each
        # service: ready for calls.
        for name in [LIVENESS, "", *self._service_names]:
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info(
            "grpc server serving",
            address=f"{self.address.rsplit(':', 1)[0]}:{self.port}",
            services=self._service_names,
        )
        return self

    def set_ready(self, ready: bool) -> None:
        """Readiness ("" and every service) as it changes; ``liveness`` stays SERVING."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if ready
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ["", *self._service_names]:
            self.health.set(name, status)

    def stop(self, grace: float = 5.0) -> None:
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()
        self._stopped.set()

    def wait_for_signal(self, on_stop: Callable[[], None] | None = None) -> None:
        """Serve until SIGTERM or SIGINT, then stop gracefully and call ``on_stop``."""
        stop_requested = threading.Event()

        def request_stop(signum: int, _frame: object) -> None:
            log.info("stopping", signal=signal.Signals(signum).name)
            stop_requested.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        stop_requested.wait()
        self.stop()
        if on_stop is not None:
            on_stop()
