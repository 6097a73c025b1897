"""The period report on San Francisco's real calls (../shared/data/sf), checked against
an independent recomputation: pandas reads the raw CSV and computes every figure from the
definitions (services/analytics/period.py's docstring, services/config/period-standards.yaml)
without the product's code; the two agree to the second. Then the HTML opens in
chromium, and a screenshot is saved to test-artifacts/."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from services.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
CALLS = SHARED / "sf" / "calls-lone-mountain-2009-2019.csv"
ARTIFACTS = ROOT / "test-artifacts"
ZONE = "America/Los_Angeles"
FORMAT = "%m/%d/%Y %I:%M:%S %p"
STAGES = ["Received DtTm", "Dispatch DtTm", "Response DtTm", "On Scene DtTm", "Available DtTm"]
OUTSIDE = {"PRIVATE", "INVESTIGATION", "SUPPORT", "AIRPORT"}
CAPABLE = {"ENGINE", "TRUCK", "RESCUE SQUAD"}
COMMAND = {"CHIEF", "RESCUE CAPTAIN"}
METRICS = [
    "call_processing",
    "turnout",
    "first_engine_travel",
    "first_arrival",
    "first_alarm_assembly",
]

pytestmark = pytest.mark.skipif(not CALLS.exists(), reason=f"the shared SF data is not at {CALLS}")


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``uc report period`` over every year of the SF calls."""
    out = tmp_path_factory.mktemp("period") / "sf"
    result = CliRunner().invoke(
        main,
        [
            "report",
            "period",
            "--history",
            str(CALLS),
            "--from",
            "2009-01-01",
            "--to",
            "2019-12-31",
            "--out",
            str(out),
            "--jurisdiction",
            str(ROOT / "services/config/jurisdiction/san-francisco.yaml"),
        ],
    )
    assert result.exit_code == 0, result.output
    return {kind: Path(f"{out}.{kind}") for kind in ("html", "json", "csv")}


def recompute() -> pd.DataFrame:
    """One row per incident with its metrics in seconds, from the raw CSV alone."""
    raw = pd.read_csv(CALLS, dtype=str)
    raw = raw[~raw["Unit Type"].isin(OUTSIDE)].copy()
    for column in STAGES:
        local = pd.to_datetime(raw[column], format=FORMAT)
        raw[column] = local.dt.tz_localize(ZONE, ambiguous="raise", nonexistent="raise")
    # A row is bad when a later stage comes before an earlier one (ignoring blanks).
    running = raw[STAGES[0]]
    bad = pd.Series(False, index=raw.index)
    for column in STAGES[1:]:
        bad |= raw[column].notna() & (raw[column] < running)
        running = raw[column].where(raw[column].notna(), running)
    rows = raw[~bad & raw["Location"].notna()].copy()
    assert int(bad.sum()) == 11  # 4 on scene before en route, 7 available too early

    def seconds(later: pd.Series, earlier: pd.Series) -> pd.Series:
        return (later - earlier).dt.total_seconds()

    per = rows.groupby("Incident Number").agg(
        received=("Received DtTm", "first"),
        dispatched=("Dispatch DtTm", "min"),
        area=("Station Area", "first"),
        kind=("Call Type", "first"),
    )
    per["call_processing"] = seconds(per["dispatched"], per["received"])
    engines = rows[(rows["Unit Type"] == "ENGINE") & rows["On Scene DtTm"].notna()]
    first = (
        engines.sort_values(["On Scene DtTm", "Dispatch DtTm", "Unit ID"])
        .groupby("Incident Number")
        .head(1)
        .set_index("Incident Number")
    )
    per["turnout"] = seconds(first["Response DtTm"], first["Dispatch DtTm"])
    per["first_engine_travel"] = seconds(first["On Scene DtTm"], first["Response DtTm"])
    capable = rows[rows["Unit Type"].isin(CAPABLE)].groupby("Incident Number")["On Scene DtTm"]
    per["first_capable"] = capable.min()
    per["first_arrival"] = seconds(per["first_capable"], per["received"])
    per["after_dispatch"] = seconds(per["first_capable"], per["dispatched"])
    alarm = rows.join(per["dispatched"], on="Incident Number")
    alarm = alarm[
        alarm["Unit Type"].isin(CAPABLE | COMMAND)
        & (seconds(alarm["Dispatch DtTm"], alarm["dispatched"]) <= 60)
    ]
    complete = alarm.groupby("Incident Number")["On Scene DtTm"].agg(
        lambda s: s.max() if s.notna().all() else pd.NaT
    )
    per["first_alarm_assembly"] = seconds(pd.to_datetime(complete, utc=True), per["dispatched"])
    per["district"] = per["area"].map(lambda a: f"SF-{int(a):02d}", na_action="ignore")
    per["district"] = per["district"].fillna("unknown")
    per["month"] = per["received"].dt.strftime("%Y-%m")
    return per


