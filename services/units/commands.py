"""What clients ask the units service to do, as plain values: the gRPC servicer
translates each request into one of these. Each class's name is its operation's (the
RPC's) name, which idempotency keys record; every command carries the client's
``request_id``."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.enums import UnitStatus
from services.common.geo import Point
from services.units.domain import UnitProfile


@dataclass(frozen=True, slots=True)
class RegisterUnit:
    request_id: str
    profile: UnitProfile


@dataclass(frozen=True, slots=True)
class LoadJurisdiction:
    """Bring the registry in line with a jurisdiction file (its YAML text)."""

    request_id: str
    yaml: str
    file_name: str = "jurisdiction"


@dataclass(frozen=True, slots=True)
class ReserveUnit:
    request_id: str
    unit_id: str
    incident_id: str
    expected_version: int = 0  # 0: whatever the unit's version is


@dataclass(frozen=True, slots=True)
class ReleaseUnit:
    request_id: str
    unit_id: str
    incident_id: str = ""  # empty: whatever incident holds it
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ChangeStatus:
    request_id: str
    unit_id: str
    status: UnitStatus


@dataclass(frozen=True, slots=True)
class ReportLocation:
    request_id: str
    unit_id: str
    location: Point  # WGS-84


@dataclass(frozen=True, slots=True)
class AcknowledgeAlert:
    request_id: str
    alert_id: str
    unit_id: str
    responders: int  # people coming with this acknowledgement
    eta_seconds: int = 0
    note: str = ""


@dataclass(frozen=True, slots=True)
class DeclineAlert:
    request_id: str
    alert_id: str
    unit_id: str
    reason: str
