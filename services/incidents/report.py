"""The after-action report of an incident: its key times, the response standards met or
missed, escalations and re-dispatches, as JSON and as one self-contained HTML page with a
timeline chart (inline SVG; no scripts, fonts or stylesheets from elsewhere, so it can be
mailed and opened offline).

Built from the incident's log through ``replay.fold``, so it says what the log says, also
for an incident still running (times not reached are None) or cancelled before anyone
moved. The chart's geometry is computed here; the template only draws it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from pathlib import Path

import jinja2

from emergency.v1 import events_pb2
from services.incidents.replay import IncidentView, UnitTrack, fold

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STAFFED_TIERS = ("PROFESSIONAL", "GOV_FULLTIME")
FIRST_INTERVENTION = "first_intervention"  # the run-card slot of micro stations
NO_SHOW = ("DECLINED", "TIMED_OUT")

CALL_PROCESSING = "call processing within 60 s"
TURNOUT = "turnout within 60 s for staffed tiers"
MICRO_ON_SCENE = "micro station on scene within 3 minutes"
FIRST_CAPABLE = "first capable unit within 5 minutes"


# --- the report --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitTimes:
    """One unit's part: its milestones (µs, 0: not reached) and the intervals between
    them in seconds (None: not reached)."""

    unit_id: str
    tier: str
    station_name: str
    slot: str
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
    slot: str
    on_scene_us: int
    seconds_from_call: float


@dataclass(frozen=True, slots=True)
class StandardCheck:
    name: str
    limit_s: float
    actual_s: float | None
    met: bool | None  # None: not applicable, or not reached (yet)
    verdict: str  # met, missed, not reached, not applicable
    detail: str


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
    slot: str
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
        return _plain(self)  # type: ignore[return-value]


def iso(us: int) -> str | None:
    if not us:
        return None
    moment = EPOCH + timedelta(microseconds=us)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
        unit_id=t.unit_id, tier=t.tier_name, station_name=t.station_name, slot=t.slot,
        status=t.status, outcome=t.outcome, outcome_reason=t.outcome_reason,
        replaces=t.replaces, dispatched_us=t.dispatched_us, alerted_us=t.alerted_us,
        acknowledged_us=t.acknowledged_us, en_route_us=t.en_route_us,
        on_scene_us=t.on_scene_us, released_us=t.released_us, ended_us=t.ended_us,
        dispatch_to_alert_s=_span(t.dispatched_us, t.alerted_us),
        alert_to_ack_s=_span(t.alerted_us, t.acknowledged_us),
        dispatch_to_ack_s=_span(t.dispatched_us, t.acknowledged_us),
        turnout_s=_span(t.alerted_us, t.en_route_us),
        travel_s=_span(t.en_route_us, t.on_scene_us),
        response_s=_span(call_us, t.on_scene_us),
    )  # fmt: skip


def _first_arrivals(units: Iterable[UnitTimes], call_us: int) -> tuple[FirstArrival, ...]:
    first: dict[str, UnitTimes] = {}
    for unit in units:
        if unit.on_scene_us and (
            unit.tier not in first or unit.on_scene_us < first[unit.tier].on_scene_us
        ):
            first[unit.tier] = unit
    arrivals = sorted(first.values(), key=lambda u: u.on_scene_us)
    return tuple(
        FirstArrival(u.tier, u.unit_id, u.slot, u.on_scene_us, _span(call_us, u.on_scene_us) or 0.0)
        for u in arrivals
    )


# --- the standards -----------------------------------------------------------------------


def _verdict(met: bool | None, applicable: bool) -> str:
    if met is None:
        return "not reached" if applicable else "not applicable"
    return "met" if met else "missed"


def _interval_check(
    name: str, limit_s: float, start_us: int, end_us: int, view: IncidentView,
    missing_start: str, done: str, waiting: str,
) -> StandardCheck:  # fmt: skip
    """One interval of the incident against its limit. Not reached by the end of the log:
    missed once the limit has passed (unless the incident was cancelled), else pending."""
    if not start_us:
        return StandardCheck(name, limit_s, None, None, "not applicable", missing_start)
    if end_us:
        actual = round((end_us - start_us) / 1e6, 1)
        met = actual <= limit_s
        return StandardCheck(name, limit_s, actual, met, _verdict(met, True), done)
    horizon = view.ended_us or view.as_of_us
    elapsed = (horizon - start_us) / 1e6
    if view.status != "CANCELLED" and elapsed > limit_s:
        detail = f"{waiting} within {limit_s:.0f} s"
        return StandardCheck(name, limit_s, None, False, "missed", detail)
    if view.status == "CANCELLED":
        detail = f"{waiting}: cancelled {elapsed:.0f} s in"
    else:
        detail = f"{waiting} yet ({elapsed:.0f} s in)"
    return StandardCheck(name, limit_s, None, None, "not reached", detail)


def _per_unit_check(
    name: str, limit_s: float, tracks: list[UnitTrack], end_of: str, view: IncidentView,
    what: str,
) -> StandardCheck:  # fmt: skip
    """Every unit in ``tracks`` from its alert to the milestone ``end_of`` within the limit:
    met if all are, missed if any is late or did not come, else not reached."""
    done: list[tuple[str, float]] = []
    late: list[str] = []
    pending: list[str] = []
    horizon = view.ended_us or view.as_of_us
    for t in tracks:
        if not t.alerted_us:
            continue  # never alerted: the incident ended first
        end = getattr(t, end_of)
        if end:
            seconds = round((end - t.alerted_us) / 1e6, 1)
            done.append((t.unit_id, seconds))
            if seconds > limit_s:
                late.append(f"{t.unit_id} {seconds:.1f} s")
        elif t.outcome in NO_SHOW:
            late.append(f"{t.unit_id} {t.outcome.lower().replace('_', ' ')}")
        elif view.status != "CANCELLED" and (t.ended_us or horizon) - t.alerted_us > limit_s * 1e6:
            late.append(f"{t.unit_id} not {what} within {limit_s:.0f} s")
        elif t.active:
            pending.append(t.unit_id)
    applicable = any(t.alerted_us for t in tracks)
    actual = max((s for _, s in done), default=None)
    if late:
        met: bool | None = False
        detail = "late: " + "; ".join(late)
    elif done:
        met = True
        slowest = max(done, key=lambda d: d[1])
        detail = f"{len(done)} of {len(done)} within {limit_s:.0f} s"
        if len(done) > 1:
            detail += f" (slowest {slowest[0]} {slowest[1]:.1f} s)"
    else:
        met = None
        if not applicable:
            detail = "no unit of these tiers was alerted"
        else:
            detail = f"none {what}" + (" before the incident ended" if view.ended_us else " yet")
    if pending:
        detail += f"; not {what} yet: {', '.join(pending)}"
    return StandardCheck(name, limit_s, actual, met, _verdict(met, applicable), detail)


def _standards(view: IncidentView) -> tuple[StandardCheck, ...]:
    units = list(view.units.values())
    sent = [t for t in units if t.dispatched_us]
    first_sent = min(sent, key=lambda t: t.dispatched_us) if sent else None
    first_dispatch = first_sent.dispatched_us if first_sent else 0
    capable = [t for t in units if t.on_scene_us and t.slot != FIRST_INTERVENTION]
    first_capable = min(capable, key=lambda t: t.on_scene_us) if capable else None
    arrived = ""
    if first_capable is not None:
        what = f"{first_capable.tier_name}, {first_capable.slot or 'no slot'}"
        arrived = f"{first_capable.unit_id} ({what}) on scene after the first dispatch"
    staffed = [t for t in units if t.tier_name in STAFFED_TIERS]
    micro = [t for t in units if t.tier_name == "MICRO_STATION"]
    return (
        _interval_check(
            CALL_PROCESSING, 60.0, view.first_call_us, first_dispatch, view,
            missing_start="no call recorded",
            done=f"first unit {first_sent.unit_id if first_sent else ''} dispatched after "
            "the first call",
            waiting="no unit dispatched",
        ),
        _per_unit_check(TURNOUT, 60.0, staffed, "en_route_us", view, "en route"),
        _per_unit_check(MICRO_ON_SCENE, 180.0, micro, "on_scene_us", view, "on scene"),
        _interval_check(
            FIRST_CAPABLE, 300.0, first_dispatch,
            first_capable.on_scene_us if first_capable else 0, view,
            missing_start="no unit dispatched", done=arrived,
            waiting="no capable unit on scene",
        ),
    )  # fmt: skip


# --- building it -------------------------------------------------------------------------


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
                at_us=t.ended_us, seconds_from_call=_span(call_us, t.ended_us) or 0.0,
                unit_id=t.unit_id, tier=t.tier_name, slot=t.slot, outcome=t.outcome,
                reason=t.outcome_reason, requested_us=requested.get(t.unit_id, 0),
                replaced_by=by.unit_id if by else "", replacement_dispatched_us=sent,
                replaced_after_s=_span(t.ended_us, sent),
            )
        )  # fmt: skip
    return tuple(sorted(out, key=lambda r: r.at_us))


def report_from_view(view: IncidentView) -> Report:
    """The report of an incident already folded (``replay.fold``)."""
    call_us = view.first_call_us or view.opened_us or view.started_us
    units = tuple(_unit_times(t, call_us) for t in view.units.values())
    first_dispatch = min(
        (t.dispatched_us for t in view.units.values() if t.dispatched_us), default=0
    )
    return Report(
        incident_id=view.incident_id, incident_type=view.incident_type, status=view.status,
        alarm_level=view.alarm_level, address=view.address, location=view.location,
        commander_id=view.commander_id, commander_name=view.commander_name,
        cancel_reason=view.cancel_reason, calls=view.calls, events=view.events_applied,
        first_call_us=call_us, opened_us=view.opened_us,
        under_control_us=view.under_control_us, ended_us=view.ended_us,
        as_of_us=view.as_of_us,
        call_to_dispatch_s=_span(view.first_call_us, first_dispatch),
        units=units,
        first_arrivals=_first_arrivals(units, call_us),
        standards=_standards(view),
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
    )  # fmt: skip


def build_report(envelopes: Iterable[events_pb2.EventEnvelope]) -> Report:
    """The after-action report of the incident whose log ``envelopes`` is (any order)."""
    return report_from_view(fold(envelopes))


# --- the timeline chart ------------------------------------------------------------------

# (phase, legend, colour): a bar runs from the phase's milestone to the unit's next one.
PHASES: tuple[tuple[str, str, str], ...] = (
    ("alerted", "alerted → acknowledged", "#f0ad4e"),
    ("acknowledged", "acknowledged → en route", "#5bc0de"),
    ("en_route", "en route → on scene", "#1f6fd1"),
    ("on_scene", "on scene → released", "#3c9a3c"),
    ("no_show", "alerted → declined / timed out", "#b0b0b0"),
)
PHASE_NAMES = {phase: legend for phase, legend, _ in PHASES}
PHASE_COLOURS = {phase: colour for phase, _, colour in PHASES}
_MILESTONES = (
    ("alerted_us", "alerted"),
    ("acknowledged_us", "acknowledged"),
    ("en_route_us", "en_route"),
    ("on_scene_us", "on_scene"),
)
TICK_STEPS_MIN = (0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 240, 480, 960)


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    width: float
    phase: str
    colour: str
    title: str


@dataclass(frozen=True, slots=True)
class ChartRow:
    unit_id: str
    label: str
    y: float
    bars: tuple[Bar, ...]


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True, slots=True)
class Marker:
    x: float
    kind: str  # alarm, command
    label: str
    label_x: float
    label_y: float
    anchor: str  # start, or end when the label would leave the chart
    title: str


@dataclass(frozen=True, slots=True)
class LegendItem:
    x: float
    y: float
    colour: str
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    left: float  # where the time axis starts
    right: float
    top: float  # the first row's top
    row_height: float
    bar_height: float
    axis_y: float
    rows: tuple[ChartRow, ...]
    ticks: tuple[Tick, ...]
    markers: tuple[Marker, ...]
    legend: tuple[LegendItem, ...]


def _moment(us: int, zone: tzinfo) -> datetime:
    return (EPOCH + timedelta(microseconds=us)).astimezone(zone)


def _clock(us: int, zone: tzinfo) -> str:
    """24-hour time of day in ``zone``."""
    return _moment(us, zone).strftime("%H:%M:%S") if us else "-"


def zone_label(zone: tzinfo, us: int) -> str:
    """``Asia/Shanghai (UTC+08:00)``: the zone's name and its offset at that instant."""
    offset = _moment(us, zone).strftime("%z")
    name = getattr(zone, "key", None) or _moment(us, zone).tzname() or "UTC"
    return f"{name} (UTC{offset[:3]}:{offset[3:]})"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if abs(seconds) < 120:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


