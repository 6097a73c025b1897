"""The dispatch gRPC servicer."""

from __future__ import annotations

import grpc

from emergency.v1 import common_pb2, dispatch_pb2, dispatch_pb2_grpc
from services.common.auth import current_authorization, current_principal
from services.common.grpc_server import GrpcServer
from services.common.jurisdiction import Role
from services.dispatch.app import DispatchApp
from services.dispatch.domain import Incident

ACCESS = {
    "ReceiveCall": {Role.CALL_TAKER, Role.COMMANDER, Role.ADMIN},
    "GetIncident": {Role.CALL_TAKER, Role.COMMANDER, Role.ADMIN},
    "DispatchUnit": {Role.CALL_TAKER, Role.COMMANDER, Role.ADMIN},
    "FindDuplicates": {Role.CALL_TAKER, Role.COMMANDER, Role.ADMIN},
    "RecommendUnits": {Role.CALL_TAKER, Role.COMMANDER, Role.ADMIN},
}


def incident_message(incident: Incident) -> dispatch_pb2.Incident:
    where = incident.location
    return dispatch_pb2.Incident(
        incident_id=incident.incident_id,
        incident_type=incident.incident_type,
        location=common_pb2.GeoPoint(latitude=where.latitude, longitude=where.longitude)
        if where
        else None,
        address=incident.address,
        status=incident.status,
        call_ids=incident.call_ids,
        version=incident.version,
        alarm_level=incident.alarm_level,
        dispatched_unit_ids=incident.dispatched,
    )


class DispatchServicer(dispatch_pb2_grpc.DispatchServiceServicer):
    def __init__(self, app: DispatchApp) -> None:
        self.app = app

    def ReceiveCall(
        self, request: dispatch_pb2.ReceiveCallRequest, context: grpc.ServicerContext
    ) -> dispatch_pb2.ReceiveCallResponse:
        incident, call_id = self.app.receive_call(request, current_principal().actor)
        return dispatch_pb2.ReceiveCallResponse(
            incident_id=incident.incident_id, call_id=call_id, incident_version=incident.version
        )

    def GetIncident(
        self, request: dispatch_pb2.GetIncidentRequest, context: grpc.ServicerContext
    ) -> dispatch_pb2.Incident:
        return incident_message(self.app.get_incident(request.incident_id))

    def DispatchUnit(
        self, request: dispatch_pb2.DispatchUnitRequest, context: grpc.ServicerContext
    ) -> dispatch_pb2.DispatchUnitResponse:
        incident = self.app.dispatch_unit(
            request, current_principal().actor, current_authorization()
        )
        return dispatch_pb2.DispatchUnitResponse(
            incident_id=incident.incident_id, unit_id=request.unit_id,
            incident_version=incident.version,
        )  # fmt: skip

    def FindDuplicates(self, request, context):  # type: ignore[no-untyped-def]
        return dispatch_pb2.FindDuplicatesResponse(duplicates=[
            dispatch_pb2.LikelyDuplicate(
                incident_id=d.incident_id, incident_type=d.incident_type,
                distance_m=d.distance_m or 0.0, matched_on_address=d.distance_m is None,
                minutes_since=d.minutes_since, reason=d.reason,
            )
            for d in self.app.find_duplicates(request)
        ])  # fmt: skip

    def RecommendUnits(self, request, context):  # type: ignore[no-untyped-def]
        incident, level, result = self.app.recommend(request, current_authorization())
        return dispatch_pb2.Recommendation(
            incident_id=incident.incident_id, incident_type=incident.incident_type,
            alarm_level=level,
            picks=[
                dispatch_pb2.Recommendation.Pick(
                    slot=p.slot, unit_id=p.unit_id, station_name=p.station_name,
                    tier=common_pb2.Tier.Value(p.tier), eta_seconds=p.eta_seconds,
                    distance_km=p.distance_km, reason=p.reason,
                )
                for p in result.picks
            ],
            shortfalls=[
                dispatch_pb2.Recommendation.Shortfall(slot=s.slot, missing=s.missing,
                                                      reason=s.reason)
                for s in result.shortfalls
            ],
        )  # fmt: skip


def mount(server: GrpcServer, app: DispatchApp) -> None:
    server.add(
        dispatch_pb2_grpc.add_DispatchServiceServicer_to_server,
        DispatchServicer(app),
        dispatch_pb2.DESCRIPTOR.services_by_name["DispatchService"].full_name,
    )
