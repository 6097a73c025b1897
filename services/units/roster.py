"""From a jurisdiction file to the changes the registry needs. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from google.protobuf.message import Message

from services.common.enums import Tier, UnitStatus
from services.common.errors import FailedPrecondition
from services.common.geo import Point
from services.common.jurisdiction import Jurisdiction
from services.units.domain import Unit, UnitProfile


def profiles_from(jurisdiction: Jurisdiction) -> dict[str, UnitProfile]:
    """Every unit of the file as the registry keeps it (station policy resolved)."""
    profiles = {}
    for station, unit in jurisdiction.units():
        policy = jurisdiction.policy(station)
        latitude, longitude = station.location
        profiles[unit.id] = UnitProfile(
            unit_id=unit.id,
            name=unit.name,
            tier=Tier[station.tier.value],
            station_id=station.id,
            station_name=station.name,
            district=station.district,
            capabilities=tuple(unit.capabilities),
            home=Point(latitude, longitude),
            area_radius_km=station.area_radius_km,
            staffing=station.staffing,
            min_responders=station.min_responders,
            turnout_seconds=policy.turnout_seconds,
            ack_deadline_seconds=policy.ack_deadline_seconds,
            auto_acknowledge=policy.auto_acknowledge,
        )
    return profiles


@dataclass(frozen=True, slots=True)
class RosterReport:
    """What loading a jurisdiction file did, by unit id."""

    registered: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    unchanged: int = 0
    kept_busy: list[str] = field(default_factory=list)  # not retired: on an incident


@dataclass
class RosterChanges:
    """Events per unit, and what each unit's change was."""

    events: dict[str, tuple[int, list[Message]]] = field(default_factory=dict)  # id -> (v, ev)
    registered: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    kept_busy: list[str] = field(default_factory=list)
    unchanged: int = 0

    def report(self) -> RosterReport:
        return RosterReport(
            self.registered, self.updated, self.retired, self.unchanged, self.kept_busy
        )


def plan_roster(current: Iterable[Unit], wanted: dict[str, UnitProfile]) -> RosterChanges:
    """Register what is new, update what differs, retire what the file no longer has
    (unless it is on an incident: that one is kept and reported)."""
    changes = RosterChanges()
    known = {unit.unit_id: unit for unit in current if unit.registered}
    for unit_id, profile in wanted.items():
        unit = known.get(unit_id)
        if unit is None or unit.status is UnitStatus.RETIRED:  # new, or back after retirement
            changes.events[unit_id] = (unit.version if unit else 0, Unit.register(profile))
            changes.registered.append(unit_id)
        elif events := unit.update(profile):
            changes.events[unit_id] = (unit.version, events)
            changes.updated.append(unit_id)
        else:
            changes.unchanged += 1
    for unit_id, unit in known.items():
        if unit_id in wanted or unit.status is UnitStatus.RETIRED:
            continue
        try:
            changes.events[unit_id] = (unit.version, unit.retire("not in the jurisdiction file"))
            changes.retired.append(unit_id)
        except FailedPrecondition:
            changes.kept_busy.append(unit_id)
    return changes
