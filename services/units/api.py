"""The units gRPC servicer: translate messages to commands and state to messages."""

from __future__ import annotations

import queue

from emergency.v1 import common_pb2, units_pb2, units_pb2_grpc
from services.common.auth import Principal, current_principal
from services.common.envelope import to_envelope
from services.common.errors import InvalidArgument, PermissionDenied
from services.common.grpc_server import GrpcServer
from services.common.jurisdiction import Role
from services.units.app import UnitsApp, alert_message
from services.units.board import UnitFilter
from services.units.domain import Unit

STAFF = {Role.CALL_TAKER, Role.COMMANDER, Role.ADMIN}
ACCESS = {
    "RegisterUnit": {Role.ADMIN},
    "LoadJurisdiction": {Role.ADMIN},
    "GetUnit": STAFF | {Role.TEAM, Role.SERVICE, Role.VIEWER},
    "ListUnits": STAFF | {Role.TEAM, Role.SERVICE, Role.VIEWER},
    # dispatch's need filler re-dispatches and releases with its service credential
    "ReserveUnit": STAFF | {Role.SERVICE},
    "ReleaseUnit": STAFF | {Role.SERVICE},
    "ChangeStatus": STAFF | {Role.TEAM},
    "ReportLocation": {Role.ADMIN, Role.TEAM},
    "WatchAlerts": {Role.ADMIN, Role.TEAM},
    "ListAlerts": {Role.ADMIN, Role.TEAM, Role.VIEWER},
    "AcknowledgeAlert": STAFF | {Role.TEAM},
    "DeclineAlert": STAFF | {Role.TEAM},
}


def unit_message(unit: Unit) -> units_pb2.Unit:
    where = unit.location
    return units_pb2.Unit(
        profile=unit.profile,
        status=unit.status,
        incident_id=unit.incident_id,
        location=(
            common_pb2.GeoPoint(latitude=where.latitude, longitude=where.longitude)
            if where
            else unit.profile.home
        ),
        version=unit.version,
    )


def unit_filter(request: units_pb2.ListUnitsRequest) -> UnitFilter:
    if request.within_km < 0:
        raise InvalidArgument("within_km cannot be negative")
    if request.within_km and not request.HasField("near"):
        raise InvalidArgument("within_km needs near (the point to measure from)")
    return UnitFilter(
        tiers=frozenset(request.tiers),
        statuses=frozenset(request.statuses),
        capabilities=frozenset(c.strip().lower() for c in request.capabilities),
        district=request.district,
        near=(request.near.latitude, request.near.longitude) if request.HasField("near") else None,
        within_km=request.within_km,
        include_retired=request.include_retired,
    )


class UnitsServicer(units_pb2_grpc.UnitsServiceServicer):
    def __init__(self, app: UnitsApp) -> None:
        self.app = app

    def RegisterUnit(self, request, context):  # type: ignore[no-untyped-def]
        return unit_message(self.app.register_unit(request, current_principal()))

    def LoadJurisdiction(self, request, context):  # type: ignore[no-untyped-def]
        return self.app.load_jurisdiction(request, current_principal())

    def GetUnit(self, request, context):  # type: ignore[no-untyped-def]
        unit = self.app.get_unit(request.unit_id, current_principal())
        history = self.app.board.history(unit.unit_id, request.history or 20)
        return units_pb2.UnitDetail(
            unit=unit_message(unit), history=[to_envelope(e, "units") for e in history]
        )

    def ListUnits(self, request, context):  # type: ignore[no-untyped-def]
        units = self.app.list_units(unit_filter(request), current_principal(), unit_message)
        return units_pb2.ListUnitsResponse(units=units)

    def ReserveUnit(self, request, context):  # type: ignore[no-untyped-def]
        return unit_message(self.app.reserve(request, current_principal()))

    def ReleaseUnit(self, request, context):  # type: ignore[no-untyped-def]
        return unit_message(self.app.release(request, current_principal()))

    def ChangeStatus(self, request, context):  # type: ignore[no-untyped-def]
        return unit_message(self.app.change_status(request, current_principal()))

    def ReportLocation(self, request, context):  # type: ignore[no-untyped-def]
        return unit_message(self.app.report_location(request, current_principal()))

    def WatchAlerts(self, request, context):  # type: ignore[no-untyped-def]
        who = current_principal()
        team_id = watched_team(request.team_id, who)
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

    def ListAlerts(self, request, context):  # type: ignore[no-untyped-def]
        team_id = watched_team(request.team_id, current_principal())
        return units_pb2.ListAlertsResponse(alerts=self.app.waiting_alerts(team_id))

    def AcknowledgeAlert(self, request, context):  # type: ignore[no-untyped-def]
        return alert_message(self.app.acknowledge(request, current_principal()))

    def DeclineAlert(self, request, context):  # type: ignore[no-untyped-def]
        return alert_message(self.app.decline(request, current_principal()))


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
