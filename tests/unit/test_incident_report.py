"""The after-action report: key times, standards met or missed, and the page a commander
reads (self-contained HTML with an SVG timeline), for a whole fire, a cancelled false
alarm and an incident still at its start."""

from __future__ import annotations

import json
import re
from datetime import datetime
from html.parser import HTMLParser

from services.incidents.report import (
    Report,
    StandardCheck,
    build_report,
    default_standards,
    render_html,
    timeline_chart,
)
from tests.unit.test_incident_replay import (
    MICRO,
    NOTE_ATTACK,
    PRO_A,
    PRO_E,
    VOL_NO,
    VOL_YES,
    at,
    false_alarm,
    high_rise_fire,
)

STANDARDS = default_standards()
CALL_PROCESSING = STANDARDS.call_processing.label
TURNOUT = STANDARDS.turnout.label
MICRO_ON_SCENE = STANDARDS.micro_station_on_scene.label
FIRST_CAPABLE = STANDARDS.first_capable_unit.label
VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


class StrictPage(HTMLParser):
    """Every element closed, in order: the page is well formed, not merely tolerated."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.errors: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'} at {self.getpos()}")
        else:
            self.open.pop()


def parse(page: str) -> StrictPage:
    parser = StrictPage()
    parser.feed(page)
    parser.close()
    assert parser.errors == []
    assert parser.open == []
    return parser


def standards(report: Report) -> dict[str, StandardCheck]:
    return {s.name: s for s in report.standards}


# --- the figures -------------------------------------------------------------------------


def test_key_times() -> None:
    report = build_report(high_rise_fire())

    assert (report.incident_id, report.status, report.alarm_level) == ("INC-7", "CLOSED", 2)
    assert report.call_to_dispatch_s == 45.0
    units = {u.unit_id: u for u in report.units}
    assert list(units) == [PRO_E, PRO_A, VOL_NO, MICRO, VOL_YES]

    pro = units[PRO_E]
    assert (pro.tier, pro.capability) == ("PROFESSIONAL", "engine")
    assert (pro.dispatch_to_alert_s, pro.alert_to_ack_s, pro.dispatch_to_ack_s) == (1.0, 0.0, 1.0)
    assert (pro.turnout_s, pro.travel_s, pro.response_s) == (50.0, 304.0, 400.0)

    assert units[PRO_A].turnout_s == 75.0
    stand_in = units[VOL_YES]
    assert (stand_in.tier, stand_in.replaces) == ("VOLUNTEER", VOL_NO)
    assert (stand_in.alert_to_ack_s, stand_in.turnout_s, stand_in.travel_s) == (38.0, 58.0, 350.0)
    declined = units[VOL_NO]
    assert (declined.alert_to_ack_s, declined.turnout_s, declined.response_s) == (None, None, None)
    assert declined.outcome == "DECLINED"
    micro = units[MICRO]
    assert (micro.tier, micro.capability, micro.response_s) == (
        "MICRO_STATION",
        "first_intervention",
        198.0,
    )

    arrivals = [
        (a.tier, a.unit_id, a.capability, a.seconds_from_call) for a in report.first_arrivals
    ]
    assert arrivals == [
        ("MICRO_STATION", MICRO, "first_intervention", 198.0),
        ("PROFESSIONAL", PRO_E, "engine", 400.0),
        ("VOLUNTEER", VOL_YES, "engine", 520.0),
    ]


def test_standards_met_and_missed() -> None:
    checks = standards(build_report(high_rise_fire()))
    assert list(checks) == [CALL_PROCESSING, TURNOUT, MICRO_ON_SCENE, FIRST_CAPABLE]

    call = checks[CALL_PROCESSING]
    assert (call.limit_s, call.actual_s, call.met, call.verdict) == (60, 45.0, True, "met")
    assert PRO_E in call.detail

    turnout = checks[TURNOUT]  # PRO-01-E1 50 s, PRO-01-A1 75 s
    assert (turnout.actual_s, turnout.met, turnout.verdict) == (75.0, False, "missed")
    assert f"{PRO_A} 75.0 s" in turnout.detail
    assert PRO_E not in turnout.detail

    micro = checks[MICRO_ON_SCENE]
    assert (micro.limit_s, micro.actual_s, micro.met) == (180, 150.0, True)

    capable = checks[FIRST_CAPABLE]  # the micro station (first intervention) does not count
    assert (capable.limit_s, capable.actual_s, capable.met) == (300, 355.0, False)
    assert PRO_E in capable.detail


def test_escalations_and_redispatches() -> None:
    report = build_report(high_rise_fire())

    (raised,) = report.escalations
    assert (raised.at_us, raised.seconds_from_call) == (at(450), 450.0)
    assert (raised.from_level, raised.to_level, raised.reason) == (
        1,
        2,
        "fire spreading to floor 12",
    )
    (again,) = report.redispatches
    assert (again.unit_id, again.tier, again.outcome, again.reason) == (
        VOL_NO,
        "VOLUNTEER",
        "DECLINED",
        "only 2 members home",
    )
    assert (again.at_us, again.requested_us, again.replaced_by) == (at(100), at(100.5), VOL_YES)
    assert again.replaced_after_s == 11.0
    assert [c.commander_name for c in report.command_changes] == ["Captain Wang", "Chief Li"]
    assert report.notes == (
        f"[SITUATION_REPORT] {NOTE_ATTACK}",
        "[DECISION] keep two engines for overhaul",
    )


def test_json() -> None:
    data = json.loads(json.dumps(build_report(high_rise_fire()).to_dict()))

    assert data["first_call_at"] == "2024-05-01T08:00:00.000Z"
    assert data["ended_at"] == "2024-05-01T08:40:00.000Z"
    assert data["call_to_dispatch_s"] == 45.0
    pro = data["units"][0]
    assert pro["on_scene_at"] == "2024-05-01T08:06:40.000Z"
    assert datetime.fromisoformat(pro["released_at"]).utcoffset().total_seconds() == 0
    assert pro["turnout_s"] == 50.0
    assert data["units"][2]["on_scene_at"] is None  # declined: never came
    assert data["escalations"][0]["at"] == "2024-05-01T08:07:30.000Z"
    assert [s["met"] for s in data["standards"]] == [True, False, True, False]
    assert data["location"] == [28.19, 112.97]
    assert data["as_of"] == "2024-05-01T08:40:04.500Z"
    assert data["opened_at"] == "2024-05-01T08:00:00.500Z"
    assert data["redispatches"][0]["requested_at"] == "2024-05-01T08:01:40.500Z"
    assert data["standards"][1]["limit_s"] == 60.0


# --- the page ----------------------------------------------------------------------------


def test_page() -> None:
    report = build_report(high_rise_fire())
    page = render_html(report)
    parsed = parse(page)

    # Self-contained: nothing loaded from elsewhere, no scripts.
    assert "script" not in parsed.tags and "link" not in parsed.tags
    assert not re.search(r"""(src|href)\s*=|@import|url\(""", page)
    # The malicious note is shown as text.
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; floors 11-12 evacuated" in page
    # Header and standards, with their marks.
    assert "Incident INC-7: high_rise_fire" in page
    assert "No. 3 Jianshe Rd, Tower B" in page and "Chief Li" in page
    assert page.count("✔ met") == 2 and page.count("✘ missed") == 2
    for name in (CALL_PROCESSING, TURNOUT, MICRO_ON_SCENE, FIRST_CAPABLE):
        assert name in page
    assert "only 2 members home" in page and "fire spreading to floor 12" in page
    # The chart: one row per unit, bars of the phases, markers, the axis in minutes.
    (svg,) = re.findall(r"<svg.*?</svg>", page, re.S)
    rows = re.findall(r'<g class="row" data-unit="([^"]+)"', svg)
    assert rows == [PRO_E, PRO_A, VOL_NO, MICRO, VOL_YES]
    for phase in ("alerted", "acknowledged", "en_route", "on_scene", "no_show"):
        assert f'class="bar {phase}"' in svg
    assert svg.count('<line class="alarm"') == 1
    assert svg.count('<line class="command"') == 2
    assert "minutes from the first call" in svg


def test_chart_geometry() -> None:
    report = build_report(high_rise_fire())
    chart = timeline_chart(report, width=1200)

    assert chart.width == 1200
    assert [row.unit_id for row in chart.rows] == [u.unit_id for u in report.units]
    ys = [row.y for row in chart.rows]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)
    for row in chart.rows:
        for bar in row.bars:
            assert chart.left <= bar.x and bar.x + bar.width <= chart.right + 0.5
    pro = chart.rows[0]
    assert [b.phase for b in pro.bars] == ["alerted", "acknowledged", "en_route", "on_scene"]
    xs = [b.x for b in pro.bars]
    assert xs == sorted(xs)
    for bar, nxt in zip(pro.bars, pro.bars[1:], strict=False):  # contiguous
        assert abs(bar.x + bar.width - nxt.x) <= 1.6
    declined = chart.rows[2]
    assert [b.phase for b in declined.bars] == ["no_show"]
    # Ticks in minutes from the first call; the log lasts 40 min.
    assert chart.ticks[0].x == chart.left and chart.ticks[0].label == "0"
    assert 4 <= len(chart.ticks) <= 13
    assert chart.ticks[-1].x <= chart.right + 0.5
    kinds = [m.kind for m in chart.markers]
    assert kinds == ["command", "alarm", "command"]


def test_units_still_active_run_to_the_end_of_the_log() -> None:
    running = [e for e in high_rise_fire() if e.occurred_at.ToMicroseconds() <= at(800)]
    report = build_report(running)
    chart = timeline_chart(report)
    assert report.status == "OPEN" and report.as_of_us == at(700)
    for row in chart.rows:
        if row.unit_id != VOL_NO:
            assert abs(row.bars[-1].x + row.bars[-1].width - chart.right) <= 0.5


# --- incidents that did not run their course ---------------------------------------------


def test_cancelled_false_alarm() -> None:
    report = build_report(false_alarm())
    checks = standards(report)

    assert (report.status, report.cancel_reason) == ("CANCELLED", "FALSE_ALARM")
    assert report.first_arrivals == ()
    assert checks[CALL_PROCESSING].met is True  # 40 s
    for name in (TURNOUT, MICRO_ON_SCENE, FIRST_CAPABLE):
        assert (checks[name].met, checks[name].verdict) == (None, "not reached"), name
    assert checks[TURNOUT].detail == "none en route before the incident ended"
    json.dumps(report.to_dict())

    page = render_html(report)
    parse(page)
    assert page.count("… not reached") == 3
    assert "✘" not in page
    assert "No unit arrived on scene." in page
    assert len(re.findall(r'<g class="row"', page)) == 2


def test_an_incident_just_opened() -> None:
    report = build_report(high_rise_fire()[:2])  # the call, the incident: nobody sent yet
    checks = standards(report)

    assert report.status == "OPEN" and report.units == ()
    assert report.call_to_dispatch_s is None
    assert checks[CALL_PROCESSING].verdict == "not reached"  # 0.5 s in: still in time
    assert checks[TURNOUT].verdict == "not applicable"
    assert checks[FIRST_CAPABLE].verdict == "not applicable"
    page = render_html(report)
    parse(page)
    assert "No unit was dispatched." in page


def test_an_incident_waiting_too_long_misses_the_standard() -> None:
    log = [e for e in high_rise_fire() if e.occurred_at.ToMicroseconds() <= at(30.1)]
    checks = standards(build_report(log))  # 30 s and nobody sent: not late yet
    assert checks[CALL_PROCESSING].verdict == "not reached"
    log = [e for e in high_rise_fire() if e.occurred_at.ToMicroseconds() <= at(300)]
    late = [e for e in log if e.event_type != "UnitDispatched"]
    assert standards(build_report(late))[CALL_PROCESSING].verdict == "missed"


def test_an_empty_log() -> None:
    report = build_report([])
    assert (report.status, report.events, report.units) == ("NONE", 0, ())
    parse(render_html(report))
    json.dumps(report.to_dict())
