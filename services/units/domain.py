"""The unit aggregate: one rescue unit of any tier, its profile and where it is in its
work. Pure Python: decisions check the rules and return events; ``apply`` evolves state.

Status moves (anything else is refused, naming the current status)::

    AVAILABLE ──reserve──> RESERVED ──> ALERTED ──> ACKNOWLEDGED ──> EN_ROUTE ──> ON_SCENE
                                                       EN_ROUTE ──> STAGING ──> ON_SCENE
        ^                     │            │             │              │            │
        └──────── release ────┴────────────┴─────────────┴──────────────┴─── RETURNING
    AVAILABLE <──> OUT_OF_SERVICE            RETURNING ──reserve──> RESERVED (re-dispatch)
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from google.protobuf.message import Message

from emergency.v1 import common_pb2, events_pb2
from services.common.aggregate import Aggregate
from services.common.enums import Tier, UnitStatus
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.geo import Point
from services.common.jurisdiction import CAPABILITIES

U = UnitStatus
# Moves a status change request may make (reservation and release have their own commands).
STATUS_MOVES: dict[UnitStatus, frozenset[UnitStatus]] = {
    U.RESERVED: frozenset({U.ALERTED, U.ACKNOWLEDGED, U.EN_ROUTE}),
    U.ALERTED: frozenset({U.ACKNOWLEDGED}),
    U.ACKNOWLEDGED: frozenset({U.EN_ROUTE}),
    U.EN_ROUTE: frozenset({U.ON_SCENE, U.STAGING}),
    U.STAGING: frozenset({U.ON_SCENE}),
    U.ON_SCENE: frozenset({U.RETURNING}),
    U.RETURNING: frozenset({U.AVAILABLE}),
    U.AVAILABLE: frozenset({U.OUT_OF_SERVICE}),
    U.OUT_OF_SERVICE: frozenset({U.AVAILABLE}),
}
RESERVABLE = frozenset({U.AVAILABLE, U.RETURNING})
COMMITTED = frozenset({U.RESERVED, U.ALERTED, U.ACKNOWLEDGED, U.EN_ROUTE, U.STAGING, U.ON_SCENE})


def stream_id(unit_id: str) -> str:
    return f"unit-{unit_id}"


def _wire(status: UnitStatus) -> common_pb2.UnitStatus.ValueType:
    """A status as the events carry it."""
    return common_pb2.UnitStatus.ValueType(status)


NOWHERE = Point(0.0, 0.0)  # a profile not yet registered


@dataclass(frozen=True, slots=True)
class UnitProfile:
    """A unit as the jurisdiction describes it: who it is, its tier and station, what it
    can do, where it is based (WGS-84), its crew and its tier's policy (seconds)."""

    unit_id: str
    name: str
    tier: Tier
    station_id: str = ""
    station_name: str = ""
    district: str = ""
    capabilities: tuple[str, ...] = ()
    home: Point = NOWHERE
    area_radius_km: float = 0.0
    staffing: int = 0
    min_responders: int = 0  # an alert counts as acknowledged at this many
    turnout_seconds: int = 0
    ack_deadline_seconds: int = 0  # 0: no acknowledgement expected
    auto_acknowledge: bool = False  # staffed tiers: the station's acknowledgement is implied

    @classmethod
    def from_message(cls, message: common_pb2.UnitProfile) -> UnitProfile:
        m = message
        return cls(
            unit_id=m.unit_id,
            name=m.name,
            tier=Tier(m.tier),
            station_id=m.station_id,
            station_name=m.station_name,
            district=m.district,
            capabilities=tuple(m.capabilities),
            home=Point(m.home.latitude, m.home.longitude),
            area_radius_km=m.area_radius_km,
            staffing=m.staffing,
            min_responders=m.min_responders,
            turnout_seconds=m.turnout_seconds,
            ack_deadline_seconds=m.ack_deadline_seconds,
            auto_acknowledge=m.auto_acknowledge,
        )

    def to_message(self) -> common_pb2.UnitProfile:
        return common_pb2.UnitProfile(
            unit_id=self.unit_id,
            name=self.name,
            tier=common_pb2.Tier.ValueType(self.tier),
            station_id=self.station_id,
            station_name=self.station_name,
            district=self.district,
            capabilities=self.capabilities,
            home=common_pb2.GeoPoint(latitude=self.home.latitude, longitude=self.home.longitude),
            area_radius_km=self.area_radius_km,
            staffing=self.staffing,
            min_responders=self.min_responders,
            turnout_seconds=self.turnout_seconds,
            ack_deadline_seconds=self.ack_deadline_seconds,
            auto_acknowledge=self.auto_acknowledge,
        )


