"""``uc``: run the system and talk to it from a terminal."""

from __future__ import annotations

import os
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import grpc
from google.protobuf.json_format import MessageToDict
from google.protobuf.timestamp_pb2 import Timestamp

from emergency.v1 import (
    common_pb2,
    dispatch_pb2,
    dispatch_pb2_grpc,
    incidents_pb2,
    incidents_pb2_grpc,
    units_pb2,
    units_pb2_grpc,
)
from services.common.config import DEFAULT_PARTITIONS, DEFAULT_PORTS, jurisdiction_file
from services.common.grpc_client import open_channel
from services.common.jurisdiction import load_jurisdiction
from services.common.logging import configure_logging
from services.dispatch.callgen import CallGenerator, CallMix, summary
from services.dispatch.scenario import Pacing, Scenario


def _address(service: str) -> str:
    port = os.environ.get(f"UC_{service.upper()}_PORT", DEFAULT_PORTS[service])
    return f"{os.environ.get(f'UC_{service.upper()}_HOST', '127.0.0.1')}:{port}"


_ZONE: dict[str, ZoneInfo] = {}


def _zone(auth: list[tuple[str, str]]) -> ZoneInfo:
    """The jurisdiction's time zone (asked of the units service once per command): every
    time is shown in it, whatever this machine's own zone is."""
    if "zone" not in _ZONE:
        info = _ask("units", "GetJurisdiction", units_pb2.GetJurisdictionRequest(), auth)
        _ZONE["zone"] = ZoneInfo(info.time_zone)
    return _ZONE["zone"]


def _local(stamp: Timestamp, auth: list[tuple[str, str]], timespec: str = "seconds") -> str:
    """An instant in the jurisdiction's zone, 24-hour, with its offset:
    ``2026-12-01 08:31:41+08:00``."""
    return stamp.ToDatetime(tzinfo=UTC).astimezone(_zone(auth)).isoformat(" ", timespec)


def _fail(error: grpc.RpcError) -> None:
    click.echo(f"error: {error.code().name}: {error.details()}", err=True)
    sys.exit(1)


@click.group()
@click.option(
    "--token",
    envvar="UC_TOKEN",
    default="demo-ct-01",
    show_default=True,
    help="Bearer token for the APIs (env UC_TOKEN); the default is the demo city's call taker.",
)
@click.pass_context
def main(ctx: click.Context, token: str) -> None:
    """Unified Command: 119 dispatch and unified command."""
    ctx.obj = [("authorization", f"Bearer {token}")]


@main.command()
@click.option(
    "--data-dir",
    default=lambda: os.environ.get("UC_DATA_DIR", "var"),
    type=click.Path(path_type=Path),
    help="Where the SQLite stores and logs live.",
)
@click.option(
    "--broker-port",
    default=9092,
    show_default=True,
    help="Port of the embedded broker (unused with KAFKA_BOOTSTRAP_SERVERS).",
)
def run(data_dir: Path, broker_port: int) -> None:
    """Start the broker (embedded unless KAFKA_BOOTSTRAP_SERVERS is set) and all services."""
    from services.stack import HTTP_SERVICES, SERVICES, Stack

    configure_logging("launcher")
    stack = Stack(
        data_dir=data_dir,
        broker_port=broker_port,
        external_bootstrap=os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None,
        partitions=int(os.environ.get("UC_TOPIC_PARTITIONS", str(DEFAULT_PARTITIONS))),
    )
    try:
        stack.start()
    except BaseException:
        stack.stop()
        raise
    click.echo("\nUnified Command is up:")
    click.echo(
        f"  kafka      {stack.bootstrap}"
        + ("" if stack.external_bootstrap else "  (embedded, in memory)")
    )
    for service in SERVICES:
        kind = "HTTP/JSON" if service in HTTP_SERVICES else "gRPC"
        click.echo(f"  {service:<10} {stack.address(service)}  ({kind}, healthy)")
    click.echo(f"  data       {data_dir.resolve()}")
    click.echo(
        "Try: .venv/bin/uc call --type residential_fire --lat 28.2282 --lon 112.9388 "
        "--caller 13800000000\nCtrl-C stops everything.\n"
    )
    stack.watch()


