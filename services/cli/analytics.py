"""A real city's data from the terminal, on files (no running system needed):

- ``uc history check FILE``: read a CAD export (bad rows named by line, column and
  reason), say what it holds;
- ``uc report period --history FILE --from --to [--district]``: response performance
  over a period (HTML with charts, JSON, CSV);
- ``uc eta calibrate --history FILE --jurisdiction FILE``: learn the travel-time profile,
  with its error before and after on years held out;
- ``uc eta agreement``: the recommendation replayed on history against what happened;
- ``uc coverage``: the share of the city a capable unit reaches within 5 minutes.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import grpc

from emergency.v1 import incidents_pb2, units_pb2
from services.analytics.agreement import Ranking, measure
from services.analytics.cad import (
    DEFAULT_MAPPING,
    CadFileError,
    HistoryFile,
    load_mapping,
    read_cad,
)
from services.analytics.calibration import (
    Errors,
    calibrate,
    parse_calibration,
    render_calibration,
)
from services.analytics.calibration import by_year as calibration_by_year
from services.analytics.coverage import build_grid, call_weights, capable_units, commitment_impact
from services.analytics.history import moment
from services.analytics.history_import import import_request, source_name, timestamp
from services.analytics.period import load_period_standards, period_report
from services.analytics.period_page import (
    incidents_csv,
    period_csv,
    period_json,
    period_range,
    render_period_html,
)
from services.cli import record
from services.cli.groups import GroupWithDefault
from services.cli.session import Session, fail, pass_session
from services.common.jurisdiction import (
    Jurisdiction,
    JurisdictionError,
    TravelProfile,
    load_jurisdiction,
)
from services.dispatch.travel import BandedTravel, StraightLineTravel, default_profile, travel_for

EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


def history_options(command: click.Command) -> click.Command:
    """--history, --mapping, --jurisdiction and --time-zone, shared by every command
    that reads a CAD export."""
    command.params += [
        click.Option(
            ["--mapping", "mapping_path"],
            type=EXISTING,
            default=None,
            help="The CAD export's column mapping (default: SF Calls for Service).",
        ),
        click.Option(
            ["--time-zone"],
            default=None,
            help="The zone the export's local times are in (default: the mapping's).",
        ),
    ]
    return command


def read_history(
    history_path: Path,
    mapping_path: Path | None,
    jurisdiction: Jurisdiction | None,
    time_zone: str | None,
    quiet: bool = False,
) -> HistoryFile:
    """Read a CAD export, naming every bad row on standard error."""
    mapping = load_mapping(mapping_path) if mapping_path else load_mapping()
    units = {u.id: s.id for s, u in jurisdiction.units()} if jurisdiction else None
    try:
        found = read_cad(history_path.read_text(encoding="utf-8"), mapping, units, time_zone)
    except (CadFileError, OSError) as exc:
        raise click.ClickException(f"{history_path}: {exc}") from None
    if not quiet:
        for problem in found.problems:
            click.echo(f"{problem.describe(str(history_path))} (row left out)", err=True)
    return found


def jurisdiction_option(required: bool) -> click.Option:
    return click.Option(
        ["--jurisdiction", "jurisdiction_path"],
        type=EXISTING,
        required=required,
        default=None,
        help="The jurisdiction file (its units and stations).",
    )


def open_jurisdiction(path: Path | None) -> Jurisdiction | None:
    if path is None:
        return None
    try:
        return load_jurisdiction(path)
    except JurisdictionError as exc:
        raise click.ClickException(str(exc)) from None


@click.command(name="check")
@click.argument("history_path", type=EXISTING)
def history_check(
    history_path: Path,
    mapping_path: Path | None,
    time_zone: str | None,
    jurisdiction_path: Path | None,
) -> None:
    """Read a CAD export: bad rows (line, column, reason) on standard error, then what
    it holds. Nothing is written."""
    jurisdiction = open_jurisdiction(jurisdiction_path)
    found = read_history(history_path, mapping_path, jurisdiction, time_zone)
    zone = ZoneInfo(time_zone or load_mapping(mapping_path or DEFAULT_MAPPING).time_zone)
    bad = len(found.problems)
    click.echo(
        f"{history_path}: {found.rows} rows; {len(found.incidents)} incidents with "
        f"{found.unit_rows} unit responses; {bad} bad row(s) left out"
    )
    if found.skipped:
        skipped = ", ".join(f"{kind} {count}" for kind, count in found.skipped.items())
        click.echo(f"  skipped (unit types outside the system): {skipped}")
    if found.incidents:
        first, last = found.incidents[0].received_us, found.incidents[-1].received_us
        click.echo(
            f"  calls from {moment(first).astimezone(zone).isoformat(' ')} to "
            f"{moment(last).astimezone(zone).isoformat(' ')} ({zone.key}; kept as UTC "
            "instants)"
        )
        types = Counter(i.incident_type for i in found.incidents)
        click.echo("  types: " + ", ".join(f"{t} {n}" for t, n in types.most_common()))
    reasons = Counter(p.reason.split(":")[-1].strip() for p in found.problems)
    for reason, count in reasons.most_common():
        click.echo(f"  bad: {count} x {reason}")


history_check.params.append(jurisdiction_option(required=False))
history_options(history_check)

history_group = GroupWithDefault(
    "history",
    record.history,
    help="Incidents in the record (uc history [--status ...]), or a CAD export (uc history check).",
)
history_group.add_command(history_check)


@history_group.command(name="import")
@click.argument("history_path", type=EXISTING)
@click.option(
    "--source",
    default=None,
    help="The export format's name in the record (default: the mapping file's name, "
    "sf-calls-for-service); with each incident's number it makes the incident's id.",
)
@pass_session
def history_import(
    session: Session,
    history_path: Path,
    source: str | None,
    mapping_path: Path | None,
    time_zone: str | None,
) -> None:
    """Write a CAD export's incidents into the running system's record, at their
    original times (an administrator's token: UC_TOKEN=demo-admin-01). Bad rows are named
    (line, column, reason) and left out; an incident the service refuses is named and
    left out whole; an incident already in the record is not written again."""
    listed = session.ask(session.client.units.ListUnits, units_pb2.ListUnitsRequest())
    units = {u.profile.unit_id: u.profile.station_id for u in listed.units}
    mapping_file = mapping_path or DEFAULT_MAPPING
    mapping = load_mapping(mapping_file)
    try:
        found = read_cad(history_path.read_text(encoding="utf-8"), mapping, units, time_zone)
    except (CadFileError, OSError) as exc:
        raise click.ClickException(f"{history_path}: {exc}") from None
    for problem in found.problems:
        click.echo(f"{problem.describe(str(history_path))} (row left out)", err=True)
    name = source or source_name(Path(mapping_file))
    imported = already = refused = 0
    for incident in found.incidents:
        request = import_request(incident, mapping, name, history_path.name)
        try:
            reply = session.client.dispatch.ImportHistoricalIncident(request)
        except grpc.RpcError as error:
            assert isinstance(error, grpc.Call)
            if error.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
                fail(error)
            if error.code() is not grpc.StatusCode.INVALID_ARGUMENT:
                fail(error)
            refused += 1
            click.echo(
                f"{history_path}: incident {incident.incident_id} refused "
                f"({error.details()}); left out",
                err=True,
            )
            continue
        if reply.imported:
            imported += 1
        else:
            already += 1
    skipped = sum(found.skipped.values())
    click.echo(
        f"{history_path}: {found.rows} rows; {imported} incidents imported, {already} "
        f"already in the record, {refused} refused; {len(found.problems)} bad row(s) left "
        f"out, {skipped} row(s) of unit types outside the system skipped"
    )


history_options(history_import)


report_group = GroupWithDefault(
    "report",
    record.report,
    help="An incident's after-action report (uc report INCIDENT) or a period's (report period).",
)


@report_group.command(name="period")
@click.option(
    "--history",
    "history_path",
    type=EXISTING,
    default=None,
    help="The calls: a CAD export. Without it, the running system's incident record "
    "(GetPeriodReport: imported history and the system's own incidents).",
)
@click.option(
    "--from",
    "from_text",
    required=True,
    help="The first day (ISO date, or date and time) in the jurisdiction's zone.",
)
@click.option(
    "--to",
    "to_text",
    required=True,
    help="The last day, included (or an ISO time: up to it, excluded).",
)
@click.option("--district", default=None, help="One station district only (e.g. SF-21).")
@click.option(
    "--out",
    "out_prefix",
    default="period",
    show_default=True,
    help="Files written: PREFIX.html, PREFIX.json, PREFIX.csv, PREFIX-incidents.csv.",
)
@click.option(
    "--standards",
    "standards_path",
    type=EXISTING,
    default=None,
    help="The standards checked (default: services/config/period-standards.yaml).",
)
@click.pass_context
def report_period(
    ctx: click.Context,
    history_path: Path | None,
    from_text: str,
    to_text: str,
    district: str | None,
    out_prefix: str,
    standards_path: Path | None,
    mapping_path: Path | None,
    time_zone: str | None,
    jurisdiction_path: Path | None,
) -> None:
    """Response performance over a period, per station district and month, against the
    standards: an HTML page with charts, JSON and CSV, from a CAD export (--history) or
    from the running system's record. An empty period gives an empty report."""
    if history_path is None:
        if standards_path is not None:
            raise click.UsageError("--standards goes with --history: the record uses the service's")
        _period_from_record(ctx.find_object(Session), from_text, to_text, district, out_prefix)
        return
    jurisdiction = open_jurisdiction(jurisdiction_path)
    mapping = load_mapping(mapping_path or DEFAULT_MAPPING)
    found = read_history(history_path, mapping_path, jurisdiction, time_zone, quiet=True)
    if found.problems:
        click.echo(
            f"{history_path}: {len(found.problems)} bad row(s) left out "
            "(uc history check names them)",
            err=True,
        )
    zone = ZoneInfo(
        jurisdiction.jurisdiction.time_zone if jurisdiction else time_zone or mapping.time_zone
    )
    try:
        start, end = period_range(from_text, to_text, zone)
        standards = load_period_standards(standards_path) if standards_path else None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if end <= start:
        raise click.BadParameter(f"--to {to_text} is not after --from {from_text}")
    report = period_report(found.incidents, start, end, zone, district, standards)
    sources = [mapping.attribution] if mapping.attribution else []
    if jurisdiction and jurisdiction.jurisdiction.attribution:
        sources.append(jurisdiction.jurisdiction.attribution)
    files = {
        f"{out_prefix}.html": render_period_html(report, sources),
        f"{out_prefix}.json": period_json(report),
        f"{out_prefix}.csv": period_csv(report),
        f"{out_prefix}-incidents.csv": incidents_csv(report),
    }
    for name, text in files.items():
        Path(name).write_text(text, encoding="utf-8")
        click.echo(name)
    o = report.overall
    if report.empty:
        known = sorted({i.station_area or "unknown" for i in found.incidents})
        where = f" in district {district} (districts: {', '.join(known)})" if district else ""
        click.echo(f"no incidents in this period{where}: the report is empty", err=True)
        return
    arrival = o.metric("first_arrival")
    click.echo(
        f"{o.incidents} incidents; first arrival p90 {arrival.p90_s:.0f} s "
        f"({arrival.verdict}, limit {arrival.limit_s:.0f} s); 5-minute circle "
        f"{100 * (o.circle_share or 0):.1f}% of {o.circle_n}",
        err=True,
    )


def _period_from_record(
    session: Session | None, from_text: str, to_text: str, district: str | None, prefix: str
) -> None:
    """The period report of the running system's record (GetPeriodReport), its days in
    the jurisdiction's zone; the same files as from a CAD export."""
    assert session is not None, "uc's group gives every command its session"
    try:
        start, end = period_range(from_text, to_text, session.zone)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    reply = session.ask(
        # years of incidents are folded and charted: more than the default 10 s may pass
        lambda request: session.client.incidents.GetPeriodReport(request, timeout=300),
        incidents_pb2.GetPeriodReportRequest(
            period_from=timestamp(start), period_to=timestamp(end), district=district or ""
        ),
    )
    files = {
        f"{prefix}.html": reply.html,
        f"{prefix}.json": reply.json,
        f"{prefix}.csv": reply.csv,
        f"{prefix}-incidents.csv": reply.incidents_csv,
    }
    for name, text in files.items():
        Path(name).write_text(text, encoding="utf-8")
        click.echo(name)
    if not reply.incidents:
        click.echo("no incidents in this period: the report is empty", err=True)
        return
    overall = json.loads(reply.json)["overall"]
    arrival = overall["metrics"]["first_arrival"]
    circle = overall["circle"]
    p90 = "no data" if arrival["p90_s"] is None else f"{arrival['p90_s']:.0f} s"
    click.echo(
        f"{reply.incidents} incidents (from the record); first arrival p90 {p90} "
        f"({arrival['verdict']}, limit {arrival['limit_s']:.0f} s); 5-minute circle "
        f"{100 * (circle['share'] or 0):.1f}% of {circle['n']}",
        err=True,
    )


for _option in (jurisdiction_option(required=False),):
    report_period.params.append(_option)
history_options(report_period)

COMMANDS: tuple[click.Command, ...] = (history_group, report_group)


# --- ETA calibration and the recommendation against history ------------------------------


def _years_option(default: str) -> click.Option:
    return click.Option(
        ["--held-out", "held_out"],
        default=default,
        show_default=True,
        help="Years held out of the fit, measured on: 2016-2019 or 2016,2018.",
    )


def parse_years(text: str) -> list[int]:
    years: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        try:
            years += list(range(int(first), int(last or first) + 1))
        except ValueError:
            raise click.BadParameter(f"{text!r}: give years as 2016-2019 or 2016,2018") from None
    return years


def _stations(jurisdiction: Jurisdiction) -> dict[str, tuple[float, float]]:
    return {s.id: (s.location[0], s.location[1]) for s in jurisdiction.stations}


def _errors(e: Errors) -> str:
    if not e.n:
        return "no trips"
    return f"median {e.median_s:.1f} s, 90th percentile {e.p90_s:.1f} s (n {e.n})"


def describe_profile(profile: TravelProfile) -> str:
    measure = (
        "straight line"
        if profile.grid_bearing_deg is None
        else f"along a street grid at {profile.grid_bearing_deg:g}° from north"
    )
    speeds, start = [], 0.0
    for band in profile.speeds:
        end = "" if band.up_to_km is None else f"{band.up_to_km:g}"
        speeds.append(f"{start:g}-{end} km {band.kmh:g}")
        start = band.up_to_km or start
    kind = "each stretch" if profile.bands_apply == "each_stretch" else "whole trip"
    return f"{measure} x {profile.road_factor:g}; km/h by road distance ({kind}): " + ", ".join(
        speeds
    )


@click.group(name="eta")
def eta_group() -> None:
    """Travel times: calibrated on history, and the recommendation measured against it."""


@eta_group.command(name="calibrate")
@click.option(
    "--history", "history_path", type=EXISTING, required=True, help="The calls: a CAD export."
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the calibrated profile here (YAML, for uc jurisdiction import --travel).",
)
@click.option(
    "--by-year", is_flag=True, help="Also hold out each year in turn (fitted on all the others)."
)
def eta_calibrate(
    history_path: Path,
    out_path: Path | None,
    by_year: bool,
    held_out: str,
    jurisdiction_path: Path,
    mapping_path: Path | None,
    time_zone: str | None,
) -> None:
    """Learn the travel-time profile (distance measure, road factor, speed by distance
    band) and each station's turnout from the real first-engine trips, and print the
    error of predicted against real travel time before (the default profile) and after,
    on the years held out."""
    jurisdiction = open_jurisdiction(jurisdiction_path)
    assert jurisdiction is not None
    found = read_history(history_path, mapping_path, jurisdiction, time_zone, quiet=True)
    stations = _stations(jurisdiction)
    try:
        result = calibrate(
            found.incidents, stations, parse_years(held_out), source=history_path.name
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    years = lambda ys: f"{ys[0]}-{ys[-1]}" if ys else "none"  # noqa: E731
    click.echo(
        f"first-engine trips: {result.before_fitted.n} fitted "
        f"({years(result.fitted_years)}), {result.before_held_out.n} held out "
        f"({years(result.held_out_years)})"
    )
    click.echo(f"before (default: {describe_profile(default_profile())})")
    click.echo(f"  held out: {_errors(result.before_held_out)}")
    click.echo(f"  fitted:   {_errors(result.before_fitted)}")
    click.echo(f"after ({describe_profile(result.profile)})")
    click.echo(f"  held out: {_errors(result.after_held_out)}")
    click.echo(f"  fitted:   {_errors(result.after_fitted)}")
    target = result.after_held_out.median_s
    if target is not None:
        verdict = "met" if target < ETA_TARGET_S else "NOT met"
        click.echo(
            f"target: median absolute error under {ETA_TARGET_S:.0f} s on the held-out "
            f"years: {verdict} ({target:.1f} s)"
        )
    turnout = ", ".join(f"{s} {t} s" for s, t in result.station_turnout_seconds.items())
    click.echo(f"station turnout (median, fitted years): {turnout or 'none measured'}")
    if by_year:
        click.echo("each year held out in turn (fitted on the others): before -> after")
        for year, before, after in calibration_by_year(found.incidents, stations):
            click.echo(f"  {year}: {_errors(before)} -> {_errors(after)}")
    if out_path is not None:
        header = [
            f"Travel calibration for {jurisdiction.jurisdiction.name}, fitted on "
            f"{history_path.name} ({years(result.fitted_years)}) by uc eta calibrate.",
            "Include it with: uc jurisdiction import ... --travel " + out_path.name,
            f"Held out ({years(result.held_out_years)}): median absolute error "
            f"{_num(result.after_held_out.median_s)} s (default profile "
            f"{_num(result.before_held_out.median_s)} s).",
            "",
        ]
        out_path.write_text(render_calibration(result, header), encoding="utf-8")
        click.echo(f"wrote {out_path}")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


@eta_group.command(name="agreement")
@click.option(
    "--history", "history_path", type=EXISTING, required=True, help="The calls: a CAD export."
)
@click.option(
    "--travel",
    "travel_path",
    type=EXISTING,
    default=None,
    help="A calibration (uc eta calibrate --out); default: the jurisdiction's own "
    "travel: section, if any.",
)
def eta_agreement(
    history_path: Path,
    travel_path: Path | None,
    held_out: str,
    jurisdiction_path: Path,
    mapping_path: Path | None,
    time_zone: str | None,
) -> None:
    """Replay the calls through the recommendation (every unit free) and count how often
    its first engine's station is the station of the engine that really arrived first,
    on the held-out years: the default straight-line ranking, the calibrated one, and
    the city's first-due plan."""
    jurisdiction = open_jurisdiction(jurisdiction_path)
    assert jurisdiction is not None
    found = read_history(history_path, mapping_path, jurisdiction, time_zone, quiet=True)
    if travel_path is not None:
        try:
            calibration = parse_calibration(
                travel_path.read_text(encoding="utf-8"), str(travel_path)
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        profile, turnout = calibration.travel, dict(calibration.station_turnout_seconds)
    elif jurisdiction.travel is not None:
        profile = jurisdiction.travel
        turnout = {
            s.id: s.turnout_seconds for s in jurisdiction.stations if s.turnout_seconds is not None
        }
    else:
        raise click.ClickException(
            "no calibrated profile: give --travel, or a jurisdiction with a travel: section"
        )
    # The rankings without the calibration use the tiers' turnout, not the stations'.
    plain = jurisdiction.model_copy(
        update={
            "stations": [
                s.model_copy(update={"turnout_seconds": None}) for s in jurisdiction.stations
            ]
        }
    )
    rankings = [
        Ranking("straight line, tier turnout (today's default)", StraightLineTravel()),
        Ranking("calibrated travel, tier turnout", BandedTravel(profile)),
        Ranking("calibrated travel and station turnout", BandedTravel(profile), turnout),
        Ranking(
            "... and units busy on another call taken out",
            BandedTravel(profile),
            turnout,
            skip_busy=True,
        ),
    ]
    result = measure(found.incidents, plain, rankings, parse_years(held_out))
    years = f"{result.years[0]}-{result.years[-1]}" if result.years else "none"
    click.echo(
        f"incidents with a first engine on scene, {years}: {result.outcomes[0].n} "
        f"({result.skipped} without one left out)"
    )
    click.echo(
        f"{'ranking':<48} {'agrees':>7}  disagreements: not sent / sent, later / sent, cancelled"
    )
    for o in result.outcomes:
        share = "-" if o.share is None else f"{100 * o.share:.1f}%"
        click.echo(
            f"{o.name:<48} {share:>7}  {o.n - o.agreed:>3}: {o.not_sent} / "
            f"{o.sent_later} / {o.sent_not_arrived}"
        )


ETA_TARGET_S = 45.0
eta_calibrate.params += [_years_option("2016-2019"), jurisdiction_option(required=True)]
history_options(eta_calibrate)
eta_agreement.params += [_years_option("2016-2019"), jurisdiction_option(required=True)]
history_options(eta_agreement)

COMMANDS = (*COMMANDS, eta_group)


@click.command(name="coverage")
@click.option(
    "--committed",
    default="",
    help="Units committed now (comma-separated ids): what falls out, and the move-up.",
)
@click.option(
    "--unavailable",
    default="",
    help="Units out of service (comma-separated ids): left out of every figure.",
)
@click.option(
    "--history",
    "history_path",
    type=EXISTING,
    default=None,
    help="Weight the grid by where these calls came from (a CAD export).",
)
@click.option("--cell", "cell_m", default=250.0, show_default=True, help="Grid cell, metres.")
@click.option(
    "--capability",
    default="engine",
    show_default=True,
    help="What a unit must be able to do to count.",
)
def coverage_command(
    committed: str,
    unavailable: str,
    history_path: Path | None,
    cell_m: float,
    capability: str,
    jurisdiction_path: Path,
    mapping_path: Path | None,
    time_zone: str | None,
) -> None:
    """The share of the jurisdiction a capable unit reaches within 5 minutes (turnout and
    travel, the jurisdiction's own travel profile), per station district; with units
    committed, the districts that fall out and the best move-up."""
    jurisdiction = open_jurisdiction(jurisdiction_path)
    assert jurisdiction is not None
    grid = build_grid(jurisdiction, travel_for(jurisdiction), cell_m)
    incidents = None
    if history_path is not None:
        incidents = read_history(
            history_path, mapping_path, jurisdiction, time_zone, quiet=True
        ).incidents
    weights = call_weights(grid, incidents)
    out = {u.strip() for u in unavailable.split(",") if u.strip()}
    units = [u for u in capable_units(jurisdiction, capability) if u.unit_id not in out]
    known = {u.unit_id for u in capable_units(jurisdiction, capability)}
    gone = {u.strip() for u in committed.split(",") if u.strip()}
    unknown = sorted((gone | out) - known)
    if unknown:
        raise click.BadParameter(f"not {capability} units of the jurisdiction: {unknown}")
    weighting = f"weighted by {int(weights.sum())} calls" if incidents is not None else "uniform"
    impact = commitment_impact(grid, weights, units, gone)
    click.echo(f"grid: {len(grid)} cells of {cell_m:g} m within 3 km of a station ({weighting})")
    click.echo(
        f"inside the 5-minute circle: {_pct(impact.before.share)} with {len(units)} "
        f"{capability} units"
    )
    if gone:
        click.echo(f"with {', '.join(sorted(gone))} committed: {_pct(impact.after.share)}")
        for loss in impact.fallen:
            click.echo(f"  {loss.district}: {_pct(loss.before)} -> {_pct(loss.after)}")
        move = impact.move_up
        if move is None:
            click.echo("move-up: none would raise the share")
        else:
            click.echo(
                f"move-up: {move.unit_id} from {move.from_station} to {move.to_station}: "
                f"{_pct(move.before)} -> {_pct(move.after)}"
            )
    else:
        low = [d for d in impact.before.districts if d.share is not None and d.share < 1]
        for d in sorted(low, key=lambda d: d.share or 0)[:10]:
            click.echo(f"  {d.district}: {_pct(d.share)}")


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f}%"


coverage_command.params.append(jurisdiction_option(required=True))
history_options(coverage_command)
COMMANDS = (*COMMANDS, coverage_command)
