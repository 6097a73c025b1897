"""The dispatch console's HTTP API (JSON under ``/api``) and the page itself (``/``).

**Who.** Staff log in with a user name and password (``POST /api/session``) and get an
HttpOnly, SameSite=Strict session cookie (``sessions.py``). Every other endpoint needs
it (401 otherwise, the same for an expired session). The edge calls the gRPC services
with its own credential (an operator of role GATEWAY, token ``UC_EDGE_TOKEN``) and names
the person in ``x-uc-on-behalf-of``, so the services check the person's rights and record
the person as the actor.

**Writes** (POST, DELETE) also request the session's CSRF token in ``X-CSRF-Token`` and an
``Idempotency-Key`` (a UUID the page makes once per action and reuses on a retry): it is
the gRPC request id, so a double click or a retried request acts once. Dispatching a
whole recommendation sends one DispatchUnit per unit with ``<key>:<unit id>``. A
read-only operator (VIEWER) gets 403 and nothing is written.

**Errors** are ``application/problem+json`` (RFC 9457): ``status``, ``title``,
``detail`` and, when a field is at fault, ``errors: [{field, message}]``. Shapes are
checked here against ``limits.py`` before any gRPC call; what only a service can judge
comes back with its message (and the field, when the message names one).

**Reads** of the boards come from the edge's live fold (``live.py``), so the snapshot and
the live stream (``GET /api/live``, server-sent events) carry the same stream versions;
an incident's detail and log, recommendations and duplicates come from the services.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, NotRequired, TypedDict, TypeVar

import grpc
import grpc.aio
import structlog
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from google.protobuf.message import Message
from pydantic import BaseModel, ConfigDict, Field

from emergency.v1 import (
    common_pb2,
    dispatch_pb2,
    dispatch_pb2_grpc,
    incidents_pb2,
    incidents_pb2_grpc,
    units_pb2,
    units_pb2_grpc,
)
from services.common.auth import ON_BEHALF_OF, STAFF
from services.common.errors import http_status_for
from services.common.grpc_client import open_aio_channel
from services.common.jurisdiction import CAPABILITIES, Jurisdiction, Operator, Role, Tier
from services.dispatch.runcards import load_run_cards
from services.edge import limits
from services.edge.live import Item, LiveBoard, as_json, event_json, parse_cursor
from services.edge.passwords import verify_password
from services.edge.sessions import Session, SessionStore, login_delay

log = structlog.get_logger(__name__)

RequestT = TypeVar("RequestT", bound=Message)
ResponseT = TypeVar("ResponseT", bound=Message)

COOKIE = "uc_session"
CSRF_HEADER = "X-CSRF-Token"
WRITERS = STAFF  # the people who work incidents may write; read-only staff may read

GRPC_TIMEOUT = 10.0
PING_SECONDS = 15.0  # an idle live stream sends a comment this often (proxies, liveness)
CATCH_UP_WAIT = 30.0  # seconds a page waits for a just-started edge to catch up
SINCE_MARGIN_US = 5_000_000  # replaying "since" a moment starts this much earlier
WEB_DIR = Path(__file__).resolve().parent / "console" / "web"

# The catalogue of incident types is the run cards' (UC_RUN_CARDS_FILE), read once at start
# as dispatch reads it: the OpenAPI document lists them. The two enums are built from data,
# which mypy cannot follow (it wants the members written out): hence the two ignores.
INCIDENT_TYPES = sorted(load_run_cards().incident_types)
IncidentType = StrEnum("IncidentType", {t: t for t in INCIDENT_TYPES})  # type: ignore[misc]
Capability = StrEnum("Capability", {c: c for c in sorted(CAPABILITIES)})  # type: ignore[misc]
CallSource = Literal["PHONE", "FIRE_ALARM_NETWORK", "SMART_SMOKE_DETECTOR", "TRANSFER"]
CancelReason = Literal["FALSE_ALARM", "HOAX", "HANDLED_ELSEWHERE", "OTHER"]
NoteKind = Literal["SITUATION_REPORT", "DECISION", "OTHER"]
SettableStatus = Literal[
    "ACKNOWLEDGED", "EN_ROUTE", "STAGING", "ON_SCENE", "RETURNING", "AVAILABLE", "OUT_OF_SERVICE"
]
UnitStatusName = Literal[
    "AVAILABLE",
    "RESERVED",
    "ALERTED",
    "ACKNOWLEDGED",
    "EN_ROUTE",
    "STAGING",
    "ON_SCENE",
    "RETURNING",
    "OUT_OF_SERVICE",
    "RETIRED",
]
IncidentId = Annotated[
    str, PathParam(pattern=limits.INCIDENT_ID_PATTERN, description="the incident's id")
]
UnitId = Annotated[str, PathParam(pattern=limits.ID_PATTERN, description="the unit's id")]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=limits.IDEMPOTENCY_KEY_PATTERN,
        description="a UUID made once per action and sent again on a retry",
    ),
]


# --- problems ------------------------------------------------------------------------------


class Problem(Exception):
    """A refusal the console shows as it is: status, a title, what to do, and the field."""

    def __init__(self, status: int, title: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.errors = [{"field": field, "message": detail}] if field else []

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "errors": self.errors,
        }
        return JSONResponse(body, status_code=self.status, media_type="application/problem+json")


# The problem document's JSON schema, written out (no $refs) so it can stand under the
# application/problem+json media type of every console route's error responses.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {
            "description": "a problem (RFC 9457); errors name the fields at fault",
            "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
        }
        for code in codes
    }


READ_PROBLEMS = _problems(400, 401, 403, 404, 409, 422, 429, 502, 503, 504)
WRITE_PROBLEMS = READ_PROBLEMS

_FIELD_WORD = re.compile(r"[a-z_]+")


def grpc_problem(exc: grpc.aio.AioRpcError, service: str, fields: tuple[str, ...]) -> Problem:
    """A gRPC refusal as the console shows it. The field is named when the service's
    message starts with (or names) one of the request's fields."""
    code = exc.code()
    detail = exc.details() or code.name
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return Problem(
            http_status_for(code.name),
            f"{service.upper()}_UNAVAILABLE",
            f"the {service} service is not answering ({code.name}): nothing was recorded. "
            "Your input is kept: retry in a moment.",
        )
    if code is grpc.StatusCode.UNAUTHENTICATED:
        return Problem(
            502,
            "EDGE_NOT_TRUSTED",
            f"the {service} service refused the console's own credential (UC_EDGE_TOKEN): {detail}",
        )
    status = http_status_for(code.name)
    field = None
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        words = _FIELD_WORD.findall(detail.lower())
        field = next((w for w in words if w in fields), None)
    return Problem(status, code.name, detail, field)


