"""A CAD export's incidents as ``ImportHistoricalIncidentRequest`` messages, for
``uc history import`` (the record's own ids and checks are the dispatch service's; see
``services/dispatch/history.py``). Pure: no I/O.

Times go as instants (protobuf Timestamps, UTC): the export's local times were read in
its own zone by ``services.analytics.cad``.
"""

from __future__ import annotations

from pathlib import Path

from google.protobuf.timestamp_pb2 import Timestamp

from emergency.v1 import common_pb2, dispatch_pb2
from services.analytics.cad import CadMapping
from services.analytics.history import HistoricalIncident


def timestamp(micros: int) -> Timestamp:
    """A protobuf Timestamp from µs since the epoch (as ``services.common.envelope``'s,
    without importing the event store: the ``uc`` command starts faster)."""
    return Timestamp(seconds=micros // 1_000_000, nanos=(micros % 1_000_000) * 1000)


def source_name(mapping_path: Path) -> str:
    """The export format's name in the record (``sf-calls-for-service``): the mapping
    file's stem. With an incident's number it makes the incident's id in the record."""
    return mapping_path.stem


def import_request(
    incident: HistoricalIncident, mapping: CadMapping, source: str, file_name: str
) -> dispatch_pb2.ImportHistoricalIncidentRequest:
    """The request that writes ``incident`` into the record."""
    request = dispatch_pb2.ImportHistoricalIncidentRequest(
        source=source,
        file_name=file_name,
        source_incident_id=incident.incident_id,
        call_number=incident.call_number,
        source_incident_type=incident.incident_type,
        incident_type=mapping.incident_types.get(
            incident.incident_type, mapping.default_incident_type
        ),
        location=common_pb2.GeoPoint(latitude=incident.latitude, longitude=incident.longitude),
        address=incident.address,
        district=incident.station_area,
        alarm_level=min(max(incident.alarms, 1), 5),
        received_at=timestamp(incident.received_us),
    )
    for unit in incident.units:
        entry = request.units.add(
            unit_id=unit.unit_id,
            unit_type=unit.unit_type,
            capability=unit.capability,
            dispatched_at=timestamp(unit.dispatched_us),
        )
        for name, at in (
            ("en_route_at", unit.en_route_us),
            ("on_scene_at", unit.on_scene_us),
            ("available_at", unit.available_us),
        ):
            if at is not None:
                getattr(entry, name).CopyFrom(timestamp(at))
    return request
