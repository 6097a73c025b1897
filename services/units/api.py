"""The units gRPC servicer: translate messages to commands and state to messages."""

from __future__ import annotations

import queue
from collections.abc import Iterator

import grpc

from emergency.v1 import common_pb2, units_pb2, units_pb2_grpc
from services.common.auth import READERS, STAFF, Principal, current_principal
from services.common.enums import Tier, UnitStatus
from services.common.envelope import to_envelope
from services.common.errors import InvalidArgument, PermissionDenied, Unavailable
from services.common.geo import Point
from services.common.grpc_server import GrpcServer
from services.common.jurisdiction import Role
from services.units.app import UnitsApp, alert_message
from services.units.commands import (
    AcknowledgeAlert,
    ChangeStatus,
    DeclineAlert,
    LoadJurisdiction,
    RegisterUnit,
    ReleaseUnit,
    ReportLocation,
    ReserveUnit,
)
from services.units.domain import Unit, UnitProfile
from services.units.repository import UnitFilter

ACCESS = {
    "RegisterUnit": {Role.ADMIN},
    "LoadJurisdiction": {Role.ADMIN},
    "GetUnit": READERS | {Role.TEAM, Role.SERVICE},
    "ListUnits": READERS | {Role.TEAM, Role.SERVICE},
    # dispatch's request filler re-dispatches and releases with its service credential
    "ReserveUnit": STAFF | {Role.SERVICE},
    "ReleaseUnit": STAFF | {Role.SERVICE},
    "ChangeStatus": STAFF | {Role.TEAM},
    "ReportLocation": {Role.ADMIN, Role.TEAM},
    "WatchAlerts": {Role.ADMIN, Role.TEAM},
    "ListAlerts": {Role.ADMIN, Role.TEAM, Role.VIEWER},
    "AcknowledgeAlert": STAFF | {Role.TEAM},
    "DeclineAlert": STAFF | {Role.TEAM},
    "GetJurisdiction": STAFF | {Role.TEAM, Role.SERVICE},
}


def unit_message(unit: Unit) -> units_pb2.Unit:
    where = unit.location or unit.profile.home
    return units_pb2.Unit(
        profile=unit.profile.to_message(),
        status=common_pb2.UnitStatus.ValueType(unit.status),
        incident_id=unit.incident_id,
        location=common_pb2.GeoPoint(latitude=where.latitude, longitude=where.longitude),
        version=unit.version,
    )


def unit_filter(request: units_pb2.ListUnitsRequest) -> UnitFilter:
    if request.within_km < 0:
        raise InvalidArgument("within_km cannot be negative")
    if request.within_km and not request.HasField("near"):
        raise InvalidArgument("within_km needs near (the point to measure from)")
    return UnitFilter(
        tiers=frozenset(Tier(t) for t in request.tiers),
        statuses=frozenset(UnitStatus(s) for s in request.statuses),
        capabilities=frozenset(c.strip().lower() for c in request.capabilities),
        district=request.district,
        near=(request.near.latitude, request.near.longitude) if request.HasField("near") else None,
        within_km=request.within_km,
        include_retired=request.include_retired,
    )


def _point(where: common_pb2.GeoPoint) -> Point:
    return Point(where.latitude, where.longitude)


