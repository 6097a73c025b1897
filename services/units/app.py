"""The units application service: load, decide, append (idempotently), and the board."""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from dataclasses import replace
from typing import Any

import structlog
from google.protobuf.message import Message

from emergency.v1 import common_pb2, units_pb2
from services.common.auth import SYSTEM, Principal
from services.common.commands import append_decision, fingerprint, require_request_id
from services.common.envelope import EventEnvelope, new_event
from services.common.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    PermissionDenied,
)
from services.common.eventstore import (
    AppendResult,
    ConcurrencyConflict,
    EventStore,
    StreamAppend,
    now_us,
)
from services.common.geo import Point
from services.common.jurisdiction import JurisdictionError, Role, parse_jurisdiction
from services.units.alerts import AlertHub
from services.units.board import UnitBoard, UnitFilter
from services.units.domain import (
    ACKNOWLEDGED,
    DECLINED,
    TIMED_OUT,
    WAITING,
    WITHDRAWN,
    Unit,
    stream_id,
)
from services.units.roster import plan_roster, profiles_from

log = structlog.get_logger(__name__)
# Events that change what a team's app shows (a release withdraws an unanswered alert).
ALERT_EVENTS = frozenset(
    {"UnitAlerted", "AlertAcknowledged", "AlertDeclined", "AlertTimedOut", "UnitReleased"}
)
_ALERT_STATE = {
    WAITING: units_pb2.Alert.WAITING,
    ACKNOWLEDGED: units_pb2.Alert.ACKNOWLEDGED,
    DECLINED: units_pb2.Alert.DECLINED,
    TIMED_OUT: units_pb2.Alert.TIMED_OUT,
    WITHDRAWN: units_pb2.Alert.WITHDRAWN,
}


def ids(request: Message) -> tuple[str, str]:
    """A client command's request id (required) and fingerprint."""
    return require_request_id(request.request_id), fingerprint(request)  # type: ignore[attr-defined]


def alert_message(unit: Unit) -> units_pb2.Alert:
    """The unit's latest alert as the team's app sees it."""
    state = unit.alert
    assert state is not None
    a = state.alert
    return units_pb2.Alert(
        alert_id=a.alert_id, unit_id=a.unit_id, team_id=a.team_id, incident_id=a.incident_id,
        incident_type=a.incident_type, location=a.location, address=a.address,
        state=_ALERT_STATE[state.state], responders_needed=a.responders_needed,
        responders_total=state.responders_total,
        deadline=a.deadline if a.HasField("deadline") else None, alerted_at=a.alerted_at,
    )  # fmt: skip


Decision = Callable[[Unit], list[Message]]


