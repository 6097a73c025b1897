"""The period report as files: one self-contained HTML page (Jinja2, autoescaped; the
charts inline as SVG; no script, font or stylesheet from elsewhere, so it opens offline
and can be mailed), the figures as JSON, and as CSV (one row per group and metric; and
one row per incident)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from services.analytics.history import moment
from services.analytics.period import METRICS, GroupFigures, PeriodReport
from services.analytics.period_charts import charts
from services.common.templates import template_environment

MARKS = {"met": "✔ met", "missed": "✘ missed", "no data": "– no data"}


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) < 120:
        return f"{value:.0f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest:02d} s"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


@cache
def _environment() -> jinja2.Environment:
    return template_environment(
        Path(__file__).parent / "templates", seconds=_seconds, share=_share, mark=MARKS.get
    )


def _day(us: int, zone: ZoneInfo) -> str:
    return moment(us).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def render_period_html(report: PeriodReport, sources: Sequence[str] = ()) -> str:
    """The page: the period's figures against the standards, per district and month
    tables, the charts, the standards' sources and the data's (``sources``: lines of
    attribution, e.g. the data licences)."""
    zone = ZoneInfo(report.zone)
    last = report.end_us - 1
    return (
        _environment()
        .get_template("period.html.j2")
        .render(
            report=report,
            charts=charts(report),
            metrics=METRICS,
            sources=sources,
            start=_day(report.start_us, zone),
            end=_day(last, zone),
            standards=report.standards,
        )
    )


def _group(group: GroupFigures) -> dict[str, Any]:
    return {
        "key": group.key,
        "incidents": group.incidents,
        "metrics": {
            m.metric: {
                "n": m.n,
                "median_s": m.median_s,
                "p90_s": m.p90_s,
                "limit_s": m.limit_s,
                "within_share": m.within_share,
                "verdict": m.verdict,
            }
            for m in group.metrics
        },
        "circle": {"n": group.circle_n, "share": group.circle_share},
        "types": dict(group.types),
    }


def period_json(report: PeriodReport) -> str:
    """The figures as JSON: instants in UTC, the zone named, seconds as numbers."""
    s = report.standards
    data = {
        "from": moment(report.start_us).isoformat().replace("+00:00", "Z"),
        "to": moment(report.end_us).isoformat().replace("+00:00", "Z"),
        "time_zone": report.zone,
        "district": report.district,
        "standards": {
            **{name: m.model_dump() for name, m in s.metrics.items()},
            "circle": s.circle.model_dump(),
            "capable": list(s.capable),
            "first_alarm_window_seconds": s.first_alarm_window_seconds,
        },
        "overall": _group(report.overall),
        "by_district": [_group(g) for g in report.by_district],
        "by_month": [_group(g) for g in report.by_month],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def period_csv(report: PeriodReport) -> str:
    """One row per group (the period, each district, each month) and metric; the
    5-minute circle as the metric ``circle``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["scope", "key", "metric", "n", "median_s", "p90_s", "limit_s", "within_share", "verdict"]
    )
    scopes = [
        ("period", [report.overall]),
        ("district", report.by_district),
        ("month", report.by_month),
    ]
    for scope, groups in scopes:
        for g in groups:
            for m in g.metrics:
                writer.writerow(
                    [
                        scope,
                        g.key,
                        m.metric,
                        m.n,
                        _num(m.median_s),
                        _num(m.p90_s),
                        _num(m.limit_s),
                        _num(m.within_share, 4),
                        m.verdict,
                    ]
                )
            writer.writerow(
                [
                    scope,
                    g.key,
                    "circle",
                    g.circle_n,
                    "",
                    "",
                    _num(report.standards.circle.limit_seconds),
                    _num(g.circle_share, 4),
                    "",
                ]
            )
    return out.getvalue()


def incidents_csv(report: PeriodReport) -> str:
    """One row per incident: its metrics in seconds (empty: it has none)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "incident_id",
            "received_utc",
            "month",
            "district",
            "incident_type",
            *METRICS,
            "first_capable_after_dispatch",
            "first_engine",
            "first_engine_station",
        ]
    )
    for t in report.incidents:
        writer.writerow(
            [
                t.incident_id,
                moment(t.received_us).isoformat().replace("+00:00", "Z"),
                t.month,
                t.district,
                t.incident_type,
                *[_num(t.value(m)) for m in METRICS],
                _num(t.first_capable_after_dispatch),
                t.first_engine,
                t.first_engine_station,
            ]
        )
    return out.getvalue()


def _num(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def period_range(start_text: str, end_text: str, zone: ZoneInfo) -> tuple[int, int]:
    """[start, end) in µs from ISO dates or times in ``zone`` (unless they give an
    offset); a date alone as ``end`` includes that whole day."""
    from datetime import date, datetime

    from services.analytics.history import instant_us

    def parse(text: str, is_end: bool) -> int:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return instant_us(when if when.tzinfo else when.replace(tzinfo=zone))
        start = datetime(day.year, day.month, day.day, tzinfo=zone)
        if is_end:
            following = day + timedelta(days=1)
            start = datetime(following.year, following.month, following.day, tzinfo=zone)
        return instant_us(start)

    return parse(start_text, False), parse(end_text, True)