@main.command()
@click.pass_obj
@click.option("--type", "incident_type", required=True, help="Incident type, e.g. high_rise_fire")
@click.option("--lat", type=float, help="Latitude of the incident")
@click.option("--lon", type=float, help="Longitude of the incident")
@click.option("--address", default="", help="Address as the caller gave it")
@click.option("--caller", default="", help="Caller's number")
@click.option("--description", default="")
@click.option(
    "--source",
    default="PHONE",
    show_default=True,
    type=click.Choice(["PHONE", "FIRE_ALARM_NETWORK", "SMART_SMOKE_DETECTOR", "TRANSFER"]),
    help="How the call came in (automatic alarms need no caller number).",
)
@click.option(
    "--link",
    "link_to",
    default="",
    help="Link the call to this open incident (a duplicate) instead of opening one.",
)
def call(
    auth: list[tuple[str, str]],
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
        link_to_incident_id=link_to,
        request_id=str(uuid.uuid4()),
        caller_number=caller,
        source=common_pb2.CallSource.Value(source),
        address=address,
        incident_type=incident_type,
        description=description,
    )
    if lat is not None and lon is not None:
        request.location.latitude, request.location.longitude = lat, lon
    reply = _ask(
        "dispatch",
        "ReceiveCall",
        request,
        auth,
    )
    click.echo(reply.incident_id)


@main.command(name="log")
@click.pass_obj
@click.argument("incident_id")
def incident_log(auth: list[tuple[str, str]], incident_id: str) -> None:
    """Print an incident's log, one event a line."""
    reply = _ask(
        "incidents",
        "GetIncidentLog",
        incidents_pb2.GetIncidentLogRequest(incident_id=incident_id),
        auth,
    )
    for entry in reply.entries:
        when = _local(entry.occurred_at, auth, "milliseconds")
        payload = MessageToDict(getattr(entry, entry.WhichOneof("payload")))
        click.echo(
            f"{when}  {entry.source:<9} {entry.event_type:<18} "
            f"{entry.actor.id or '-':<12} {payload}"
        )


_SOURCES = {"store": incidents_pb2.STORE, "kafka": incidents_pb2.KAFKA}
_source_option = click.option(
    "--source", type=click.Choice(sorted(_SOURCES)), default="store", show_default=True,
    help="Read the incident from the incident log's store or again from the Kafka topics.",
)  # fmt: skip


def _instant(text: str, incident_id: str, auth: list[tuple[str, str]]) -> Timestamp:
    """An ISO 8601 time (in the jurisdiction's zone unless it gives an offset), or
    +SECONDS / +MM:SS after the incident's first event."""
    stamp = Timestamp()
    if text.startswith("+"):
        minutes, _, seconds = text[1:].rpartition(":")
        try:
            offset = float(minutes or 0) * 60 + float(seconds)
        except ValueError:
            raise click.BadParameter(f"{text!r}: use +SECONDS or +MM:SS") from None
        first = _ask("incidents", "GetTimeline",
                     incidents_pb2.GetIncidentLogRequest(incident_id=incident_id),
                     auth).entries[0].at  # fmt: skip
        stamp.FromMicroseconds(first.ToMicroseconds() + round(offset * 1e6))
        return stamp
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r}: use ISO 8601 (2026-11-23T10:15:00+08:00)") from None
    stamp.FromDatetime(when if when.tzinfo else when.replace(tzinfo=_zone(auth)))
    return stamp


def _print_state(state: incidents_pb2.IncidentState, auth: list[tuple[str, str]]) -> None:
    at = f"  as of {_local(state.as_of, auth)}" if state.HasField("as_of") else ""
    click.echo(
        f"{state.incident_id}  {state.incident_type or '-'}  {state.status}  alarm level "
        f"{state.alarm_level}{at}  ({state.events_applied} events)"
    )
    click.echo(f"  command: {state.commander_name or state.commander_id or 'nobody'}   "
               f"calls: {state.calls}")  # fmt: skip
    for unit in state.units:
        tier = common_pb2.Tier.Name(unit.tier) if unit.tier else "-"
        click.echo(f"  {unit.unit_id:<12} {tier:<13} {unit.slot or '-':<19} {unit.status}"
                   + (f" ({unit.outcome})" if unit.outcome else ""))  # fmt: skip
    for note in state.notes:
        click.echo(f"  note: {note}")