# --- request bodies --------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Login(_Body):
    username: Annotated[str, Field(min_length=1, max_length=limits.MAX_USER_NAME)]
    password: Annotated[str, Field(min_length=1, max_length=limits.MAX_PASSWORD)]


class Location(_Body):
    # strict: a number, not true (1.0) nor "28.2" (a JSON body's types are its own)
    latitude: Annotated[float, Field(ge=limits.LATITUDE[0], le=limits.LATITUDE[1], strict=True)]
    longitude: Annotated[float, Field(ge=limits.LONGITUDE[0], le=limits.LONGITUDE[1], strict=True)]


class NewCall(_Body):
    incident_type: IncidentType
    source: CallSource = "PHONE"
    caller_number: Annotated[
        str, Field(max_length=32, description="required for a call from a person")
    ] = ""
    address: Annotated[str, Field(max_length=limits.MAX_ADDRESS)] = ""
    description: Annotated[str, Field(max_length=limits.MAX_DESCRIPTION)] = ""
    location: Location | None = None
    link_to_incident_id: Annotated[
        str,
        Field(
            pattern=limits.optional(limits.INCIDENT_ID_PATTERN),
            description="an open incident this call is a duplicate of",
        ),
    ] = ""


class DispatchOne(_Body):
    unit_id: Annotated[str, Field(pattern=limits.ID_PATTERN)]
    capability: Capability | Literal[""] = ""
    reason: Annotated[str, Field(max_length=limits.MAX_REASON)] = ""


class Pick(_Body):
    unit_id: Annotated[str, Field(pattern=limits.ID_PATTERN)]
    capability: Capability | Literal[""] = ""


class DispatchMany(_Body):
    picks: Annotated[list[Pick], Field(min_length=1, max_length=limits.MAX_PICKS)]
    reason: Annotated[str, Field(max_length=limits.MAX_REASON)] = ""


class RaiseLevel(_Body):
    alarm_level: Annotated[int, Field(ge=2, le=limits.MAX_ALARM_LEVEL, strict=True)]
    reason: Annotated[str, Field(max_length=limits.MAX_REASON)] = ""


class RequestForces(_Body):
    capability: Capability
    count: Annotated[int, Field(ge=1, le=limits.MAX_UNITS_PER_REQUEST, strict=True)] = 1
    reason: Annotated[str, Field(max_length=limits.MAX_REASON)] = ""


class Command(_Body):
    commander_id: Annotated[
        str, Field(pattern=limits.optional(limits.ID_PATTERN), description="empty: yourself")
    ] = ""
    commander_name: Annotated[str, Field(max_length=limits.MAX_NAME)] = ""
    unit_id: Annotated[str, Field(pattern=limits.optional(limits.ID_PATTERN))] = ""
    reason: Annotated[str, Field(max_length=limits.MAX_REASON)] = ""


class NoteOnly(_Body):
    note: Annotated[str, Field(max_length=limits.MAX_NOTE)] = ""


class Cancel(_Body):
    reason: CancelReason
    note: Annotated[str, Field(max_length=limits.MAX_NOTE)] = ""


