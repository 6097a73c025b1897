"""The HTTP/JSON edge: the same APIs for clients that do not speak gRPC (team apps on
phones), and the dispatch console (``console_api.py``: the page at ``/``, its API under
``/api``). Every request carries ``Authorization: Bearer <token>``,
which is passed on to the gRPC services: they authenticate and authorize, the edge only
translates. Errors come back as ``application/problem+json`` (RFC 9457) with the gRPC
service's message.

Team endpoints::

    GET  /v1/alerts                       the team's alerts waiting for an answer
    GET  /v1/alerts/stream                the same, then every change (text/event-stream)
    POST /v1/alerts/{alert_id}/acknowledge   {"unit_id", "responders", "eta_seconds", "note"}
    POST /v1/alerts/{alert_id}/decline       {"unit_id", "reason"}

POSTs request an ``Idempotency-Key`` header (or ``request_id`` in the body): a retry with the
same key returns the first answer and changes nothing.

Every error, the edge's own included (an unknown path, a wrong method, a body that is not
JSON, an Authorization header that is not ASCII or too long), is a problem document.
Field limits are the services' own (``services/common/limits.py``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import Annotated, Any

import grpc
from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from google.protobuf.json_format import MessageToDict
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from emergency.v1 import units_pb2, units_pb2_grpc
from services.common.errors import http_status_for
from services.common.grpc_client import open_channel
from services.common.limits import field_constraints
from services.edge.console_api import ConsoleSettings, install_console

# Past this the gRPC services could not take the token as metadata (8 KiB in all).
MAX_AUTHORIZATION_CHARS = 4096


def limited(name: str, **more: Any) -> Any:
    """A pydantic ``Field`` with the limits the services apply to ``name``."""
    return Field(**{**field_constraints(name), **more})


class Acknowledgement(BaseModel):
    unit_id: Annotated[str, limited("unit_id", min_length=1)]
    responders: Annotated[
        int, limited("responders", ge=1, description="people coming with this answer")
    ]
    eta_seconds: Annotated[int, limited("eta_seconds")] = 0
    note: Annotated[str, limited("note")] = ""
    request_id: Annotated[str, limited("request_id")] = ""


class Decline(BaseModel):
    unit_id: Annotated[str, limited("unit_id", min_length=1)]
    reason: Annotated[str, limited("reason", min_length=1)]
    request_id: Annotated[str, limited("request_id")] = ""


def problem(
    status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def as_json(message: Any) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


def create_asgi_app(units_address: str, console: ConsoleSettings | None = None) -> FastAPI:
    """The edge: the team endpoints, and with ``console`` the dispatch console."""
    # No /docs or /redoc: their pages load scripts from a CDN, and the edge serves nothing
    # from elsewhere. The OpenAPI document stays at /openapi.json.
    app = FastAPI(title="Unified Command HTTP edge", version="1", docs_url=None, redoc_url=None)
    channel = open_channel(units_address)
    units = units_pb2_grpc.UnitsServiceStub(channel)

    @app.exception_handler(grpc.RpcError)
    async def grpc_error(_request: Request, exc: grpc.RpcError) -> JSONResponse:
        code = exc.code()
        return problem(http_status_for(code.name), code.name, exc.details() or "")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # 404, 405, a body that is not JSON ...: a problem document like every refusal
        title = HTTPStatus(exc.status_code).phrase.upper().replace(" ", "_")
        response = problem(exc.status_code, title, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(BadRequest)
    async def bad_input(_request: Request, exc: BadRequest) -> JSONResponse:
        return problem(exc.status, exc.title, str(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Each field at fault, by name: the console shows the message at that field.
        errors = [{"field": _field(e), "message": e["msg"]} for e in exc.errors()]
        details = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "INVALID_ARGUMENT", details, errors)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/alerts")
    async def waiting_alerts(authorization: Annotated[str, Header()] = "") -> dict[str, Any]:
        reply = await asyncio.to_thread(
            units.ListAlerts,
            units_pb2.WatchAlertsRequest(),
            timeout=10,
            metadata=_auth(authorization),
        )
        return {"alerts": [as_json(a) for a in reply.alerts]}

    @app.get("/v1/alerts/stream")
    async def alert_stream(
        request: Request, authorization: Annotated[str, Header()] = ""
    ) -> StreamingResponse:
        # Check the token first, so a refusal is an ordinary problem response.
        await asyncio.to_thread(
            units.ListAlerts,
            units_pb2.WatchAlertsRequest(),
            timeout=10,
            metadata=_auth(authorization),
        )
        call = units.WatchAlerts(units_pb2.WatchAlertsRequest(), metadata=_auth(authorization))
        return StreamingResponse(
            _events(request, call),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache"},
        )

    @app.post("/v1/alerts/{alert_id}/acknowledge")
    async def acknowledge(
        alert_id: str,
        body: Acknowledgement,
        authorization: Annotated[str, Header()] = "",
        idempotency_key: Annotated[str, Header()] = "",
    ) -> dict[str, Any]:
        request = units_pb2.AcknowledgeAlertRequest(
            request_id=_request_id(idempotency_key, body.request_id),
            alert_id=alert_id,
            unit_id=body.unit_id,
            responders=body.responders,
            eta_seconds=body.eta_seconds,
            note=body.note,
        )
        alert = await asyncio.to_thread(
            units.AcknowledgeAlert, request, timeout=10, metadata=_auth(authorization)
        )
        return as_json(alert)

    @app.post("/v1/alerts/{alert_id}/decline")
    async def decline(
        alert_id: str,
        body: Decline,
        authorization: Annotated[str, Header()] = "",
        idempotency_key: Annotated[str, Header()] = "",
    ) -> dict[str, Any]:
        request = units_pb2.DeclineAlertRequest(
            request_id=_request_id(idempotency_key, body.request_id),
            alert_id=alert_id,
            unit_id=body.unit_id,
            reason=body.reason,
        )
        alert = await asyncio.to_thread(
            units.DeclineAlert, request, timeout=10, metadata=_auth(authorization)
        )
        return as_json(alert)

    app.state.close = channel.close
    if console is not None:
        install_console(app, console)
    return app


def _field(error: dict[str, Any]) -> str:
    """The field a validation error is about: ``location.latitude``, ``Idempotency-Key``;
    ``body`` for a body that is not JSON at all."""
    if error["type"] == "json_invalid":
        return "body"
    return ".".join(str(p) for p in error["loc"][1:]) or str(error["loc"][0])


class BadRequest(ValueError):
    """The edge's own checks of a request: a problem with its status and title."""

    def __init__(self, detail: str, status: int = 400, title: str = "INVALID_ARGUMENT") -> None:
        super().__init__(detail)
        self.status = status
        self.title = title


