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

from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from services.analytics.cad import (
    DEFAULT_MAPPING,
    CadFileError,
    HistoryFile,
    load_mapping,
    read_cad,
)
from services.analytics.history import moment
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
from services.common.jurisdiction import Jurisdiction, JurisdictionError, load_jurisdiction

EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


def history_options(command: click.Command) -> click.Command:
    """--history, --mapping, --jurisdiction and --time-zone, shared by every command
    that reads a CAD export."""
    command.params += [
        click.Option(["--mapping", "mapping_path"], type=EXISTING, default=None,
                     help="The CAD export's column mapping (default: SF Calls for Service)."),
        click.Option(["--time-zone"], default=None,
                     help="The zone the export's local times are in (default: the mapping's)."),
    ]  # fmt: skip
    return command


def read_history(
    history_path: Path, mapping_path: Path | None, jurisdiction: Jurisdiction | None,
    time_zone: str | None, quiet: bool = False,
) -> HistoryFile:  # fmt: skip
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
    return click.Option(["--jurisdiction", "jurisdiction_path"], type=EXISTING,
                        required=required, default=None,
                        help="The jurisdiction file (its units and stations).")  # fmt: skip


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
    history_path: Path, mapping_path: Path | None, time_zone: str | None,
    jurisdiction_path: Path | None,
) -> None:  # fmt: skip
    """Read a CAD export: bad rows (line, column, reason) on standard error, then what
    it holds. Nothing is written."""
    jurisdiction = open_jurisdiction(jurisdiction_path)
    found = read_history(history_path, mapping_path, jurisdiction, time_zone)
    zone = ZoneInfo(time_zone or load_mapping(mapping_path or DEFAULT_MAPPING).time_zone)
    bad = len(found.problems)
    click.echo(f"{history_path}: {found.rows} rows; {len(found.incidents)} incidents with "
               f"{found.unit_rows} unit responses; {bad} bad row(s) left out")  # fmt: skip
    if found.skipped:
        skipped = ", ".join(f"{kind} {count}" for kind, count in found.skipped.items())
        click.echo(f"  skipped (unit types outside the system): {skipped}")
    if found.incidents:
        first, last = found.incidents[0].received_us, found.incidents[-1].received_us
        click.echo(f"  calls from {moment(first).astimezone(zone).isoformat(' ')} to "
                   f"{moment(last).astimezone(zone).isoformat(' ')} ({zone.key}; kept as UTC "
                   "instants)")  # fmt: skip
        types = Counter(i.incident_type for i in found.incidents)
        click.echo("  types: " + ", ".join(f"{t} {n}" for t, n in types.most_common()))
    reasons = Counter(p.reason.split(":")[-1].strip() for p in found.problems)
    for reason, count in reasons.most_common():
        click.echo(f"  bad: {count} x {reason}")


history_check.params.append(jurisdiction_option(required=False))
history_options(history_check)

history_group = GroupWithDefault(
    "history", record.history,
    help="Incidents in the record (uc history [--status ...]), or a CAD export (uc history check).",
)  # fmt: skip
history_group.add_command(history_check)

report_group = GroupWithDefault(
    "report", record.report,
    help="An incident's after-action report (uc report INCIDENT) or a period's (report period).",
)  # fmt: skip


@report_group.command(name="period")
@click.option(
    "--history",
    "history_path",
    type=EXISTING,
    required=True,
    help="The calls: a CAD export (the system's own record is the lead's next step).",
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
    help="The standards checked (default: config/period-standards.yaml).",
)
def report_period(
    history_path: Path, from_text: str, to_text: str, district: str | None, out_prefix: str,
    standards_path: Path | None, mapping_path: Path | None, time_zone: str | None,
    jurisdiction_path: Path | None,
) -> None:  # fmt: skip
    """Response performance over a period, per station district and month, against the
    standards: an HTML page with charts, JSON and CSV. An empty period gives an empty
    report."""
    jurisdiction = open_jurisdiction(jurisdiction_path)
    mapping = load_mapping(mapping_path or DEFAULT_MAPPING)
    found = read_history(history_path, mapping_path, jurisdiction, time_zone, quiet=True)
    if found.problems:
        click.echo(f"{history_path}: {len(found.problems)} bad row(s) left out "
                   "(uc history check names them)", err=True)  # fmt: skip
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
    click.echo(f"{o.incidents} incidents; first arrival p90 {arrival.p90_s:.0f} s "
               f"({arrival.verdict}, limit {arrival.limit_s:.0f} s); 5-minute circle "
               f"{100 * (o.circle_share or 0):.1f}% of {o.circle_n}", err=True)  # fmt: skip


for _option in (jurisdiction_option(required=False),):
    report_period.params.append(_option)
history_options(report_period)

COMMANDS: tuple[click.Command, ...] = (history_group, report_group)
