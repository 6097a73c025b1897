"""An incident's events as a person reads them: one line each, and the timeline.

Caller numbers are masked (``139xxxx5678``): the timeline is shown on screens and in
reports beyond the call taker's. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from emergency.v1 import common_pb2, events_pb2
from services.common.envelope import micros
from services.incidents.ordering import event_type, timed
from services.incidents.view import CANCEL_REASONS, OUTCOMES, UNIT_STATUSES, tier_name

EventEnvelope = events_pb2.EventEnvelope
_CALL_SOURCES = {v.number: v.name for v in common_pb2.CallSource.DESCRIPTOR.values}
_ACTOR_KINDS = {v.number: v.name for v in events_pb2.Actor.Kind.DESCRIPTOR.values}


def actor_of(envelope: EventEnvelope) -> str:
    """``"TEAM:VOL-03:duty-phone"``; empty when the event names nobody."""
    actor = envelope.actor
    if not actor.kind and not actor.id:
        return ""
    return f"{_ACTOR_KINDS.get(actor.kind, str(actor.kind))}:{actor.id}"


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
    text = f"{e.unit_id} dispatched" + (f" ({e.capability})" if e.capability else "")
    if e.replaces_unit_id:
        text += f" replacing {e.replaces_unit_id}"
    return _with(text, e.reason)


def _s_requested(e: events_pb2.UnitsRequested) -> str:
    if e.replaces_unit_id:
        text = f"replacement for {e.replaces_unit_id} requested" + (
            f" ({e.capability})" if e.capability else ""
        )
    elif e.unit_id:
        text = f"{e.unit_id} requested" + (f" ({e.capability})" if e.capability else "")
    else:
        text = f"{e.count or 1} x {e.capability or 'unit'} requested"
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
    status = UNIT_STATUSES.get(e.to_status, f"STATUS_{e.to_status}")
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


# By payload name; each takes the payload message its key names (so: Any).
_SUMMARIES: dict[str, Callable[[Any], str]] = {
    "call_received": _s_call,
    "incident_created": _s_created,
    "duplicate_call_linked": lambda e: (
        f"call {e.call_id} linked as a duplicate" + (f" by {e.linked_by}" if e.linked_by else "")
    ),
    "incident_classified": _s_classified,
    "unit_dispatched": _s_dispatched,
    "units_requested": _s_requested,
    "units_unavailable": lambda e: _with(
        f"no {e.capability or 'unit'} free ({e.missing} missing)", e.reason
    ),
    "resource_request_cancelled": lambda e: _with(
        f"request {e.resource_request_id} for {e.remaining} x {e.capability or 'unit'} withdrawn",
        e.reason,
    ),
    "assignment_ended": lambda e: _with(
        f"{e.unit_id} off the incident ({OUTCOMES.get(e.outcome, e.outcome)})", e.reason
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
        f"incident cancelled ({CANCEL_REASONS.get(e.reason, e.reason)})", e.note
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
    "incident_imported": lambda e: (
        f"imported from {e.file_name or e.source}: {e.source_incident_type} "
        f"{e.source_incident_id}" + (f", district {e.district}" if e.district else "")
    ),
}


def summary(envelope: EventEnvelope) -> str:
    """What happened, in one line a person reads."""
    kind = envelope.WhichOneof("payload")
    describe = _SUMMARIES.get(kind) if kind else None
    if kind is None or describe is None:
        name = event_type(envelope) or "event"
        return f"{name} (not described by this version) from {envelope.source or '?'}"
    return describe(getattr(envelope, kind))


@dataclass(frozen=True, slots=True)
class TimelineLine:
    """One event of the timeline: when (µs), how long after the first event (s), where
    from, what, by whom, and the line a person reads."""

    at_us: int
    seconds_from_start: float
    source: str
    event_type: str
    actor: str
    summary: str


def timeline(envelopes: Iterable[EventEnvelope]) -> list[TimelineLine]:
    """The log in the canonical order, one line per event, timed from the first event."""
    ats, envs = timed(envelopes)
    start = ats[0] if ats else 0
    return [
        TimelineLine(
            at,
            (at - start) / 1e6,
            envelope.source,
            event_type(envelope),
            actor_of(envelope),
            summary(envelope),
        )
        for at, envelope in zip(ats, envs, strict=True)
    ]