class Classify(_Body):
    incident_type: IncidentType
    note: Annotated[str, Field(max_length=limits.MAX_NOTE)] = ""


class NewNote(_Body):
    text: Annotated[str, Field(min_length=1, max_length=limits.MAX_NOTE_TEXT)]
    kind: NoteKind = "OTHER"


class StatusChange(_Body):
    status: SettableStatus


# --- the console ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsoleSettings:
    dispatch_address: str
    units_address: str
    incidents_address: str
    jurisdiction: Jurisdiction
    edge_token: str
    sessions: SessionStore
    live: LiveBoard


@dataclass(frozen=True)
class Staff:
    """The person behind a request."""

    operator: Operator
    session: Session

    @property
    def role(self) -> Role:
        return self.operator.role


class Console:
    """The gRPC clients and the rules every endpoint shares."""

    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        self.operators = {o.id: o for o in settings.jurisdiction.operators if o.password_argon2}
        self.channels: list[grpc.aio.Channel] = []
        # Stubs on grpc.aio channels: their calls are awaited.
        self.dispatch: dispatch_pb2_grpc.DispatchServiceAsyncStub
        self.units: units_pb2_grpc.UnitsServiceAsyncStub
        self.incidents: incidents_pb2_grpc.IncidentsServiceAsyncStub

    async def open(self) -> None:
        """On the server's event loop: gRPC channels, and the live fold's thread."""
        s = self.settings
        self.channels = [
            open_aio_channel(a) for a in (s.dispatch_address, s.units_address, s.incidents_address)
        ]
        self.dispatch = dispatch_pb2_grpc.DispatchServiceStub(self.channels[0])
        self.units = units_pb2_grpc.UnitsServiceStub(self.channels[1])
        self.incidents = incidents_pb2_grpc.IncidentsServiceStub(self.channels[2])
        s.live.start(asyncio.get_running_loop())

    async def close(self) -> None:
        self.settings.live.stop()
        for channel in self.channels:
            await channel.close()

    async def call(
        self,
        service: str,
        method: grpc.aio.UnaryUnaryMultiCallable[RequestT, ResponseT],
        request: RequestT,
        staff: Staff,
        correlation: str = "",
        timeout: float = GRPC_TIMEOUT,
    ) -> ResponseT:
        """One gRPC call for ``staff``: the edge's credential and the person's id."""
        metadata = [
            ("authorization", f"Bearer {self.settings.edge_token}"),
            (ON_BEHALF_OF, staff.operator.id),
        ]
        if correlation and correlation.isascii() and correlation.isprintable():
            metadata.append(("x-correlation-id", correlation))
        try:
            return await method(request, timeout=timeout, metadata=metadata)
        except grpc.aio.AioRpcError as exc:
            fields = tuple(f.name for f in request.DESCRIPTOR.fields)
            raise grpc_problem(exc, service, fields) from None


async def _session_of(request: Request, touch: bool = True) -> Staff:
    console: Console = request.app.state.console
    session_id = request.cookies.get(COOKIE, "")
    if not session_id:
        raise Problem(401, "NOT_LOGGED_IN", "log in first: this needs a console session")
    session = await asyncio.to_thread(console.settings.sessions.get, session_id, time.time(), touch)
    operator = console.operators.get(session.operator_id) if session else None
    if session is None or operator is None:
        raise Problem(401, "SESSION_EXPIRED", "your session has ended: log in again")
    return Staff(operator, session)


async def staff(request: Request) -> Staff:
    """Dependency: the logged-in person (401 otherwise)."""
    return await _session_of(request)


async def writer(request: Request) -> Staff:
    """Dependency for writes: logged in, the CSRF token echoed, and allowed to write."""
    person = await _session_of(request)
    sent = request.headers.get(CSRF_HEADER, "")
    if not secrets.compare_digest(sent.encode(), person.session.csrf_token.encode()):
        raise Problem(
            403, "CSRF_TOKEN", f"send the session's token in {CSRF_HEADER}", field=CSRF_HEADER
        )
    if person.role not in WRITERS:
        raise Problem(
            403,
            "READ_ONLY",
            f"{person.operator.id} may look but not act ({person.role.value}): nothing was written",
        )
    return person


Reader = Annotated[Staff, Depends(staff)]
Writer = Annotated[Staff, Depends(writer)]


def _console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def _geo(location: Location | None) -> common_pb2.GeoPoint | None:
    if location is None:
        return None
    return common_pb2.GeoPoint(latitude=location.latitude, longitude=location.longitude)


def _whoami(person: Staff) -> dict[str, Any]:
    return {
        "operator": {
            "id": person.operator.id,
            "name": person.operator.name,
            "role": person.role.value,
            "can_write": person.role in WRITERS,
        },
        "csrf_token": person.session.csrf_token,
        "expires_at": person.session.expires(),
    }


router = APIRouter(prefix="/api", tags=["console"])


# --- session ---------------------------------------------------------------------------------