def figures(group: pd.DataFrame) -> dict[str, object]:
    out: dict[str, object] = {"incidents": len(group)}
    for metric in METRICS:
        values = group[metric].dropna()
        out[metric] = (
            len(values),
            values.median() if len(values) else None,
            values.quantile(0.9) if len(values) else None,
        )
    reached = group["after_dispatch"].dropna()
    out["circle"] = (len(reached), (reached <= 300).mean() if len(reached) else None)
    return out


def product_figures(group: dict) -> dict[str, object]:  # type: ignore[type-arg]
    out: dict[str, object] = {"incidents": group["incidents"]}
    for metric in METRICS:
        m = group["metrics"][metric]
        out[metric] = (m["n"], m["median_s"], m["p90_s"])
    out["circle"] = (group["circle"]["n"], group["circle"]["share"])
    return out


def same_to_the_second(ours: dict[str, object], theirs: dict[str, object], where: str) -> None:
    assert ours["incidents"] == theirs["incidents"], where
    for metric in METRICS:
        (n1, med1, p1), (n2, med2, p2) = ours[metric], theirs[metric]  # type: ignore[misc]
        assert n1 == n2, f"{where} {metric}: n {n1} != {n2}"
        for name, a, b in (("median", med1, med2), ("p90", p1, p2)):
            if a is None or b is None:
                assert a is None and b is None, f"{where} {metric} {name}: {a} vs {b}"
            else:
                assert round(a) == round(b), f"{where} {metric} {name}: {a} vs {b}"
    (n1, s1), (n2, s2) = ours["circle"], theirs["circle"]  # type: ignore[misc]
    assert n1 == n2 and (s1 is None) == (s2 is None), where
    if s1 is not None:
        assert s1 == pytest.approx(s2), where


def test_the_figures_agree_with_an_independent_recomputation(product: dict[str, Path]) -> None:
    report = json.loads(product["json"].read_text(encoding="utf-8"))
    per = recompute()
    assert report["overall"]["incidents"] == len(per) == 900
    same_to_the_second(product_figures(report["overall"]), figures(per), "period")
    districts = {g["key"]: g for g in report["by_district"]}
    assert sorted(districts) == sorted(per["district"].unique())
    for key, group in per.groupby("district"):
        same_to_the_second(product_figures(districts[key]), figures(group), f"district {key}")
    months = {g["key"]: g for g in report["by_month"]}
    assert sorted(months) == sorted(per["month"].unique())
    for key, group in per.groupby("month"):
        same_to_the_second(product_figures(months[key]), figures(group), f"month {key}")
    kinds = per["kind"].value_counts().to_dict()
    assert report["overall"]["types"] == kinds


def test_the_report_opens_in_chromium(product: dict[str, Path], browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        page.goto(product["html"].as_uri())
        assert page.locator("h1").inner_text().startswith("Response performance: 2009-01-01")
        assert page.locator("table.standards tr").count() == 7  # header, 5 metrics, circle
        charts = page.locator(".chart svg")
        assert charts.count() == 3
        for i in range(3):
            box = charts.nth(i).bounding_box()
            assert box is not None and box["width"] > 600 and box["height"] > 150
        assert "OpenStreetMap contributors" in page.locator("footer").inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "period-report.png"), full_page=True)
    finally:
        page.close()
