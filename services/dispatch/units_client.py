"""Dispatch's synchronous line to the units service: reservation, so that a unit is never
on two incidents at once. gRPC errors come back as the domain's own."""

from __future__ import annotations

import grpc

from emergency.v1 import common_pb2, units_pb2, units_pb2_grpc
from services.common.auth import forwarded_metadata
from services.common.geo import Point
from services.common.grpc_client import as_domain_error, open_channel
from services.dispatch.recommend import Candidate


class UnitsClient:
    def __init__(self, address: str, timeout: float = 5.0) -> None:
        # Retried (another replica, or this one back) before a dispatch is kept pending.
        self.channel = open_channel(address)
        self.stub = units_pb2_grpc.UnitsServiceStub(self.channel)
        self.timeout = timeout

    def reserve(self, unit_id: str, incident_id: str, request_id: str, authorization: str) -> None:
        try:
            self.stub.ReserveUnit(
                units_pb2.ReserveUnitRequest(
                    request_id=request_id, unit_id=unit_id, incident_id=incident_id
                ),
                timeout=self.timeout,
                metadata=forwarded_metadata(authorization),
            )
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "units") from None

    def release(
        self, unit_id: str, incident_id: str, request_id: str, authorization: str, reason: str
    ) -> None:
        try:
            self.stub.ReleaseUnit(
                units_pb2.ReleaseUnitRequest(
                    request_id=request_id,
                    unit_id=unit_id,
                    incident_id=incident_id,
                    reason=reason,
                ),
                timeout=self.timeout,
                metadata=forwarded_metadata(authorization),
            )
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "units") from None

    def available(self, authorization: str) -> list[Candidate]:
        """Every unit free to send (available, or returning and so already on the road)."""
        try:
            reply = self.stub.ListUnits(
                units_pb2.ListUnitsRequest(statuses=[common_pb2.AVAILABLE, common_pb2.RETURNING]),
                timeout=self.timeout,
                metadata=forwarded_metadata(authorization),
            )
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "units") from None
        return [
            Candidate(
                unit_id=u.profile.unit_id,
                station_name=u.profile.station_name,
                tier=common_pb2.Tier.Name(u.profile.tier),
                capabilities=frozenset(u.profile.capabilities),
                location=Point(u.location.latitude, u.location.longitude),
                turnout_seconds=u.profile.turnout_seconds,
                returning=u.status == common_pb2.RETURNING,
            )
            for u in reply.units
        ]

    def reservations(self, authorization: str) -> list[tuple[str, str]]:
        """(unit id, incident id) of every unit held RESERVED (not yet alerted)."""
        try:
            reply = self.stub.ListUnits(
                units_pb2.ListUnitsRequest(statuses=[common_pb2.RESERVED]),
                timeout=self.timeout,
                metadata=forwarded_metadata(authorization),
            )
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "units") from None
        return [(u.profile.unit_id, u.incident_id) for u in reply.units]

    def reserved_by(self, unit_id: str, authorization: str) -> tuple[str, int] | None:
        """The id and the time (µs) of the event that reserved the unit, if it is held."""
        try:
            reply = self.stub.GetUnit(
                units_pb2.GetUnitRequest(unit_id=unit_id, history=10),
                timeout=self.timeout,
                metadata=forwarded_metadata(authorization),
            )
        except grpc.RpcError as exc:
            raise as_domain_error(exc, "units") from None
        if reply.unit.status != common_pb2.RESERVED:
            return None
        event = next(
            (e for e in reversed(reply.history) if e.WhichOneof("payload") == "unit_reserved"), None
        )
        return None if event is None else (event.event_id, event.recorded_at.ToMicroseconds())

    def close(self) -> None:
        self.channel.close()
