"""Historical incidents as the analytics read them: one ``HistoricalIncident`` per
incident with its units and every timestamp, whatever they came from (a CAD export read
by ``services.analytics.cad``, or the incident log of incidents imported or handled by the
system). Plain data, no I/O.

Times are instants: integer microseconds since the epoch, UTC (``None``: not recorded,
e.g. a unit cancelled before it was on scene). Locations are WGS-84 degrees.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class HistoricalUnitResponse:
    """One unit on one incident."""

    unit_id: str
    unit_type: str  # as the source names it: ENGINE, TRUCK, CHIEF, MEDIC, ...
    capability: str  # the jurisdiction's capability it stands for: engine, aerial, ...
    station: str  # the station it is quartered at (jurisdiction station id), "" unknown
    dispatched_us: int
    en_route_us: int | None = None
    on_scene_us: int | None = None
    available_us: int | None = None

    @property
    def turnout_s(self) -> float | None:
        """Dispatch to en route, seconds."""
        return _seconds(self.dispatched_us, self.en_route_us)

    @property
    def travel_s(self) -> float | None:
        """En route to on scene, seconds."""
        return _seconds(self.en_route_us, self.on_scene_us)


@dataclass(frozen=True, slots=True)
class HistoricalIncident:
    """One incident: when the call came, where, which first-due district, and every
    unit sent with its times."""

    incident_id: str
    call_number: str
    incident_type: str  # as the source names it: Structure Fire, Outside Fire, ...
    received_us: int  # the call received (answered) at the communications centre
    dispatched_us: int  # the first unit dispatched
    latitude: float
    longitude: float
    station_area: str  # first-due station district (a station id when known), "" unknown
    alarms: int
    units: tuple[HistoricalUnitResponse, ...]
    address: str = ""

    def with_capability(self, capability: str) -> Iterator[HistoricalUnitResponse]:
        return (u for u in self.units if u.capability == capability)

    def first_on_scene(self, capability: str | None = None) -> HistoricalUnitResponse | None:
        """The unit (of the capability, or any) on scene first; ties by dispatch order."""
        arrived = [
            u
            for u in self.units
            if u.on_scene_us is not None and (capability is None or u.capability == capability)
        ]
        if not arrived:
            return None
        return min(arrived, key=lambda u: (u.on_scene_us or 0, u.dispatched_us, u.unit_id))


def _seconds(start: int | None, end: int | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start) / 1e6


def instant_us(moment: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (UTC)."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def moment(us: int) -> datetime:
    """Microseconds since the epoch as an aware datetime in UTC."""
    return EPOCH + timedelta(microseconds=us)


def between(
    incidents: Iterable[HistoricalIncident], start_us: int, end_us: int
) -> list[HistoricalIncident]:
    """The incidents whose call was received in [start_us, end_us)."""
    return [i for i in incidents if start_us <= i.received_us < end_us]