PROFILE_FIELDS = tuple(f.name for f in fields(UnitProfile))


def check_profile(profile: UnitProfile) -> UnitProfile:
    """The profile, tidied; InvalidArgument naming the unit and the field if it is wrong."""
    unit_id = profile.unit_id.strip()
    if not unit_id:
        raise InvalidArgument("profile.unit_id is required")
    what = f"unit {unit_id}"
    if not profile.name.strip():
        raise InvalidArgument(f"{what}: name is required")
    if profile.tier is Tier.TIER_UNSPECIFIED:
        tiers = [t.name for t in Tier if t is not Tier.TIER_UNSPECIFIED]
        raise InvalidArgument(f"{what}: tier must be one of {', '.join(tiers)}")
    caps = tuple(dict.fromkeys(c.strip().lower() for c in profile.capabilities))
    unknown = sorted(set(caps) - CAPABILITIES)
    if unknown:
        raise InvalidArgument(
            f"{what}: unknown capabilities {unknown}; known: {sorted(CAPABILITIES)}"
        )
    if not caps:
        raise InvalidArgument(f"{what}: give at least one capability")
    Point.checked(profile.home.latitude, profile.home.longitude, f"{what} home")
    if profile.staffing and profile.min_responders > profile.staffing:
        raise InvalidArgument(
            f"{what}: min_responders {profile.min_responders} is more than staffing "
            f"{profile.staffing}"
        )
    return replace(profile, unit_id=unit_id, name=profile.name.strip(), capabilities=caps)


WAITING, ACKNOWLEDGED, DECLINED, TIMED_OUT = "WAITING", "ACKNOWLEDGED", "DECLINED", "TIMED_OUT"
WITHDRAWN = "WITHDRAWN"  # released (incident closed, say) before the team answered


@dataclass
class AlertState:
    alert: events_pb2.UnitAlerted
    state: str = WAITING
    responders_total: int = 0

    @property
    def alert_id(self) -> str:
        return self.alert.alert_id

    @property
    def deadline_us(self) -> int:
        """0 when no acknowledgement is expected."""
        return self.alert.deadline.ToMicroseconds() if self.alert.HasField("deadline") else 0


def _check_in_time(alert: AlertState, at_us: int) -> None:
    """An answer is judged when it arrives: after the deadline it is late, whether or not
    the time-out has been recorded yet (it fires at the deadline)."""
    deadline = alert.deadline_us
    if deadline and at_us > deadline:
        raise FailedPrecondition(
            f"alert {alert.alert_id} was answered {(at_us - deadline) / 1e6:.1f} s after its "
            f"deadline: it came late, the alert has timed out and the capability is sent to "
            "another unit"
        )