class UnitsServicer(units_pb2_grpc.UnitsServiceServicer):
    """Translates each request into the application service's command or query, and its
    result into the reply."""

    def __init__(self, app: UnitsApp) -> None:
        self.app = app

    def RegisterUnit(
        self, request: units_pb2.RegisterUnitRequest, context: grpc.ServicerContext
    ) -> units_pb2.Unit:
        profile = UnitProfile.from_message(request.profile)
        unit = self.app.register_unit(
            RegisterUnit(request.request_id, profile), current_principal()
        )
        return unit_message(unit)

    def LoadJurisdiction(
        self, request: units_pb2.LoadJurisdictionRequest, context: grpc.ServicerContext
    ) -> units_pb2.LoadJurisdictionResponse:
        command = LoadJurisdiction(
            request.request_id, request.yaml, request.file_name or "jurisdiction"
        )
        report = self.app.load_jurisdiction(command, current_principal())
        return units_pb2.LoadJurisdictionResponse(
            registered=report.registered,
            updated=report.updated,
            retired=report.retired,
            unchanged=report.unchanged,
            kept_busy=report.kept_busy,
        )

    def GetUnit(
        self, request: units_pb2.GetUnitRequest, context: grpc.ServicerContext
    ) -> units_pb2.UnitDetail:
        unit = self.app.get_unit(request.unit_id, current_principal())
        history = self.app.units.history(unit.unit_id, request.history or 20)
        return units_pb2.UnitDetail(
            unit=unit_message(unit), history=[to_envelope(e, "units") for e in history]
        )

    def ListUnits(
        self, request: units_pb2.ListUnitsRequest, context: grpc.ServicerContext
    ) -> units_pb2.ListUnitsResponse:
        units = self.app.list_units(unit_filter(request), current_principal(), unit_message)
        return units_pb2.ListUnitsResponse(units=units)

    def ReserveUnit(
        self, request: units_pb2.ReserveUnitRequest, context: grpc.ServicerContext
    ) -> units_pb2.Unit:
        command = ReserveUnit(
            request.request_id, request.unit_id, request.incident_id, request.expected_version
        )
        return unit_message(self.app.reserve(command, current_principal()))

    def ReleaseUnit(
        self, request: units_pb2.ReleaseUnitRequest, context: grpc.ServicerContext
    ) -> units_pb2.Unit:
        command = ReleaseUnit(
            request.request_id, request.unit_id, request.incident_id, request.reason
        )
        return unit_message(self.app.release(command, current_principal()))

    def ChangeStatus(
        self, request: units_pb2.ChangeStatusRequest, context: grpc.ServicerContext
    ) -> units_pb2.Unit:
        command = ChangeStatus(request.request_id, request.unit_id, UnitStatus(request.status))
        return unit_message(self.app.change_status(command, current_principal()))

    def ReportLocation(
        self, request: units_pb2.ReportLocationRequest, context: grpc.ServicerContext
    ) -> units_pb2.Unit:
        if not request.HasField("location"):
            raise InvalidArgument("location is required")
        command = ReportLocation(request.request_id, request.unit_id, _point(request.location))
        return unit_message(self.app.report_location(command, current_principal()))

    def WatchAlerts(
        self, request: units_pb2.WatchAlertsRequest, context: grpc.ServicerContext
    ) -> Iterator[units_pb2.Alert]:
        who = current_principal()
        team_id = watched_team(request.team_id, who)
        self.app.require_team(team_id)
        inbox = self.app.hub.subscribe(team_id)
        sent: set[tuple[str, int, int]] = set()
        try:
            for alert in self.app.waiting_alerts(team_id):  # what it missed while away
                sent.add((alert.alert_id, alert.state, alert.responders_total))
                yield alert
            while context.is_active():
                try:
                    alert = inbox.get(timeout=0.5)
                except queue.Empty:
                    continue
                key = (alert.alert_id, alert.state, alert.responders_total)
                if key not in sent:
                    sent.add(key)
                    yield alert
        finally:
            self.app.hub.unsubscribe(team_id, inbox)

    def ListAlerts(
        self, request: units_pb2.WatchAlertsRequest, context: grpc.ServicerContext
    ) -> units_pb2.ListAlertsResponse:
        team_id = watched_team(request.team_id, current_principal())
        self.app.require_team(team_id)
        return units_pb2.ListAlertsResponse(alerts=self.app.waiting_alerts(team_id))

    def AcknowledgeAlert(
        self, request: units_pb2.AcknowledgeAlertRequest, context: grpc.ServicerContext
    ) -> units_pb2.Alert:
        command = AcknowledgeAlert(
            request.request_id,
            request.alert_id,
            request.unit_id,
            request.responders,
            request.eta_seconds,
            request.note,
        )
        return alert_message(self.app.acknowledge(command, current_principal()))

    def DeclineAlert(
        self, request: units_pb2.DeclineAlertRequest, context: grpc.ServicerContext
    ) -> units_pb2.Alert:
        command = DeclineAlert(
            request.request_id, request.alert_id, request.unit_id, request.reason
        )
        return alert_message(self.app.decline(command, current_principal()))

    def GetJurisdiction(
        self, request: units_pb2.GetJurisdictionRequest, context: grpc.ServicerContext
    ) -> units_pb2.JurisdictionInfo:
        meta = self.app.jurisdiction
        if meta is None:
            raise Unavailable("the jurisdiction file is not loaded yet: retry in a moment")
        b = meta.bounds
        return units_pb2.JurisdictionInfo(
            name=meta.name,
            time_zone=meta.time_zone,
            south=b.south,
            west=b.west,
            north=b.north,
            east=b.east,
        )


def watched_team(asked: str, who: Principal) -> str:
    if who.role is Role.TEAM:
        if asked and asked != who.team_id:
            raise PermissionDenied(f"team {who.team_id} may watch only its own alerts")
        return who.team_id
    if not asked:
        raise InvalidArgument("team_id is required: name the team whose alerts to watch")
    return asked


def mount(server: GrpcServer, app: UnitsApp) -> None:
    server.add(
        units_pb2_grpc.add_UnitsServiceServicer_to_server,
        UnitsServicer(app),
        units_pb2.DESCRIPTOR.services_by_name["UnitsService"].full_name,
    )
