"""The incidents gRPC servicer: translates messages to the application service's calls
and its results (views, lines, frames, reports) to messages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from emergency.v1 import common_pb2, incidents_pb2, incidents_pb2_grpc
from services.analytics.period_page import (
    incidents_csv,
    period_csv,
    period_json,
    render_period_html,
)
from services.common.auth import READERS, current_principal
from services.common.enums import IncidentStatus
from services.common.envelope import micros
from services.common.grpc_server import GrpcServer
from services.common.jurisdiction import Role
from services.incidents.app import IncidentRecord
from services.incidents.domain import AddNote, ReplayPlan, Source
from services.incidents.read_models import IncidentQuery, IncidentRow
from services.incidents.report import render_html
from services.incidents.view import TIERS, IncidentView

ACCESS = {
    "GetIncidentLog": READERS,
    "GetIncidentState": READERS,
    "SearchIncidents": READERS,
    "GetTimeline": READERS,
    "ReplayIncident": READERS,
    "GetReport": READERS,
    "GetPeriodReport": READERS,
    "AddNote": {Role.COMMANDER, Role.ADMIN},
}


def source_of(value: incidents_pb2.ReplaySource.ValueType) -> Source:
    """The contract's source as the domain's (unset: the store)."""
    return Source.KAFKA if value == incidents_pb2.KAFKA else Source.STORE


class IncidentsServicer(incidents_pb2_grpc.IncidentsServiceServicer):
    def __init__(
        self, record: IncidentRecord, zone: ZoneInfo, sources: tuple[str, ...] = ()
    ) -> None:
        """``zone``: the jurisdiction's, for the times a person reads; ``sources``: the
        data's attribution, printed on period reports (the jurisdiction's)."""
        self.record = record
        self.zone = zone
        self.sources = sources

    def GetPeriodReport(
        self, request: incidents_pb2.GetPeriodReportRequest, context: grpc.ServicerContext
    ) -> incidents_pb2.PeriodReport:
        report = self.record.period(
            micros(request.period_from) if request.HasField("period_from") else None,
            micros(request.period_to) if request.HasField("period_to") else None,
            request.district,
            self.zone,
        )
        sources = ("Incidents: the incident record of this system (imported and its own).",)
        return incidents_pb2.PeriodReport(
            json=period_json(report),
            html=render_period_html(report, sources + self.sources),
            csv=period_csv(report),
            incidents_csv=incidents_csv(report),
            incidents=len(report.incidents),
            time_zone=report.zone,
        )

    def GetIncidentLog(
        self, request: incidents_pb2.GetIncidentLogRequest, context: grpc.ServicerContext
    ) -> incidents_pb2.IncidentLog:
        entries = self.record.entries(request.incident_id, source_of(request.source))
        return incidents_pb2.IncidentLog(incident_id=request.incident_id, entries=entries)

    def GetIncidentState(
        self, request: incidents_pb2.GetIncidentStateRequest, context: grpc.ServicerContext
    ) -> incidents_pb2.IncidentState:
        at = micros(request.at) if request.HasField("at") else None
        view = self.record.state(request.incident_id, at, source_of(request.source))
        state = state_message(view)
        if at is not None:
            state.as_of.CopyFrom(request.at)
        return state

    def SearchIncidents(
        self, request: incidents_pb2.SearchIncidentsRequest, context: grpc.ServicerContext
    ) -> incidents_pb2.SearchIncidentsResponse:
        a = request.area
        rows = self.record.search(
            IncidentQuery(
                statuses=IncidentStatus.named(request.statuses),
                incident_types=tuple(request.incident_types),
                opened_from_us=micros(request.opened_from),
                opened_to_us=micros(request.opened_to),
                area=(a.south, a.west, a.north, a.east) if request.HasField("area") else None,
                limit=request.limit or 100,
            )
        )
        return incidents_pb2.SearchIncidentsResponse(incidents=[_summary(r) for r in rows])

    def GetTimeline(
        self, request: incidents_pb2.GetIncidentLogRequest, context: grpc.ServicerContext
    ) -> incidents_pb2.Timeline:
        lines = self.record.timeline(request.incident_id, source_of(request.source))
        return incidents_pb2.Timeline(
            incident_id=request.incident_id,
            entries=[
                incidents_pb2.TimelineEntry(
                    at=_timestamp(line.at_us),
                    seconds_from_start=line.seconds_from_start,
                    source=line.source,
                    event_type=line.event_type,
                    actor=line.actor,
                    summary=line.summary,
                )
                for line in lines
            ],
        )

    def ReplayIncident(
        self, request: incidents_pb2.ReplayIncidentRequest, context: grpc.ServicerContext
    ) -> Iterator[incidents_pb2.ReplayFrame]:
        plan = ReplayPlan(
            speed=request.speed,
            as_fast_as_possible=request.as_fast_as_possible,
            start_us=micros(getattr(request, "from")) if request.HasField("from") else None,
            end_us=micros(request.to) if request.HasField("to") else None,
        )
        frames = self.record.replay(
            request.incident_id,
            plan,
            source_of(request.source),
            request.with_state,
            still_wanted=context.is_active,
        )
        for frame in frames:
            message = incidents_pb2.ReplayFrame(
                index=frame.index,
                event=frame.envelope,
                seconds_from_start=frame.seconds_from_start,
                summary=frame.summary,
            )
            if frame.view is not None:
                message.state.CopyFrom(state_message(frame.view))
            yield message

    def GetReport(
        self, request: incidents_pb2.GetReportRequest, context: grpc.ServicerContext
    ) -> incidents_pb2.AfterActionReport:
        report = self.record.report(request.incident_id, source_of(request.source))
        figures = {"time_zone": self.zone.key, **report.to_dict()}  # instants stay UTC
        return incidents_pb2.AfterActionReport(
            incident_id=report.incident_id,
            html=render_html(report, self.zone),
            json=json.dumps(figures, indent=2, ensure_ascii=False),
            time_zone=self.zone.key,
        )

    def AddNote(
        self, request: incidents_pb2.AddNoteRequest, context: grpc.ServicerContext
    ) -> incidents_pb2.AddNoteResponse:
        command = AddNote(
            request.request_id, request.incident_id, request.text, request.kind or "OTHER"
        )
        note_id = self.record.add_note(command, current_principal().actor)
        return incidents_pb2.AddNoteResponse(note_id=note_id)


def _timestamp(us: int) -> Timestamp | None:
    """Unset (None) for 0: not reached."""
    if not us:
        return None
    stamp = Timestamp()
    stamp.FromMicroseconds(us)
    return stamp


def state_message(view: IncidentView) -> incidents_pb2.IncidentState:
    """An incident's state as the contract has it."""
    state = incidents_pb2.IncidentState(
        incident_id=view.incident_id,
        incident_type=view.incident_type,
        status=common_pb2.IncidentStatus.ValueType(view.status),
        alarm_level=view.alarm_level,
        address=view.address,
        commander_id=view.commander_id,
        commander_name=view.commander_name,
        calls=view.calls,
        notes=view.notes,
        events_applied=view.events_applied,
        opened_at=_timestamp(view.opened_us),
        ended_at=_timestamp(view.ended_us),
        as_of=_timestamp(view.as_of_us),
    )
    if view.location is not None:
        state.location.latitude, state.location.longitude = view.location
    for track in view.units.values():
        state.units.add(
            unit_id=track.unit_id,
            tier=track.tier if track.tier in TIERS else common_pb2.TIER_UNSPECIFIED,
            station_name=track.station_name,
            capability=track.capability,
            status=track.status,
            outcome=track.outcome,
            replaces_unit_id=track.replaces,
            dispatched_at=_timestamp(track.dispatched_us),
            alerted_at=_timestamp(track.alerted_us),
            acknowledged_at=_timestamp(track.acknowledged_us),
            en_route_at=_timestamp(track.en_route_us),
            on_scene_at=_timestamp(track.on_scene_us),
            released_at=_timestamp(track.released_us),
        )
    return state


def _summary(row: IncidentRow) -> incidents_pb2.IncidentSummary:
    where = None
    if row.latitude is not None and row.longitude is not None:
        where = common_pb2.GeoPoint(latitude=row.latitude, longitude=row.longitude)
    return incidents_pb2.IncidentSummary(
        incident_id=row.incident_id,
        incident_type=row.incident_type,
        status=common_pb2.IncidentStatus.ValueType(row.status),
        alarm_level=row.alarm_level,
        location=where,
        address=row.address,
        opened_at=_timestamp(row.opened_at),
        ended_at=_timestamp(row.ended_at),
        events=row.events,
        last_event_at=_timestamp(row.last_event_at),
    )


def mount(server: GrpcServer, servicer: IncidentsServicer) -> None:
    server.add(
        incidents_pb2_grpc.add_IncidentsServiceServicer_to_server,
        servicer,
        incidents_pb2.DESCRIPTOR.services_by_name["IncidentsService"].full_name,
    )