@main.command(name="state")
@click.pass_obj
@click.argument("incident_id")
@click.option("--at", "at_text", default="", help="ISO time or +MM:SS after the first event.")
@_source_option
def incident_state(
    auth: list[tuple[str, str]], incident_id: str, at_text: str, source: str
) -> None:
    """The incident as it stood at an instant (time travel), or now."""
    request = incidents_pb2.GetIncidentStateRequest(incident_id=incident_id,
                                                    source=_SOURCES[source])  # fmt: skip
    if at_text:
        request.at.CopyFrom(_instant(at_text, incident_id, auth))
    _print_state(_ask("incidents", "GetIncidentState", request, auth), auth)


@main.command(name="replay")
@click.pass_obj
@click.argument("incident_id")
@click.option("--speed", default=10.0, show_default=True, help="Times the original pacing.")
@click.option("--fast", is_flag=True, help="As fast as possible, ignoring the pacing.")
@click.option("--from", "from_text", default="", help="ISO time or +MM:SS: start here.")
@click.option("--to", "to_text", default="", help="ISO time or +MM:SS: stop here.")
@click.option("--state", "with_state", is_flag=True, help="Show the state after each event.")
@_source_option
def replay(
    auth: list[tuple[str, str]], incident_id: str, speed: float, fast: bool, from_text: str,
    to_text: str, with_state: bool, source: str,
) -> None:  # fmt: skip
    """Watch an incident unfold again, at a chosen speed (Ctrl-C to stop)."""
    request = incidents_pb2.ReplayIncidentRequest(
        incident_id=incident_id, speed=speed, as_fast_as_possible=fast,
        source=_SOURCES[source], with_state=with_state,
    )  # fmt: skip
    if from_text:
        getattr(request, "from").CopyFrom(_instant(from_text, incident_id, auth))
    if to_text:
        request.to.CopyFrom(_instant(to_text, incident_id, auth))
    with open_channel(_address("incidents")) as channel:
        stub = incidents_pb2_grpc.IncidentsServiceStub(channel)
        try:
            for frame in stub.ReplayIncident(request, metadata=auth):
                minutes, seconds = divmod(frame.seconds_from_start, 60)
                click.echo(f"+{int(minutes):02d}:{seconds:04.1f}  {frame.event.source:<9} "
                           f"{frame.event.event_type:<22} {frame.summary}")  # fmt: skip
                if with_state:
                    s = frame.state
                    on_scene = sum(u.status == "ON_SCENE" for u in s.units)
                    click.echo(f"           -> {s.status}, level {s.alarm_level}, "
                               f"{len(s.units)} units ({on_scene} on scene), "
                               f"command: {s.commander_name or s.commander_id or '-'}")  # fmt: skip
        except grpc.RpcError as error:
            _fail(error)


@main.command(name="report")
@click.pass_obj
@click.argument("incident_id")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the HTML report here (default: report-<incident>.html).")  # fmt: skip
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the figures as JSON here (default: report-<incident>.json).")  # fmt: skip
@_source_option
def report(
    auth: list[tuple[str, str]], incident_id: str, html_path: Path | None,
    json_path: Path | None, source: str,
) -> None:  # fmt: skip
    """Write the after-action report: an HTML page with the timeline chart, and JSON."""
    reply = _ask("incidents", "GetReport", incidents_pb2.GetReportRequest(
        incident_id=incident_id, source=_SOURCES[source]), auth)  # fmt: skip
    html_path = html_path or Path(f"report-{incident_id}.html")
    json_path = json_path or Path(f"report-{incident_id}.json")
    html_path.write_text(reply.html, encoding="utf-8")
    json_path.write_text(reply.json, encoding="utf-8")
    click.echo(f"{html_path}\n{json_path}")


