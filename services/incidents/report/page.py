"""The report as one self-contained HTML page (Jinja2, autoescaped; inline SVG chart; no
script, font or stylesheet from elsewhere, so it opens offline and can be mailed)."""

from __future__ import annotations

from datetime import UTC, tzinfo
from functools import cache
from pathlib import Path

import jinja2

from services.common.templates import template_environment
from services.incidents.report.chart import timeline_chart
from services.incidents.report.figures import Report
from services.incidents.report.times import clock, duration, when, zone_label

MARKS = {
    "met": "✔ met",
    "missed": "✘ missed",
    "not reached": "… not reached",
    "not applicable": "– not applicable",
}


@cache
def _environment() -> jinja2.Environment:
    return template_environment(
        Path(__file__).parent / "templates",
        clock=clock,
        when=when,
        duration=duration,
        mark=MARKS.get,
    )


def render_html(report: Report, zone: tzinfo = UTC) -> str:
    """One self-contained HTML page: header, standards, key times, escalations and
    re-dispatches, notes and the timeline chart; every time of day in ``zone`` (the
    jurisdiction's, e.g. ``ZoneInfo("Asia/Shanghai")``), which the page names."""
    template = _environment().get_template("report.html.j2")
    return template.render(
        report=report,
        chart=timeline_chart(report, zone=zone),
        zone=zone,
        zone_label=zone_label(zone, report.first_call_us or report.as_of_us),
    )
