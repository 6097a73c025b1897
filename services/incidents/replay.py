"""An incident rebuilt from its log: the canonical order of its events, the state they
leave at any instant (time travel), and one line per event for a person.

Pure: no I/O. The log mixes three services' streams (dispatch, units, incidents); the
order must not depend on where the events were read from (the store or the Kafka
topics), so it is a sort on what every copy of an event carries: when it happened, then
source, stream and version, with repeats of one (source, stream, version) dropped.

Replaying is on the hot path of every replay, state and report request, and the bar is
100,000 events/s: ``IncidentView.apply`` dispatches on the payload's oneof name through a
dict of small methods and only reads fields (no copies, no re-serialisation).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from emergency.v1 import common_pb2, events_pb2, incidents_pb2
from services.common.envelope import micros

EventEnvelope = events_pb2.EventEnvelope
Outcome = events_pb2.AssignmentEnded.Outcome

_PAYLOAD = EventEnvelope.DESCRIPTOR.oneofs_by_name["payload"]
# oneof field name -> payload message name ("unit_alerted" -> "UnitAlerted")
EVENT_TYPES: dict[str, str] = {f.name: f.message_type.name for f in _PAYLOAD.fields}
_UNIT_STATUS = {v.number: v.name for v in common_pb2.UnitStatus.DESCRIPTOR.values}
_TIERS = {v.number: v.name for v in common_pb2.Tier.DESCRIPTOR.values}
_CALL_SOURCES = {v.number: v.name for v in common_pb2.CallSource.DESCRIPTOR.values}
_ACTOR_KINDS = {v.number: v.name for v in events_pb2.Actor.Kind.DESCRIPTOR.values}
_OUTCOMES = {v.number: v.name for v in Outcome.DESCRIPTOR.values}
_CANCEL_REASONS = {v.number: v.name for v in events_pb2.IncidentCancelled.Reason.DESCRIPTOR.values}
# Statuses a unit reaches before its team moves: an acknowledgement moves it on from these.
_BEFORE_ACK = frozenset({"", "RESERVED", "DISPATCHED", "ALERTED"})


def tier_name(tier: int) -> str:
    return _TIERS.get(tier, f"TIER_{tier}")


def event_type(envelope: EventEnvelope) -> str:
    """The payload's message name: the envelope's ``event_type``, else the oneof's."""
    if envelope.event_type:
        return envelope.event_type
    kind = envelope.WhichOneof("payload")
    return EVENT_TYPES.get(kind, "") if kind else ""


def actor_of(envelope: EventEnvelope) -> str:
    """``"TEAM:VOL-03:duty-phone"``; empty when the event names nobody."""
    actor = envelope.actor
    if not actor.kind and not actor.id:
        return ""
    return f"{_ACTOR_KINDS.get(actor.kind, str(actor.kind))}:{actor.id}"


# --- order ---------------------------------------------------------------------------------


def _identity(envelope: EventEnvelope) -> tuple[str, str, int]:
    return (envelope.source, envelope.stream_id, envelope.stream_version)


