"""The period report's figures on incidents made by hand: what each metric measures,
which incidents count, per district and month in the jurisdiction's zone, an empty
period, and the files (HTML, JSON, CSV)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from services.analytics.history import HistoricalIncident, HistoricalUnitResponse, instant_us
from services.analytics.period import (
    default_period_standards,
    incident_times,
    percentile,
    period_report,
)
from services.analytics.period_page import (
    incidents_csv,
    period_csv,
    period_json,
    period_range,
    render_period_html,
)

LA = ZoneInfo("America/Los_Angeles")
S = 1_000_000


def at(text: str) -> int:
    return instant_us(datetime.fromisoformat(text).replace(tzinfo=UTC))


def unit(
    unit_id: str, capability: str, dispatched: int, en_route: int | None, on_scene: int | None
) -> HistoricalUnitResponse:
    return HistoricalUnitResponse(
        unit_id,
        capability.upper(),
        capability,
        f"SF-{unit_id[1:]}",
        dispatched,
        en_route,
        on_scene,
        None,
    )


def incident(
    incident_id: str,
    received: int,
    district: str,
    *units: HistoricalUnitResponse,
    kind: str = "Structure Fire",
) -> HistoricalIncident:
    return HistoricalIncident(
        incident_id,
        incident_id,
        kind,
        received,
        min(u.dispatched_us for u in units),
        37.77,
        -122.44,
        district,
        1,
        units,
    )


T0 = at("2017-07-01T21:00:00")  # 14:00 in San Francisco


def fire() -> HistoricalIncident:
    """Called at T0; E21 dispatched at +60 s, en route +120, on scene +300; T10 on scene
    first at +250; E10 dispatched at +70 and on scene at +400; B07 at +380."""
    return incident(
        "A",
        T0,
        "SF-21",
        unit("E21", "engine", T0 + 60 * S, T0 + 120 * S, T0 + 300 * S),
        unit("T10", "aerial", T0 + 60 * S, T0 + 100 * S, T0 + 250 * S),
        unit("E10", "engine", T0 + 70 * S, T0 + 130 * S, T0 + 400 * S),
        unit("B07", "command", T0 + 60 * S, T0 + 90 * S, T0 + 380 * S),
    )


def test_each_metric_measures_what_it_says() -> None:
    t = incident_times(fire(), LA, default_period_standards())
    assert t.call_processing == 60
    assert (t.turnout, t.first_engine_travel, t.first_engine) == (60, 180, "E21")
    assert t.first_arrival == 250  # the truck, a fire company, came first
    assert t.first_capable_after_dispatch == 190
    assert t.first_alarm_assembly == 340  # every first-alarm unit, the last at +400
    assert t.month == "2017-07" and t.district == "SF-21"


def test_a_partly_cancelled_first_alarm_has_no_assembly_time_and_no_engine_no_engine_times() -> (
    None
):
    cancelled = incident(
        "B",
        T0,
        "SF-10",
        unit("T10", "aerial", T0 + 30 * S, T0 + 60 * S, T0 + 200 * S),
        unit("E10", "engine", T0 + 30 * S, T0 + 70 * S, None),
    )
    t = incident_times(cancelled, LA, default_period_standards())
    assert t.first_alarm_assembly is None
    assert t.turnout is None and t.first_engine_travel is None and t.first_engine == ""
    assert t.first_arrival == 200


def test_figures_per_period_district_and_month_with_the_standards() -> None:
    late = T0 + 31 * 86_400 * S  # August
    incidents = [
        fire(),
        incident(
            "C",
            late,
            "SF-10",
            unit("E10", "engine", late + 100 * S, late + 150 * S, late + 500 * S),
        ),
        incident(
            "D",
            late + S,
            "",
            unit("E05", "engine", late + 2 * S, late + 30 * S, late + 200 * S),
            kind="Outside Fire",
        ),
    ]
    report = period_report(incidents, T0, late + 86_400 * S, LA)
    o = report.overall
    assert o.incidents == 3
    travel = o.metric("first_engine_travel")
    assert travel.n == 3
    assert travel.median_s == 180
    assert travel.p90_s == pytest.approx(percentile([180, 350, 170], 90))
    assert travel.p90_s == pytest.approx(316.0)  # 180 + 0.8 x (350 - 180)
    assert travel.verdict == "missed" and travel.within_share == pytest.approx(2 / 3)
    assert o.circle_n == 3 and o.circle_share == pytest.approx(2 / 3)  # C: 400 s
    assert o.types == (("Structure Fire", 2), ("Outside Fire", 1))
    assert [g.key for g in report.by_district] == ["SF-10", "SF-21", "unknown"]
    assert [g.key for g in report.by_month] == ["2017-07", "2017-08"]
    assert report.by_month[1].incidents == 2
    only = period_report(incidents, T0, late + 86_400 * S, LA, district="SF-10")
    assert [t.incident_id for t in only.incidents] == ["C"]


def test_months_are_the_jurisdictions_not_utcs() -> None:
    # 1 August 2017 03:00 UTC is still 31 July in San Francisco.
    edge = at("2017-08-01T03:00:00")
    report = period_report(
        [incident("E", edge, "SF-21", unit("E21", "engine", edge, edge + S, edge + 2 * S))],
        edge - S,
        edge + S,
        LA,
    )
    assert report.by_month[0].key == "2017-07"


def test_an_empty_period_is_an_empty_report_not_an_error() -> None:
    report = period_report([fire()], T0 + 86_400 * S, T0 + 2 * 86_400 * S, LA)
    assert report.empty and report.overall.incidents == 0
    assert all(m.verdict == "no data" and m.p90_s is None for m in report.overall.metrics)
    html = render_period_html(report)
    assert "No incidents" in html and "<svg" not in html
    assert json.loads(period_json(report))["overall"]["incidents"] == 0
    rows = list(csv.DictReader(io.StringIO(period_csv(report))))
    assert {r["verdict"] for r in rows if r["metric"] != "circle"} == {"no data"}
    assert incidents_csv(report).count("\n") == 1  # the header alone


def test_the_files_carry_the_same_figures() -> None:
    report = period_report([fire()], T0, T0 + S * 3600, LA)
    data = json.loads(period_json(report))
    assert data["time_zone"] == "America/Los_Angeles"
    assert data["from"] == "2017-07-01T21:00:00Z"
    assert data["overall"]["metrics"]["first_arrival"]["p90_s"] == 250
    assert data["standards"]["first_arrival"]["limit_seconds"] == 384
    rows = list(csv.DictReader(io.StringIO(period_csv(report))))
    arrival = next(r for r in rows if r["scope"] == "period" and r["metric"] == "first_arrival")
    assert (arrival["p90_s"], arrival["limit_s"], arrival["verdict"]) == ("250.0", "384.0", "met")
    html = render_period_html(report, ["Calls: test data"])
    assert html.count("<svg") == 3 and "Calls: test data" in html
    # Nothing loaded from elsewhere: no script, no remote image, font or stylesheet.
    assert "<script" not in html and "<metadata" not in html
    assert "src=" not in html and 'href="http' not in html and "@import" not in html


def test_a_date_as_the_end_includes_that_whole_day() -> None:
    start, end = period_range("2017-07-01", "2017-07-31", LA)
    assert start == at("2017-07-01T07:00:00")
    assert end == at("2017-08-01T07:00:00")
    start, end = period_range("2017-07-01T12:00", "2017-07-01T13:00:00+00:00", LA)
    assert (start, end) == (at("2017-07-01T19:00:00"), at("2017-07-01T13:00:00"))
