"""The contract's enumerations as Python enums, for domain code: the same names and
numbers as in ``protos/emergency/v1/common.proto`` (a unit test holds them equal), so
the domain reads ``UnitStatus.AVAILABLE`` and the wire carries the number."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from services.common.errors import InvalidArgument


class CallSource(IntEnum):
    CALL_SOURCE_UNSPECIFIED = 0
    PHONE = 1
    FIRE_ALARM_NETWORK = 2  # a building's fire-alarm network
    SMART_SMOKE_DETECTOR = 3
    TRANSFER = 4  # transferred from another emergency line


class Tier(IntEnum):
    TIER_UNSPECIFIED = 0
    PROFESSIONAL = 1  # national fire rescue station
    GOV_FULLTIME = 2  # government full-time team
    VOLUNTEER = 3  # paged, must acknowledge
    MICRO_STATION = 4  # community or enterprise micro fire station
    CIVILIAN = 5  # civilian rescue team


class UnitStatus(IntEnum):
    UNIT_STATUS_UNSPECIFIED = 0
    AVAILABLE = 1
    RESERVED = 2
    ALERTED = 3
    ACKNOWLEDGED = 4
    EN_ROUTE = 5
    ON_SCENE = 6
    RETURNING = 7
    OUT_OF_SERVICE = 8
    RETIRED = 9
    STAGING = 10


class IncidentStatus(IntEnum):
    """Where an incident is in its life: OPEN -> UNDER_CONTROL -> CLOSED, and OPEN or
    UNDER_CONTROL -> CANCELLED. NONE (the contract's INCIDENT_STATUS_UNSPECIFIED): not
    opened, an incident with no events yet."""

    NONE = 0
    OPEN = 1
    UNDER_CONTROL = 2
    CLOSED = 3
    CANCELLED = 4

    @property
    def active(self) -> bool:
        return self in (IncidentStatus.OPEN, IncidentStatus.UNDER_CONTROL)

    @classmethod
    def named(cls, numbers: Iterable[int]) -> frozenset[IncidentStatus]:
        """The statuses a client asked for by number; ``InvalidArgument`` naming the known
        ones for 0 (not a status one can ask for) or a number the contract does not have."""
        asked = set(numbers)
        chosen = {cls(n) for n in asked if n in cls._value2member_map_ and n != 0}
        wrong = sorted(asked - {s.value for s in chosen})
        if wrong:
            known = ", ".join(f"{s.name} ({s.value})" for s in cls if s is not cls.NONE)
            raise InvalidArgument(f"unknown incident status {wrong}; use {known}")
        return frozenset(chosen)