@dataclass
class Unit(Aggregate):
    profile: UnitProfile = UnitProfile("", "", Tier.TIER_UNSPECIFIED)
    status: UnitStatus = UnitStatus.UNIT_STATUS_UNSPECIFIED
    incident_id: str = ""
    location: Point | None = None
    alert: AlertState | None = None  # the latest alert to this unit's team
    version: int = 0

    @property
    def unit_id(self) -> str:
        return self.profile.unit_id

    @property
    def registered(self) -> bool:
        return self.version > 0

    # --- decisions -----------------------------------------------------------------

    @staticmethod
    def register(profile: UnitProfile) -> list[Message]:
        return [events_pb2.UnitRegistered(profile=check_profile(profile).to_message())]

    def update(self, profile: UnitProfile) -> list[Message]:
        """The new profile, or nothing when it is the same."""
        self._require_active()
        new = check_profile(profile)
        if new.unit_id != self.unit_id:
            raise InvalidArgument(f"unit {self.unit_id}: a profile cannot change the unit id")
        changed = [f for f in PROFILE_FIELDS if getattr(new, f) != getattr(self.profile, f)]
        if not changed:
            return []
        return [events_pb2.UnitUpdated(profile=new.to_message(), changed_fields=changed)]

    def retire(self, reason: str) -> list[Message]:
        self._require_active()
        if self.status in COMMITTED:
            raise FailedPrecondition(
                f"unit {self.unit_id} is {self.status.name} for incident "
                f"{self.incident_id}: release it before retiring it"
            )
        return [events_pb2.UnitRetired(unit_id=self.unit_id, reason=reason)]

    def reserve(self, incident_id: str) -> list[Message]:
        self._require_active()
        if not incident_id.strip():
            raise InvalidArgument("incident_id is required to reserve a unit")
        if self.status not in RESERVABLE:
            held = f" for incident {self.incident_id}" if self.incident_id else ""
            raise FailedPrecondition(
                f"unit {self.unit_id} is {self.status.name}{held}; only AVAILABLE or "
                "RETURNING units can be reserved: take the next candidate"
            )
        return [events_pb2.UnitReserved(unit_id=self.unit_id, incident_id=incident_id)]

    def release(self, incident_id: str, reason: str) -> list[Message]:
        self._require_active()
        if self.status not in COMMITTED:
            raise FailedPrecondition(
                f"unit {self.unit_id} is {self.status.name}: it is not on an incident"
            )
        if incident_id and incident_id != self.incident_id:
            raise FailedPrecondition(
                f"unit {self.unit_id} is on incident {self.incident_id}, not {incident_id}"
            )
        return [
            events_pb2.UnitReleased(
                unit_id=self.unit_id, incident_id=self.incident_id, reason=reason
            )
        ]

    def change_status(self, to: UnitStatus) -> list[Message]:
        self._require_active()
        if to in (U.UNIT_STATUS_UNSPECIFIED, U.RETIRED):
            raise InvalidArgument(f"status {to.name} is not a status a unit can be put in")
        allowed = STATUS_MOVES.get(self.status, frozenset())
        if to not in allowed:
            moves = ", ".join(sorted(s.name for s in allowed)) or "none"
            raise FailedPrecondition(
                f"unit {self.unit_id} is {self.status.name}; it cannot become "
                f"{to.name} (allowed: {moves}; reserve and release have their own calls)"
            )
        return [
            events_pb2.UnitStatusChanged(
                unit_id=self.unit_id,
                from_status=_wire(self.status),
                to_status=_wire(to),
                incident_id=self.incident_id,
            )
        ]

    def report_location(self, where: Point) -> list[Message]:
        self._require_active()
        return [
            events_pb2.UnitLocationReported(
                unit_id=self.unit_id,
                location=common_pb2.GeoPoint(latitude=where.latitude, longitude=where.longitude),
            )
        ]

    def alert_team(
        self, alert_id: str, dispatched: events_pb2.UnitDispatched, now_us: int
    ) -> list[Message]:
        """Alert the unit's team for the incident it is reserved for. A staffed tier set to
        auto-acknowledge is acknowledged at once; otherwise the team has until the deadline."""
        self._require_active()
        if self.status != U.RESERVED or self.incident_id != dispatched.incident_id:
            raise FailedPrecondition(
                f"unit {self.unit_id} is {self.status.name}"
                + (f" for incident {self.incident_id}" if self.incident_id else "")
                + f"; only a unit reserved for incident {dispatched.incident_id} can be alerted"
            )
        p = self.profile
        alerted = events_pb2.UnitAlerted(
            unit_id=self.unit_id,
            alert_id=alert_id,
            incident_id=dispatched.incident_id,
            team_id=p.station_id,
            responders_needed=max(1, p.min_responders),
            incident_type=dispatched.incident_type,
            location=dispatched.location,
            address=dispatched.address,
            tier=common_pb2.Tier.ValueType(p.tier),
            station_name=p.station_name,
        )
        alerted.alerted_at.FromMicroseconds(now_us)
        if p.auto_acknowledge or not p.ack_deadline_seconds:
            crew = max(p.staffing, p.min_responders, 1)
            return [
                alerted,
                events_pb2.AlertAcknowledged(
                    unit_id=self.unit_id,
                    alert_id=alert_id,
                    responders=crew,
                    responders_total=crew,
                    eta_seconds=p.turnout_seconds,
                    complete=True,
                    automatic=True,
                    note="staffed station: acknowledged on alert",
                ),
            ]
        deadline = now_us + p.ack_deadline_seconds * 1_000_000
        alerted.deadline.FromMicroseconds(deadline)
        return [alerted]

    def acknowledge(
        self, alert_id: str, responders: int, eta_seconds: int, note: str, at_us: int
    ) -> list[Message]:
        """``at_us``: when the answer arrived; while the alert waits, one that arrives
        after its deadline is refused (the capability is being re-dispatched)."""
        alert = self._open_alert(alert_id, accept_acknowledged=True)
        if alert.state == WAITING:
            _check_in_time(alert, at_us)
        if responders < 1:
            raise InvalidArgument(
                f"responders must be 1 or more (people coming with this acknowledgement), "
                f"got {responders}"
            )
        total = alert.responders_total + responders
        return [
            events_pb2.AlertAcknowledged(
                unit_id=self.unit_id,
                alert_id=alert_id,
                responders=responders,
                responders_total=total,
                eta_seconds=eta_seconds,
                note=note.strip(),
                complete=total >= alert.alert.responders_needed,
            )
        ]

    def decline(self, alert_id: str, reason: str, at_us: int) -> list[Message]:
        _check_in_time(self._open_alert(alert_id), at_us)
        if not reason.strip():
            raise InvalidArgument("give a reason for declining: the call taker sees it")
        return [
            events_pb2.AlertDeclined(unit_id=self.unit_id, alert_id=alert_id, reason=reason.strip())
        ]

    def time_out(self, alert_id: str, now_us: int) -> list[Message]:
        alert = self._open_alert(alert_id)
        if not alert.deadline_us or now_us < alert.deadline_us:
            raise FailedPrecondition(f"alert {alert_id} has not reached its deadline")
        return [
            events_pb2.AlertTimedOut(
                unit_id=self.unit_id, alert_id=alert_id, responders_total=alert.responders_total
            )
        ]

    def _open_alert(self, alert_id: str, accept_acknowledged: bool = False) -> AlertState:
        alert = self.alert
        if alert is None or alert.alert_id != alert_id:
            raise NotFound(f"unit {self.unit_id} has no alert {alert_id!r}")
        open_states = (WAITING, ACKNOWLEDGED) if accept_acknowledged else (WAITING,)
        if alert.state not in open_states:
            raise FailedPrecondition(
                f"alert {alert_id} for unit {self.unit_id} is {alert.state.replace('_', ' ')}; "
                "it can no longer be answered"
            )
        return alert

    def _require_active(self) -> None:
        if self.status == U.RETIRED:
            raise FailedPrecondition(f"unit {self.unit_id} is retired")

    # --- evolution -----------------------------------------------------------------

    def apply(self, event: Message) -> None:
        match event:
            case events_pb2.UnitRegistered(profile=profile):
                self.profile = UnitProfile.from_message(profile)
                self.status = U.AVAILABLE
            case events_pb2.UnitUpdated(profile=profile):
                self.profile = UnitProfile.from_message(profile)
            case events_pb2.UnitRetired():
                self.status = U.RETIRED
            case events_pb2.UnitReserved(incident_id=incident_id):
                self.status, self.incident_id = U.RESERVED, incident_id
            case events_pb2.UnitReleased():
                self.status, self.incident_id = U.AVAILABLE, ""
                if self.alert is not None and self.alert.state == WAITING:
                    # No answer is wanted any more, and no time-out may fire on it later.
                    self.alert.state = WITHDRAWN
            case events_pb2.UnitStatusChanged(to_status=to):
                self.status = UnitStatus(to)
                if self.status in (U.AVAILABLE, U.OUT_OF_SERVICE):
                    self.incident_id = ""
            case events_pb2.UnitLocationReported(location=where):
                self.location = Point(where.latitude, where.longitude)
            case events_pb2.UnitAlerted():
                self.status = U.ALERTED
                self.alert = AlertState(event)
            case events_pb2.AlertAcknowledged(responders_total=total, complete=complete):
                if self.alert is not None:
                    self.alert.responders_total = total
                    if complete:
                        self.alert.state = ACKNOWLEDGED
                        if self.status == U.ALERTED:
                            self.status = U.ACKNOWLEDGED
            case events_pb2.AlertDeclined() | events_pb2.AlertTimedOut():
                if self.alert is not None:
                    declined = isinstance(event, events_pb2.AlertDeclined)
                    self.alert.state = DECLINED if declined else TIMED_OUT
                self.status, self.incident_id = U.AVAILABLE, ""
        self.version += 1
