"""The one table of error statuses: every domain error names a real gRPC status, each
status comes back to the same error class, and the HTTP edge answers with the class's code."""

from __future__ import annotations

import grpc
import pytest

from services.common import errors
from services.common.grpc_client import as_domain_error
from services.common.grpc_server import status_for

KINDS = [
    errors.InvalidArgument,
    errors.NotFound,
    errors.AlreadyExists,
    errors.FailedPrecondition,
    errors.Conflict,
    errors.Unavailable,
    errors.DeadlineExceeded,
    errors.ResourceExhausted,
    errors.Unauthenticated,
    errors.PermissionDenied,
]

TRANSIENT = {"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"}


class _Refusal(grpc.RpcError, grpc.Call):  # type: ignore[misc]
    """What a stub raises for a refused call: an RpcError that is also its Call."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def initial_metadata(self):  # type: ignore[no-untyped-def]
        return ()

    def trailing_metadata(self):  # type: ignore[no-untyped-def]
        return ()

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> None:
        return None

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback) -> bool:  # type: ignore[no-untyped-def]
        return False


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_each_error_has_a_grpc_status_and_an_http_code(kind: type[errors.DomainError]) -> None:
    code = status_for(kind("x"))
    assert code.name == kind.status
    assert 400 <= kind.http_status < 600
    assert errors.http_status_for(code.name) == kind.http_status


@pytest.mark.parametrize(
    "kind",
    [
        k
        for k in KINDS
        if k.status not in {"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"}
    ],
    ids=lambda k: k.__name__,
)
def test_a_peers_refusal_comes_back_as_the_same_error(kind: type[errors.DomainError]) -> None:
    error = as_domain_error(_Refusal(grpc.StatusCode[kind.status], "unit X is busy"), "units")
    assert type(error) is kind
    assert str(error) == "unit X is busy"


@pytest.mark.parametrize("code", sorted(TRANSIENT))
def test_a_peer_that_did_not_answer_is_unavailable_and_worth_a_retry(code: str) -> None:
    error = as_domain_error(_Refusal(grpc.StatusCode[code], ""), "units")
    assert isinstance(error, errors.Unavailable)
    assert "retry with the same request id" in str(error)


def test_a_status_no_error_stands_for_is_a_failure_of_the_service_behind() -> None:
    assert errors.error_for("INTERNAL") is None
    assert errors.http_status_for("INTERNAL") == 502
    assert status_for(errors.DomainError("?")) is grpc.StatusCode.UNKNOWN
