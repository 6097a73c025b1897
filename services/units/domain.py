"""The unit aggregate: a rescue unit of any tier. Pure Python: it decides, events evolve it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from google.protobuf.message import Message

from emergency.v1 import common_pb2, events_pb2
from services.common.aggregate import Aggregate
from services.common.errors import InvalidArgument
from services.common.geo import Point

CAPABILITIES = frozenset(
    {
        "engine",
        "aerial",
        "rescue",
        "hazmat",
        "water_tanker",
        "foam",
        "command",
        "drone",
        "first_intervention",
        "water_rescue",
        "mountain_rescue",
        "ambulance",
    }
)


def stream_id(unit_id: str) -> str:
    return f"unit-{unit_id}"


@dataclass
class Unit(Aggregate):
    unit_id: str = ""
    name: str = ""
    tier: int = common_pb2.TIER_UNSPECIFIED
    station_id: str = ""
    capabilities: tuple[str, ...] = ()
    home: Point | None = None
    status: str = "UNREGISTERED"
    version: int = 0
    _pending: list[Message] = field(default_factory=list, repr=False)

    # --- decisions -----------------------------------------------------------------

    @staticmethod
    def register(
        unit_id: str,
        name: str,
        tier: int,
        station_id: str,
        capabilities: Iterable[str],
        home: Point,
    ) -> list[Message]:
        unit_id = unit_id.strip()
        if not unit_id:
            raise InvalidArgument("unit_id is required")
        if not name.strip():
            raise InvalidArgument(f"unit {unit_id}: name is required")
        if tier not in common_pb2.Tier.values() or tier == common_pb2.TIER_UNSPECIFIED:
            raise InvalidArgument(
                f"unit {unit_id}: tier must be one of "
                + ", ".join(
                    n
                    for n in common_pb2.Tier.keys()  # noqa: SIM118
                    if n != "TIER_UNSPECIFIED"
                )
            )
        caps = tuple(dict.fromkeys(c.strip().lower() for c in capabilities))
        unknown = sorted(set(caps) - CAPABILITIES)
        if unknown:
            raise InvalidArgument(
                f"unit {unit_id}: unknown capabilities {unknown}; known: {sorted(CAPABILITIES)}"
            )
        return [
            events_pb2.UnitRegistered(
                unit_id=unit_id,
                name=name.strip(),
                tier=tier,
                station_id=station_id.strip(),
                capabilities=caps,
                home=common_pb2.GeoPoint(latitude=home.latitude, longitude=home.longitude),
            )
        ]

    # --- evolution -----------------------------------------------------------------

    def apply(self, event: Message) -> None:
        if isinstance(event, events_pb2.UnitRegistered):
            self.unit_id = event.unit_id
            self.name = event.name
            self.tier = event.tier
            self.station_id = event.station_id
            self.capabilities = tuple(event.capabilities)
            self.home = Point(event.home.latitude, event.home.longitude)
            self.status = "AVAILABLE"
        self.version += 1
