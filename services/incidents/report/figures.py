"""The after-action report of an incident: its key times, the response standards met or
missed, escalations and re-dispatches, built from the incident's log through
``view.fold``, so it says what the log says, also for an incident still running (times
not reached are None) or cancelled before anyone moved."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, is_dataclass

from emergency.v1 import events_pb2
from services.incidents.report.standards import (
    NO_SHOW,
    ResponseStandards,
    StandardCheck,
    check_standards,
    default_standards,
)
from services.incidents.report.times import iso
from services.incidents.view import IncidentView, UnitTrack, fold


@dataclass(frozen=True, slots=True)
class UnitTimes:
    """One unit's part: its milestones (µs, 0: not reached) and the intervals between
    them in seconds (None: not reached)."""

    unit_id: str
    tier: str
    station_name: str
    capability: str
    status: str
    outcome: str
    outcome_reason: str
    replaces: str
    dispatched_us: int
    alerted_us: int
    acknowledged_us: int
    en_route_us: int
    on_scene_us: int
    released_us: int
    ended_us: int
    dispatch_to_alert_s: float | None
    alert_to_ack_s: float | None
    dispatch_to_ack_s: float | None
    turnout_s: float | None  # alert -> en route
    travel_s: float | None  # en route -> on scene
    response_s: float | None  # first call -> on scene


@dataclass(frozen=True, slots=True)
class FirstArrival:
    tier: str
    unit_id: str
    capability: str
    on_scene_us: int
    seconds_from_call: float


@dataclass(frozen=True, slots=True)
class Escalation:
    at_us: int
    seconds_from_call: float
    from_level: int
    to_level: int
    reason: str


@dataclass(frozen=True, slots=True)
class Redispatch:
    """A team that declined or did not answer in time, and who went instead."""

    at_us: int
    seconds_from_call: float
    unit_id: str
    tier: str
    capability: str
    outcome: str  # DECLINED, TIMED_OUT
    reason: str
    requested_us: int  # the replacement asked for; 0: none (the incident was over)
    replaced_by: str
    replacement_dispatched_us: int
    replaced_after_s: float | None  # from the decline to the replacement's dispatch


@dataclass(frozen=True, slots=True)
class CommandChange:
    at_us: int
    seconds_from_call: float
    commander_id: str
    commander_name: str


@dataclass(frozen=True, slots=True)
class Report:
    incident_id: str
    incident_type: str
    status: str
    alarm_level: int
    address: str
    location: tuple[float, float] | None
    commander_id: str
    commander_name: str
    cancel_reason: str
    calls: int
    events: int
    first_call_us: int  # the report's time zero (the incident's opening if no call)
    opened_us: int
    under_control_us: int
    ended_us: int
    as_of_us: int  # the last event
    call_to_dispatch_s: float | None
    units: tuple[UnitTimes, ...]
    first_arrivals: tuple[FirstArrival, ...]
    standards: tuple[StandardCheck, ...]
    escalations: tuple[Escalation, ...]
    redispatches: tuple[Redispatch, ...]
    command_changes: tuple[CommandChange, ...]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-able: times as ISO-8601 UTC strings (``*_us`` fields become ``*_at``),
        durations in seconds rounded to 0.1."""
        plain = _plain(self)
        assert isinstance(plain, dict), "a dataclass becomes a dict"
        return plain


def _plain(value: object) -> object:
    if is_dataclass(value) and not isinstance(value, type):
        out: dict[str, object] = {}
        for f in fields(value):
            item = getattr(value, f.name)
            if f.name.endswith("_us"):
                stem = f.name[:-3]  # at_us -> at, as_of_us -> as_of, opened_us -> opened_at
                key = stem if stem.endswith(("at", "as_of")) else f"{stem}_at"
                out[key] = iso(item)
            else:
                out[f.name] = _plain(item)
        return out
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


def _span(start_us: int, end_us: int) -> float | None:
    return round((end_us - start_us) / 1e6, 1) if start_us and end_us else None