@router.post("/session", responses=_problems(401, 422))
async def log_in(body: Login, request: Request, response: Response) -> dict[str, Any]:
    """Log in: sets the session cookie. A wrong password and an unknown user get the same
    401 after the same work; after three failures in 15 minutes each answer is delayed
    (1, 2, 4, 8 s)."""
    console = _console(request)
    store = console.settings.sessions
    now = time.time()
    failures = await asyncio.to_thread(store.failures, body.username, now)
    delay = login_delay(failures)
    if delay:
        await asyncio.sleep(delay)
    operator = console.operators.get(body.username)
    stored = operator.password_argon2 if operator else None
    if not await asyncio.to_thread(verify_password, stored, body.password):
        await asyncio.to_thread(store.record_failure, body.username, now)
        log.info("console log-in refused", failures=failures + 1)
        raise Problem(401, "LOGIN_FAILED", "wrong user name or password")
    assert operator is not None
    await asyncio.to_thread(store.clear_failures, body.username)
    session_id, session = await asyncio.to_thread(store.create, operator.id, now)
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=int(store.max_seconds),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    log.info("console log-in", operator=operator.id, role=operator.role.value)
    return _whoami(Staff(operator, session))


@router.get("/session", responses=_problems(401))
async def who_am_i(person: Reader) -> dict[str, Any]:
    """The logged-in person, their rights and the CSRF token for writes."""
    return _whoami(person)


@router.delete("/session", responses=_problems(401, 403))
async def log_out(request: Request, response: Response) -> dict[str, bool]:
    """Log out: the session is deleted and the cookie cleared (needs the CSRF token)."""
    person = await _session_of(request)
    if not secrets.compare_digest(
        request.headers.get(CSRF_HEADER, "").encode(), person.session.csrf_token.encode()
    ):
        raise Problem(
            403, "CSRF_TOKEN", f"send the session's token in {CSRF_HEADER}", field=CSRF_HEADER
        )
    await asyncio.to_thread(_console(request).settings.sessions.delete, request.cookies[COOKIE])
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return {"logged_out": True}


# --- reference data --------------------------------------------------------------------------


@router.get("/config", responses=READ_PROBLEMS)
async def config(request: Request, person: Reader) -> dict[str, Any]:
    """What the page needs to know: the jurisdiction (name, time zone, bounds), the
    vocabularies (incident types, call sources, capabilities, tiers, statuses)."""
    j = _console(request).settings.jurisdiction
    b = j.jurisdiction.bounds
    return {
        "jurisdiction": {
            "name": j.jurisdiction.name,
            "time_zone": j.jurisdiction.time_zone,
            "bounds": {"south": b.south, "west": b.west, "north": b.north, "east": b.east},
            # the data's licence notice (OpenStreetMap's for SF), shown on the map
            "attribution": j.jurisdiction.attribution,
        },
        "incident_types": INCIDENT_TYPES,
        "call_sources": list(limits.CALL_SOURCES),
        "capabilities": sorted(CAPABILITIES),
        "tiers": [t.value for t in Tier],
        "settable_statuses": list(limits.SETTABLE_STATUSES),
        "cancel_reasons": list(limits.CANCEL_REASONS),
        "note_kinds": list(limits.NOTE_KINDS),
        **_whoami(person),
    }