@main.command(name="note")
@click.pass_obj
@click.argument("incident_id")
@click.argument("text")
@click.option("--kind", type=click.Choice(["SITUATION_REPORT", "DECISION", "OTHER"]),
              default="SITUATION_REPORT", show_default=True)  # fmt: skip
def add_note(auth: list[tuple[str, str]], incident_id: str, text: str, kind: str) -> None:
    """A commander's entry in the incident's record (needs a commander's token)."""
    request = incidents_pb2.AddNoteRequest(
        request_id=str(uuid.uuid4()), incident_id=incident_id, text=text, kind=kind
    )
    reply = _ask("incidents", "AddNote", request, auth)
    click.echo(reply.note_id)


@main.command(name="history")
@click.pass_obj
@click.option("--status", multiple=True, help="OPEN, UNDER_CONTROL, CLOSED, CANCELLED")
@click.option("--type", "types", multiple=True, help="Incident types.")
@click.option("--since", default="", help="Opened at or after (ISO 8601).")
@click.option("--until", default="", help="Opened at or before (ISO 8601).")
@click.option("--limit", default=100, show_default=True)
def history(
    auth: list[tuple[str, str]], status: tuple[str, ...], types: tuple[str, ...], since: str,
    until: str, limit: int,
) -> None:  # fmt: skip
    """Incidents in the record, newest first (from the incident log)."""
    request = incidents_pb2.SearchIncidentsRequest(
        statuses=[s.upper() for s in status], incident_types=types, limit=limit
    )
    if since:
        request.opened_from.CopyFrom(_instant(since, "", auth))
    if until:
        request.opened_to.CopyFrom(_instant(until, "", auth))
    found = _ask("incidents", "SearchIncidents", request, auth).incidents
    for i in found:
        opened = _local(i.opened_at, auth)
        click.echo(f"{i.incident_id}  {opened}  {i.status:<13} L{i.alarm_level} "
                   f"{i.incident_type:<20} {i.events:>4} events  {i.address}")  # fmt: skip
    click.echo(f"{len(found)} incident(s)", err=True)


def _units() -> tuple[grpc.Channel, units_pb2_grpc.UnitsServiceStub]:
    channel = open_channel(_address("units"))
    return channel, units_pb2_grpc.UnitsServiceStub(channel)


_STUBS = {
    "dispatch": dispatch_pb2_grpc.DispatchServiceStub,
    "units": units_pb2_grpc.UnitsServiceStub,
    "incidents": incidents_pb2_grpc.IncidentsServiceStub,
}


def _ask(service: str, method: str, request: Any, auth: list[tuple[str, str]]) -> Any:
    """One call to a service; a refusal ends the command with the service's message."""
    with open_channel(_address(service)) as channel:
        try:
            return getattr(_STUBS[service](channel), method)(request, metadata=auth, timeout=10)
        except grpc.RpcError as error:
            _fail(error)


def _status(name: str) -> int:
    try:
        return common_pb2.UnitStatus.Value(name.upper())
    except ValueError:
        raise click.BadParameter(
            f"{name!r}; one of {', '.join(common_pb2.UnitStatus.keys()[1:])}"
        ) from None


@main.command(name="units")
@click.pass_obj
@click.option("--tier", multiple=True, help="PROFESSIONAL, GOV_FULLTIME, VOLUNTEER, ...")
@click.option("--status", multiple=True, help="AVAILABLE, RESERVED, ALERTED, ...")
@click.option("--capability", multiple=True, help="engine, aerial, first_intervention, ...")
@click.option("--district", default="")
def list_units(
    auth: list[tuple[str, str]],
    tier: tuple[str, ...],
    status: tuple[str, ...],
    capability: tuple[str, ...],
    district: str,
) -> None:
    """The status board: one unit a line."""
    request = units_pb2.ListUnitsRequest(
        tiers=[common_pb2.Tier.Value(t.upper()) for t in tier],
        statuses=[_status(s) for s in status],
        capabilities=capability,
        district=district,
    )
    units = _ask("units", "ListUnits", request, auth).units
    for unit in units:
        p = unit.profile
        click.echo(
            f"{p.unit_id:<12} {common_pb2.UnitStatus.Name(unit.status):<14} "
            f"{common_pb2.Tier.Name(p.tier):<13} {','.join(p.capabilities):<28} "
            f"{p.station_name}  {unit.incident_id}"
        )
    click.echo(f"{len(units)} units", err=True)


