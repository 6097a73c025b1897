"""The dispatch gRPC servicer."""

from __future__ import annotations

import grpc
import numpy as np
from google.protobuf.message import Message
from numpy.typing import NDArray

from emergency.v1 import common_pb2, dispatch_pb2, dispatch_pb2_grpc
from services.analytics.coverage import CIRCLE_S, Grid
from services.analytics.coverage import Unit as CoverageUnit
from services.common.auth import READERS, STAFF, current_authorization, current_principal
from services.common.enums import CallSource, IncidentStatus
from services.common.envelope import micros, timestamp
from services.common.geo import Point
from services.common.grpc_server import GrpcServer
from services.common.jurisdiction import Role
from services.dispatch.app import DispatchApp
from services.dispatch.commands import (
    AssumeCommand,
    CancelIncident,
    CancelResourceRequest,
    ClassifyIncident,
    CloseIncident,
    DispatchUnit,
    IncidentCommand,
    MarkUnderControl,
    RaiseAlarmLevel,
    ReceiveCall,
    RequestUnits,
    TransferCommand,
)
from services.dispatch.domain import Incident
from services.dispatch.history import HistoricalUnitTimes, ImportHistoricalIncident

ACCESS = (
    {
        name: STAFF
        for name in (
            "ReceiveCall",
            "DispatchUnit",
            "RaiseAlarmLevel",
            "RequestUnits",
            "AssumeCommand",
            "TransferCommand",
            "MarkUnderControl",
            "CloseIncident",
            "CancelIncident",
            "ClassifyIncident",
            "CancelResourceRequest",
        )
    }
    | {
        # reads: read-only staff (supervisors, wall boards) too
        name: READERS
        for name in (
            "GetIncident",
            "FindDuplicates",
            "RecommendUnits",
            "ListIncidents",
            "GetCoverage",
        )
    }
    | {
        # history goes into the record by an administrator only
        "ImportHistoricalIncident": {Role.ADMIN},
    }
)


def incident_message(incident: Incident) -> dispatch_pb2.Incident:
    where = incident.location
    return dispatch_pb2.Incident(
        incident_id=incident.incident_id,
        incident_type=incident.incident_type,
        location=common_pb2.GeoPoint(latitude=where.latitude, longitude=where.longitude)
        if where
        else None,
        address=incident.address,
        status=common_pb2.IncidentStatus.ValueType(incident.status),
        call_ids=incident.call_ids,
        version=incident.version,
        alarm_level=incident.alarm_level,
        dispatched_unit_ids=incident.dispatched,
        commander_id=incident.commander_id,
        commander_name=incident.commander_name,
        assignments=[
            dispatch_pb2.Assignment(
                unit_id=a.unit_id,
                capability=a.capability,
                state=a.state,
                reason=a.reason,
                replaces_unit_id=a.replaces,
                ended_reason=a.ended_reason,
            )
            for a in incident.assignments.values()
        ],
        open_requests=[
            dispatch_pb2.ResourceRequest(
                resource_request_id=n.resource_request_id,
                capability=n.capability,
                remaining=n.remaining,
                unit_id=n.unit_id,
                reason=n.reason,
                unavailable_reason=n.unavailable_reason,
            )
            for n in incident.resource_requests.values()
        ],
        opened_at=timestamp(incident.opened_at_us),
    )


def _point(where: common_pb2.GeoPoint | None) -> Point | None:
    return Point(where.latitude, where.longitude) if where is not None else None