def _unit_times(track: UnitTrack, call_us: int) -> UnitTimes:
    t = track
    return UnitTimes(
        unit_id=t.unit_id,
        tier=t.tier_name,
        station_name=t.station_name,
        capability=t.capability,
        status=t.status,
        outcome=t.outcome,
        outcome_reason=t.outcome_reason,
        replaces=t.replaces,
        dispatched_us=t.dispatched_us,
        alerted_us=t.alerted_us,
        acknowledged_us=t.acknowledged_us,
        en_route_us=t.en_route_us,
        on_scene_us=t.on_scene_us,
        released_us=t.released_us,
        ended_us=t.ended_us,
        dispatch_to_alert_s=_span(t.dispatched_us, t.alerted_us),
        alert_to_ack_s=_span(t.alerted_us, t.acknowledged_us),
        dispatch_to_ack_s=_span(t.dispatched_us, t.acknowledged_us),
        turnout_s=_span(t.alerted_us, t.en_route_us),
        travel_s=_span(t.en_route_us, t.on_scene_us),
        response_s=_span(call_us, t.on_scene_us),
    )


def _first_arrivals(units: Iterable[UnitTimes], call_us: int) -> tuple[FirstArrival, ...]:
    first: dict[str, UnitTimes] = {}
    for unit in units:
        if unit.on_scene_us and (
            unit.tier not in first or unit.on_scene_us < first[unit.tier].on_scene_us
        ):
            first[unit.tier] = unit
    arrivals = sorted(first.values(), key=lambda u: u.on_scene_us)
    return tuple(
        FirstArrival(
            u.tier, u.unit_id, u.capability, u.on_scene_us, _span(call_us, u.on_scene_us) or 0.0
        )
        for u in arrivals
    )


def _redispatches(view: IncidentView, call_us: int) -> tuple[Redispatch, ...]:
    requested: dict[str, int] = {}
    for at, unit_id, _reason in view.redispatches:
        requested.setdefault(unit_id, at)
    replacement = {t.replaces: t for t in view.units.values() if t.replaces}
    out = []
    for t in view.units.values():
        if t.outcome not in NO_SHOW:
            continue
        by = replacement.get(t.unit_id)
        sent = by.dispatched_us if by else 0
        out.append(
            Redispatch(
                at_us=t.ended_us,
                seconds_from_call=_span(call_us, t.ended_us) or 0.0,
                unit_id=t.unit_id,
                tier=t.tier_name,
                capability=t.capability,
                outcome=t.outcome,
                reason=t.outcome_reason,
                requested_us=requested.get(t.unit_id, 0),
                replaced_by=by.unit_id if by else "",
                replacement_dispatched_us=sent,
                replaced_after_s=_span(t.ended_us, sent),
            )
        )
    return tuple(sorted(out, key=lambda r: r.at_us))


def report_from_view(view: IncidentView, standards: ResponseStandards | None = None) -> Report:
    """The report of an incident already folded (``view.fold``), checked against
    ``standards`` (the configured ones by default)."""
    call_us = view.first_call_us or view.opened_us or view.started_us
    units = tuple(_unit_times(t, call_us) for t in view.units.values())
    first_dispatch = min(
        (t.dispatched_us for t in view.units.values() if t.dispatched_us), default=0
    )
    return Report(
        incident_id=view.incident_id,
        incident_type=view.incident_type,
        status=view.status.name,
        alarm_level=view.alarm_level,
        address=view.address,
        location=view.location,
        commander_id=view.commander_id,
        commander_name=view.commander_name,
        cancel_reason=view.cancel_reason,
        calls=view.calls,
        events=view.events_applied,
        first_call_us=call_us,
        opened_us=view.opened_us,
        under_control_us=view.under_control_us,
        ended_us=view.ended_us,
        as_of_us=view.as_of_us,
        call_to_dispatch_s=_span(view.first_call_us, first_dispatch),
        units=units,
        first_arrivals=_first_arrivals(units, call_us),
        standards=check_standards(view, standards or default_standards()),
        escalations=tuple(
            Escalation(at, _span(call_us, at) or 0.0, lo, hi, reason)
            for at, lo, hi, reason in view.escalations
        ),
        redispatches=_redispatches(view, call_us),
        command_changes=tuple(
            CommandChange(at, _span(call_us, at) or 0.0, cid, name)
            for at, cid, name in view.command_changes
        ),
        notes=tuple(view.notes),
    )


def build_report(
    envelopes: Iterable[events_pb2.EventEnvelope], standards: ResponseStandards | None = None
) -> Report:
    """The after-action report of the incident whose log ``envelopes`` is (any order)."""
    return report_from_view(fold(envelopes), standards)
