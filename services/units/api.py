"""The units gRPC servicer: translate messages to commands and state to messages."""

from __future__ import annotations

import grpc

from emergency.v1 import common_pb2, units_pb2, units_pb2_grpc
from services.common.actors import actor_of
from services.common.grpc_server import GrpcServer
from services.units.app import UnitsApp
from services.units.domain import Unit


def unit_message(unit: Unit) -> units_pb2.Unit:
    home = unit.home
    return units_pb2.Unit(
        unit_id=unit.unit_id,
        name=unit.name,
        tier=unit.tier,
        station_id=unit.station_id,
        capabilities=unit.capabilities,
        home=(
            common_pb2.GeoPoint(latitude=home.latitude, longitude=home.longitude) if home else None
        ),
        status=unit.status,
        version=unit.version,
    )


class UnitsServicer(units_pb2_grpc.UnitsServiceServicer):
    def __init__(self, app: UnitsApp) -> None:
        self.app = app

    def RegisterUnit(
        self, request: units_pb2.RegisterUnitRequest, context: grpc.ServicerContext
    ) -> units_pb2.Unit:
        return unit_message(self.app.register_unit(request, actor_of(context)))

    def GetUnit(
        self, request: units_pb2.GetUnitRequest, context: grpc.ServicerContext
    ) -> units_pb2.Unit:
        return unit_message(self.app.get_unit(request.unit_id))


def mount(server: GrpcServer, app: UnitsApp) -> None:
    server.add(
        units_pb2_grpc.add_UnitsServiceServicer_to_server,
        UnitsServicer(app),
        units_pb2.DESCRIPTOR.services_by_name["UnitsService"].full_name,
    )
