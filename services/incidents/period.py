"""The period report from the record: each incident's log folded (``view.fold``) and
read as the analytics' ``HistoricalIncident``, so the same definitions
(``services.analytics.period``) give the figures whether the incidents come from a CAD
export or from the record. Pure: no I/O.

What the record gives for an incident:

- the call received: its first call (``CallReceived``); the first dispatch: the earliest
  unit dispatched;
- each unit sent (``UnitDispatched``: capability), its en route and on scene times
  (``UnitStatusChanged``) and when it was free again (released or off the incident);
- for imported history (``IncidentImported``): the first-due district, the call type as
  the export names it and each unit's station. An incident of the system's own has no
  district in the record (it counts under ``unknown``) and is typed by its run-card type.

An incident no unit was dispatched to has no response to measure and is left out.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.analytics.history import HistoricalIncident, HistoricalUnitResponse
from services.incidents.view import IncidentView


def historical(view: IncidentView) -> HistoricalIncident | None:
    """The incident as the period report reads it; None when no unit was dispatched or
    it has no place."""
    units = [t for t in view.units.values() if t.dispatched_us]
    if not units or view.location is None:
        return None
    received = view.first_call_us or view.opened_us or view.started_us
    return HistoricalIncident(
        incident_id=view.incident_id,
        call_number="",
        incident_type=view.source_incident_type or view.incident_type,
        received_us=received,
        dispatched_us=min(t.dispatched_us for t in units),
        latitude=view.location[0],
        longitude=view.location[1],
        station_area=view.district,
        alarms=view.alarm_level,
        units=tuple(
            HistoricalUnitResponse(
                unit_id=t.unit_id,
                unit_type="",
                capability=t.capability,
                station=view.unit_stations.get(t.unit_id, ""),
                dispatched_us=t.dispatched_us,
                en_route_us=t.en_route_us or None,
                on_scene_us=t.on_scene_us or None,
                available_us=(t.released_us or t.ended_us) or None,
            )
            for t in sorted(units, key=lambda t: t.dispatched_us)
        ),
        address=view.address,
    )


def historical_incidents(views: Iterable[IncidentView]) -> list[HistoricalIncident]:
    return [h for v in views if (h := historical(v)) is not None]
