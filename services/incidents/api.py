"""The incidents gRPC servicer: reads of the incident log."""

from __future__ import annotations

import grpc

from emergency.v1 import incidents_pb2, incidents_pb2_grpc
from services.common.errors import InvalidArgument, NotFound
from services.common.grpc_server import GrpcServer
from services.common.jurisdiction import Role
from services.incidents.log import IncidentLogReader

ACCESS = {"GetIncidentLog": {Role.CALL_TAKER, Role.COMMANDER, Role.ADMIN}}


class IncidentsServicer(incidents_pb2_grpc.IncidentsServiceServicer):
    def __init__(self, reader: IncidentLogReader) -> None:
        self.reader = reader

    def GetIncidentLog(
        self, request: incidents_pb2.GetIncidentLogRequest, context: grpc.ServicerContext
    ) -> incidents_pb2.IncidentLog:
        if not request.incident_id.strip():
            raise InvalidArgument("incident_id is required")
        entries = self.reader.entries(request.incident_id)
        if not entries:
            raise NotFound(
                f"no incident {request.incident_id!r} in the incident log (yet): "
                "events reach the log a few milliseconds after they are stored"
            )
        return incidents_pb2.IncidentLog(incident_id=request.incident_id, entries=entries)


def mount(server: GrpcServer, reader: IncidentLogReader) -> None:
    server.add(
        incidents_pb2_grpc.add_IncidentsServiceServicer_to_server,
        IncidentsServicer(reader),
        incidents_pb2.DESCRIPTOR.services_by_name["IncidentsService"].full_name,
    )