@router.get("/map", responses=READ_PROBLEMS)
async def map_layers(request: Request, person: Reader) -> dict[str, Any]:
    """GeoJSON from the jurisdiction file: the jurisdiction's boundary (its bounds) and
    every station. Units and incidents come from the board."""
    j = _console(request).settings.jurisdiction
    b = j.jurisdiction.bounds
    ring = [
        [b.west, b.south],
        [b.east, b.south],
        [b.east, b.north],
        [b.west, b.north],
        [b.west, b.south],
    ]
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"kind": "boundary", "name": j.jurisdiction.name},
        },
    ]
    for station in j.stations:
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [station.location[1], station.location[0]],
                },
                "properties": {
                    "kind": "station",
                    "id": station.id,
                    "name": station.name,
                    "tier": station.tier.value,
                    "district": station.district,
                    "units": [u.id for u in station.units],
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


# --- boards (the live fold) ------------------------------------------------------------------


async def _caught_up(console: Console) -> None:
    live = console.settings.live
    if not live.caught_up.is_set():
        ready = await asyncio.to_thread(live.caught_up.wait, CATCH_UP_WAIT)
        if not ready:
            raise Problem(
                503,
                "CATCHING_UP",
                "the console's live board is still reading the "
                "event topics (is the broker up?): retry in a moment",
            )


@router.get("/board", responses=READ_PROBLEMS)
async def board(request: Request, person: Reader) -> dict[str, Any]:
    """Every active incident and every unit, each with its stream ``version``, and the
    live stream's position (``instance``, ``seq``) they include."""
    console = _console(request)
    await _caught_up(console)
    return console.settings.live.snapshot()


@router.get("/incidents", responses=READ_PROBLEMS)
async def active_incidents(request: Request, person: Reader) -> dict[str, Any]:
    """The active incidents (open or under control), highest alarm level first, then
    oldest first."""
    console = _console(request)
    await _caught_up(console)
    found = console.settings.live.snapshot()["incidents"]
    found.sort(key=lambda i: (-i["alarm_level"], i["opened_at"] or ""))
    return {"incidents": found}


@router.get("/units", responses=READ_PROBLEMS)
async def unit_board(
    request: Request,
    person: Reader,
    tier: Annotated[list[Tier] | None, Query()] = None,
    status: Annotated[list[UnitStatusName] | None, Query(max_length=20)] = None,
    station: Annotated[str, Query(max_length=64)] = "",
) -> dict[str, Any]:
    """The unit board: every unit (filtered by tier, status, station id) and the counts
    per meaning: available, committed, out of service, unknown (counted as not
    available)."""
    console = _console(request)
    await _caught_up(console)
    units = console.settings.live.snapshot()["units"]
    tiers = {t.value for t in tier or []}
    statuses = set(status or [])
    chosen = [
        u
        for u in units
        if (not tiers or u["profile"]["tier"] in tiers)
        and (not statuses or u["status"] in statuses)
        and (not station or u["profile"]["station_id"] == station)
    ]
    counts = {"available": 0, "committed": 0, "out_of_service": 0, "unknown": 0}
    for unit in chosen:
        counts[meaning(unit["status"])] += 1
    return {"counts": counts, "units": chosen}


COMMITTED = frozenset({"RESERVED", "ALERTED", "ACKNOWLEDGED", "EN_ROUTE", "STAGING", "ON_SCENE"})


def meaning(status: str) -> str:
    """What a unit's status means for dispatching; an unknown one is not available."""
    if status in ("AVAILABLE", "RETURNING"):
        return "available"
    if status in COMMITTED:
        return "committed"
    if status == "OUT_OF_SERVICE":
        return "out_of_service"
    return "unknown"


# --- incidents -------------------------------------------------------------------------------


@router.get("/incidents/{incident_id}", responses=READ_PROBLEMS)
async def incident(request: Request, person: Reader, incident_id: IncidentId) -> dict[str, Any]:
    """One incident as dispatch has it now (units and what became of them, open resource requests,
    commander), with the first dispatch time from the live board."""
    console = _console(request)
    reply = await console.call(
        "dispatch",
        console.dispatch.GetIncident,
        dispatch_pb2.GetIncidentRequest(incident_id=incident_id),
        person,
        incident_id,
    )
    data = as_json(reply)
    folded = console.settings.live.incident(incident_id) or {}
    data["first_dispatched_at"] = folded.get("first_dispatched_at")
    data["last_event_at"] = folded.get("last_event_at")
    return data


@router.get("/incidents/{incident_id}/log", responses=READ_PROBLEMS)
async def incident_log(request: Request, person: Reader, incident_id: IncidentId) -> dict[str, Any]:
    """The incident's log, in the order it unfolded: who did what, when. Each entry has
    the shape of a live item (event id, stream, version, type, actor, times in µs, the
    payload and a one-line summary), so the page shows both alike."""
    console = _console(request)
    reply = await console.call(
        "incidents",
        console.incidents.GetIncidentLog,
        incidents_pb2.GetIncidentLogRequest(incident_id=incident_id),
        person,
        incident_id,
    )
    return {"incident_id": incident_id, "entries": [event_json(e) for e in reply.entries]}


class CallSoFar(_Body):
    """What the call taker has typed so far: the type, and where (a location, or an
    address, or both)."""

    incident_type: IncidentType
    location: Location | None = None
    address: Annotated[str, Field(max_length=limits.MAX_ADDRESS)] = ""


@router.post("/duplicates", responses=READ_PROBLEMS)
async def duplicates(request: Request, person: Reader, body: CallSoFar) -> dict[str, Any]:
    """Open incidents this call may be about (near and recent), nearest first, with the
    distance (m) and age (minutes) and the incident as the board has it. A question, not a
    write (POST only to carry the call so far): no CSRF token or key needed."""
    console = _console(request)
    reply = await console.call(
        "dispatch",
        console.dispatch.FindDuplicates,
        dispatch_pb2.FindDuplicatesRequest(
            incident_type=body.incident_type.value,
            location=_geo(body.location),
            address=body.address,
        ),
        person,
    )
    found = []
    for d in reply.duplicates:
        data = as_json(d)
        data["incident"] = console.settings.live.incident(d.incident_id)
        found.append(data)
    return {"duplicates": found}


@router.get("/incidents/{incident_id}/recommendation", responses=READ_PROBLEMS)
async def recommendation(
    request: Request,
    person: Reader,
    incident_id: IncidentId,
    alarm_level: Annotated[int, Query(ge=0, le=limits.MAX_ALARM_LEVEL)] = 0,
) -> dict[str, Any]:
    """Which units to send across every tier: each with capability, tier, ETA (s), distance
    (km) and the reason; each shortfall with its reason."""
    console = _console(request)
    reply = await console.call(
        "dispatch",
        console.dispatch.RecommendUnits,
        dispatch_pb2.RecommendUnitsRequest(incident_id=incident_id, alarm_level=alarm_level),
        person,
        incident_id,
    )
    return as_json(reply)


@router.get("/coverage", responses=READ_PROBLEMS)
async def coverage(
    request: Request,
    person: Reader,
    capability: Annotated[str, Query(max_length=32, pattern=limits.ID_PATTERN)] = "engine",
) -> dict[str, Any]:
    """The 5-minute circle now (dispatch's GetCoverage): the share of the grid reached by
    the capable units available now and with all of them in quarters, each cell's centre
    and whether it is reached (the map's layer), the districts that fell out and the
    move-up."""
    console = _console(request)
    reply = await console.call(
        "dispatch",
        console.dispatch.GetCoverage,
        dispatch_pb2.GetCoverageRequest(capability=capability),
        person,
        # the first call after a start may wait for the grid to be built
        timeout=60.0,
    )
    return as_json(reply)


@router.post("/calls", responses=WRITE_PROBLEMS)
async def take_call(
    request: Request, person: Writer, body: NewCall, key: IdempotencyKey
) -> dict[str, Any]:
    """Take a 119 call: opens an incident, or links the call to ``link_to_incident_id``
    (a duplicate). Returns the incident's id, the call's id and the incident's version."""
    if body.source in ("PHONE", "TRANSFER") and not body.caller_number.strip():
        raise Problem(
            422,
            "INVALID_ARGUMENT",
            "the caller's number is required for a call from a person",
            field="caller_number",
        )
    if body.caller_number.strip() and not re.match(
        limits.CALLER_NUMBER_PATTERN, body.caller_number.strip()
    ):
        raise Problem(
            422,
            "INVALID_ARGUMENT",
            "a phone number has 3 to 32 digits, spaces, +, - or parentheses",
            field="caller_number",
        )
    if body.location is None and not body.address.strip():
        raise Problem(
            422,
            "INVALID_ARGUMENT",
            "give the location (map or coordinates) or the address",
            field="location",
        )
    console = _console(request)
    bounds = console.settings.jurisdiction.jurisdiction.bounds
    if body.location is not None and not bounds.contains(
        body.location.latitude, body.location.longitude
    ):
        raise Problem(
            422, "INVALID_ARGUMENT", "the location is outside the jurisdiction", field="location"
        )
    reply = await console.call(
        "dispatch",
        console.dispatch.ReceiveCall,
        dispatch_pb2.ReceiveCallRequest(
            request_id=key,
            caller_number=body.caller_number.strip(),
            source=common_pb2.CallSource.Value(body.source),
            location=_geo(body.location),
            address=body.address.strip(),
            incident_type=body.incident_type.value,
            description=body.description.strip(),
            link_to_incident_id=body.link_to_incident_id,
        ),
        person,
        body.link_to_incident_id,
    )
    return as_json(reply)


@router.post("/incidents/{incident_id}/dispatch", responses=WRITE_PROBLEMS)
async def dispatch_unit(
    request: Request,
    person: Writer,
    incident_id: IncidentId,
    body: DispatchOne,
    key: IdempotencyKey,
) -> dict[str, Any]:
    """Send one unit (reserved through the units service, then alerted). ``pending``:
    the units service is down; the dispatch is kept and completed when it answers."""
    console = _console(request)
    reply = await console.call(
        "dispatch",
        console.dispatch.DispatchUnit,
        dispatch_pb2.DispatchUnitRequest(
            request_id=key,
            incident_id=incident_id,
            unit_id=body.unit_id,
            reason=body.reason or "dispatched from the console",
            capability=body.capability,
        ),
        person,
        incident_id,
    )
    return as_json(reply)


class PickOutcome(TypedDict):
    """What became of one unit of a dispatched recommendation."""

    unit_id: str
    outcome: Literal["dispatched", "pending", "refused"]
    detail: str
    status: NotRequired[int]  # the refusal's HTTP status


@router.post("/incidents/{incident_id}/dispatch-recommendation", responses=WRITE_PROBLEMS)
async def dispatch_recommendation(
    request: Request,
    person: Writer,
    incident_id: IncidentId,
    body: DispatchMany,
    key: IdempotencyKey,
) -> dict[str, Any]:
    """Send every unit picked (the recommendation, perhaps with swaps), one DispatchUnit
    each with the request id ``<Idempotency-Key>:<unit id>``, in order. Each unit's
    outcome is reported: ``dispatched``, ``pending`` or ``refused`` with the reason."""
    if len({p.unit_id for p in body.picks}) != len(body.picks):
        raise Problem(422, "INVALID_ARGUMENT", "a unit is picked twice", field="picks")
    console = _console(request)
    results: list[PickOutcome] = []
    for pick in body.picks:
        try:
            reply = await console.call(
                "dispatch",
                console.dispatch.DispatchUnit,
                dispatch_pb2.DispatchUnitRequest(
                    request_id=f"{key}:{pick.unit_id}",
                    incident_id=incident_id,
                    unit_id=pick.unit_id,
                    capability=pick.capability,
                    reason=body.reason or "recommended, dispatched from the console",
                ),
                person,
                incident_id,
            )
            results.append(
                {
                    "unit_id": pick.unit_id,
                    "outcome": "pending" if reply.pending else "dispatched",
                    "detail": reply.message,
                }
            )
        except Problem as problem:
            if problem.status in (401, 403, 404, 502, 503, 504) and not results:
                raise  # nothing went out: the whole action failed the same way
            results.append(
                {
                    "unit_id": pick.unit_id,
                    "outcome": "refused",
                    "detail": problem.detail,
                    "status": problem.status,
                }
            )
    return {"incident_id": incident_id, "results": results}


def _incident_write(
    path: str,
    summary: str,
    body_model: type[BaseModel],
    build: Callable[[str, str, Any], tuple[str, str, Message]],
) -> None:
    """One unified-command write: POST /api/incidents/{id}/<path>, answering with the
    incident as dispatch has it afterwards (a note: the note's id)."""

    async def endpoint(
        request: Request, person: Staff, incident_id: str, body: Any, key: str
    ) -> dict[str, Any]:
        console = _console(request)
        service, method, message = build(key, incident_id, body)
        stub = console.incidents if service == "incidents" else console.dispatch
        reply = await console.call(service, getattr(stub, method), message, person, incident_id)
        return as_json(reply)

    # FastAPI reads the parameters' types from the signature: give it the real ones (the
    # body's model differs per route, so it cannot be written in the definition above).
    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("request", keyword, annotation=Request),
            inspect.Parameter("person", keyword, annotation=Writer),
            inspect.Parameter("incident_id", keyword, annotation=IncidentId),
            inspect.Parameter("body", keyword, annotation=body_model),
            inspect.Parameter("key", keyword, annotation=IdempotencyKey),
        ],
        return_annotation=dict[str, Any],
    )
    endpoint.__doc__ = summary
    endpoint.__name__ = path.replace("-", "_").replace("/", "_")
    router.add_api_route(
        f"/incidents/{{incident_id}}/{path}",
        endpoint,
        methods=["POST"],
        responses=WRITE_PROBLEMS,
        summary=summary.split(".")[0],
    )