@main.command(name="recommend")
@click.pass_obj
@click.argument("incident_id")
@click.option(
    "--level",
    type=click.IntRange(1, 5),
    default=None,
    help="Alarm level (default: the incident's).",
)
def recommend_units(auth: list[tuple[str, str]], incident_id: str, level: int | None) -> None:
    """Which units to send, across every tier, with the reason for each."""
    result = _ask(
        "dispatch",
        "RecommendUnits",
        dispatch_pb2.RecommendUnitsRequest(incident_id=incident_id, alarm_level=level or 0),
        auth,
    )
    click.echo(f"{result.incident_type}, alarm level {result.alarm_level}:")
    for pick in result.picks:
        click.echo(
            f"  {pick.slot:<19} {pick.unit_id:<12} ETA {pick.eta_seconds / 60:4.1f} min  "
            f"{pick.reason}"
        )
    for gap in result.shortfalls:
        click.echo(f"  {gap.slot:<19} MISSING {gap.missing}: {gap.reason}")


@main.command(name="duplicates")
@click.pass_obj
@click.option("--type", "incident_type", required=True)
@click.option("--lat", type=float)
@click.option("--lon", type=float)
@click.option("--address", default="")
def duplicates(
    auth: list[tuple[str, str]],
    incident_type: str,
    lat: float | None,
    lon: float | None,
    address: str,
) -> None:
    """Open incidents a new call may be about (then: uc call ... --link INCIDENT)."""
    request = dispatch_pb2.FindDuplicatesRequest(incident_type=incident_type, address=address)
    if lat is not None and lon is not None:
        request.location.latitude, request.location.longitude = lat, lon
    found = _ask("dispatch", "FindDuplicates", request, auth).duplicates
    for dup in found:
        click.echo(f"{dup.incident_id}  {dup.incident_type:<18} {dup.reason}")
    click.echo(f"{len(found)} likely duplicate(s)", err=True)


@main.command(name="dispatch")
@click.pass_obj
@click.argument("incident_id")
@click.argument("unit_id")
@click.option("--slot", default="", help="The run-card slot it fills (from uc recommend).")
@click.option("--reason", default="")
def dispatch_unit(
    auth: list[tuple[str, str]], incident_id: str, unit_id: str, slot: str, reason: str
) -> None:
    """Send a unit to an incident (it is reserved, then its team is alerted)."""
    reply = _ask(
        "dispatch",
        "DispatchUnit",
        dispatch_pb2.DispatchUnitRequest(
            request_id=str(uuid.uuid4()), incident_id=incident_id, unit_id=unit_id,
            slot=slot, reason=reason,
        ),
        auth,
    )  # fmt: skip
    if reply.pending:
        click.echo(f"{unit_id} PENDING for {incident_id}: {reply.message}")
    else:
        click.echo(f"{unit_id} dispatched to {incident_id}")


@main.command(name="incident")
@click.pass_obj
@click.argument("incident_id")
def show_incident(auth: list[tuple[str, str]], incident_id: str) -> None:
    """An incident as dispatch sees it: status, command, units and open needs."""
    request = dispatch_pb2.GetIncidentRequest(incident_id=incident_id)
    _print_incident(_ask("dispatch", "GetIncident", request, auth))


@main.command(name="incidents")
@click.pass_obj
@click.option("--status", multiple=True, help="OPEN, UNDER_CONTROL, CLOSED, CANCELLED")
def list_incidents(auth: list[tuple[str, str]], status: tuple[str, ...]) -> None:
    """The incidents board (active incidents unless --status is given)."""
    found = _ask("dispatch", "ListIncidents",
                 dispatch_pb2.ListIncidentsRequest(statuses=[s.upper() for s in status]),
                 auth).incidents  # fmt: skip
    for i in found:
        active = sum(a.state == "ACTIVE" for a in i.assignments)
        click.echo(
            f"{i.incident_id}  {i.status:<13} L{i.alarm_level} {i.incident_type:<20} "
            f"{active} units  {i.commander_name or i.commander_id or '-'}  {i.address}"
        )
    click.echo(f"{len(found)} incident(s)", err=True)