def _request_id(header: str, body: str) -> str:
    key = (header or body).strip()
    if not key:
        raise BadRequest(
            "send an Idempotency-Key header (or request_id in the body): a fresh UUID per "
            "answer, the same one when you retry it"
        )
    return key


def _auth(authorization: str) -> tuple[tuple[str, str], ...]:
    """The header as gRPC metadata; refused here when gRPC could not carry it (a
    character outside printable ASCII, or too long), instead of failing inside gRPC."""
    if len(authorization) > MAX_AUTHORIZATION_CHARS:
        raise BadRequest(
            f"the Authorization header is {len(authorization)} characters long; at most "
            f"{MAX_AUTHORIZATION_CHARS}",
            431,
            "REQUEST_HEADER_FIELDS_TOO_LARGE",
        )
    if not all(" " <= char <= "~" for char in authorization):
        raise BadRequest(
            "the Authorization header must be 'Bearer <token>' in printable ASCII",
            401,
            "UNAUTHENTICATED",
        )
    return (("authorization", authorization),) if authorization else ()


_END = object()
# A thread per open alert stream, waiting for the next alert: kept apart from the default
# executor, so open streams can never starve the short calls (acknowledge, decline).
_STREAM_READERS = ThreadPoolExecutor(max_workers=1024, thread_name_prefix="alert-stream")


def _next(call: Any) -> Any:
    try:
        return next(call)
    except StopIteration:
        return _END


async def _events(request: Request, call: Any) -> AsyncIterator[bytes]:
    """Server-sent events from a WatchAlerts call: first the alerts waiting, then every
    change, until the client goes away (then the gRPC call is cancelled)."""
    try:
        yield b": connected\n\n"
        loop = asyncio.get_running_loop()
        while not await request.is_disconnected():
            alert = await loop.run_in_executor(_STREAM_READERS, _next, call)
            if alert is _END:
                return
            yield _sse(alert)
    except grpc.RpcError:
        return
    finally:
        call.cancel()


def _sse(alert: units_pb2.Alert) -> bytes:
    return f"event: alert\ndata: {json.dumps(as_json(alert))}\n\n".encode()