def _timed(envelopes: Iterable[EventEnvelope]) -> tuple[list[int], list[EventEnvelope]]:
    """The envelopes in the canonical order, each event once, and their occurred_at µs.

    Sorts indices by time alone (ints: cheap), and reads source, stream and version only
    for events that share an instant: copies of one event carry the same occurred_at, so
    repeats are always among those. Building a tuple key per event cost three times more.
    """
    envs = envelopes if isinstance(envelopes, list) else list(envelopes)
    ats: list[int] = []
    push = ats.append
    for envelope in envs:
        ts = envelope.occurred_at
        push(ts.seconds * 1_000_000 + ts.nanos // 1000)
    order = sorted(range(len(envs)), key=ats.__getitem__)
    out_at: list[int] = []
    out_env: list[EventEnvelope] = []
    n, i = len(order), 0
    while i < n:
        k = order[i]
        at = ats[k]
        j = i + 1
        if j < n and ats[order[j]] == at:  # a tie: by source, stream, version; once each
            while j < n and ats[order[j]] == at:
                j += 1
            tied = sorted((envs[m] for m in order[i:j]), key=_identity)  # stable: first kept
            previous = None
            for envelope in tied:
                ident = _identity(envelope)
                if ident != previous:
                    previous = ident
                    out_at.append(at)
                    out_env.append(envelope)
        else:
            out_at.append(at)
            out_env.append(envs[k])
        i = j
    return out_at, out_env


def ordered(envelopes: Iterable[EventEnvelope]) -> list[EventEnvelope]:
    """The canonical order: by (occurred_at, source, stream_id, stream_version), repeats of
    one (source, stream_id, stream_version) dropped. The same list whichever source (the
    store, the Kafka topics) and however often each event was delivered. (Every copy of a
    recorded event carries the same occurred_at: repeats are looked for at each instant.)"""
    return _timed(envelopes)[1]


# --- state ---------------------------------------------------------------------------------


@dataclass(slots=True)
class UnitTrack:
    """A unit's part in the incident. Times are µs since the epoch; 0: not (yet)."""

    unit_id: str
    tier: int = common_pb2.TIER_UNSPECIFIED
    station_name: str = ""
    slot: str = ""
    status: str = ""  # RESERVED, DISPATCHED, ALERTED, ACKNOWLEDGED, EN_ROUTE, ON_SCENE, ...
    outcome: str = ""  # "", DECLINED, TIMED_OUT, RELEASED
    outcome_reason: str = ""
    dispatched_us: int = 0
    alerted_us: int = 0
    acknowledged_us: int = 0  # the complete acknowledgement: enough responders coming
    en_route_us: int = 0
    on_scene_us: int = 0
    released_us: int = 0  # UnitReleased or AssignmentEnded(RELEASED), whichever first
    ended_us: int = 0  # off the incident for any reason: declined, timed out, released
    replaces: str = ""  # the unit it stands in for
    location: tuple[float, float] | None = None  # the last reported

    @property
    def tier_name(self) -> str:
        return tier_name(self.tier)

    @property
    def active(self) -> bool:
        return not self.outcome

    def _end(self, outcome: str, reason: str, at: int) -> None:
        if not self.outcome:
            self.outcome, self.outcome_reason = outcome, reason
        elif reason and not self.outcome_reason:
            self.outcome_reason = reason
        if not self.ended_us:
            self.ended_us = at
        if outcome == "RELEASED" and not self.released_us:
            self.released_us = at
        self.status = "AVAILABLE"  # as the units service has it once the unit is free


@dataclass(slots=True)
class IncidentView:
    """The incident as its log has it so far; ``apply`` each event in the canonical order.
    Times are µs since the epoch, 0 when not (yet)."""

    incident_id: str = ""
    incident_type: str = ""
    status: str = "NONE"  # OPEN, UNDER_CONTROL, CLOSED, CANCELLED
    alarm_level: int = 0
    location: tuple[float, float] | None = None
    address: str = ""
    opened_us: int = 0
    under_control_us: int = 0
    ended_us: int = 0  # closed or cancelled
    cancel_reason: str = ""
    commander_id: str = ""
    commander_name: str = ""
    calls: int = 0
    first_call_us: int = 0
    first_dispatch_us: int = 0
    units: dict[str, UnitTrack] = field(default_factory=dict)  # in dispatch order
    notes: list[str] = field(default_factory=list)  # "[KIND] text"
    # (at, from level, to level, reason)
    escalations: list[tuple[int, int, int, str]] = field(default_factory=list)
    # (at, the unit replaced, reason): replacements asked for after a decline or time-out
    redispatches: list[tuple[int, str, str]] = field(default_factory=list)
    # (at, commander id, commander name): who took command, and when
    command_changes: list[tuple[int, str, str]] = field(default_factory=list)
    # (at, slot, missing, reason): needs dispatch could not fill (yet)
    shortfalls: list[tuple[int, str, int, str]] = field(default_factory=list)
    started_us: int = 0  # the first event applied
    events_applied: int = 0
    events_ignored: int = 0  # of kinds this version does not know or does not need
    as_of_us: int = 0  # occurred_at of the last event applied

    def apply(self, envelope: EventEnvelope) -> None:
        ts = envelope.occurred_at
        self._apply(envelope, ts.seconds * 1_000_000 + ts.nanos // 1000)

    def _apply(self, envelope: EventEnvelope, at: int) -> None:
        if not self.events_applied:
            self.started_us = at
            if not self.incident_id:
                self.incident_id = envelope.correlation_id
        self.events_applied += 1
        self.as_of_us = at
        kind = envelope.WhichOneof("payload")
        handler = _HANDLERS.get(kind) if kind else None
        if handler is None:
            self.events_ignored += 1  # a newer event type: counted, nothing else
            return
        handler(self, getattr(envelope, kind), at)

    def unit(self, unit_id: str) -> UnitTrack:
        """The unit's track, started when the log first names the unit."""
        track = self.units.get(unit_id)
        if track is None:
            track = self.units[unit_id] = UnitTrack(unit_id)
        return track

    def _taken(self, unit_id: str) -> UnitTrack:
        """The track for a unit taken for the incident: a unit sent again after it left
        starts a new track (in its first place in the dispatch order)."""
        track = self.units.get(unit_id)
        if track is None or track.outcome:
            track = self.units[unit_id] = UnitTrack(unit_id)
        return track

    # --- dispatch's events -----------------------------------------------------------

    def _call_received(self, e: events_pb2.CallReceived, at: int) -> None:
        self.calls += 1
        if not self.first_call_us:
            self.first_call_us = at
        if self.location is None and e.HasField("location"):
            self.location = (e.location.latitude, e.location.longitude)
        if not self.address:
            self.address = e.address
        if not self.incident_type:
            self.incident_type = e.incident_type

    def _incident_created(self, e: events_pb2.IncidentCreated, at: int) -> None:
        self.incident_id = e.incident_id or self.incident_id
        self.incident_type = e.incident_type or self.incident_type
        if self.status == "NONE":
            self.status = "OPEN"
        self.alarm_level = max(self.alarm_level, e.alarm_level or 1)
        if e.HasField("location"):
            self.location = (e.location.latitude, e.location.longitude)
        self.address = e.address or self.address
        self.opened_us = micros(e.opened_at) or at

    def _incident_classified(self, e: events_pb2.IncidentClassified, at: int) -> None:
        self.incident_type = e.to_type

    def _unit_dispatched(self, e: events_pb2.UnitDispatched, at: int) -> None:
        track = self._taken(e.unit_id)
        if not self.first_dispatch_us:
            self.first_dispatch_us = at
        if not track.dispatched_us:
            track.dispatched_us = at
        track.slot = e.slot or track.slot
        track.replaces = e.replaces_unit_id or track.replaces
        if track.status in ("", "RESERVED"):
            track.status = "DISPATCHED"

    def _units_requested(self, e: events_pb2.UnitsRequested, at: int) -> None:
        if e.replaces_unit_id:
            self.redispatches.append((at, e.replaces_unit_id, e.reason))

    def _units_unavailable(self, e: events_pb2.UnitsUnavailable, at: int) -> None:
        self.shortfalls.append((at, e.slot, e.missing, e.reason))

    def _assignment_ended(self, e: events_pb2.AssignmentEnded, at: int) -> None:
        outcome = _OUTCOMES.get(e.outcome, "RELEASED")
        self.unit(e.unit_id)._end(
            "RELEASED" if outcome == "OUTCOME_UNSPECIFIED" else outcome, e.reason, at
        )

    def _alarm_level_raised(self, e: events_pb2.AlarmLevelRaised, at: int) -> None:
        self.escalations.append((at, e.from_level, e.to_level, e.reason))
        self.alarm_level = e.to_level

    def _command_assumed(self, e: events_pb2.CommandAssumed, at: int) -> None:
        self.commander_id, self.commander_name = e.commander_id, e.commander_name
        self.command_changes.append((at, e.commander_id, e.commander_name))

    def _command_transferred(self, e: events_pb2.CommandTransferred, at: int) -> None:
        self.commander_id, self.commander_name = e.to_commander_id, e.to_commander_name
        self.command_changes.append((at, e.to_commander_id, e.to_commander_name))

    def _incident_under_control(self, e: events_pb2.IncidentUnderControl, at: int) -> None:
        if self.status in ("NONE", "OPEN"):
            self.status = "UNDER_CONTROL"
        if not self.under_control_us:
            self.under_control_us = at

    def _incident_closed(self, e: events_pb2.IncidentClosed, at: int) -> None:
        self.status = "CLOSED"
        self.ended_us = self.ended_us or at

    def _incident_cancelled(self, e: events_pb2.IncidentCancelled, at: int) -> None:
        self.status = "CANCELLED"
        self.ended_us = self.ended_us or at
        self.cancel_reason = _CANCEL_REASONS.get(e.reason, str(e.reason))

    def _noop(self, e: Message, at: int) -> None:
        """Known, and changes nothing here (a linked duplicate is counted as its call)."""

    # --- the units service's events --------------------------------------------------

    def _unit_reserved(self, e: events_pb2.UnitReserved, at: int) -> None:
        track = self._taken(e.unit_id)
        if not track.status:
            track.status = "RESERVED"

    def _unit_alerted(self, e: events_pb2.UnitAlerted, at: int) -> None:
        track = self.unit(e.unit_id)
        track.tier = e.tier or track.tier
        track.station_name = e.station_name or track.station_name
        if not track.alerted_us:
            track.alerted_us = at
        if track.status in ("", "RESERVED", "DISPATCHED"):
            track.status = "ALERTED"

    def _alert_acknowledged(self, e: events_pb2.AlertAcknowledged, at: int) -> None:
        if not e.complete:
            return  # a volunteer coming; the unit counts once enough are
        track = self.unit(e.unit_id)
        if not track.acknowledged_us:
            track.acknowledged_us = at
        if track.status in _BEFORE_ACK:
            track.status = "ACKNOWLEDGED"

    def _alert_declined(self, e: events_pb2.AlertDeclined, at: int) -> None:
        self.unit(e.unit_id)._end("DECLINED", e.reason, at)

    def _alert_timed_out(self, e: events_pb2.AlertTimedOut, at: int) -> None:
        self.unit(e.unit_id)._end(
            "TIMED_OUT", f"{e.responders_total} responders by the deadline", at
        )

    def _unit_status_changed(self, e: events_pb2.UnitStatusChanged, at: int) -> None:
        track = self.unit(e.unit_id)
        status = _UNIT_STATUS.get(e.to_status, f"STATUS_{e.to_status}")
        track.status = status
        if status == "EN_ROUTE":
            track.en_route_us = track.en_route_us or at
        elif status == "ON_SCENE":
            track.on_scene_us = track.on_scene_us or at
        elif status == "ACKNOWLEDGED":
            track.acknowledged_us = track.acknowledged_us or at

    def _unit_released(self, e: events_pb2.UnitReleased, at: int) -> None:
        self.unit(e.unit_id)._end("RELEASED", e.reason, at)

    def _unit_location_reported(self, e: events_pb2.UnitLocationReported, at: int) -> None:
        if e.HasField("location"):
            self.unit(e.unit_id).location = (e.location.latitude, e.location.longitude)

    # --- the incidents service's events ----------------------------------------------

    def _commander_note_added(self, e: events_pb2.CommanderNoteAdded, at: int) -> None:
        self.notes.append(f"[{e.kind or 'OTHER'}] {e.text}")


_HANDLERS: dict[str, Callable[[IncidentView, Message, int], None]] = {
    "call_received": IncidentView._call_received,
    "incident_created": IncidentView._incident_created,
    "duplicate_call_linked": IncidentView._noop,
    "incident_classified": IncidentView._incident_classified,
    "unit_dispatched": IncidentView._unit_dispatched,
    "units_requested": IncidentView._units_requested,
    "units_unavailable": IncidentView._units_unavailable,
    "units_request_cancelled": IncidentView._noop,
    "assignment_ended": IncidentView._assignment_ended,
    "alarm_level_raised": IncidentView._alarm_level_raised,
    "command_assumed": IncidentView._command_assumed,
    "command_transferred": IncidentView._command_transferred,
    "incident_under_control": IncidentView._incident_under_control,
    "incident_closed": IncidentView._incident_closed,
    "incident_cancelled": IncidentView._incident_cancelled,
    "unit_reserved": IncidentView._unit_reserved,
    "unit_alerted": IncidentView._unit_alerted,
    "alert_acknowledged": IncidentView._alert_acknowledged,
    "alert_declined": IncidentView._alert_declined,
    "alert_timed_out": IncidentView._alert_timed_out,
    "unit_status_changed": IncidentView._unit_status_changed,
    "unit_released": IncidentView._unit_released,
    "unit_location_reported": IncidentView._unit_location_reported,
    "commander_note_added": IncidentView._commander_note_added,
}  # type: ignore[dict-item]


def fold(envelopes: Iterable[EventEnvelope], until_us: int | None = None) -> IncidentView:
    """The incident as it stood at ``until_us`` (every event that occurred at or before
    it), or after its whole log when ``until_us`` is None."""
    view = IncidentView()
    apply = view._apply
    ats, envs = _timed(envelopes)
    if until_us is not None:
        cut = bisect_right(ats, until_us)
        ats, envs = ats[:cut], envs[:cut]
    for at, envelope in zip(ats, envs, strict=True):
        apply(envelope, at)
    return view


def _timestamp(target: Timestamp, us: int) -> None:
    if us:
        target.FromMicroseconds(us)


def state_message(view: IncidentView) -> incidents_pb2.IncidentState:
    state = incidents_pb2.IncidentState(
        incident_id=view.incident_id,
        incident_type=view.incident_type,
        status=view.status,
        alarm_level=view.alarm_level,
        address=view.address,
        commander_id=view.commander_id,
        commander_name=view.commander_name,
        calls=view.calls,
        notes=view.notes,
        events_applied=view.events_applied,
    )
    if view.location is not None:
        state.location.latitude, state.location.longitude = view.location
    _timestamp(state.opened_at, view.opened_us)
    _timestamp(state.ended_at, view.ended_us)
    _timestamp(state.as_of, view.as_of_us)
    for track in view.units.values():
        unit = state.units.add(
            unit_id=track.unit_id,
            tier=track.tier if track.tier in _TIERS else common_pb2.TIER_UNSPECIFIED,
            station_name=track.station_name,
            slot=track.slot,
            status=track.status,
            outcome=track.outcome,
            replaces_unit_id=track.replaces,
        )
        _timestamp(unit.dispatched_at, track.dispatched_us)
        _timestamp(unit.alerted_at, track.alerted_us)
        _timestamp(unit.acknowledged_at, track.acknowledged_us)
        _timestamp(unit.en_route_at, track.en_route_us)
        _timestamp(unit.on_scene_at, track.on_scene_us)
        _timestamp(unit.released_at, track.released_us)
    return state


# --- for a person ----------------------------------------------------------------------


def mask_number(number: str) -> str:
    """A caller's number with its middle hidden: ``13912345678`` -> ``139xxxx5678``."""
    number = number.strip()
    n = len(number)
    if n >= 8:
        return number[:3] + "x" * (n - 7) + number[-4:]
    if n > 2:
        return "x" * (n - 2) + number[-2:]
    return "x" * n


def _clip(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _with(text: str, detail: str, sep: str = ": ") -> str:
    return f"{text}{sep}{_clip(detail)}" if detail.strip() else text


def _s_call(e: events_pb2.CallReceived) -> str:
    source = _CALL_SOURCES.get(e.source, str(e.source))
    who = f"call from {mask_number(e.caller_number)}" if e.caller_number else "alarm"
    what = e.incident_type or "unclassified"
    where = f" at {e.address}" if e.address else ""
    if not where and e.HasField("location"):
        where = f" at {e.location.latitude:.5f}, {e.location.longitude:.5f}"
    return _with(f"{who} ({source}): {what}{where}", e.description, " - ")


def _s_created(e: events_pb2.IncidentCreated) -> str:
    where = f" at {e.address}" if e.address else ""
    return f"incident opened: {e.incident_type}{where}, alarm level {e.alarm_level or 1}"


def _s_dispatched(e: events_pb2.UnitDispatched) -> str:
    text = f"{e.unit_id} dispatched" + (f" ({e.slot})" if e.slot else "")
    if e.replaces_unit_id:
        text += f" replacing {e.replaces_unit_id}"
    return _with(text, e.reason)


def _s_requested(e: events_pb2.UnitsRequested) -> str:
    if e.replaces_unit_id:
        text = f"replacement for {e.replaces_unit_id} requested" + (
            f" ({e.slot})" if e.slot else ""
        )
    elif e.unit_id:
        text = f"{e.unit_id} requested" + (f" ({e.slot})" if e.slot else "")
    else:
        text = f"{e.count or 1} x {e.slot or 'unit'} requested"
    return _with(text, e.reason)


def _s_alerted(e: events_pb2.UnitAlerted) -> str:
    who = ", ".join(x for x in (e.station_name, tier_name(e.tier) if e.tier else "") if x)
    text = f"{e.unit_id}" + (f" ({who})" if who else "") + " alerted"
    if e.HasField("deadline") and e.HasField("alerted_at"):
        window = (micros(e.deadline) - micros(e.alerted_at)) / 1e6
        text += f", {e.responders_needed or 1} responders needed within {window:.0f} s"
    return text


def _s_acknowledged(e: events_pb2.AlertAcknowledged) -> str:
    if e.automatic:
        return f"{e.unit_id} acknowledged (staffed station)"
    text = f"{e.unit_id}: {e.responders} coming ({e.responders_total} in all)"
    if e.eta_seconds:
        text += f", ETA {e.eta_seconds / 60:.0f} min"
    if e.complete:
        text += ", acknowledged"
    return _with(text, e.note, " - ")


def _s_status(e: events_pb2.UnitStatusChanged) -> str:
    status = _UNIT_STATUS.get(e.to_status, f"STATUS_{e.to_status}")
    return f"{e.unit_id} {status.lower().replace('_', ' ')}"


def _s_transferred(e: events_pb2.CommandTransferred) -> str:
    to = e.to_commander_name or e.to_commander_id
    text = f"command passed from {e.from_commander_id or 'nobody'} to {to}"
    return _with(text, e.reason)


def _s_classified(e: events_pb2.IncidentClassified) -> str:
    text = f"reclassified {e.from_type or '?'} -> {e.to_type}"
    if e.verified_alarm:
        text += " (automatic alarm verified)"
    return _with(text, e.note)


_SUMMARIES: dict[str, Callable[[Message], str]] = {
    "call_received": _s_call,
    "incident_created": _s_created,
    "duplicate_call_linked": lambda e: (
        f"call {e.call_id} linked as a duplicate" + (f" by {e.linked_by}" if e.linked_by else "")
    ),
    "incident_classified": _s_classified,
    "unit_dispatched": _s_dispatched,
    "units_requested": _s_requested,
    "units_unavailable": lambda e: _with(
        f"no {e.slot or 'unit'} free ({e.missing} missing)", e.reason
    ),
    "units_request_cancelled": lambda e: _with(
        f"request {e.need_id} for {e.remaining} x {e.slot or 'unit'} withdrawn", e.reason
    ),
    "assignment_ended": lambda e: _with(
        f"{e.unit_id} off the incident ({_OUTCOMES.get(e.outcome, e.outcome)})", e.reason
    ),
    "alarm_level_raised": lambda e: _with(f"alarm raised {e.from_level} -> {e.to_level}", e.reason),
    "command_assumed": lambda e: (
        f"{e.commander_name or e.commander_id} took command"
        + (f" ({e.unit_id})" if e.unit_id else "")
    ),
    "command_transferred": _s_transferred,
    "incident_under_control": lambda e: _with("under control", e.note),
    "incident_closed": lambda e: _with("incident closed", e.note),
    "incident_cancelled": lambda e: _with(
        f"incident cancelled ({_CANCEL_REASONS.get(e.reason, e.reason)})", e.note
    ),
    "unit_reserved": lambda e: f"{e.unit_id} reserved",
    "unit_alerted": _s_alerted,
    "alert_acknowledged": _s_acknowledged,
    "alert_declined": lambda e: _with(f"{e.unit_id} declined", e.reason),
    "alert_timed_out": lambda e: (
        f"{e.unit_id} did not acknowledge in time ({e.responders_total} responders)"
    ),
    "unit_status_changed": _s_status,
    "unit_released": lambda e: _with(f"{e.unit_id} released", e.reason),
    "unit_location_reported": lambda e: (
        f"{e.unit_id} at {e.location.latitude:.5f}, {e.location.longitude:.5f}"
    ),
    "unit_registered": lambda e: f"{e.profile.unit_id} registered",
    "unit_updated": lambda e: f"{e.profile.unit_id} updated: {', '.join(e.changed_fields)}",
    "unit_retired": lambda e: _with(f"{e.unit_id} retired", e.reason),
    "commander_note_added": lambda e: _with(f"[{e.kind or 'OTHER'}]", e.text, " "),
}


def summary(envelope: EventEnvelope) -> str:
    """What happened, in one line a person reads."""
    kind = envelope.WhichOneof("payload")
    describe = _SUMMARIES.get(kind) if kind else None
    if describe is None:
        name = event_type(envelope) or "event"
        return f"{name} (not described by this version) from {envelope.source or '?'}"
    return describe(getattr(envelope, kind))


def timeline(envelopes: Iterable[EventEnvelope]) -> list[incidents_pb2.TimelineEntry]:
    """The log in the canonical order, one entry per event, timed from the first event."""
    ats, envs = _timed(envelopes)
    start = ats[0] if ats else 0
    entries = []
    for at, envelope in zip(ats, envs, strict=True):
        entry = incidents_pb2.TimelineEntry(
            seconds_from_start=(at - start) / 1e6,
            source=envelope.source,
            event_type=event_type(envelope),
            actor=actor_of(envelope),
            summary=summary(envelope),
        )
        entry.at.CopyFrom(envelope.occurred_at)
        entries.append(entry)
    return entries