class UnitsApp:
    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.board = UnitBoard(store)
        self.hub = AlertHub()

    # --- commands ------------------------------------------------------------------

    def register_unit(self, request: units_pb2.RegisterUnitRequest, who: Principal) -> Unit:
        request_id = require_request_id(request.request_id)
        request_print = fingerprint(request)
        if self.store.find_request(request_id, request_print) is None:
            events = Unit.register(request.profile)
            unit_id = request.profile.unit_id.strip()
            try:
                self.store.append(
                    stream_id(unit_id), 0, self._stamp(events, request_id, who),
                    request_id=request_id, fingerprint=request_print,
                )  # fmt: skip
            except ConcurrencyConflict:
                raise AlreadyExists(f"unit {unit_id!r} is registered already") from None
        return self.board.get(request.profile.unit_id.strip())

    def load_jurisdiction(
        self, request: units_pb2.LoadJurisdictionRequest, who: Principal
    ) -> units_pb2.LoadJurisdictionResponse:
        """Bring the registry in line with a jurisdiction file, in one transaction."""
        request_id = require_request_id(request.request_id)
        seen = self.store.find_request(request_id, fingerprint(request))
        if seen is not None:  # a retry: answer with what the first call applied
            applied: dict[str, list[str]] = {}
            for event in seen.events:
                applied.setdefault(event.event_type, []).append(event.stream_id[len("unit-") :])
            return units_pb2.LoadJurisdictionResponse(
                registered=applied.get("UnitRegistered", []),
                updated=applied.get("UnitUpdated", []),
                retired=applied.get("UnitRetired", []),
            )
        try:
            jurisdiction = parse_jurisdiction(request.yaml, request.file_name or "jurisdiction")
        except JurisdictionError as exc:
            raise InvalidArgument(str(exc)) from None
        changes = plan_roster(self.board.all(), profiles_from(jurisdiction))
        if changes.events:
            self.store.append_batch(
                [
                    StreamAppend(stream_id(unit_id), version, self._stamp(events, request_id, who))
                    for unit_id, (version, events) in changes.events.items()
                ],
                request_id=request_id, fingerprint=fingerprint(request),
            )  # fmt: skip
        log.info("jurisdiction loaded", name=jurisdiction.jurisdiction.name,
                 registered=len(changes.registered), updated=len(changes.updated),
                 retired=len(changes.retired), unchanged=changes.unchanged,
                 kept_busy=len(changes.kept_busy))  # fmt: skip
        return units_pb2.LoadJurisdictionResponse(
            registered=changes.registered, updated=changes.updated, retired=changes.retired,
            unchanged=changes.unchanged, kept_busy=changes.kept_busy,
        )  # fmt: skip

    def reserve(self, request: units_pb2.ReserveUnitRequest, who: Principal) -> Unit:
        def decide(unit: Unit) -> list[Message]:
            if request.expected_version and unit.version != request.expected_version:
                raise Conflict(
                    f"unit {unit.unit_id} is at version {unit.version}, not the expected "
                    f"{request.expected_version}: it changed since it was read "
                    f"(now {common_pb2.UnitStatus.Name(unit.status)}); reload it"
                )
            return unit.reserve(request.incident_id)

        unit = self._command(ids(request), request.unit_id, decide, who, request.incident_id)
        if unit.incident_id != request.incident_id:
            # A retry of a reservation that was released since: it no longer holds.
            raise FailedPrecondition(
                f"unit {unit.unit_id} is no longer reserved for incident {request.incident_id} "
                f"(now {common_pb2.UnitStatus.Name(unit.status)}): the reservation made with "
                "this request id was released; reserve it again with a new request id"
            )
        return unit

    def release(self, request: units_pb2.ReleaseUnitRequest, who: Principal) -> Unit:
        return self._command(
            ids(request), request.unit_id,
            lambda unit: unit.release(request.incident_id, request.reason or "released"),
            who, request.incident_id,
        )  # fmt: skip

    def change_status(self, request: units_pb2.ChangeStatusRequest, who: Principal) -> Unit:
        self._require_own_unit(request.unit_id, who)
        return self._command(
            ids(request), request.unit_id, lambda unit: unit.change_status(request.status), who
        )

    def report_location(self, request: units_pb2.ReportLocationRequest, who: Principal) -> Unit:
        self._require_own_unit(request.unit_id, who)
        if not request.HasField("location"):
            raise InvalidArgument("location is required")
        where = Point.checked(request.location.latitude, request.location.longitude,
                              f"unit {request.unit_id} location")  # fmt: skip
        return self._command(
            ids(request), request.unit_id, lambda unit: unit.report_location(where), who
        )

    # --- alerts --------------------------------------------------------------------

    def alert_for_dispatch(self, envelope: EventEnvelope) -> None:
        """A unit was dispatched: alert its team (once, however often the event comes)."""
        dispatched = envelope.unit_dispatched
        who = Principal(Role.ADMIN, f"dispatch:{envelope.actor.id or 'system'}")
        self._command(
            (f"alert:{envelope.event_id}", "unit-dispatched"), dispatched.unit_id,
            lambda unit: unit.alert_team(envelope.event_id, dispatched, now_us()),
            who, dispatched.incident_id,
        )  # fmt: skip

    def acknowledge(self, request: units_pb2.AcknowledgeAlertRequest, who: Principal) -> Unit:
        self._require_own_unit(request.unit_id, who)
        return self._command(
            ids(request), request.unit_id,
            lambda unit: unit.acknowledge(request.alert_id, request.responders,
                                          request.eta_seconds, request.note),
            who,
        )  # fmt: skip

    def decline(self, request: units_pb2.DeclineAlertRequest, who: Principal) -> Unit:
        self._require_own_unit(request.unit_id, who)
        return self._command(
            ids(request), request.unit_id,
            lambda unit: unit.decline(request.alert_id, request.reason), who,
        )  # fmt: skip

    def sweep_deadlines(self) -> int:
        """Time out every alert past its deadline; returns how many."""
        now = now_us()
        due = self.board.find(
            lambda unit: unit.alert is not None and unit.alert.state == WAITING
            and 0 < unit.alert.deadline_us <= now
        )  # fmt: skip
        for unit in due:
            alert_id = unit.alert.alert_id  # type: ignore[union-attr]
            try:
                self._command(
                    (f"timeout:{alert_id}", "alert-deadline"), unit.unit_id,
                    lambda u, a=alert_id: u.time_out(a, now), SYSTEM,
                )  # fmt: skip
            except DomainError as exc:  # answered meanwhile
                log.info("alert not timed out", alert_id=alert_id, reason=str(exc))
        return len(due)

    def waiting_alerts(self, team_id: str) -> list[units_pb2.Alert]:
        """Alerts of the team not yet answered: what a (re)connecting app must see."""
        return [
            alert_message(unit) for unit in self.board.find(UnitFilter(station_id=team_id))
            if unit.alert is not None and unit.alert.state == WAITING
        ]  # fmt: skip

    def _command(
        self, ids: tuple[str, str], unit_id: str, decide: Decision, who: Principal,
        incident_id: str = "",
    ) -> Unit:  # fmt: skip
        """Load the unit, decide, append (``append_decision``); the same request id again
        returns the unit without deciding again. ``ids``: request id and fingerprint."""
        request_id, request_print = ids
        seen = self.store.find_request(request_id, request_print)
        if seen is not None:
            return self.board.get(unit_id)
        result = append_decision(
            self.store, stream_id(unit_id), lambda: self.board.get(unit_id), decide,
            lambda unit, events: self._stamp(events, request_id, who,
                                             incident_id or unit.incident_id),
            ids,
        )  # fmt: skip
        assert result is not None, "a unit's decision refuses or records"
        self._log(result)
        unit = self.board.get(unit_id)
        if unit.alert is not None and any(e.event_type in ALERT_EVENTS for e in result.events):
            self.hub.publish(alert_message(unit))
        return unit

    @staticmethod
    def _stamp(
        events: list[Message], request_id: str, who: Principal, correlation_id: str = ""
    ) -> list:  # type: ignore[type-arg]
        return [
            new_event(e, correlation_id=correlation_id, causation_id=request_id, actor=who.actor)
            for e in events
        ]

    @staticmethod
    def _log(result: AppendResult) -> None:
        for event in result.events:
            log.info("unit event", event_type=event.event_type, stream_id=event.stream_id,
                     version=event.stream_version, correlation_id=event.correlation_id)  # fmt: skip

    # --- queries -------------------------------------------------------------------

    def get_unit(self, unit_id: str, who: Principal) -> Unit:
        self._require_own_unit(unit_id, who)
        return self.board.get(unit_id)

    def list_units(
        self, where: UnitFilter, who: Principal, convert: Callable[[Unit], Any] = deepcopy
    ) -> list[Any]:
        """The units ``where`` admits, each through ``convert`` (a private copy by default;
        the API converts straight to its reply and copies nothing)."""
        if who.role is Role.TEAM:  # a team sees its own units only
            where = replace(where, station_id=who.team_id)
        return self.board.find(where, convert)

    def _require_own_unit(self, unit_id: str, who: Principal) -> None:
        if who.role is not Role.TEAM:
            return
        unit = self.board.get(unit_id)
        if unit.profile.station_id != who.team_id:
            raise PermissionDenied(
                f"team {who.team_id} may act only on its own units; {unit_id} belongs to "
                f"{unit.profile.station_id}"
            )
