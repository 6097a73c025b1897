"""Building a jurisdiction file from a real city's public data (``uc jurisdiction
import``): stations from OpenStreetMap (CSV or GeoJSON), a roster of units per station
and tier defaults, and optionally the travel profile calibrated on its history."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from services.analytics.calibration import parse_calibration
from services.analytics.roster import (
    RosterError,
    build_jurisdiction,
    operators_of,
    parse_roster,
    render_jurisdiction,
)
from services.analytics.stations import StationFileError, read_stations
from services.common.jurisdiction import TravelProfile

EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group(name="jurisdiction")
def jurisdiction_group() -> None:
    """Build jurisdiction files from a real city's data."""


@jurisdiction_group.command(name="import")
@click.option(
    "--stations",
    "stations_path",
    type=EXISTING,
    required=True,
    help="Fire stations: OpenStreetMap CSV (name, station or ref, lon, lat) or GeoJSON.",
)
@click.option(
    "--roster",
    "roster_path",
    type=EXISTING,
    required=True,
    help="Units per station, tier defaults, time zone, boundary (YAML).",
)
@click.option(
    "--travel",
    "travel_path",
    type=EXISTING,
    default=None,
    help="A travel calibration (uc eta calibrate --out) to include.",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the jurisdiction file here (default: standard output).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Write nothing when any station row is bad (default: leave those rows out).",
)
def import_jurisdiction(
    stations_path: Path,
    roster_path: Path,
    travel_path: Path | None,
    out_path: Path | None,
    strict: bool,
) -> None:
    """Build a jurisdiction file from stations and a roster. Bad station rows are named
    (row and field) on standard error and left out."""
    try:
        found = read_stations(stations_path.read_text(encoding="utf-8"), stations_path.name)
    except StationFileError as exc:
        raise click.ClickException(f"{stations_path}: {exc}") from None
    for problem in found.problems:
        click.echo(f"{problem.describe(str(stations_path))} (row left out)", err=True)
    if found.problems and strict:
        raise click.ClickException(f"{len(found.problems)} bad station row(s): nothing written")
    try:
        roster = parse_roster(roster_path.read_text(encoding="utf-8"), str(roster_path))
        operators = []
        if roster.operators_from:
            operators = operators_of(roster_path.parent / roster.operators_from)
        travel: TravelProfile | None = None
        turnout: dict[str, int] = {}
        if travel_path is not None:
            calibration = parse_calibration(
                travel_path.read_text(encoding="utf-8"), str(travel_path)
            )
            travel, turnout = calibration.travel, dict(calibration.station_turnout_seconds)
        data = build_jurisdiction(found.stations, roster, operators, travel, turnout)
    except (RosterError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    text = render_jurisdiction(
        data,
        header(
            roster.jurisdiction.name, roster.attribution, stations_path, roster_path, travel_path
        ),
    )
    if out_path is None:
        sys.stdout.write(text)
    else:
        out_path.write_text(text, encoding="utf-8")
        units = sum(len(s["units"]) for s in data["stations"])
        click.echo(
            f"{out_path}: {len(data['stations'])} stations, {units} units"
            + (f"; {len(found.problems)} station row(s) left out" if found.problems else ""),
            err=True,
        )


def header(name: str, attribution: str, stations: Path, roster: Path, travel: Path | None) -> str:
    built = f"--stations {stations.name} --roster {roster.name}"
    if travel is not None:
        built += f" --travel {travel.name}"
    return "\n".join(
        [
            f"{name}: jurisdiction file built by `uc jurisdiction import {built}`.",
            "GENERATED: edit the roster (and the calibration), not this file, and build it again.",
            "",
            attribution or "Station data: see the station file's licence.",
            "",
            "DEMO TOKENS AND PASSWORDS, FOR DEMOS ONLY (public, never for a real deployment): the",
            "operators' are those of the demo city (demo-<operator id>, e.g. demo-ct-01, also the",
            "console password of staff); each station's app token is demo-<station id in lower",
            "case>, e.g. demo-sf-21. The file keeps only their SHA-256 and argon2id hashes.",
        ]
    )


COMMANDS = (jurisdiction_group,)
