"""Who is calling, and may they? Every gRPC call but health and reflection carries
``authorization: Bearer <token>``. Tokens are looked up by their SHA-256 in the
credential book built from the jurisdiction file: operators (call takers, commanders,
admins) and teams (a station's app tokens). Each method names the roles that may call
it; a method nobody named is refused, so a new RPC is closed until someone opens it.

The HTTP edge (role GATEWAY) acts for the person logged in to the console: it sends its
own token plus the metadata ``x-uc-on-behalf-of: <operator id>``, and the person (a staff
operator in the book) becomes the principal, so access checks and the recorded actor are
theirs. A GATEWAY call naming nobody, or anyone but staff, is refused; so is that
metadata from anyone but the gateway.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc

from services.common.envelope import Actor, actor_ref
from services.common.errors import PermissionDenied, Unauthenticated
from services.common.jurisdiction import STAFF_ROLES, Jurisdiction, Role, token_hash

if TYPE_CHECKING:
    from services.common.grpc_server import Continuation, Req, Resp

PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
ON_BEHALF_OF = "x-uc-on-behalf-of"  # metadata: the operator the gateway acts for
_ACTOR_KIND = {
    Role.CALL_TAKER: Actor.CALL_TAKER,
    Role.COMMANDER: Actor.COMMANDER,
    Role.ADMIN: Actor.ADMIN,
    Role.TEAM: Actor.TEAM,
    Role.SERVICE: Actor.SYSTEM,
    Role.GATEWAY: Actor.SYSTEM,
    Role.VIEWER: Actor.VIEWER,
}


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    subject: str  # operator id, or "<station id>:<credential name>" for a team
    team_id: str = ""  # the station, for a team
    via: str = ""  # the gateway that passed the person's call on, if any

    @property
    def actor(self) -> str:
        return actor_ref(_ACTOR_KIND[self.role], self.subject)


SYSTEM = Principal(Role.ADMIN, "system")
# The people who work incidents (every staff RPC admits them), and those who may read
# them: staff and read-only staff (supervisors, wall boards).
STAFF = STAFF_ROLES - {Role.VIEWER}
READERS = STAFF_ROLES
_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "principal", default=None
)
_authorization: contextvars.ContextVar[str] = contextvars.ContextVar("authorization", default="")
_on_behalf_of: contextvars.ContextVar[str] = contextvars.ContextVar("on_behalf_of", default="")


def current_authorization() -> str:
    """The caller's own ``authorization`` value, to act on its behalf in another service
    (so that service checks the same person and records them as the actor)."""
    return _authorization.get()


def forwarded_metadata(authorization: str) -> tuple[tuple[str, str], ...]:
    """Metadata for a call to another service with ``authorization``. When that is the
    current caller's own (forwarded, see ``current_authorization``) and the caller is the
    gateway acting for a person, the person is named again, so the other service checks
    and records the same person. Any other credential (a service's own) goes alone."""
    person = _on_behalf_of.get()
    if person and authorization == _authorization.get():
        return (("authorization", authorization), (ON_BEHALF_OF, person))
    return (("authorization", authorization),)


def current_principal() -> Principal:
    principal = _current.get()
    if principal is None:
        raise Unauthenticated("no caller is known for this call")
    return principal


class CredentialBook:
    def __init__(self, holders: Mapping[str, Principal]) -> None:
        self._by_hash = dict(holders)
        # Whom the gateway may act for: staff operators, by id.
        self._staff = {
            p.subject: p for p in holders.values() if p.role in STAFF_ROLES and not p.team_id
        }

    @classmethod
    def from_jurisdiction(cls, jurisdiction: Jurisdiction) -> CredentialBook:
        holders = {o.token_sha256: Principal(o.role, o.id) for o in jurisdiction.operators}
        for station in jurisdiction.stations:
            for credential in station.credentials:
                holders[credential.token_sha256] = Principal(
                    Role.TEAM, f"{station.id}:{credential.name}", station.id
                )
        return cls(holders)

    def effective(self, caller: Principal, on_behalf_of: str | None) -> Principal:
        """Who a call is made by: the caller, or the person the gateway names.

        Raises PermissionDenied for a gateway call naming nobody or no staff operator,
        and for ``x-uc-on-behalf-of`` sent by anyone but a gateway."""
        if caller.role is not Role.GATEWAY:
            if on_behalf_of is not None:
                raise PermissionDenied(
                    f"{caller.role.value} {caller.subject} may not act on behalf of another "
                    f"({ON_BEHALF_OF} is for the console's gateway only)"
                )
            return caller
        person = self._staff.get((on_behalf_of or "").strip())
        if person is None:
            raise PermissionDenied(
                f"gateway {caller.subject} must name the staff operator it acts for in "
                f"{ON_BEHALF_OF}" + (f"; {on_behalf_of!r} is not one" if on_behalf_of else "")
            )
        return Principal(person.role, person.subject, via=caller.subject)

    def authenticate(self, authorization: str) -> Principal:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated(
                "missing credentials: send the metadata 'authorization: Bearer <token>'"
            )
        principal = self._by_hash.get(token_hash(token.strip()))
        if principal is None:
            raise Unauthenticated("unknown token: it is not in the jurisdiction's credentials")
        return principal


class AuthInterceptor(grpc.ServerInterceptor):
    def __init__(self, book: CredentialBook, access: Mapping[str, Iterable[Role]]) -> None:
        """``access`` maps a method name (``RegisterUnit``) to the roles allowed to call it."""
        self.book = book
        self.access = {name: frozenset(roles) for name, roles in access.items()}

    def intercept_service(
        self,
        continuation: Continuation[Req, Resp],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Req, Resp] | None:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(PUBLIC_PREFIXES):
            return handler
        metadata = dict(handler_call_details.invocation_metadata or ())
        allowed = self.access.get(method.rsplit("/", 1)[-1], frozenset())

        authorization = str(metadata.get("authorization", ""))
        on_behalf_of = metadata.get(ON_BEHALF_OF)
        person = str(on_behalf_of) if on_behalf_of is not None else None

        def check() -> Principal:
            principal = self.book.effective(self.book.authenticate(authorization), person)
            if principal.role not in allowed:
                raise PermissionDenied(
                    f"{principal.role.value} {principal.subject} may not call "
                    f"{method.rsplit('/', 1)[-1]}"
                )
            return principal

        if handler.unary_unary:
            inner = handler.unary_unary

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                token = _current.set(check())
                forwarded = _authorization.set(authorization)
                acting_for = _on_behalf_of.set(person or "")
                try:
                    return inner(request, context)
                finally:
                    _current.reset(token)
                    _authorization.reset(forwarded)
                    _on_behalf_of.reset(acting_for)

            return grpc.unary_unary_rpc_method_handler(
                unary, handler.request_deserializer, handler.response_serializer
            )
        if handler.unary_stream:
            inner_stream = handler.unary_stream

            def stream(request: Any, context: grpc.ServicerContext) -> Any:
                token = _current.set(check())
                forwarded = _authorization.set(authorization)
                acting_for = _on_behalf_of.set(person or "")
                try:
                    yield from inner_stream(request, context)
                finally:
                    _current.reset(token)
                    _authorization.reset(forwarded)
                    _on_behalf_of.reset(acting_for)

            return grpc.unary_stream_rpc_method_handler(
                stream, handler.request_deserializer, handler.response_serializer
            )
        raise NotImplementedError(f"{method}: only unary and server-streaming calls are served")
