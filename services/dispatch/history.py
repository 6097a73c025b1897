"""Historical incidents (from a CAD export) as events of the record. Pure: no I/O.

An imported incident is written to a stream of its own namespace, ``history-<id>``,
never ``incident-<id>``: dispatch's incident repository (and so the request filler and
the active board) reads only ``incident-`` streams, the units service alerts nobody for
a dispatch in a history stream, and the console's live board skips them. The incident
log, replay, the after-action report and the period report read them like any other
incident: the events are the ordinary ones (``CallReceived``, ``IncidentCreated``,
``UnitDispatched``, ``UnitAlerted``, ``UnitStatusChanged``, ``AssignmentEnded``,
``IncidentClosed``), after an ``IncidentImported`` that says where they came from, each
at its original instant and with the actor ``SYSTEM:import:<file>``.

The incident's id derives from (source, source incident id) with UUID version 5, so the
same incident imported again (the same file twice, or a later export that repeats it)
lands on the same stream and adds nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from google.protobuf.message import Message

from emergency.v1 import common_pb2, events_pb2
from services.common.envelope import Actor, actor_ref, timestamp
from services.common.errors import InvalidArgument
from services.common.geo import Point
from services.common.jurisdiction import CAPABILITIES, Jurisdiction
from services.common.streams import HISTORY_PREFIX

# The namespace of imported incidents' ids (uuid5 of "<source>:<source incident id>").
HISTORY_NAMESPACE = uuid.UUID("5b0a7a52-3f7e-5c1e-9d0e-0e5d7f1c4a19")
_EN_ROUTE = common_pb2.UnitStatus.Value("EN_ROUTE")
_ON_SCENE = common_pb2.UnitStatus.Value("ON_SCENE")
_ALERTED = common_pb2.UnitStatus.Value("ALERTED")
_RELEASED = events_pb2.AssignmentEnded.Outcome.Value("RELEASED")


def history_stream(incident_id: str) -> str:
    return f"{HISTORY_PREFIX}{incident_id}"


def historical_incident_id(source: str, source_incident_id: str) -> str:
    """The record's id of an imported incident: the same for the same export incident."""
    return str(uuid.uuid5(HISTORY_NAMESPACE, f"{source}:{source_incident_id}"))


def import_actor(file_name: str) -> str:
    """The actor recorded on an imported incident's events: ``SYSTEM:import:<file>`` (the
    name cut to fit the store's 200-character actor column)."""
    return actor_ref(Actor.SYSTEM, f"import:{file_name[:180]}")


@dataclass(frozen=True, slots=True)
class HistoricalUnitTimes:
    """One unit on a historical incident; times in µs since the epoch (UTC), None: not
    recorded."""

    unit_id: str
    unit_type: str
    capability: str
    dispatched_us: int | None
    en_route_us: int | None = None
    on_scene_us: int | None = None
    available_us: int | None = None


@dataclass(frozen=True, slots=True)
class ImportHistoricalIncident:
    """The command: one incident of a CAD export, as ``ImportHistoricalIncidentRequest``."""

    source: str
    file_name: str
    source_incident_id: str
    call_number: str
    source_incident_type: str
    incident_type: str
    location: Point | None
    address: str
    district: str
    alarm_level: int
    received_us: int | None
    units: tuple[HistoricalUnitTimes, ...]


@dataclass(frozen=True, slots=True)
class KnownUnit:
    """What the jurisdiction says of a unit: its station (id and name) and tier."""

    station_id: str
    station_name: str
    tier: int


def known_units(jurisdiction: Jurisdiction) -> dict[str, KnownUnit]:
    """Every unit of the jurisdiction by id: where it is quartered, and its tier."""
    return {
        unit.id: KnownUnit(station.id, station.name, common_pb2.Tier.Value(station.tier.value))
        for station, unit in jurisdiction.units()
    }


def check_import(command: ImportHistoricalIncident, units: Mapping[str, KnownUnit]) -> None:
    """Refuse (``InvalidArgument`` naming the field) an incident that cannot be recorded
    whole: nothing of it is written then."""
    if not command.source.strip():
        raise InvalidArgument("source is required: the export's format, e.g. sf-calls-for-service")
    if not command.source_incident_id.strip():
        raise InvalidArgument("source_incident_id is required: the incident's number in the export")
    if command.location is None:
        raise InvalidArgument(
            "location is required: a historical incident without a place is left out"
        )
    Point.checked(command.location.latitude, command.location.longitude, "location")
    if command.received_us is None:
        raise InvalidArgument("received_at is required: when the call was received")
    if not command.units:
        raise InvalidArgument("units is empty: a historical incident needs at least one unit")
    seen: set[str] = set()
    for index, unit in enumerate(command.units):
        where = f"units[{index}]"
        if unit.unit_id not in units:
            raise InvalidArgument(
                f"{where}.unit_id {unit.unit_id!r} is not a unit of the jurisdiction"
            )
        if unit.unit_id in seen:
            raise InvalidArgument(f"{where}.unit_id {unit.unit_id!r} is on the incident twice")
        seen.add(unit.unit_id)
        if unit.capability not in CAPABILITIES:
            raise InvalidArgument(
                f"{where}.capability {unit.capability!r} is unknown; known: {sorted(CAPABILITIES)}"
            )
        if unit.dispatched_us is None:
            raise InvalidArgument(f"{where}.dispatched_at is required")
        order = [
            ("received_at", command.received_us),
            (f"{where}.dispatched_at", unit.dispatched_us),
            (f"{where}.en_route_at", unit.en_route_us),
            (f"{where}.on_scene_at", unit.on_scene_us),
            (f"{where}.available_at", unit.available_us),
        ]
        before: tuple[str, int] | None = None
        for name, at in order:
            if at is None:
                continue
            if before is not None and at < before[1]:
                raise InvalidArgument(f"{name} is before {before[0]}: the times are out of order")
            before = (name, at)