def _print_incident(i: dispatch_pb2.Incident) -> None:
    click.echo(f"{i.incident_id}  {i.incident_type}  {i.status}  alarm level {i.alarm_level}")
    click.echo(f"  address: {i.address or '-'}   calls: {len(i.call_ids)}")
    click.echo(f"  command: {i.commander_name or i.commander_id or 'nobody yet'}")
    for a in i.assignments:
        instead = f" (replaces {a.replaces_unit_id})" if a.replaces_unit_id else ""
        ended = f": {a.ended_reason}" if a.ended_reason else ""
        click.echo(f"  {a.unit_id:<12} {a.slot or '-':<19} {a.state}{ended}{instead}")
    for n in i.open_needs:
        what = n.slot or n.unit_id
        why = f" - not filled: {n.unavailable_reason}" if n.unavailable_reason else ""
        click.echo(f"  NEED {n.need_id}: {n.remaining} x {what} ({n.reason}){why}")


def _command(service_method: str, request: Any, auth: list[tuple[str, str]]) -> None:
    """A unified-command call; prints the incident it leaves."""
    _print_incident(_ask("dispatch", service_method, request, auth))


@main.command(name="raise")
@click.pass_obj
@click.argument("incident_id")
@click.argument("level", type=click.IntRange(1, 5))
@click.option("--reason", default="")
def raise_alarm(auth: list[tuple[str, str]], incident_id: str, level: int, reason: str) -> None:
    """Raise the alarm level: the run card's difference is dispatched at once."""
    _command("RaiseAlarmLevel", dispatch_pb2.RaiseAlarmLevelRequest(
        request_id=str(uuid.uuid4()), incident_id=incident_id, alarm_level=level,
        reason=reason), auth)  # fmt: skip


@main.command(name="request")
@click.pass_obj
@click.argument("incident_id")
@click.argument("capability")
@click.option("--count", default=1, show_default=True)
@click.option("--reason", default="")
def request_units(
    auth: list[tuple[str, str]], incident_id: str, capability: str, count: int, reason: str
) -> None:
    """Ask for more of one capability (water_tanker, hazmat, ...); dispatched at once."""
    _command("RequestUnits", dispatch_pb2.RequestUnitsRequest(
        request_id=str(uuid.uuid4()), incident_id=incident_id, capability=capability,
        count=count, reason=reason), auth)  # fmt: skip


@main.command(name="command")
@click.pass_obj
@click.argument("incident_id")
@click.option("--commander", default="", help="Who takes command (default: you).")
@click.option("--name", default="", help="The commander's name and rank.")
@click.option("--unit", default="", help="The commander's unit, if on one.")
@click.option("--transfer", is_flag=True, help="Take over from the commander in place.")
@click.option("--reason", default="")
def take_command(
    auth: list[tuple[str, str]], incident_id: str, commander: str, name: str, unit: str,
    transfer: bool, reason: str,
) -> None:  # fmt: skip
    """Assume command of an incident, or (--transfer) take it over."""
    if transfer:
        _command("TransferCommand", dispatch_pb2.TransferCommandRequest(
            request_id=str(uuid.uuid4()), incident_id=incident_id, to_commander_id=commander,
            to_commander_name=name, unit_id=unit, reason=reason), auth)  # fmt: skip
    else:
        _command("AssumeCommand", dispatch_pb2.AssumeCommandRequest(
            request_id=str(uuid.uuid4()), incident_id=incident_id, commander_id=commander,
            commander_name=name, unit_id=unit), auth)  # fmt: skip


@main.command(name="control")
@click.pass_obj
@click.argument("incident_id")
@click.option("--note", default="")
@click.option("--keep-requests", is_flag=True,
              help="Keep the open requests for units (by default they end).")  # fmt: skip
