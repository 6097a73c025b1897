"""Dispatch's synchronous line to the units service: reservation, so that a unit is never
on two incidents at once. gRPC errors come back as the domain's own."""

from __future__ import annotations

import grpc

from emergency.v1 import units_pb2, units_pb2_grpc
from services.common import errors

_ERRORS = {
    grpc.StatusCode.INVALID_ARGUMENT: errors.InvalidArgument,
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
    grpc.StatusCode.ABORTED: errors.Conflict,
    grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: errors.Unauthenticated,
}


class UnitsClient:
    def __init__(self, address: str, timeout: float = 5.0) -> None:
        self.channel = grpc.insecure_channel(address)
        self.stub = units_pb2_grpc.UnitsServiceStub(self.channel)
        self.timeout = timeout

    def reserve(self, unit_id: str, incident_id: str, request_id: str, authorization: str) -> None:
        try:
            self.stub.ReserveUnit(
                units_pb2.ReserveUnitRequest(
                    request_id=request_id, unit_id=unit_id, incident_id=incident_id
                ),
                timeout=self.timeout,
                metadata=[("authorization", authorization)],
            )
        except grpc.RpcError as exc:
            kind = _ERRORS.get(exc.code())
            if kind is None:
                raise errors.Unavailable(
                    f"the units service did not answer ({exc.code().name}): the dispatch is "
                    "not recorded; retry with the same request id"
                ) from None
            raise kind(exc.details()) from None

    def close(self) -> None:
        self.channel.close()
