"""The report's timeline chart, as geometry (SVG user units, px) the template draws: one
row per unit, a bar per phase, time in minutes from the first call, markers for alarm
raises and command changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, tzinfo

from services.incidents.report.figures import Report
from services.incidents.report.standards import NO_SHOW
from services.incidents.report.times import clock, duration

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
    changes = [
        (e.at_us, "alarm", f"L{e.from_level}→{e.to_level}", e.reason) for e in report.escalations
    ]
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
        title = f"{clock(at, zone)}: {label}" + (f" - {why}" if why else "")
        label_y = LANE_PX * (lane + 1)
        markers.append(Marker(x, kind, label, label_x, label_y, anchor, title))
    return tuple(markers), len(lane_ends)


def _legend(y: float, width: int) -> tuple[tuple[LegendItem, ...], float]:
    """The phases' swatches, wrapped to the chart's width; and the y below them."""
    items: list[LegendItem] = []
    x = 8.0
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
                f"{unit.unit_id} {PHASE_NAMES[phase]}: {duration((until - at) / 1e6)} "
                f"({clock(at, zone)}-{clock(until, zone)})"
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
        width=width,
        height=int(bottom + 4),
        left=left,
        right=right,
        top=top,
        row_height=row_h,
        bar_height=bar_h,
        axis_y=axis_y,
        rows=tuple(rows),
        ticks=tuple(ticks),
        markers=markers,
        legend=legend,
    )
