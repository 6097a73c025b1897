"""The response standards an after-action report checks, and the checks themselves.

The standards are configuration (``services/config/response-standards.yaml``, or the file
``UC_STANDARDS_FILE`` names): each has a limit in seconds, the tiers it applies to where
it concerns some tiers only, and its source. What each measures is fixed here:

- ``call_processing``: first call to first dispatch;
- ``turnout``: each unit of the named tiers, alert to en route;
- ``micro_station_on_scene``: each unit of the named tiers, alert to on scene;
- ``first_capable_unit``: first dispatch to the first unit on scene that is not a first
  intervention (a micro station's light engine is not a run card's pumper).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.common.config import CONFIG_DIR, settings
from services.common.enums import IncidentStatus
from services.common.yaml_models import load_yaml_model
from services.incidents.view import IncidentView, UnitTrack

FIRST_INTERVENTION = "first_intervention"  # the run-card capability of micro stations
NO_SHOW = ("DECLINED", "TIMED_OUT")
DEFAULT_FILE = CONFIG_DIR / "response-standards.yaml"


class Standard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: Annotated[str, Field(min_length=1)]
    limit_seconds: Annotated[float, Field(gt=0, le=86_400)]
    tiers: tuple[str, ...] = ()
    source: str = ""


class ResponseStandards(BaseModel):
    """The four standards the report checks, in the order it shows them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    call_processing: Standard
    turnout: Standard
    micro_station_on_scene: Standard
    first_capable_unit: Standard


def load_standards(path: str | Path | None = None) -> ResponseStandards:
    """The standards in ``path`` (default: ``UC_STANDARDS_FILE``, else the project's
    file). ``ValueError`` naming the file and the field when it is wrong."""
    path = Path(path or settings().uc_standards_file or DEFAULT_FILE)
    return load_yaml_model(path, ResponseStandards, ValueError, what="response standards")


@cache
def default_standards() -> ResponseStandards:
    return load_standards()


@dataclass(frozen=True, slots=True)
class StandardCheck:
    name: str
    limit_s: float
    actual_s: float | None
    met: bool | None  # None: not applicable, or not reached (yet)
    verdict: str  # met, missed, not reached, not applicable
    detail: str


def _verdict(met: bool | None, applicable: bool) -> str:
    if met is None:
        return "not reached" if applicable else "not applicable"
    return "met" if met else "missed"


def _interval_check(
    name: str,
    limit_s: float,
    start_us: int,
    end_us: int,
    view: IncidentView,
    missing_start: str,
    done: str,
    waiting: str,
) -> StandardCheck:
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
    if view.status is not IncidentStatus.CANCELLED and elapsed > limit_s:
        detail = f"{waiting} within {limit_s:.0f} s"
        return StandardCheck(name, limit_s, None, False, "missed", detail)
    if view.status is IncidentStatus.CANCELLED:
        detail = f"{waiting}: cancelled {elapsed:.0f} s in"
    else:
        detail = f"{waiting} yet ({elapsed:.0f} s in)"
    return StandardCheck(name, limit_s, None, None, "not reached", detail)


def _per_unit_check(
    name: str,
    limit_s: float,
    tracks: list[UnitTrack],
    end_of: str,
    view: IncidentView,
    what: str,
) -> StandardCheck:
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
        elif (
            view.status is not IncidentStatus.CANCELLED
            and (t.ended_us or horizon) - t.alerted_us > limit_s * 1e6
        ):
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


def check_standards(view: IncidentView, standards: ResponseStandards) -> tuple[StandardCheck, ...]:
    """Each standard met, missed, not reached (yet) or not applicable, in order."""
    units = list(view.units.values())
    sent = [t for t in units if t.dispatched_us]
    first_sent = min(sent, key=lambda t: t.dispatched_us) if sent else None
    first_dispatch = first_sent.dispatched_us if first_sent else 0
    capable = [t for t in units if t.on_scene_us and t.capability != FIRST_INTERVENTION]
    first_capable = min(capable, key=lambda t: t.on_scene_us) if capable else None
    arrived = ""
    if first_capable is not None:
        what = f"{first_capable.tier_name}, {first_capable.capability or 'no capability'}"
        arrived = f"{first_capable.unit_id} ({what}) on scene after the first dispatch"
    s = standards
    staffed = [t for t in units if t.tier_name in s.turnout.tiers]
    micro = [t for t in units if t.tier_name in s.micro_station_on_scene.tiers]
    return (
        _interval_check(
            s.call_processing.label,
            s.call_processing.limit_seconds,
            view.first_call_us,
            first_dispatch,
            view,
            missing_start="no call recorded",
            done=f"first unit {first_sent.unit_id if first_sent else ''} dispatched after "
            "the first call",
            waiting="no unit dispatched",
        ),
        _per_unit_check(
            s.turnout.label, s.turnout.limit_seconds, staffed, "en_route_us", view, "en route"
        ),
        _per_unit_check(
            s.micro_station_on_scene.label,
            s.micro_station_on_scene.limit_seconds,
            micro,
            "on_scene_us",
            view,
            "on scene",
        ),
        _interval_check(
            s.first_capable_unit.label,
            s.first_capable_unit.limit_seconds,
            first_dispatch,
            first_capable.on_scene_us if first_capable else 0,
            view,
            missing_start="no unit dispatched",
            done=arrived,
            waiting="no capable unit on scene",
        ),
    )
