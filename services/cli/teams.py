"""The unit board and a team's side from the terminal: alerts as a team's app sees them,
acknowledging, declining, and moving a unit on."""

from __future__ import annotations

import uuid

import click
import grpc

from emergency.v1 import common_pb2, units_pb2
from services.cli.session import Session, fail, pass_session


def unit_status(name: str) -> common_pb2.UnitStatus.ValueType:
    try:
        return common_pb2.UnitStatus.Value(name.upper())
    except ValueError:
        raise click.BadParameter(
            f"{name!r}; one of {', '.join(common_pb2.UnitStatus.keys()[1:])}"
        ) from None


@click.command(name="units")
@pass_session
@click.option("--tier", multiple=True, help="PROFESSIONAL, GOV_FULLTIME, VOLUNTEER, ...")
@click.option("--status", multiple=True, help="AVAILABLE, RESERVED, ALERTED, ...")
@click.option("--capability", multiple=True, help="engine, aerial, first_intervention, ...")
@click.option("--district", default="")
def list_units(
    session: Session,
    tier: tuple[str, ...],
    status: tuple[str, ...],
    capability: tuple[str, ...],
    district: str,
) -> None:
    """The status board: one unit a line."""
    request = units_pb2.ListUnitsRequest(
        tiers=[common_pb2.Tier.Value(t.upper()) for t in tier],  # unknown names: ValueError
        statuses=[unit_status(s) for s in status],
        capabilities=capability,
        district=district,
    )
    units = session.ask(session.client.units.ListUnits, request).units
    for unit in units:
        p = unit.profile
        click.echo(
            f"{p.unit_id:<12} {common_pb2.UnitStatus.Name(unit.status):<14} "
            f"{common_pb2.Tier.Name(p.tier):<13} {','.join(p.capabilities):<28} "
            f"{p.station_name}  {unit.incident_id}"
        )
    click.echo(f"{len(units)} units", err=True)


@click.command(name="alerts")
@pass_session
@click.option(
    "--team", default="", help="The team to watch (ADMIN only; a team token implies its own team)."
)
def watch_alerts(session: Session, team: str) -> None:
    """Watch a team's alerts as its app would (Ctrl-C to stop)."""
    try:
        for alert in session.client.units.WatchAlerts(units_pb2.WatchAlertsRequest(team_id=team)):
            click.echo(
                f"{units_pb2.Alert.State.Name(alert.state):<12} alert {alert.alert_id}  "
                f"unit {alert.unit_id}  {alert.incident_type} at "
                f"{alert.address or alert.location}  "
                f"responders {alert.responders_total}/{alert.responders_needed}"
            )
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.CANCELLED:
            fail(error)
    except KeyboardInterrupt:
        pass


@click.command(name="ack")
@pass_session
@click.argument("alert_id")
@click.option("--unit", "unit_id", required=True)
@click.option(
    "--responders",
    type=click.IntRange(min=1),
    required=True,
    help="How many people are coming with this acknowledgement.",
)
@click.option(
    "--eta", "eta_seconds", type=click.IntRange(min=0), default=0, help="Seconds until on scene."
)
@click.option("--note", default="")
def acknowledge(
    session: Session, alert_id: str, unit_id: str, responders: int, eta_seconds: int, note: str
) -> None:
    """Acknowledge an alert for a team."""
    alert = session.ask(
        session.client.units.AcknowledgeAlert,
        units_pb2.AcknowledgeAlertRequest(
            request_id=str(uuid.uuid4()),
            alert_id=alert_id,
            unit_id=unit_id,
            responders=responders,
            eta_seconds=eta_seconds,
            note=note,
        ),
    )
    click.echo(
        f"{units_pb2.Alert.State.Name(alert.state)}: responders "
        f"{alert.responders_total}/{alert.responders_needed}"
    )


@click.command(name="decline")
@pass_session
@click.argument("alert_id")
@click.option("--unit", "unit_id", required=True)
@click.option("--reason", required=True)
def decline(session: Session, alert_id: str, unit_id: str, reason: str) -> None:
    """Decline an alert for a team (the unit is freed for another dispatch)."""
    session.ask(
        session.client.units.DeclineAlert,
        units_pb2.DeclineAlertRequest(
            request_id=str(uuid.uuid4()), alert_id=alert_id, unit_id=unit_id, reason=reason
        ),
    )
    click.echo("DECLINED")


@click.command(name="status")
@pass_session
@click.argument("unit_id")
@click.argument("status")
def change_status(session: Session, unit_id: str, status: str) -> None:
    """Move a unit on: EN_ROUTE, ON_SCENE, RETURNING, AVAILABLE, OUT_OF_SERVICE, ..."""
    unit = session.ask(
        session.client.units.ChangeStatus,
        units_pb2.ChangeStatusRequest(
            request_id=str(uuid.uuid4()), unit_id=unit_id, status=unit_status(status)
        ),
    )
    click.echo(f"{unit_id} {common_pb2.UnitStatus.Name(unit.status)}")


COMMANDS = (list_units, watch_alerts, acknowledge, decline, change_status)