CHAR_PX = 7.0  # a 12 px sans-serif character, wide enough to keep labels apart
LANE_PX = 14.0


def _text_px(text: str) -> float:
    return len(text) * CHAR_PX


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _markers(
    report: Report, x_of: Callable[[int], float], width: int, zone: tzinfo
) -> tuple[tuple[Marker, ...], int]:
    """Alarm raises and command changes, their labels spread over as many lanes as it
    takes for none to overlap; and how many lanes that is."""
    changes = [(e.at_us, "alarm", f"L{e.from_level}→{e.to_level}", e.reason)
               for e in report.escalations]  # fmt: skip
    for c in report.command_changes:
        who = _clip(c.commander_name or c.commander_id, 24)
        changes.append((c.at_us, "command", f"cmd: {who}", f"{who} in command"))
    changes.sort(key=lambda c: c[0])
    lane_ends: list[float] = []  # where each lane's last label ends
    markers = []
    for at, kind, label, why in changes:
        x, text_w = x_of(at), _text_px(label)
        if x + 3 + text_w <= width - 2:
            anchor, start, label_x = "start", x + 3, x + 3
        else:
            anchor, start, label_x = "end", x - 3 - text_w, x - 3
        lane = next((i for i, end in enumerate(lane_ends) if end + 6 <= start), len(lane_ends))
        if lane == len(lane_ends):
            lane_ends.append(0.0)
        lane_ends[lane] = start + text_w
        title = f"{_clock(at, zone)}: {label}" + (f" - {why}" if why else "")
        label_y = LANE_PX * (lane + 1)
        markers.append(Marker(x, kind, label, label_x, label_y, anchor, title))
    return tuple(markers), len(lane_ends)