def under_control(
    auth: list[tuple[str, str]], incident_id: str, note: str, keep_requests: bool
) -> None:
    """Mark the incident under control; open requests for units end unless kept."""
    _command("MarkUnderControl", dispatch_pb2.IncidentNoteRequest(
        request_id=str(uuid.uuid4()), incident_id=incident_id, note=note,
        keep_requests=keep_requests), auth)  # fmt: skip


@main.command(name="withdraw")
@click.pass_obj
@click.argument("incident_id")
@click.argument("need_id")
@click.option("--reason", default="", help="Why it is no longer wanted.")
def withdraw_request(
    auth: list[tuple[str, str]], incident_id: str, need_id: str, reason: str
) -> None:
    """Withdraw an open request for units (its id, n3, is in `uc incident`)."""
    _command("CancelUnitsRequest", dispatch_pb2.CancelUnitsRequestRequest(
        request_id=str(uuid.uuid4()), incident_id=incident_id, need_id=need_id,
        reason=reason), auth)  # fmt: skip


@main.command(name="close")
@click.pass_obj
@click.argument("incident_id")
@click.option("--note", default="")
def close_incident(auth: list[tuple[str, str]], incident_id: str, note: str) -> None:
    """Close the incident: every unit still on it is released."""
    _command("CloseIncident", dispatch_pb2.IncidentNoteRequest(
        request_id=str(uuid.uuid4()), incident_id=incident_id, note=note), auth)  # fmt: skip


@main.command(name="cancel")
@click.pass_obj
@click.argument("incident_id")
@click.option(
    "--reason",
    type=click.Choice(["FALSE_ALARM", "HOAX", "HANDLED_ELSEWHERE", "OTHER"]),
    default="FALSE_ALARM",
    show_default=True,
)
@click.option("--note", default="")
def cancel_incident(auth: list[tuple[str, str]], incident_id: str, reason: str, note: str) -> None:
    """Cancel the incident (a false alarm, say): every unit on it is released."""
    _command("CancelIncident", dispatch_pb2.CancelIncidentRequest(
        request_id=str(uuid.uuid4()), incident_id=incident_id, reason=reason, note=note),
        auth)  # fmt: skip


@main.command(name="classify")
@click.pass_obj
@click.argument("incident_id")
@click.argument("incident_type")
@click.option("--note", default="")
def classify(auth: list[tuple[str, str]], incident_id: str, incident_type: str, note: str) -> None:
    """Change the incident's type (verify an automatic alarm as a real fire)."""
    _command("ClassifyIncident", dispatch_pb2.ClassifyIncidentRequest(
        request_id=str(uuid.uuid4()), incident_id=incident_id, incident_type=incident_type,
        note=note), auth)  # fmt: skip


@main.command(name="generate")
@click.pass_obj
@click.option("--rate", default=0.2, show_default=True, help="Calls per scenario second.")
@click.option("--duration", default=300.0, show_default=True, help="Scenario seconds of calls.")
@click.option("--count", type=int, default=None, help="Stop after this many calls instead.")
@click.option("--seed", default=1, show_default=True)
@click.option("--speed", default=1.0, show_default=True, help="Scenario seconds per second.")
@click.option("--duplicates", default=0.15, show_default=True, help="Share of repeat calls.")
@click.option("--false-alarms", default=0.6, show_default=True,
              help="Share of automatic alarms that are false.")  # fmt: skip
@click.option("--hold", default=600.0, show_default=True,
              help="Scenario seconds an incident stays open before it is closed.")  # fmt: skip