_incident_write(
    "alarm-level",
    "Raise the alarm level. The run card's difference is dispatched.",
    RaiseLevel,
    lambda key, i, b: (
        "dispatch",
        "RaiseAlarmLevel",
        dispatch_pb2.RaiseAlarmLevelRequest(
            request_id=key, incident_id=i, alarm_level=b.alarm_level, reason=b.reason
        ),
    ),
)
_incident_write(
    "requests",
    "Request more of a capability (dispatched automatically).",
    RequestForces,
    lambda key, i, b: (
        "dispatch",
        "RequestUnits",
        dispatch_pb2.RequestUnitsRequest(
            request_id=key,
            incident_id=i,
            capability=b.capability.value,
            count=b.count,
            reason=b.reason,
        ),
    ),
)
_incident_write(
    "command/assume",
    "Take command (nobody commands yet); empty commander_id: yourself.",
    Command,
    lambda key, i, b: (
        "dispatch",
        "AssumeCommand",
        dispatch_pb2.AssumeCommandRequest(
            request_id=key,
            incident_id=i,
            commander_id=b.commander_id,
            commander_name=b.commander_name,
            unit_id=b.unit_id,
        ),
    ),
)
_incident_write(
    "command/transfer",
    "Hand command over (or take it over: empty commander_id).",
    Command,
    lambda key, i, b: (
        "dispatch",
        "TransferCommand",
        dispatch_pb2.TransferCommandRequest(
            request_id=key,
            incident_id=i,
            to_commander_id=b.commander_id,
            to_commander_name=b.commander_name,
            unit_id=b.unit_id,
            reason=b.reason,
        ),
    ),
)
_incident_write(
    "under-control",
    "Mark the incident under control.",
    NoteOnly,
    lambda key, i, b: (
        "dispatch",
        "MarkUnderControl",
        dispatch_pb2.IncidentNoteRequest(request_id=key, incident_id=i, note=b.note),
    ),
)
_incident_write(
    "close",
    "Close the incident. Every unit still on it is released.",
    NoteOnly,
    lambda key, i, b: (
        "dispatch",
        "CloseIncident",
        dispatch_pb2.IncidentNoteRequest(request_id=key, incident_id=i, note=b.note),
    ),
)
_incident_write(
    "cancel",
    "Cancel the incident (false alarm: an automatic alarm dismissed; hoax ...).",
    Cancel,
    lambda key, i, b: (
        "dispatch",
        "CancelIncident",
        dispatch_pb2.CancelIncidentRequest(
            request_id=key, incident_id=i, reason=b.reason, note=b.note
        ),
    ),
)
_incident_write(
    "classify",
    "Change the incident's type: verify an automatic alarm as a fire, or correct it.",
    Classify,
    lambda key, i, b: (
        "dispatch",
        "ClassifyIncident",
        dispatch_pb2.ClassifyIncidentRequest(
            request_id=key, incident_id=i, incident_type=b.incident_type.value, note=b.note
        ),
    ),
)
_incident_write(
    "notes",
    "Add a note to the incident's record (commanders and admins).",
    NewNote,
    lambda key, i, b: (
        "incidents",
        "AddNote",
        incidents_pb2.AddNoteRequest(request_id=key, incident_id=i, text=b.text, kind=b.kind),
    ),
)


