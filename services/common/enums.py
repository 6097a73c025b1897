"""The contract's enumerations as Python enums, for domain code: the same names and
numbers as in ``protos/emergency/v1/common.proto`` (a unit test holds them equal), so
the domain reads ``UnitStatus.AVAILABLE`` and the wire carries the number."""

from __future__ import annotations

from enum import IntEnum, StrEnum


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


class IncidentStatus(StrEnum):
    """Where an incident is in its life: OPEN -> UNDER_CONTROL -> CLOSED, and OPEN or
    UNDER_CONTROL -> CANCELLED. NONE: not opened (an aggregate with no events)."""

    NONE = "NONE"
    OPEN = "OPEN"
    UNDER_CONTROL = "UNDER_CONTROL"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"

    @property
    def active(self) -> bool:
        return self in (IncidentStatus.OPEN, IncidentStatus.UNDER_CONTROL)
