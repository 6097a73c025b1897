"""The dispatch gRPC servicer."""

from __future__ import annotations

import grpc

from emergency.v1 import common_pb2, dispatch_pb2, dispatch_pb2_grpc
from services.common.auth import current_authorization, current_principal
from services.common.envelope import timestamp
from services.common.grpc_server import GrpcServer
from services.common.jurisdiction import Role
from services.dispatch.app import DispatchApp
from services.dispatch.domain import Incident

STAFF = {Role.CALL_TAKER, Role.COMMANDER, Role.ADMIN}
ACCESS = {
    name: STAFF
    for name in (
        "ReceiveCall", "DispatchUnit", "RaiseAlarmLevel", "RequestUnits", "AssumeCommand",
        "TransferCommand", "MarkUnderControl", "CloseIncident", "CancelIncident",
        "ClassifyIncident",
    )
} | {
    # reads: read-only staff (supervisors, wall boards) too
    name: STAFF | {Role.VIEWER}
    for name in ("GetIncident", "FindDuplicates", "RecommendUnits", "ListIncidents")
}  # fmt: skip


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
        commander_id=incident.commander_id,
        commander_name=incident.commander_name,
        assignments=[
            dispatch_pb2.Assignment(
                unit_id=a.unit_id, slot=a.slot, state=a.state, reason=a.reason,
                replaces_unit_id=a.replaces, ended_reason=a.ended_reason,
            )
            for a in incident.assignments.values()
        ],
        open_needs=[
            dispatch_pb2.Need(
                need_id=n.need_id, slot=n.slot, remaining=n.remaining, unit_id=n.unit_id,
                reason=n.reason, unavailable_reason=n.unavailable_reason,
            )
            for n in incident.needs.values()
        ],
        opened_at=timestamp(incident.opened_at_us),
    )  # fmt: skip


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
        incident, pending = self.app.dispatch_unit(
            request, current_principal().actor, current_authorization()
        )
        return dispatch_pb2.DispatchUnitResponse(
            incident_id=incident.incident_id, unit_id=request.unit_id,
            incident_version=incident.version, pending=pending,
            message=(
                "the units service is unreachable: the dispatch is recorded and will be "
                "completed as soon as it answers (see the incident's open needs)"
                if pending else ""
            ),
        )  # fmt: skip

    def ListIncidents(self, request, context):  # type: ignore[no-untyped-def]
        found = self.app.list_incidents(set(request.statuses), request.limit)
        return dispatch_pb2.ListIncidentsResponse(incidents=[incident_message(i) for i in found])

    def RaiseAlarmLevel(self, request, context):  # type: ignore[no-untyped-def]
        return incident_message(self.app.raise_alarm(request, current_principal().actor))

    def RequestUnits(self, request, context):  # type: ignore[no-untyped-def]
        return incident_message(self.app.request_units(request, current_principal().actor))

    def AssumeCommand(self, request, context):  # type: ignore[no-untyped-def]
        return incident_message(self.app.assume_command(request, current_principal().actor))

    def TransferCommand(self, request, context):  # type: ignore[no-untyped-def]
        return incident_message(self.app.transfer_command(request, current_principal().actor))

    def MarkUnderControl(self, request, context):  # type: ignore[no-untyped-def]
        return incident_message(self.app.mark_under_control(request, current_principal().actor))

    def CloseIncident(self, request, context):  # type: ignore[no-untyped-def]
        return incident_message(self.app.close(request, current_principal().actor))

    def CancelIncident(self, request, context):  # type: ignore[no-untyped-def]
        return incident_message(self.app.cancel(request, current_principal().actor))

    def ClassifyIncident(self, request, context):  # type: ignore[no-untyped-def]
        return incident_message(self.app.classify(request, current_principal().actor))

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