@router.post("/units/{unit_id}/status", responses=WRITE_PROBLEMS)
async def change_status(
    request: Request, person: Writer, unit_id: UnitId, body: StatusChange, key: IdempotencyKey
) -> dict[str, Any]:
    """Move a unit on (en route, on scene, returning, available, out of service ...)."""
    console = _console(request)
    reply = await console.call(
        "units",
        console.units.ChangeStatus,
        units_pb2.ChangeStatusRequest(
            request_id=key, unit_id=unit_id, status=common_pb2.UnitStatus.Value(body.status)
        ),
        person,
    )
    return as_json(reply)


# --- live ------------------------------------------------------------------------------------


@router.get(
    "/live",
    responses={**READ_PROBLEMS, 200: {"content": {"text/event-stream": {}}}},
    response_class=StreamingResponse,
)
async def live(
    request: Request,
    person: Reader,
    after: Annotated[str, Query(max_length=100, description="the last item's id, to resume")] = "",
) -> StreamingResponse:
    """Server-sent events: ``hello`` (this edge's instance and position), then a
    ``change`` per event (id ``<instance>.<seq>.<recorded µs>``), a comment every 15 s,
    ``reset`` when the page must reload the board (it fell too far behind), ``expired``
    when the session ends. ``after``: resume after that item (same instance: exactly;
    another: everything recorded since, give or take 5 s, to dedupe by event id)."""
    console = _console(request)
    await _caught_up(console)
    board = console.settings.live
    subscriber = board.subscribe()  # first: nothing folded from now on is missed
    backlog: list[Item] = []
    reset = False
    resumed = parse_cursor(after) if after else None
    if resumed is not None:
        instance, seq, recorded_us = resumed
        if instance == board.instance:
            found = board.items_after(seq)
            reset = found is None
            backlog = found or []
        else:
            backlog = board.items_since(recorded_us - SINCE_MARGIN_US)
    sent_up_to = backlog[-1].seq if backlog else 0

    async def stream() -> AsyncIterator[bytes]:
        item: Item | None
        try:
            hello = {
                "instance": board.instance,
                "seq": board.seq,
                "server_time": time.time(),
                "operator": person.operator.id,
            }
            yield f"event: hello\ndata: {json.dumps(hello)}\n\n".encode()
            if reset:
                yield b"event: reset\ndata: {}\n\n"
            for item in backlog:
                yield item.encode(board.instance)
            last_check = time.monotonic()
            while True:
                try:
                    item = await asyncio.wait_for(subscriber.queue.get(), PING_SECONDS)
                except TimeoutError:
                    item = None
                if subscriber.overflowed:
                    yield b"event: reset\ndata: {}\n\n"
                    return
                if item is not None and item.seq > sent_up_to:
                    yield item.encode(board.instance)
                if item is None:
                    yield b": ping\n\n"
                if time.monotonic() - last_check > PING_SECONDS:
                    last_check = time.monotonic()
                    try:
                        await _session_of(request, touch=False)
                    except Problem:
                        yield b"event: expired\ndata: {}\n\n"
                        return
        finally:
            board.unsubscribe(subscriber)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# --- mounting --------------------------------------------------------------------------------

_PAGE_HEADERS = {
    # Everything the page loads comes from here: no CDN, no inline script.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def install_console(app: FastAPI, settings: ConsoleSettings) -> None:
    """Mount the console on the edge's app: the API, the page, its assets, and the
    problem responses of the console's own refusals."""
    console = Console(settings)
    app.state.console = console
    app.include_router(router)
    app.router.on_startup.append(console.open)
    app.router.on_shutdown.append(console.close)

    @app.exception_handler(Problem)
    async def console_problem(_request: Request, exc: Problem) -> JSONResponse:
        return exc.response()

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", headers=_PAGE_HEADERS)

    if not (WEB_DIR / "vendor").is_dir():
        log.warning("the console's vendor assets are not built: run `make console`")
    with contextlib.suppress(RuntimeError):
        app.mount("/console", StaticFiles(directory=WEB_DIR, check_dir=False), name="console")