@click.option("--no-dispatch", is_flag=True, help="Open incidents but send nobody.")
@click.option("--no-crews", is_flag=True, help="Do not play the crews (answers, moves).")
def generate(
    auth: list[tuple[str, str]], rate: float, duration: float, count: int | None, seed: int,
    speed: float, duplicates: float, false_alarms: float, hold: float, no_dispatch: bool,
    no_crews: bool,
) -> None:  # fmt: skip
    """Play a generated call stream against the running system, as call takers would."""
    try:
        mix = CallMix(rate_per_second=rate, duplicate_share=duplicates,
                      false_alarm_share=false_alarms)  # fmt: skip
        generator = CallGenerator(load_jurisdiction(jurisdiction_file()), mix, seed)
        calls = list(generator.calls(count=count) if count else generator.calls(duration))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(f"{summary(calls)}", err=True)
    pacing = Pacing(speed=speed, close_after=hold, dispatch=not no_dispatch, crews=not no_crews)
    with (
        open_channel(_address("dispatch")) as channel,
        open_channel(_address("units")) as units_channel,
    ):
        scenario = Scenario(channel, units_channel, auth[0][1], pacing, click.echo, seed)
        result = scenario.play(calls)
    click.echo(
        f"{result.calls} calls: {len(result.incidents)} incidents, {result.linked} linked as "
        f"duplicates, {result.dispatched} units sent ({result.shortfalls} slots short), "
        f"{result.verified} alarms verified, {result.cancelled} false alarms cancelled, "
        f"{result.closed} closed; crews: {result.acknowledged} acknowledged, "
        f"{result.declined} declined, {result.arrived} on scene; "
        f"{len(result.refused)} refusals",
        err=True,
    )


@main.command(name="alerts")
@click.pass_obj
@click.option(
    "--team", default="", help="The team to watch (ADMIN only; a team token implies its own team)."
)
def watch_alerts(auth: list[tuple[str, str]], team: str) -> None:
    """Watch a team's alerts as its app would (Ctrl-C to stop)."""
    channel, stub = _units()
    with channel:
        try:
            for alert in stub.WatchAlerts(
                units_pb2.WatchAlertsRequest(team_id=team), metadata=auth
            ):
                state = units_pb2.Alert.State.Name(alert.state)
                click.echo(
                    f"{state:<12} alert {alert.alert_id}  unit {alert.unit_id}  "
                    f"{alert.incident_type} at {alert.address or alert.location}  "
                    f"responders {alert.responders_total}/{alert.responders_needed}"
                )
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                _fail(error)
        except KeyboardInterrupt:
            pass


@main.command(name="ack")
@click.pass_obj
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
    auth: list[tuple[str, str]],
    alert_id: str,
    unit_id: str,
    responders: int,
    eta_seconds: int,
    note: str,
) -> None:
    """Acknowledge an alert for a team."""
    alert = _ask(
        "units",
        "AcknowledgeAlert",
        units_pb2.AcknowledgeAlertRequest(
            request_id=str(uuid.uuid4()),
            alert_id=alert_id,
            unit_id=unit_id,
            responders=responders,
            eta_seconds=eta_seconds,
            note=note,
        ),
        auth,
    )
    click.echo(
        f"{units_pb2.Alert.State.Name(alert.state)}: responders "
        f"{alert.responders_total}/{alert.responders_needed}"
    )


@main.command(name="decline")
@click.pass_obj
@click.argument("alert_id")
@click.option("--unit", "unit_id", required=True)
@click.option("--reason", required=True)
def decline(auth: list[tuple[str, str]], alert_id: str, unit_id: str, reason: str) -> None:
    """Decline an alert for a team (the unit is freed for another dispatch)."""
    _ask(
        "units",
        "DeclineAlert",
        units_pb2.DeclineAlertRequest(
            request_id=str(uuid.uuid4()),
            alert_id=alert_id,
            unit_id=unit_id,
            reason=reason,
        ),
        auth,
    )
    click.echo("DECLINED")


@main.command(name="status")
@click.pass_obj
@click.argument("unit_id")
@click.argument("status")
def change_status(auth: list[tuple[str, str]], unit_id: str, status: str) -> None:
    """Move a unit on: EN_ROUTE, ON_SCENE, RETURNING, AVAILABLE, OUT_OF_SERVICE, ..."""
    unit = _ask(
        "units",
        "ChangeStatus",
        units_pb2.ChangeStatusRequest(
            request_id=str(uuid.uuid4()),
            unit_id=unit_id,
            status=_status(status),
        ),
        auth,
    )
    click.echo(f"{unit_id} {common_pb2.UnitStatus.Name(unit.status)}")


if __name__ == "__main__":
    main()
