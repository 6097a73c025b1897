"""The units application service: load, decide, append (idempotently), and the queries
of the status board."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import structlog
from google.protobuf.message import Message

from emergency.v1 import units_pb2
from services.common.auth import SYSTEM, Principal
from services.common.commands import (
    RETRIES_ON_CONFLICT,
    append_decision,
    client_key,
    system_key,
)
from services.common.envelope import EventEnvelope, new_event
from services.common.errors import (
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from services.common.eventstore import (
    AppendResult,
    CommandKey,
    ConcurrencyConflict,
    EventStore,
    NewEvent,
    StreamAppend,
    now_us,
)
from services.common.geo import Point
from services.common.jurisdiction import (
    Jurisdiction,
    JurisdictionError,
    Role,
    parse_jurisdiction,
)
from services.common.streams import is_history
from services.units.alerts import AlertHub
from services.units.commands import (
    AcknowledgeAlert,
    ChangeStatus,
    DeclineAlert,
    LoadJurisdiction,
    RegisterUnit,
    ReleaseUnit,
    ReportLocation,
    ReserveUnit,
)
from services.units.domain import (
    ACKNOWLEDGED,
    DECLINED,
    TIMED_OUT,
    WAITING,
    WITHDRAWN,
    Unit,
    stream_id,
)
from services.units.repository import UnitFilter, UnitRepository
from services.units.roster import RosterReport, plan_roster, profiles_from

log = structlog.get_logger(__name__)
_ALERT_STATE = {
    WAITING: units_pb2.Alert.WAITING,
    ACKNOWLEDGED: units_pb2.Alert.ACKNOWLEDGED,
    DECLINED: units_pb2.Alert.DECLINED,
    TIMED_OUT: units_pb2.Alert.TIMED_OUT,
    WITHDRAWN: units_pb2.Alert.WITHDRAWN,
}


def alert_message(unit: Unit) -> units_pb2.Alert:
    """The unit's latest alert as the team's app sees it."""
    state = unit.alert
    assert state is not None
    a = state.alert
    return units_pb2.Alert(
        alert_id=a.alert_id,
        unit_id=a.unit_id,
        team_id=a.team_id,
        incident_id=a.incident_id,
        incident_type=a.incident_type,
        location=a.location,
        address=a.address,
        state=_ALERT_STATE[state.state],
        responders_needed=a.responders_needed,
        responders_total=state.responders_total,
        deadline=a.deadline if a.HasField("deadline") else None,
        alerted_at=a.alerted_at,
    )


Decision = Callable[[Unit], list[Message]]


class UnitsApp:
    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.units = UnitRepository(store, self._alert_changed)
        self.hub = AlertHub()
        self.jurisdiction: Jurisdiction.Meta | None = None  # name, zone, bounds: last loaded
        # The deadline queue's add and discard: told of every alert that starts or stops
        # waiting for an answer.
        self.on_alert_waiting: Callable[[int, str, str], None] = lambda deadline, unit, a: None
        self.on_alert_settled: Callable[[str], None] = lambda alert_id: None

    def _alert_changed(self, unit: Unit) -> None:
        """Team apps hear of a change to what they see (not, say, of a release after the
        alert was answered, which changes nothing for them), from whichever replica."""
        assert unit.alert is not None
        self.hub.publish(alert_message(unit))
        alert_id = unit.alert.alert_id
        if unit.alert.state == WAITING and unit.alert.deadline_us:
            self.on_alert_waiting(unit.alert.deadline_us, unit.unit_id, alert_id)
        else:
            self.on_alert_settled(alert_id)

    def follow(self) -> None:
        """Catch up with the store (appends by other replicas): their alert changes reach
        this replica's team streams and deadline queue."""
        self.units.catch_up()

    # --- commands ------------------------------------------------------------------

    def register_unit(self, command: RegisterUnit, who: Principal) -> Unit:
        key = client_key(command, "RegisterUnit", who.actor)
        unit_id = command.profile.unit_id.strip()
        if self.store.find_request(key) is None:
            events = Unit.register(command.profile)
            try:
                self.store.append(
                    stream_id(unit_id), 0, self._stamp(events, key.request_id, who), key
                )
            except ConcurrencyConflict:
                raise AlreadyExists(f"unit {unit_id!r} is registered already") from None
        return self.units.get(unit_id)

    def load_jurisdiction(
        self, command: LoadJurisdiction, who: Principal, key: CommandKey | None = None
    ) -> RosterReport:
        """Bring the registry in line with a jurisdiction file, in one transaction.
        ``key``: the service's own, when it loads its file at start."""
        key = key or client_key(command, "LoadJurisdiction", who.actor)
        seen = self.store.find_request(key)
        if seen is not None:  # a retry: answer with what the first call applied
            applied: dict[str, list[str]] = {}
            for event in seen.events:
                applied.setdefault(event.event_type, []).append(event.stream_id[len("unit-") :])
            return RosterReport(
                registered=applied.get("UnitRegistered", []),
                updated=applied.get("UnitUpdated", []),
                retired=applied.get("UnitRetired", []),
            )
        try:
            jurisdiction = parse_jurisdiction(command.yaml, command.file_name or "jurisdiction")
        except JurisdictionError as exc:
            raise InvalidArgument(str(exc)) from None
        self.jurisdiction = jurisdiction.jurisdiction
        # Replicas starting together load the same file at once: the one that loses the
        # race plans again on what the winner wrote (and finds nothing left to do).
        for attempt in range(1, RETRIES_ON_CONFLICT + 1):
            changes = plan_roster(self.units.all(), profiles_from(jurisdiction))
            if not changes.events:
                break
            try:
                self.store.append_batch(
                    [
                        StreamAppend(
                            stream_id(unit_id), version, self._stamp(events, key.request_id, who)
                        )
                        for unit_id, (version, events) in changes.events.items()
                    ],
                    key,
                )
                break
            except ConcurrencyConflict:
                if attempt == RETRIES_ON_CONFLICT:
                    raise Conflict(
                        "the registry kept changing while the jurisdiction was loaded; "
                        "load it again"
                    ) from None
        log.info(
            "jurisdiction loaded",
            name=jurisdiction.jurisdiction.name,
            registered=len(changes.registered),
            updated=len(changes.updated),
            retired=len(changes.retired),
            unchanged=changes.unchanged,
            kept_busy=len(changes.kept_busy),
        )
        return changes.report()

    def reserve(self, command: ReserveUnit, who: Principal) -> Unit:
        def decide(unit: Unit) -> list[Message]:
            if command.expected_version and unit.version != command.expected_version:
                raise Conflict(
                    f"unit {unit.unit_id} is at version {unit.version}, not the expected "
                    f"{command.expected_version}: it changed since it was read "
                    f"(now {unit.status.name}); reload it"
                )
            return unit.reserve(command.incident_id)

        unit = self._command(
            client_key(command, "ReserveUnit", who.actor),
            command.unit_id,
            decide,
            who,
            command.incident_id,
        )
        if unit.incident_id != command.incident_id:
            # A retry of a reservation that was released since: it no longer holds.
            raise FailedPrecondition(
                f"unit {unit.unit_id} is no longer reserved for incident {command.incident_id} "
                f"(now {unit.status.name}): the reservation made with this request id was "
                "released; reserve it again with a new request id"
            )
        return unit

    def release(self, command: ReleaseUnit, who: Principal) -> Unit:
        return self._command(
            client_key(command, "ReleaseUnit", who.actor),
            command.unit_id,
            lambda unit: unit.release(command.incident_id, command.reason or "released"),
            who,
            command.incident_id,
        )

    def change_status(self, command: ChangeStatus, who: Principal) -> Unit:
        self._require_own_unit(command.unit_id, who)
        return self._command(
            client_key(command, "ChangeStatus", who.actor),
            command.unit_id,
            lambda unit: unit.change_status(command.status),
            who,
        )

    def report_location(self, command: ReportLocation, who: Principal) -> Unit:
        self._require_own_unit(command.unit_id, who)
        where = Point.checked(
            command.location.latitude,
            command.location.longitude,
            f"unit {command.unit_id} location",
        )
        return self._command(
            client_key(command, "ReportLocation", who.actor),
            command.unit_id,
            lambda unit: unit.report_location(where),
            who,
        )

    # --- alerts --------------------------------------------------------------------

    def alert_for_dispatch(self, envelope: EventEnvelope) -> None:
        """A unit was dispatched: alert its team (once, however often the event comes).
        A dispatch of an imported historical incident alerts nobody."""
        if is_history(envelope.stream_id):
            return
        dispatched = envelope.unit_dispatched
        who = Principal(Role.ADMIN, f"dispatch:{envelope.actor.id or 'system'}")
        self._command(
            system_key(f"alert:{envelope.event_id}", "AlertTeam"),
            dispatched.unit_id,
            lambda unit: unit.alert_team(envelope.event_id, dispatched, now_us()),
            who,
            dispatched.incident_id,
        )

    def acknowledge(self, command: AcknowledgeAlert, who: Principal) -> Unit:
        received = now_us()  # the answer is judged against the deadline as it arrives
        self._require_own_unit(command.unit_id, who)
        return self._command(
            client_key(command, "AcknowledgeAlert", who.actor),
            command.unit_id,
            lambda unit: unit.acknowledge(
                command.alert_id, command.responders, command.eta_seconds, command.note, received
            ),
            who,
        )

    def decline(self, command: DeclineAlert, who: Principal) -> Unit:
        received = now_us()
        self._require_own_unit(command.unit_id, who)
        return self._command(
            client_key(command, "DeclineAlert", who.actor),
            command.unit_id,
            lambda unit: unit.decline(command.alert_id, command.reason, received),
            who,
        )

    def time_out_alert(self, unit_id: str, alert_id: str) -> bool:
        """Time the alert out (its deadline has passed); False when it was answered or
        withdrawn meanwhile, or is not the unit's current alert any more."""
        unit = self.units.get(unit_id)
        if unit.alert is None or unit.alert.alert_id != alert_id or unit.alert.state != WAITING:
            return False
        self._command(
            system_key(f"timeout:{alert_id}", "TimeOutAlert"),
            unit_id,
            lambda u: u.time_out(alert_id, now_us()),
            SYSTEM,
        )
        return True

    def require_team(self, team_id: str) -> None:
        """NotFound unless ``team_id`` is a station of the jurisdiction (a team is one)."""
        if not self.units.find(UnitFilter(station_id=team_id), lambda unit: unit.unit_id):
            raise NotFound(
                f"no team {team_id!r}: a team is a station of the jurisdiction (VOL-03, "
                "say); list the units to see them"
            )

    def waiting_alerts(self, team_id: str) -> list[units_pb2.Alert]:
        """Alerts of the team not yet answered: what a (re)connecting app must see."""
        return [
            alert_message(unit)
            for unit in self.units.find(UnitFilter(station_id=team_id))
            if unit.alert is not None and unit.alert.state == WAITING
        ]

    def _command(
        self,
        key: CommandKey,
        unit_id: str,
        decide: Decision,
        who: Principal,
        incident_id: str = "",
    ) -> Unit:
        """Load the unit, decide, append (``append_decision``); the same key again
        returns the unit without deciding again."""
        seen = self.store.find_request(key)
        if seen is not None:
            return self.units.get(unit_id)
        result = append_decision(
            self.store,
            stream_id(unit_id),
            lambda: self.units.get(unit_id),
            decide,
            lambda unit, events: self._stamp(
                events, key.request_id, who, incident_id or unit.incident_id
            ),
            key,
        )
        assert result is not None, "a unit's decision refuses or records"
        self._log(result)
        return self.units.get(unit_id)  # caught up: the alert change went out

    @staticmethod
    def _stamp(
        events: list[Message], request_id: str, who: Principal, correlation_id: str = ""
    ) -> list[NewEvent]:
        return [
            new_event(e, correlation_id=correlation_id, causation_id=request_id, actor=who.actor)
            for e in events
        ]

    @staticmethod
    def _log(result: AppendResult) -> None:
        for event in result.events:  # the store has them: a line each only when debugging
            log.debug(
                "unit event",
                event_type=event.event_type,
                stream_id=event.stream_id,
                version=event.stream_version,
                correlation_id=event.correlation_id,
            )

    # --- queries -------------------------------------------------------------------

    def get_unit(self, unit_id: str, who: Principal) -> Unit:
        self._require_own_unit(unit_id, who)
        return self.units.get(unit_id)

    def list_units(
        self, where: UnitFilter, who: Principal, convert: Callable[[Unit], Any] = Unit.clone
    ) -> list[Any]:
        """The units ``where`` admits, each through ``convert`` (a private copy by default;
        the API converts straight to its reply and copies nothing)."""
        if who.role is Role.TEAM:  # a team sees its own units only
            where = replace(where, station_id=who.team_id)
        return self.units.find(where, convert)

    def _require_own_unit(self, unit_id: str, who: Principal) -> None:
        if who.role is not Role.TEAM:
            return
        unit = self.units.get(unit_id)
        if unit.profile.station_id != who.team_id:
            raise PermissionDenied(
                f"team {who.team_id} may act only on its own units; {unit_id} belongs to "
                f"{unit.profile.station_id}"
            )
