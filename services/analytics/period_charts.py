"""The period report's charts, drawn by matplotlib as SVG text to put inline in the page
(readable offline, no script): monthly percentiles of each metric against its limit,
each district's 90th percentiles as a share of the limits, the 5-minute circle by month
and district, and the incidents by type per month."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: files only

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from services.analytics.period import METRICS, PeriodReport

LIMIT = "#c62828"
P90 = "#1f6fd1"
MEDIAN = "#8fb8ea"
TYPE_COLOURS = ("#1f6fd1", "#f0ad4e", "#3c9a3c", "#8e44ad", "#7f8c8d", "#d35400")
SHORT = {
    "call_processing": "call processing",
    "turnout": "turnout (1st engine)",
    "first_engine_travel": "travel (1st engine)",
    "first_arrival": "first arrival",
    "first_alarm_assembly": "first-alarm assembly",
}
STYLE: Any = {
    "svg.fonttype": "none",  # text stays text: smaller, selectable, the page's font
    "svg.hashsalt": "uc-period-report",  # the same ids every time: reproducible files
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
}


def _svg(figure: Figure) -> str:
    out = io.StringIO()
    figure.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    text = out.getvalue()
    text = text[text.index("<svg") :]  # no XML prolog nor doctype: inline in HTML
    start, end = text.find(" <metadata>"), text.find("</metadata>\n")
    if start >= 0 and end > start:  # the RDF block (tool, format): nothing a reader needs
        text = text[:start] + text[end + len("</metadata>\n") :]
    return text


def _months(report: PeriodReport) -> list[datetime]:
    return [datetime.strptime(g.key, "%Y-%m") for g in report.by_month]


def monthly_chart(report: PeriodReport) -> str:
    """One panel per metric: the 90th percentile and the median by month, the limit."""
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(len(METRICS), 1, figsize=(10, 1.9 * len(METRICS)), sharex=True)
        months = _months(report)
        for ax, name in zip(axes, METRICS, strict=True):
            standard = report.standards.metrics[name]
            p90 = [g.metric(name).p90_s for g in report.by_month]
            med = [g.metric(name).median_s for g in report.by_month]
            ax.plot(
                months,
                [float("nan") if v is None else v for v in p90],
                color=P90,
                marker="o",
                markersize=2.5,
                linewidth=1,
                label="90th percentile",
            )
            ax.plot(
                months,
                [float("nan") if v is None else v for v in med],
                color=MEDIAN,
                linewidth=1,
                label="median",
            )
            ax.axhline(
                standard.limit_seconds,
                color=LIMIT,
                linestyle="--",
                linewidth=1,
                label=f"limit {standard.limit_seconds:.0f} s",
            )
            ax.set_title(f"{SHORT[name]}  (limit {standard.limit_seconds:.0f} s)", loc="left")
            ax.set_ylabel("seconds")
            ax.set_ylim(bottom=0)
            ax.grid(axis="y", color="#e3e3e3", linewidth=0.6)
        axes[0].legend(loc="upper right", ncol=3, frameon=False)
        figure.tight_layout()
        return _svg(figure)


def district_chart(report: PeriodReport) -> str:
    """Each district's 90th percentile of each metric as a share of its limit (100%:
    at the limit), and its 5-minute-circle share."""
    with plt.rc_context(STYLE):
        groups = report.by_district
        figure, (left, right) = plt.subplots(
            1,
            2,
            figsize=(10, 0.55 * max(len(groups), 2) + 1.2),
            gridspec_kw={"width_ratios": [3, 1.2]},
        )
        labels = [f"{g.key} ({g.incidents})" for g in groups]
        height = 0.8 / len(METRICS)
        colours = plt.get_cmap("Blues")([0.35 + 0.13 * k for k in range(len(METRICS))])
        for k, name in enumerate(METRICS):
            limit = report.standards.metrics[name].limit_seconds
            shares = [
                100 * (g.metric(name).p90_s or 0) / limit if g.metric(name).n else 0 for g in groups
            ]
            ys = [i + (k - (len(METRICS) - 1) / 2) * height for i in range(len(groups))]
            left.barh(ys, shares, height=height, color=colours[k], label=SHORT[name])
        left.axvline(100, color=LIMIT, linestyle="--", linewidth=1)
        left.set_yticks(range(len(groups)), labels)
        left.invert_yaxis()
        left.set_xlabel("90th percentile, % of the limit (dashed: the limit)")
        left.legend(loc="lower right", frameon=False, fontsize=8)
        shares = [100 * (g.circle_share or 0) for g in groups]
        right.barh(range(len(groups)), shares, color="#3c9a3c")
        right.set_yticks(range(len(groups)), [""] * len(groups))
        right.invert_yaxis()
        right.set_xlim(0, 100)
        right.set_xlabel("% inside the 5-minute circle")
        for i, (g, share) in enumerate(zip(groups, shares, strict=True)):
            if g.circle_share is not None:
                right.text(
                    min(share, 99) - 1,
                    i,
                    f"{share:.0f}%",
                    va="center",
                    ha="right",
                    color="white",
                    fontsize=8,
                )
        figure.tight_layout()
        return _svg(figure)


def circle_and_types_chart(report: PeriodReport) -> str:
    """The 5-minute circle by month, and the incidents by type per month (stacked)."""
    with plt.rc_context(STYLE):
        figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 4.4), sharex=True)
        months = _months(report)
        shares = [
            float("nan") if g.circle_share is None else 100 * g.circle_share
            for g in report.by_month
        ]
        top.plot(months, shares, color="#3c9a3c", marker="o", markersize=2.5, linewidth=1)
        top.set_ylim(0, 105)
        top.set_ylabel("% inside")
        limit = report.standards.circle.limit_seconds
        title = f"5-minute circle: share of incidents a capable unit reached within {limit:.0f} s"
        top.set_title(title + " of dispatch", loc="left")
        top.grid(axis="y", color="#e3e3e3", linewidth=0.6)
        kinds = [kind for kind, _ in report.overall.types]
        base = [0] * len(months)
        width = 20.0 if len(months) > 1 else 10.0  # days
        for k, kind in enumerate(kinds):
            counts = [dict(g.types).get(kind, 0) for g in report.by_month]
            bottom.bar(
                months,
                counts,
                width=width,
                bottom=base,
                color=TYPE_COLOURS[k % len(TYPE_COLOURS)],
                label=kind,
            )
            base = [a + b for a, b in zip(base, counts, strict=True)]
        bottom.set_ylabel("incidents")
        bottom.set_title("Incidents by type per month", loc="left")
        bottom.legend(loc="upper right", frameon=False, ncol=max(len(kinds), 1))
        figure.tight_layout()
        return _svg(figure)


def charts(report: PeriodReport) -> dict[str, str]:
    """Every chart as inline SVG text, by name; none for an empty report."""
    if report.empty:
        return {}
    return {
        "monthly": monthly_chart(report),
        "districts": district_chart(report),
        "circle": circle_and_types_chart(report),
    }
