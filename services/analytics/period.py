"""Response performance over a period: for the period, per station district and per
month, the median and 90th percentile of each response metric, checked against the
standards (``services/config/period-standards.yaml``), the share of incidents inside the 5-minute
circle, and the incidents by type. Pure: incidents in, figures out.

Per incident (seconds):

- ``call_processing``: call received to the first unit dispatched;
- ``turnout``: the first-arriving engine's dispatch to en route;
- ``first_engine_travel``: the first-arriving engine's en route to on scene;
- ``first_arrival``: call received to the first capable unit (a fire company: engine,
  truck, rescue squad) on scene;
- ``first_alarm_assembly``: first dispatch to the last unit of the first alarm on
  scene, where the first alarm is every capable or command unit dispatched within
  ``first_alarm_window_seconds`` of the first dispatch, and only when all of them
  arrived (an incident whose first alarm was partly cancelled has no assembly time);
- the 5-minute circle: a capable unit on scene within 300 s of the first dispatch.

A metric an incident does not have (no engine arrived, say) is left out of that metric's
figures, never counted as zero. Percentiles interpolate linearly between the two nearest
ranks (numpy's and pandas' default; DuckDB's ``quantile_cont``). A district is the
incident's first-due station area; incidents without one are in district ``unknown``.
Months are calendar months in the jurisdiction's zone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from functools import cache
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from services.analytics.history import HistoricalIncident, moment
from services.common.config import CONFIG_DIR, settings
from services.common.yaml_models import load_yaml_model

DEFAULT_FILE = CONFIG_DIR / "period-standards.yaml"
METRICS = (
    "call_processing",
    "turnout",
    "first_engine_travel",
    "first_arrival",
    "first_alarm_assembly",
)
UNKNOWN_DISTRICT = "unknown"
COMMAND = "command"
ENGINE = "engine"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricStandard(_Strict):
    label: Annotated[str, Field(min_length=1)]
    limit_seconds: Annotated[float, Field(gt=0, le=86_400)]
    percentile: Annotated[float, Field(gt=0, lt=100)] = 90
    standard: str = ""
    source: str = ""


class CircleStandard(_Strict):
    label: Annotated[str, Field(min_length=1)]
    limit_seconds: Annotated[float, Field(gt=0, le=86_400)]
    standard: str = ""
    source: str = ""


class PeriodStandards(_Strict):
    capable: Annotated[tuple[str, ...], Field(min_length=1)]
    first_alarm_window_seconds: Annotated[float, Field(ge=0, le=3600)] = 60
    metrics: dict[str, MetricStandard]
    circle: CircleStandard

    def model_post_init(self, _context: object) -> None:
        missing = [m for m in METRICS if m not in self.metrics]
        unknown = [m for m in self.metrics if m not in METRICS]
        if missing or unknown:
            raise ValueError(f"metrics: missing {missing}, unknown {unknown}; give {list(METRICS)}")


def load_period_standards(path: str | Path | None = None) -> PeriodStandards:
    """The standards in ``path`` (default ``UC_PERIOD_STANDARDS_FILE``, else the
    project's file); ``ValueError`` naming the file and the field when it is wrong."""
    path = Path(path or settings().uc_period_standards_file or DEFAULT_FILE)
    return load_yaml_model(path, PeriodStandards, ValueError, what="period standards")


@cache
def default_period_standards() -> PeriodStandards:
    return load_period_standards()


@dataclass(frozen=True, slots=True)
class IncidentTimes:
    """One incident's response metrics (seconds; None: the incident has no such time)."""

    incident_id: str
    received_us: int
    month: str  # YYYY-MM in the jurisdiction's zone
    district: str
    incident_type: str
    call_processing: float | None
    turnout: float | None
    first_engine_travel: float | None
    first_arrival: float | None
    first_alarm_assembly: float | None
    first_capable_after_dispatch: float | None  # for the 5-minute circle
    first_engine: str  # unit id of the first-arriving engine, "" none
    first_engine_station: str

    def value(self, metric: str) -> float | None:
        value: float | None = getattr(self, metric)
        return value


def incident_times(
    incident: HistoricalIncident, zone: tzinfo, standards: PeriodStandards
) -> IncidentTimes:
    received, dispatched = incident.received_us, incident.dispatched_us
    engine = incident.first_on_scene(ENGINE)
    capable = [u for u in incident.units if u.capability in standards.capable]
    arrived = [u.on_scene_us for u in capable if u.on_scene_us is not None]
    first_capable = min(arrived) if arrived else None
    window_us = standards.first_alarm_window_seconds * 1e6
    first_alarm = [
        u
        for u in incident.units
        if (u.capability in standards.capable or u.capability == COMMAND)
        and u.dispatched_us - dispatched <= window_us
    ]
    assembled = first_alarm and all(u.on_scene_us is not None for u in first_alarm)
    assembly = (
        (max(u.on_scene_us or 0 for u in first_alarm) - dispatched) / 1e6 if assembled else None
    )
    return IncidentTimes(
        incident_id=incident.incident_id,
        received_us=received,
        month=moment(received).astimezone(zone).strftime("%Y-%m"),
        district=incident.station_area or UNKNOWN_DISTRICT,
        incident_type=incident.incident_type,
        call_processing=(dispatched - received) / 1e6,
        turnout=engine.turnout_s if engine else None,
        first_engine_travel=engine.travel_s if engine else None,
        first_arrival=(first_capable - received) / 1e6 if first_capable is not None else None,
        first_alarm_assembly=assembly,
        first_capable_after_dispatch=(
            (first_capable - dispatched) / 1e6 if first_capable is not None else None
        ),
        first_engine=engine.unit_id if engine else "",
        first_engine_station=engine.station if engine else "",
    )


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between the nearest ranks."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


@dataclass(frozen=True, slots=True)
class MetricFigures:
    metric: str
    label: str
    n: int
    median_s: float | None
    p90_s: float | None  # the standard's percentile (90 unless configured otherwise)
    limit_s: float
    within_share: float | None  # of the n incidents, the share within the limit
    verdict: str  # met, missed, no data


@dataclass(frozen=True, slots=True)
class GroupFigures:
    """The figures of one group of incidents: the period, one district or one month."""

    key: str
    incidents: int
    metrics: tuple[MetricFigures, ...]
    circle_n: int  # incidents a capable unit reached
    circle_share: float | None  # of those, the share within the circle's limit
    types: tuple[tuple[str, int], ...]  # incident type, count; most common first

    def metric(self, name: str) -> MetricFigures:
        return next(m for m in self.metrics if m.metric == name)


@dataclass(frozen=True, slots=True)
class PeriodReport:
    start_us: int
    end_us: int  # exclusive
    zone: str
    district: str | None  # the district asked for, None: all
    overall: GroupFigures
    by_district: tuple[GroupFigures, ...]
    by_month: tuple[GroupFigures, ...]
    incidents: tuple[IncidentTimes, ...]
    standards: PeriodStandards

    @property
    def empty(self) -> bool:
        return not self.incidents


def group_figures(
    key: str, times: Sequence[IncidentTimes], standards: PeriodStandards
) -> GroupFigures:
    metrics = []
    for name in METRICS:
        standard = standards.metrics[name]
        values = [v for t in times if (v := t.value(name)) is not None]
        if values:
            within = sum(v <= standard.limit_seconds for v in values) / len(values)
            p = percentile(values, standard.percentile)
            figures = MetricFigures(
                name,
                standard.label,
                len(values),
                percentile(values, 50),
                p,
                standard.limit_seconds,
                within,
                "met" if p <= standard.limit_seconds else "missed",
            )
        else:
            figures = MetricFigures(
                name, standard.label, 0, None, None, standard.limit_seconds, None, "no data"
            )
        metrics.append(figures)
    reached = [t.first_capable_after_dispatch for t in times]
    reached_values = [r for r in reached if r is not None]
    limit = standards.circle.limit_seconds
    share = (
        sum(r <= limit for r in reached_values) / len(reached_values) if reached_values else None
    )
    types = Counter(t.incident_type for t in times)
    return GroupFigures(
        key,
        len(times),
        tuple(metrics),
        len(reached_values),
        share,
        tuple(sorted(types.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


def period_report(
    incidents: Iterable[HistoricalIncident],
    start_us: int,
    end_us: int,
    zone: tzinfo,
    district: str | None = None,
    standards: PeriodStandards | None = None,
) -> PeriodReport:
    """The figures of the incidents whose call came in [start_us, end_us) (and, given a
    district, of that district only). No incident: an empty report, every figure
    ``no data``."""
    standards = standards or default_period_standards()
    chosen = [i for i in incidents if start_us <= i.received_us < end_us]
    times = [incident_times(i, zone, standards) for i in chosen]
    if district is not None:
        times = [t for t in times if t.district == district]
    times.sort(key=lambda t: (t.received_us, t.incident_id))
    districts = sorted({t.district for t in times}, key=_district_order)
    months = sorted({t.month for t in times})
    return PeriodReport(
        start_us=start_us,
        end_us=end_us,
        zone=getattr(zone, "key", str(zone)),
        district=district,
        overall=group_figures("all", times, standards),
        by_district=tuple(
            group_figures(d, [t for t in times if t.district == d], standards) for d in districts
        ),
        by_month=tuple(
            group_figures(m, [t for t in times if t.month == m], standards) for m in months
        ),
        incidents=tuple(times),
        standards=standards,
    )


def _district_order(district: str) -> tuple[int, str]:
    return (1, district) if district == UNKNOWN_DISTRICT else (0, district)
