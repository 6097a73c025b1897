"""Is this call about an incident already open? A call near an open incident of the same
family (a smoke detector and a neighbour reporting the same fire), opened recently, is
offered to the call taker as a duplicate to link instead of a new incident. The call
taker decides; this only ranks the likely ones, nearest first. Domain code: no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from services.common.geo import distance_km
from services.dispatch.runcards import RunCards
from services.dispatch.travel import LatLon


@dataclass(frozen=True, slots=True)
class OpenIncident:
    incident_id: str
    incident_type: str
    location: LatLon | None
    address: str
    opened_at_us: int


@dataclass(frozen=True, slots=True)
class LikelyDuplicate:
    incident_id: str
    incident_type: str
    distance_m: float | None  # None: matched on the address alone
    minutes_since: float
    reason: str


def find_duplicates(
    incident_type: str,
    location: LatLon | None,
    address: str,
    at_us: int,
    open_incidents: Iterable[OpenIncident],
    cards: RunCards,
) -> list[LikelyDuplicate]:
    rule = cards.duplicates
    found: list[LikelyDuplicate] = []
    for incident in open_incidents:
        if not cards.same_family(incident_type, incident.incident_type):
            continue
        minutes = (at_us - incident.opened_at_us) / 60e6
        if not 0 <= minutes <= rule.window_minutes:
            continue
        family = cards.incident_types[incident_type].family.replace("_", " ")
        if location is not None and incident.location is not None:
            metres = 1000 * distance_km(location, incident.location)
            if metres <= rule.radius_m:
                found.append(
                    LikelyDuplicate(
                        incident.incident_id,
                        incident.incident_type,
                        metres,
                        minutes,
                        f"{family} {metres:.0f} m away, opened {minutes:.0f} min ago",
                    )
                )
        elif _same_address(address, incident.address):
            found.append(
                LikelyDuplicate(
                    incident.incident_id,
                    incident.incident_type,
                    None,
                    minutes,
                    f"{family} at the same address, opened {minutes:.0f} min ago",
                )
            )
    return sorted(found, key=lambda d: (d.distance_m is None, d.distance_m or 0, d.minutes_since))


def _same_address(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return re.sub(r"[\s,.;:#-]+", " ", s.lower()).strip()

    return bool(norm(a)) and norm(a) == norm(b)
