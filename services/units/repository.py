"""Every unit's current state and recent history, in memory: the status board's source.

Built from the units service's own event store and caught up before every read, so a
read sees every write this service has made (the store is the only writer of unit
streams). Rebuilding 100,000 events takes well under a second at replay speed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from services.common.enums import Tier, UnitStatus
from services.common.errors import NotFound
from services.common.eventstore import EventStore, RecordedEvent
from services.common.geo import distance_km
from services.common.repository import AggregateRepository
from services.units.domain import Unit

HISTORY = 50


@dataclass(frozen=True, slots=True)
class UnitFilter:
    tiers: frozenset[Tier] = frozenset()
    statuses: frozenset[UnitStatus] = frozenset()
    capabilities: frozenset[str] = frozenset()
    district: str = ""
    station_id: str = ""
    near: tuple[float, float] | None = None
    within_km: float = 0.0
    include_retired: bool = False

    def admits(self, unit: Unit) -> bool:
        p = unit.profile
        if not self.include_retired and unit.status is UnitStatus.RETIRED:
            return False
        if self.tiers and p.tier not in self.tiers:
            return False
        if self.statuses and unit.status not in self.statuses:
            return False
        if self.capabilities and not self.capabilities <= set(p.capabilities):
            return False
        if self.district and p.district != self.district:
            return False
        if self.station_id and p.station_id != self.station_id:
            return False
        if self.near is not None and self.within_km > 0:
            here = unit.location or unit.profile.home
            return distance_km(self.near, (here.latitude, here.longitude)) <= self.within_km
        return True


class UnitRepository:
    """Units by id and by filter (``UnitFilter``), each a private copy, with their last
    ``HISTORY`` events."""

    def __init__(
        self, store: EventStore, on_alert_change: Callable[[Unit], None] = lambda unit: None
    ) -> None:
        """``on_alert_change(unit)``: the unit's latest alert changed as its team sees it
        (a new alert, an answer, a time-out), whichever replica recorded it; called as the
        events are folded, with the unit as it is then (read, do not keep)."""
        self._history: dict[str, deque[RecordedEvent]] = {}
        self._alert_views: dict[str, tuple[str, str, int]] = {}
        self.on_alert_change = on_alert_change
        self._units: AggregateRepository[Unit] = AggregateRepository(
            store, "unit-", Unit, self._remember
        )

    def _remember(self, unit_id: str, event: RecordedEvent, unit: Unit) -> None:
        self._history.setdefault(unit_id, deque(maxlen=HISTORY)).append(event)
        alert = unit.alert
        if alert is None:
            return
        view = (alert.alert_id, alert.state, alert.responders_total)
        if self._alert_views.get(unit_id) != view:
            self._alert_views[unit_id] = view
            self.on_alert_change(unit)

    def catch_up(self) -> None:
        self._units.catch_up()

    def get(self, unit_id: str) -> Unit:
        unit = self._units.find(unit_id)
        if unit is None:
            raise NotFound(f"no unit {unit_id!r} is registered")
        return unit

    def history(self, unit_id: str, limit: int) -> list[RecordedEvent]:
        self.get(unit_id)
        return list(self._history[unit_id])[-limit:] if limit > 0 else []

    def find(
        self,
        where: UnitFilter | Callable[[Unit], bool],
        convert: Callable[[Unit], Any] = Unit.clone,
    ) -> list[Any]:
        """The units ``where`` admits, by unit id, each passed through ``convert`` (a
        private copy by default)."""
        admits = where.admits if isinstance(where, UnitFilter) else where
        found = self._units.select(admits, lambda u: (u.unit_id, convert(u)))
        return [converted for _, converted in sorted(found, key=lambda pair: pair[0])]

    def all(self) -> Iterable[Unit]:
        return self._units.values()