def _legend(y: float, width: int) -> tuple[tuple[LegendItem, ...], float]:
    """The phases' swatches, wrapped to the chart's width; and the y below them."""
    items, x = [], 8.0
    for _phase, label, colour in PHASES:
        item_w = 18 + _text_px(label) + 18
        if x + item_w > width - 8 and items:
            x, y = 8.0, y + 18
        items.append(LegendItem(x, y, colour, label))
        x += item_w
    return tuple(items), y + 18


def timeline_chart(report: Report, width: int = 1200, zone: tzinfo = UTC) -> Chart:
    """Rows, bars, ticks, markers and legend of the report's timeline, in SVG user units
    (px): one row per unit, a bar per phase, time in minutes from the first call; times
    of day in hover titles are in ``zone``."""
    left, right, row_h, bar_h = 230.0, width - 20.0, 26.0, 14.0
    t0 = report.first_call_us
    ends = [report.as_of_us, report.ended_us] + [
        u.ended_us or u.on_scene_us or u.en_route_us for u in report.units
    ]
    span_us = max(max(ends) - t0, 60_000_000) if t0 else 60_000_000
    scale = (right - left) / span_us

    def x_of(us: int) -> float:
        return round(left + max(us - t0, 0) * scale, 1)

    markers, lanes = _markers(report, x_of, width, zone)
    top = LANE_PX * lanes + 10.0

    rows = []
    for i, unit in enumerate(report.units):
        points = [(getattr(unit, attr), phase) for attr, phase in _MILESTONES]
        points = [(at, phase) for at, phase in points if at]
        stop = unit.ended_us or report.as_of_us  # still active: to the end of the log
        bars = []
        for k, (at, phase) in enumerate(points):
            until = points[k + 1][0] if k + 1 < len(points) else max(stop, at)
            if k + 1 == len(points) and unit.outcome in NO_SHOW:
                phase = "no_show"
            x = x_of(at)
            title = (
                f"{unit.unit_id} {PHASE_NAMES[phase]}: {_duration((until - at) / 1e6)} "
                f"({_clock(at, zone)}-{_clock(until, zone)})"
            )
            width_px = max(round(x_of(until) - x, 1), 1.5)  # an instant stays visible
            bars.append(Bar(x, width_px, phase, PHASE_COLOURS[phase], title))
        label = _clip(f"{unit.unit_id} · {unit.tier.replace('_', ' ').lower()}", 31)
        rows.append(ChartRow(unit.unit_id, label, top + i * row_h, tuple(bars)))

    span_min = span_us / 60e6
    step = next((s for s in TICK_STEPS_MIN if span_min / s <= 12), TICK_STEPS_MIN[-1])
    ticks = []
    m = 0.0
    while m <= span_min + 1e-9:
        ticks.append(Tick(round(left + m * 60e6 * scale, 1), f"{m:g}"))
        m += step

    axis_y = top + max(len(rows), 1) * row_h + 6
    legend, bottom = _legend(axis_y + 44, width)
    return Chart(
        width=width, height=int(bottom + 4), left=left, right=right, top=top,
        row_height=row_h, bar_height=bar_h, axis_y=axis_y, rows=tuple(rows),
        ticks=tuple(ticks), markers=markers, legend=legend,
    )  # fmt: skip


# --- the page ----------------------------------------------------------------------------

MARKS = {"met": "✔ met", "missed": "✘ missed", "not reached": "… not reached",
         "not applicable": "– not applicable"}  # fmt: skip


def _when(us: int, zone: tzinfo) -> str:
    """Date and 24-hour time in ``zone``, with its offset."""
    return _moment(us, zone).strftime("%Y-%m-%d %H:%M:%S %z") if us else "-"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(clock=_clock, when=_when, duration=_duration, mark=MARKS.get)
    return env


def render_html(report: Report, zone: tzinfo = UTC) -> str:
    """One self-contained HTML page: header, standards, key times, escalations and
    re-dispatches, notes and the timeline chart; every time of day in ``zone`` (the
    jurisdiction's, e.g. ``ZoneInfo("Asia/Shanghai")``), which the page names."""
    template = _environment().get_template("report.html.j2")
    return template.render(
        report=report, chart=timeline_chart(report, zone=zone), zone=zone,
        zone_label=zone_label(zone, report.first_call_us or report.as_of_us),
    )  # fmt: skip