class DispatchServicer(dispatch_pb2_grpc.DispatchServiceServicer):
    """Translates each request into the application service's command or query, and its
    result into the reply."""

    def __init__(self, app: DispatchApp) -> None:
        self.app = app

    def ReceiveCall(
        self, request: dispatch_pb2.ReceiveCallRequest, context: grpc.ServicerContext
    ) -> dispatch_pb2.ReceiveCallResponse:
        command = ReceiveCall(
            request_id=request.request_id,
            incident_type=request.incident_type,
            source=CallSource(request.source),
            caller_number=request.caller_number,
            location=_point(request.location) if request.HasField("location") else None,
            address=request.address,
            description=request.description,
            link_to_incident_id=request.link_to_incident_id,
        )
        incident, call_id = self.app.receive_call(command, current_principal().actor)
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
        command = DispatchUnit(
            request.request_id,
            request.incident_id,
            request.unit_id,
            request.reason,
            request.capability,
        )
        incident, pending = self.app.dispatch_unit(
            command, current_principal().actor, current_authorization()
        )
        return dispatch_pb2.DispatchUnitResponse(
            incident_id=incident.incident_id,
            unit_id=request.unit_id,
            incident_version=incident.version,
            pending=pending,
            message=(
                "the units service is unreachable: the dispatch is recorded and will be "
                "completed as soon as it answers (see the incident's open_requests)"
                if pending
                else ""
            ),
        )

    def ListIncidents(
        self, request: dispatch_pb2.ListIncidentsRequest, context: grpc.ServicerContext
    ) -> dispatch_pb2.ListIncidentsResponse:
        found = self.app.list_incidents(IncidentStatus.named(request.statuses), request.limit)
        return dispatch_pb2.ListIncidentsResponse(incidents=[incident_message(i) for i in found])

    def _handle(self, command: IncidentCommand) -> dispatch_pb2.Incident:
        return incident_message(self.app.handle(command, current_principal().actor))

    def RaiseAlarmLevel(
        self, request: dispatch_pb2.RaiseAlarmLevelRequest, context: grpc.ServicerContext
    ) -> dispatch_pb2.Incident:
        return self._handle(
            RaiseAlarmLevel(
                request.request_id, request.incident_id, request.alarm_level, request.reason
            )
        )

    def RequestUnits(
        self, request: dispatch_pb2.RequestUnitsRequest, context: grpc.ServicerContext
    ) -> dispatch_pb2.Incident:
        return self._handle(
            RequestUnits(
                request.request_id,
                request.incident_id,
                request.capability,
                request.count,
                request.reason,
            )
        )

    def AssumeCommand(
        self, request: dispatch_pb2.AssumeCommandRequest, context: grpc.ServicerContext
    ) -> dispatch_pb2.Incident:
        return self._handle(
            AssumeCommand(
                request.request_id,
                request.incident_id,
                request.commander_id,
                request.commander_name,
                request.unit_id,
            )
        )

    def TransferCommand(
        self, request: dispatch_pb2.TransferCommandRequest, context: grpc.ServicerContext
    ) -> dispatch_pb2.Incident:
        return self._handle(
            TransferCommand(
                request.request_id,
                request.incident_id,
                request.to_commander_id,
                request.to_commander_name,
                request.unit_id,
                request.reason,
            )
        )

    def MarkUnderControl(
        self, request: dispatch_pb2.IncidentNoteRequest, context: grpc.ServicerContext
    ) -> dispatch_pb2.Incident:
        return self._handle(
            MarkUnderControl(
                request.request_id, request.incident_id, request.note, request.keep_requests
            )
        )

    def CloseIncident(
        self, request: dispatch_pb2.IncidentNoteRequest, context: grpc.ServicerContext
    ) -> dispatch_pb2.Incident:
        return self._handle(CloseIncident(request.request_id, request.incident_id, request.note))

    def CancelIncident(
        self, request: dispatch_pb2.CancelIncidentRequest, context: grpc.ServicerContext
    ) -> dispatch_pb2.Incident:
        return self._handle(
            CancelIncident(request.request_id, request.incident_id, request.reason, request.note)
        )

    def ClassifyIncident(
        self, request: dispatch_pb2.ClassifyIncidentRequest, context: grpc.ServicerContext
    ) -> dispatch_pb2.Incident:
        return self._handle(
            ClassifyIncident(
                request.request_id, request.incident_id, request.incident_type, request.note
            )
        )

    def CancelResourceRequest(
        self, request: dispatch_pb2.CancelResourceRequestRequest, context: grpc.ServicerContext
    ) -> dispatch_pb2.Incident:
        return self._handle(
            CancelResourceRequest(
                request.request_id, request.incident_id, request.resource_request_id, request.reason
            )
        )

    def FindDuplicates(
        self, request: dispatch_pb2.FindDuplicatesRequest, context: grpc.ServicerContext
    ) -> dispatch_pb2.FindDuplicatesResponse:
        where = _point(request.location) if request.HasField("location") else None
        found = self.app.find_duplicates(request.incident_type, where, request.address)
        return dispatch_pb2.FindDuplicatesResponse(
            duplicates=[
                dispatch_pb2.LikelyDuplicate(
                    incident_id=d.incident_id,
                    incident_type=d.incident_type,
                    distance_m=d.distance_m or 0.0,
                    matched_on_address=d.distance_m is None,
                    minutes_since=d.minutes_since,
                    reason=d.reason,
                )
                for d in found
            ]
        )

    def RecommendUnits(
        self, request: dispatch_pb2.RecommendUnitsRequest, context: grpc.ServicerContext
    ) -> dispatch_pb2.Recommendation:
        incident, level, result = self.app.recommend(
            request.incident_id, request.alarm_level, current_authorization()
        )
        return dispatch_pb2.Recommendation(
            incident_id=incident.incident_id,
            incident_type=incident.incident_type,
            alarm_level=level,
            picks=[
                dispatch_pb2.Recommendation.Pick(
                    capability=p.capability,
                    unit_id=p.unit_id,
                    station_name=p.station_name,
                    tier=common_pb2.Tier.Value(p.tier),
                    eta_seconds=p.eta_seconds,
                    distance_km=p.distance_km,
                    reason=p.reason,
                )
                for p in result.picks
            ],
            shortfalls=[
                dispatch_pb2.Recommendation.Shortfall(
                    capability=s.capability, missing=s.missing, reason=s.reason
                )
                for s in result.shortfalls
            ],
        )

    def GetCoverage(
        self, request: dispatch_pb2.GetCoverageRequest, context: grpc.ServicerContext
    ) -> dispatch_pb2.Coverage:
        impact, capable, committed = self.app.coverage_now(
            request.capability, current_authorization()
        )
        grid = self.app.coverage_grid()
        reached_now = _reached(grid, [u for u in capable if u.unit_id not in committed])
        move = impact.move_up
        return dispatch_pb2.Coverage(
            capability=request.capability or "engine",
            limit_seconds=CIRCLE_S,
            share_all=impact.before.share or 0.0,
            share_now=impact.after.share or 0.0,
            capable_units=len(capable),
            available_units=len(capable) - len(committed),
            committed_unit_ids=sorted(committed),
            cell_m=grid.cell_m,
            latitudes=grid.lats.tolist(),
            longitudes=grid.lons.tolist(),
            covered=reached_now.tolist(),
            fallen=[
                dispatch_pb2.Coverage.District(
                    district=d.district, share_all=d.before or 0.0, share_now=d.after or 0.0
                )
                for d in impact.fallen
            ],
            move_up=dispatch_pb2.Coverage.MoveUp(
                unit_id=move.unit_id,
                from_station=move.from_station,
                to_station=move.to_station,
                share_before=move.before,
                share_after=move.after,
            )
            if move
            else None,
        )

    def ImportHistoricalIncident(
        self,
        request: dispatch_pb2.ImportHistoricalIncidentRequest,
        context: grpc.ServicerContext,
    ) -> dispatch_pb2.ImportHistoricalIncidentResponse:
        incident_id, imported, events = self.app.import_history(
            import_command(request), current_principal().actor
        )
        return dispatch_pb2.ImportHistoricalIncidentResponse(
            incident_id=incident_id, imported=imported, events=events
        )