def historical_events(
    command: ImportHistoricalIncident,
    incident_id: str,
    units: Mapping[str, KnownUnit],
    imported_by: str,
) -> list[tuple[int, Message]]:
    """The incident's events with their instants (µs), in the order they happened
    (``IncidentImported`` first). ``check_import`` has passed."""
    assert command.location is not None and command.received_us is not None
    received = command.received_us
    where = common_pb2.GeoPoint(
        latitude=command.location.latitude, longitude=command.location.longitude
    )
    call_id = str(uuid.uuid5(HISTORY_NAMESPACE, f"{incident_id}:call"))
    head: list[tuple[int, Message]] = [
        (
            received,
            events_pb2.IncidentImported(
                incident_id=incident_id,
                source=command.source,
                source_incident_id=command.source_incident_id,
                call_number=command.call_number,
                source_incident_type=command.source_incident_type,
                district=command.district,
                file_name=command.file_name,
                imported_by=imported_by,
                units=[
                    events_pb2.ImportedUnit(
                        unit_id=u.unit_id,
                        unit_type=u.unit_type,
                        station_id=units[u.unit_id].station_id,
                    )
                    for u in command.units
                ],
            ),
        ),
        (
            received,
            events_pb2.CallReceived(
                call_id=call_id,
                source=common_pb2.CallSource.Value("PHONE"),
                location=where,
                address=command.address,
                incident_type=command.incident_type,
                description=f"{command.source_incident_type} (call {command.call_number})",
            ),
        ),
        (
            received,
            events_pb2.IncidentCreated(
                incident_id=incident_id,
                call_id=call_id,
                incident_type=command.incident_type,
                location=where,
                address=command.address,
                opened_at=timestamp(received),
                alarm_level=command.alarm_level or 1,
            ),
        ),
    ]
    timed: list[tuple[int, Message]] = []
    last = received
    for unit in command.units:
        assert unit.dispatched_us is not None
        known = units[unit.unit_id]
        timed += [
            (
                unit.dispatched_us,
                events_pb2.UnitDispatched(
                    incident_id=incident_id,
                    unit_id=unit.unit_id,
                    incident_type=command.incident_type,
                    location=where,
                    address=command.address,
                    reason=f"historical dispatch ({unit.unit_type})",
                    capability=unit.capability,
                ),
            ),
            (
                unit.dispatched_us,
                events_pb2.UnitAlerted(
                    unit_id=unit.unit_id,
                    alert_id=str(uuid.uuid5(HISTORY_NAMESPACE, f"{incident_id}:{unit.unit_id}")),
                    incident_id=incident_id,
                    team_id=known.station_id,
                    incident_type=command.incident_type,
                    location=where,
                    address=command.address,
                    alerted_at=timestamp(unit.dispatched_us),
                    tier=common_pb2.Tier.ValueType(known.tier),
                    station_name=known.station_name,
                ),
            ),
        ]
        for at, status, from_status in (
            (unit.en_route_us, _EN_ROUTE, _ALERTED),
            (unit.on_scene_us, _ON_SCENE, _EN_ROUTE),
        ):
            if at is not None:
                timed.append(
                    (
                        at,
                        events_pb2.UnitStatusChanged(
                            unit_id=unit.unit_id,
                            from_status=from_status,
                            to_status=status,
                            incident_id=incident_id,
                        ),
                    )
                )
        if unit.available_us is not None:
            timed.append(
                (
                    unit.available_us,
                    events_pb2.AssignmentEnded(
                        incident_id=incident_id,
                        unit_id=unit.unit_id,
                        outcome=_RELEASED,
                        reason="available again",
                    ),
                )
            )
        last = max(
            [last]
            + [
                t
                for t in (unit.dispatched_us, unit.en_route_us, unit.on_scene_us, unit.available_us)
                if t is not None
            ]
        )
    # Stable: events at one instant keep the order they were made in (per unit: dispatch
    # before alert; units in dispatch order).
    timed.sort(key=lambda pair: pair[0])
    closing = (last, events_pb2.IncidentClosed(incident_id=incident_id, note="imported history"))
    return head + timed + [closing]
