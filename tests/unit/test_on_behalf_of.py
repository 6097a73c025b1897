"""The gateway rule (services/common/auth.py): the console's edge calls with its own token
and names the person it acts for in ``x-uc-on-behalf-of``; the person is the principal.
Nobody else may send that metadata, and the gateway may not act on its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import grpc
import pytest

from services.common.auth import (
    ON_BEHALF_OF,
    AuthInterceptor,
    CredentialBook,
    Principal,
    current_principal,
    forwarded_metadata,
)
from services.common.errors import PermissionDenied, Unauthenticated
from services.common.jurisdiction import Role, parse_jurisdiction, token_hash

FILE = f"""
jurisdiction:
  name: Test City
  time_zone: Asia/Shanghai
  bounds: {{south: 28.0, west: 112.0, north: 29.0, east: 113.0}}
operators:
  - {{id: ct-01, name: Call taker, role: CALL_TAKER, token_sha256: {token_hash("t-ct")}}}
  - {{id: sup-01, name: Supervisor, role: VIEWER, token_sha256: {token_hash("t-sup")}}}
  - {{id: svc-dispatch, name: Dispatch, role: SERVICE, token_sha256: {token_hash("t-svc")}}}
  - {{id: svc-edge, name: Edge, role: GATEWAY, token_sha256: {token_hash("t-edge")}}}
stations:
  - id: VOL-01
    name: Volunteers
    tier: VOLUNTEER
    location: [28.5, 112.5]
    credentials: [{{name: phone, token_sha256: {token_hash("t-vol")}}}]
    units: [{{id: VOL-01-E1, name: Engine, capabilities: [engine]}}]
"""
ACCESS = {"Write": {Role.CALL_TAKER}, "Read": {Role.CALL_TAKER, Role.VIEWER}}


class Details(NamedTuple):
    method: str
    invocation_metadata: tuple[tuple[str, str], ...]


def call(method: str, metadata: dict[str, str], inside: Callable[[], Any] = current_principal):
    """Run ``inside`` as the body of a unary method behind the interceptor."""
    book = CredentialBook.from_jurisdiction(parse_jurisdiction(FILE))
    interceptor = AuthInterceptor(book, ACCESS)
    handler = interceptor.intercept_service(
        lambda _details: grpc.unary_unary_rpc_method_handler(lambda request, context: inside()),
        Details(f"/test.Service/{method}", tuple(metadata.items())),
    )
    return handler.unary_unary(None, None)


def test_the_gateway_acts_as_the_person_it_names() -> None:
    who = call("Write", {"authorization": "Bearer t-edge", ON_BEHALF_OF: "ct-01"})
    assert who == Principal(Role.CALL_TAKER, "ct-01", via="svc-edge")
    assert who.actor == "CALL_TAKER:ct-01"  # the person is recorded, not the edge


def test_the_persons_rights_apply_not_the_gateways() -> None:
    reader = call("Read", {"authorization": "Bearer t-edge", ON_BEHALF_OF: "sup-01"})
    assert reader.role is Role.VIEWER
    with pytest.raises(PermissionDenied, match="VIEWER sup-01 may not call Write"):
        call("Write", {"authorization": "Bearer t-edge", ON_BEHALF_OF: "sup-01"})


@pytest.mark.parametrize(
    ("named", "fragment"),
    [
        (None, "must name the staff operator"),  # the gateway on its own
        ("", "must name the staff operator"),
        ("nobody", "'nobody' is not one"),
        ("svc-dispatch", "'svc-dispatch' is not one"),  # a service is not staff
        ("svc-edge", "'svc-edge' is not one"),  # nor is the gateway itself
        ("VOL-01:phone", "is not one"),  # nor a team
    ],
)
def test_the_gateway_never_acts_for_nobody_or_non_staff(named: str | None, fragment: str) -> None:
    metadata = {"authorization": "Bearer t-edge"}
    if named is not None:
        metadata[ON_BEHALF_OF] = named
    with pytest.raises(PermissionDenied, match=fragment):
        call("Read", metadata)


@pytest.mark.parametrize("token", ["t-ct", "t-sup", "t-svc", "t-vol"])
def test_nobody_but_the_gateway_may_name_someone(token: str) -> None:
    with pytest.raises(PermissionDenied, match="may not act on behalf of another"):
        call("Read", {"authorization": f"Bearer {token}", ON_BEHALF_OF: "ct-01"})


def test_an_unknown_token_is_unauthenticated_whatever_it_names() -> None:
    with pytest.raises(Unauthenticated):
        call("Read", {"authorization": "Bearer forged", ON_BEHALF_OF: "ct-01"})


def test_calls_made_for_the_person_forward_the_person_and_others_do_not() -> None:
    def inside() -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
        return forwarded_metadata("Bearer t-edge"), forwarded_metadata("Bearer t-svc")

    own, service = call("Read", {"authorization": "Bearer t-edge", ON_BEHALF_OF: "ct-01"}, inside)
    assert own == (("authorization", "Bearer t-edge"), (ON_BEHALF_OF, "ct-01"))
    assert service == (("authorization", "Bearer t-svc"),)  # dispatch's own credential
    direct, _ = call("Read", {"authorization": "Bearer t-ct"}, inside)
    assert direct == (("authorization", "Bearer t-edge"),)  # nobody was named: nothing added