def _reached(grid: Grid, units: list[CoverageUnit]) -> NDArray[np.bool_]:
    """Per cell: whether one of ``units`` reaches it within the circle's limit."""
    row = {s: i for i, s in enumerate(grid.station_ids)}
    reached = np.zeros(len(grid), dtype=bool)
    for unit in units:
        reached |= grid.travel_s[row[unit.station]] + unit.turnout_s <= CIRCLE_S
    return reached


def _instant(message: Message, name: str) -> int | None:
    """A Timestamp field as µs since the epoch; None when it is unset."""
    return micros(getattr(message, name)) if message.HasField(name) else None


def import_command(
    request: dispatch_pb2.ImportHistoricalIncidentRequest,
) -> ImportHistoricalIncident:
    """The request as the application's command (times as µs, unset as None)."""
    return ImportHistoricalIncident(
        source=request.source,
        file_name=request.file_name,
        source_incident_id=request.source_incident_id,
        call_number=request.call_number,
        source_incident_type=request.source_incident_type,
        incident_type=request.incident_type,
        location=_point(request.location) if request.HasField("location") else None,
        address=request.address,
        district=request.district,
        alarm_level=request.alarm_level,
        received_us=_instant(request, "received_at"),
        units=tuple(
            HistoricalUnitTimes(
                unit_id=u.unit_id,
                unit_type=u.unit_type,
                capability=u.capability,
                dispatched_us=_instant(u, "dispatched_at"),
                en_route_us=_instant(u, "en_route_at"),
                on_scene_us=_instant(u, "on_scene_at"),
                available_us=_instant(u, "available_at"),
            )
            for u in request.units
        ),
    )


def mount(server: GrpcServer, app: DispatchApp) -> None:
    server.add(
        dispatch_pb2_grpc.add_DispatchServiceServicer_to_server,
        DispatchServicer(app),
        dispatch_pb2.DESCRIPTOR.services_by_name["DispatchService"].full_name,
    )
