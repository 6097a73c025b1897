"""119 intake from the terminal: take a call, find duplicates, recommend, dispatch, and
the incidents board."""

from __future__ import annotations

import uuid

import click

from emergency.v1 import common_pb2, dispatch_pb2
from services.cli.session import (
    Session,
    incident_status_option,
    pass_session,
    status_name,
)

SOURCES = ["PHONE", "FIRE_ALARM_NETWORK", "SMART_SMOKE_DETECTOR", "TRANSFER"]


@click.command()
@pass_session
@click.option("--type", "incident_type", required=True, help="Incident type, e.g. high_rise_fire")
@click.option("--lat", type=float, help="Latitude of the incident (WGS-84 degrees)")
@click.option("--lon", type=float, help="Longitude of the incident (WGS-84 degrees)")
@click.option("--address", default="", help="Address as the caller gave it")
@click.option("--caller", default="", help="Caller's number")
@click.option("--description", default="")
@click.option(
    "--source",
    default="PHONE",
    show_default=True,
    type=click.Choice(SOURCES),
    help="How the call came in (automatic alarms need no caller number).",
)
@click.option(
    "--link",
    "link_to",
    default="",
    help="Link the call to this open incident (a duplicate) instead of opening one.",
)
def call(
    session: Session,
    incident_type: str,
    lat: float | None,
    lon: float | None,
    address: str,
    caller: str,
    description: str,
    source: str,
    link_to: str,
) -> None:
    """Take a 119 call: opens an incident (or links to one) and prints its id."""
    request = dispatch_pb2.ReceiveCallRequest(
        request_id=str(uuid.uuid4()),
        link_to_incident_id=link_to,
        caller_number=caller,
        source=common_pb2.CallSource.Value(source),
        address=address,
        incident_type=incident_type,
        description=description,
    )
    if lat is not None and lon is not None:
        request.location.latitude, request.location.longitude = lat, lon
    click.echo(session.ask(session.client.dispatch.ReceiveCall, request).incident_id)


@click.command(name="duplicates")
@pass_session
@click.option("--type", "incident_type", required=True)
@click.option("--lat", type=float)
@click.option("--lon", type=float)
@click.option("--address", default="")
def duplicates(
    session: Session, incident_type: str, lat: float | None, lon: float | None, address: str
) -> None:
    """Open incidents a new call may be about (then: uc call ... --link INCIDENT)."""
    request = dispatch_pb2.FindDuplicatesRequest(incident_type=incident_type, address=address)
    if lat is not None and lon is not None:
        request.location.latitude, request.location.longitude = lat, lon
    found = session.ask(session.client.dispatch.FindDuplicates, request).duplicates
    for likely in found:
        click.echo(f"{likely.incident_id}  {likely.incident_type:<18} {likely.reason}")
    click.echo(f"{len(found)} likely duplicate(s)", err=True)


@click.command(name="recommend")
@pass_session
@click.argument("incident_id")
@click.option(
    "--level",
    type=click.IntRange(1, 5),
    default=None,
    help="Alarm level (default: the incident's).",
)
def recommend_units(session: Session, incident_id: str, level: int | None) -> None:
    """Which units to send, across every tier, with the reason for each."""
    result = session.ask(
        session.client.dispatch.RecommendUnits,
        dispatch_pb2.RecommendUnitsRequest(incident_id=incident_id, alarm_level=level or 0),
    )
    click.echo(f"{result.incident_type}, alarm level {result.alarm_level}:")
    for pick in result.picks:
        click.echo(
            f"  {pick.capability:<19} {pick.unit_id:<12} ETA {pick.eta_seconds / 60:4.1f} min  "
            f"{pick.reason}"
        )
    for gap in result.shortfalls:
        click.echo(f"  {gap.capability:<19} MISSING {gap.missing}: {gap.reason}")


@click.command(name="dispatch")
@pass_session
@click.argument("incident_id")
@click.argument("unit_id")
@click.option(
    "--capability", default="", help="The run-card capability it fills (from uc recommend)."
)
@click.option("--reason", default="")
def dispatch_unit(
    session: Session, incident_id: str, unit_id: str, capability: str, reason: str
) -> None:
    """Send a unit to an incident (it is reserved, then its team is alerted)."""
    reply = session.ask(
        session.client.dispatch.DispatchUnit,
        dispatch_pb2.DispatchUnitRequest(
            request_id=str(uuid.uuid4()),
            incident_id=incident_id,
            unit_id=unit_id,
            capability=capability,
            reason=reason,
        ),
    )
    if reply.pending:
        click.echo(f"{unit_id} PENDING for {incident_id}: {reply.message}")
    else:
        click.echo(f"{unit_id} dispatched to {incident_id}")


@click.command(name="incident")
@pass_session
@click.argument("incident_id")
def show_incident(session: Session, incident_id: str) -> None:
    """An incident as dispatch sees it: status, command, units and open requests."""
    request = dispatch_pb2.GetIncidentRequest(incident_id=incident_id)
    print_incident(session.ask(session.client.dispatch.GetIncident, request))


@click.command(name="incidents")
@pass_session
@incident_status_option()
def list_incidents(session: Session, statuses: list[common_pb2.IncidentStatus.ValueType]) -> None:
    """The incidents board (active incidents unless --status is given)."""
    request = dispatch_pb2.ListIncidentsRequest(statuses=statuses)
    found = session.ask(session.client.dispatch.ListIncidents, request).incidents
    for i in found:
        active = sum(a.state == "ACTIVE" for a in i.assignments)
        click.echo(
            f"{i.incident_id}  {status_name(i.status):<13} L{i.alarm_level} {i.incident_type:<20} "
            f"{active} units  {i.commander_name or i.commander_id or '-'}  {i.address}"
        )
    click.echo(f"{len(found)} incident(s)", err=True)


def print_incident(i: dispatch_pb2.Incident) -> None:
    click.echo(
        f"{i.incident_id}  {i.incident_type}  {status_name(i.status)}  alarm level {i.alarm_level}"
    )
    click.echo(f"  address: {i.address or '-'}   calls: {len(i.call_ids)}")
    click.echo(f"  command: {i.commander_name or i.commander_id or 'nobody yet'}")
    for a in i.assignments:
        instead = f" (replaces {a.replaces_unit_id})" if a.replaces_unit_id else ""
        ended = f": {a.ended_reason}" if a.ended_reason else ""
        click.echo(f"  {a.unit_id:<12} {a.capability or '-':<19} {a.state}{ended}{instead}")
    for n in i.open_requests:
        what = n.capability or n.unit_id
        why = f" - not filled: {n.unavailable_reason}" if n.unavailable_reason else ""
        click.echo(f"  REQUEST {n.resource_request_id}: {n.remaining} x {what} ({n.reason}){why}")


COMMANDS = (call, duplicates, recommend_units, dispatch_unit, show_incident, list_incidents)
