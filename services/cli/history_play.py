"""``uc generate --from-history FILE``: a CAD export's calls played against the running
system as new calls, to measure its recommendation against what really happened.

Each historical incident of the chosen years that had an engine on scene is taken as a
new call (ReceiveCall, now, at the incident's place, typed through the mapping), the
system's recommendation is asked for (RecommendUnits: its run card, the units free now,
the jurisdiction's travel profile and turnouts), the station of its first engine (the
engine pick with the shortest ETA) is compared with the station of the engine that
really arrived first, and the incident is cancelled (HANDLED_ELSEWHERE): nobody is sent,
so every call meets the same units in quarters, as the offline ``uc eta agreement``
assumes. The city's first-due plan (the incident's station area) is tallied beside it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import click

from emergency.v1 import common_pb2, dispatch_pb2, units_pb2
from services.analytics.agreement import ENGINE, Tally
from services.analytics.cad import DEFAULT_MAPPING, CadFileError, load_mapping, read_cad
from services.analytics.history import HistoricalIncident, moment
from services.cli.session import Session

CALLER = "4150000000"  # the replayed calls' number: the export has none


@dataclass(frozen=True, slots=True)
class PlayResult:
    system: Tally  # the running system's recommendation
    plan: Tally  # the city's first-due plan
    skipped: int  # incidents of the years without a first engine on scene from a station


def chosen(
    incidents: tuple[HistoricalIncident, ...], years: set[int] | None, limit: int | None
) -> list[HistoricalIncident]:
    """The incidents of ``years`` (all when None), oldest first, at most ``limit``."""
    picked = [i for i in incidents if years is None or moment(i.received_us).year in years]
    return picked[:limit] if limit else picked


def play_history(
    session: Session,
    history_path: Path,
    mapping_path: Path | None,
    years: set[int] | None,
    limit: int | None,
    speed: float,
) -> PlayResult:
    """Play the calls and tally both ways of choosing (see the module's docstring).
    ``speed``: historical seconds per second between calls; 0: as fast as possible."""
    listed = session.ask(session.client.units.ListUnits, units_pb2.ListUnitsRequest())
    station_of = {u.profile.unit_id: u.profile.station_id for u in listed.units}
    mapping = load_mapping(mapping_path or DEFAULT_MAPPING)
    try:
        found = read_cad(history_path.read_text(encoding="utf-8"), mapping, station_of)
    except (CadFileError, OSError) as exc:
        raise click.ClickException(f"{history_path}: {exc}") from None
    system, plan, skipped = Tally(), Tally(), 0
    previous: int | None = None
    for incident in chosen(found.incidents, years, limit):
        real = incident.first_on_scene(ENGINE)
        if real is None or real.unit_id not in station_of:
            skipped += 1
            continue
        if speed > 0 and previous is not None:
            time.sleep(max(0.0, (incident.received_us - previous) / 1e6 / speed))
        previous = incident.received_us
        truth = station_of[real.unit_id]
        picked = _first_engine_station(
            session, incident, mapping.incident_types, mapping.default_incident_type, station_of
        )
        system.add(picked, truth, incident, station_of)
        plan.add(incident.station_area, truth, incident, station_of)
    return PlayResult(system, plan, skipped)


def _first_engine_station(
    session: Session,
    incident: HistoricalIncident,
    types: dict[str, str],
    default_type: str,
    station_of: dict[str, str],
) -> str:
    """One call: opened, recommended for, cancelled; the station of the first engine the
    system recommends ("" when it recommends none)."""
    dispatch = session.client.dispatch
    opened = session.ask(
        dispatch.ReceiveCall,
        dispatch_pb2.ReceiveCallRequest(
            request_id=str(uuid.uuid4()),
            caller_number=CALLER,
            source=common_pb2.PHONE,
            location=common_pb2.GeoPoint(latitude=incident.latitude, longitude=incident.longitude),
            address=incident.address,
            incident_type=types.get(incident.incident_type, default_type),
            description=f"replayed history: {incident.incident_type} {incident.incident_id}",
        ),
    )
    try:
        recommendation = session.ask(
            dispatch.RecommendUnits,
            dispatch_pb2.RecommendUnitsRequest(incident_id=opened.incident_id),
        )
    finally:
        session.ask(
            dispatch.CancelIncident,
            dispatch_pb2.CancelIncidentRequest(
                request_id=str(uuid.uuid4()),
                incident_id=opened.incident_id,
                reason="HANDLED_ELSEWHERE",
                note="replayed history: measured, not dispatched",
            ),
        )
    engines = [p for p in recommendation.picks if p.capability == ENGINE]
    if not engines:
        return ""
    first = min(engines, key=lambda p: (p.eta_seconds, p.unit_id))
    return station_of.get(first.unit_id, "")


def report(result: PlayResult, years_text: str) -> list[str]:
    """The lines ``uc generate --from-history`` prints."""

    def line(name: str, tally: Tally) -> str:
        share = f"{100 * tally.agreed / tally.n:.1f}%" if tally.n else "-"
        return (
            f"{name:<34} {tally.agreed:>4}/{tally.n:<4} {share:>6}  "
            f"{tally.not_sent} / {tally.sent_later} / {tally.sent_not_arrived}"
        )

    return [
        f"{result.system.n} historical calls of {years_text} played as new calls "
        f"({result.skipped} without a first engine on scene left out)",
        f"{'first engine chosen by':<34} {'agrees':>9} {'share':>6}  "
        "disagreements: not sent / sent, later / sent, cancelled",
        line("the running system", result.system),
        line("the city's first-due plan", result.plan),
    ]
