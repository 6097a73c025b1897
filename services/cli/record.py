"""The incident record from the terminal: the log, the state at an instant (time
travel), replays, after-action reports, commanders' notes and the history. Every time is
shown in the jurisdiction's zone."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import click
import grpc
from google.protobuf.json_format import MessageToDict
from google.protobuf.timestamp_pb2 import Timestamp

from emergency.v1 import common_pb2, incidents_pb2
from services.cli.session import (
    Session,
    fail,
    incident_status_option,
    pass_session,
    status_name,
)

SOURCES = {"store": incidents_pb2.STORE, "kafka": incidents_pb2.KAFKA}


def source_option() -> click.Option:
    return click.Option(
        ["--source"],
        type=click.Choice(sorted(SOURCES)),
        default="store",
        show_default=True,
        help="Read the incident from the incident log's store or again from the Kafka topics.",
    )


def with_source(command: click.Command) -> click.Command:
    command.params.append(source_option())
    return command


def instant(session: Session, text: str, incident_id: str) -> Timestamp:
    """An ISO 8601 time (in the jurisdiction's zone unless it gives an offset), or
    +SECONDS / +MM:SS after the incident's first event."""
    stamp = Timestamp()
    if text.startswith("+"):
        minutes, _, seconds = text[1:].rpartition(":")
        try:
            offset = float(minutes or 0) * 60 + float(seconds)
        except ValueError:
            raise click.BadParameter(f"{text!r}: use +SECONDS or +MM:SS") from None
        timeline = session.ask(
            session.client.incidents.GetTimeline,
            incidents_pb2.GetIncidentLogRequest(incident_id=incident_id),
        )
        stamp.FromMicroseconds(timeline.entries[0].at.ToMicroseconds() + round(offset * 1e6))
        return stamp
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r}: use ISO 8601 (2026-11-23T10:15:00+08:00)") from None
    stamp.FromDatetime(when if when.tzinfo else when.replace(tzinfo=session.zone))
    return stamp


@click.command(name="log")
@pass_session
@click.argument("incident_id")
def incident_log(session: Session, incident_id: str) -> None:
    """Print an incident's log, one event a line."""
    reply = session.ask(
        session.client.incidents.GetIncidentLog,
        incidents_pb2.GetIncidentLogRequest(incident_id=incident_id),
    )
    for entry in reply.entries:
        payload = MessageToDict(getattr(entry, entry.WhichOneof("payload") or "event_id"))
        click.echo(
            f"{session.local(entry.occurred_at, 'milliseconds')}  {entry.source:<9} "
            f"{entry.event_type:<18} {entry.actor.id or '-':<12} {payload}"
        )


def print_state(session: Session, state: incidents_pb2.IncidentState) -> None:
    at = f"  as of {session.local(state.as_of)}" if state.HasField("as_of") else ""
    click.echo(
        f"{state.incident_id}  {state.incident_type or '-'}  {status_name(state.status)}  "
        f"alarm level {state.alarm_level}{at}  ({state.events_applied} events)"
    )
    click.echo(
        f"  command: {state.commander_name or state.commander_id or 'nobody'}   "
        f"calls: {state.calls}"
    )
    for unit in state.units:
        tier = common_pb2.Tier.Name(unit.tier) if unit.tier else "-"
        click.echo(
            f"  {unit.unit_id:<12} {tier:<13} {unit.capability or '-':<19} {unit.status}"
            + (f" ({unit.outcome})" if unit.outcome else "")
        )
    for text in state.notes:
        click.echo(f"  note: {text}")


@with_source
@click.command(name="state")
@pass_session
@click.argument("incident_id")
@click.option("--at", "at_text", default="", help="ISO time or +MM:SS after the first event.")
def incident_state(session: Session, incident_id: str, at_text: str, source: str) -> None:
    """The incident as it stood at an instant (time travel), or now."""
    request = incidents_pb2.GetIncidentStateRequest(incident_id=incident_id, source=SOURCES[source])
    if at_text:
        request.at.CopyFrom(instant(session, at_text, incident_id))
    print_state(session, session.ask(session.client.incidents.GetIncidentState, request))


@with_source
@click.command(name="replay")
@pass_session
@click.argument("incident_id")
@click.option("--speed", default=10.0, show_default=True, help="Times the original pacing.")
@click.option("--fast", is_flag=True, help="As fast as possible, ignoring the pacing.")
@click.option("--from", "from_text", default="", help="ISO time or +MM:SS: start here.")
@click.option("--to", "to_text", default="", help="ISO time or +MM:SS: stop here.")
@click.option("--state", "with_state", is_flag=True, help="Show the state after each event.")
def replay(
    session: Session,
    incident_id: str,
    speed: float,
    fast: bool,
    from_text: str,
    to_text: str,
    with_state: bool,
    source: str,
) -> None:
    """Watch an incident unfold again, at a chosen speed (Ctrl-C to stop)."""
    request = incidents_pb2.ReplayIncidentRequest(
        incident_id=incident_id,
        speed=speed,
        as_fast_as_possible=fast,
        source=SOURCES[source],
        with_state=with_state,
    )
    if from_text:
        getattr(request, "from").CopyFrom(instant(session, from_text, incident_id))
    if to_text:
        request.to.CopyFrom(instant(session, to_text, incident_id))
    try:
        for frame in session.client.incidents.ReplayIncident(request):
            minutes, seconds = divmod(frame.seconds_from_start, 60)
            click.echo(
                f"+{int(minutes):02d}:{seconds:04.1f}  {frame.event.source:<9} "
                f"{frame.event.event_type:<22} {frame.summary}"
            )
            if with_state:
                s = frame.state
                on_scene = sum(u.status == "ON_SCENE" for u in s.units)
                click.echo(
                    f"           -> {status_name(s.status)}, level {s.alarm_level}, "
                    f"{len(s.units)} units ({on_scene} on scene), "
                    f"command: {s.commander_name or s.commander_id or '-'}"
                )
    except grpc.RpcError as error:
        fail(error)


@with_source
@click.command(name="report")
@pass_session
@click.argument("incident_id")
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the HTML report here (default: report-<incident>.html).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the figures as JSON here (default: report-<incident>.json).",
)
def report(
    session: Session,
    incident_id: str,
    html_path: Path | None,
    json_path: Path | None,
    source: str,
) -> None:
    """Write the after-action report: an HTML page with the timeline chart, and JSON."""
    reply = session.ask(
        session.client.incidents.GetReport,
        incidents_pb2.GetReportRequest(incident_id=incident_id, source=SOURCES[source]),
    )
    html_path = html_path or Path(f"report-{incident_id}.html")
    json_path = json_path or Path(f"report-{incident_id}.json")
    html_path.write_text(reply.html, encoding="utf-8")
    json_path.write_text(reply.json, encoding="utf-8")
    click.echo(f"{html_path}\n{json_path}")


@click.command(name="note")
@pass_session
@click.argument("incident_id")
@click.argument("text")
@click.option(
    "--kind",
    type=click.Choice(["SITUATION_REPORT", "DECISION", "OTHER"]),
    default="SITUATION_REPORT",
    show_default=True,
)
def add_note(session: Session, incident_id: str, text: str, kind: str) -> None:
    """A commander's entry in the incident's record (needs a commander's token)."""
    request = incidents_pb2.AddNoteRequest(
        request_id=str(uuid.uuid4()), incident_id=incident_id, text=text, kind=kind
    )
    click.echo(session.ask(session.client.incidents.AddNote, request).note_id)


@click.command(name="history")
@pass_session
@incident_status_option()
@click.option("--type", "types", multiple=True, help="Incident types.")
@click.option("--since", default="", help="Opened at or after (ISO 8601).")
@click.option("--until", default="", help="Opened at or before (ISO 8601).")
@click.option("--limit", default=100, show_default=True)
def history(
    session: Session,
    statuses: list[common_pb2.IncidentStatus.ValueType],
    types: tuple[str, ...],
    since: str,
    until: str,
    limit: int,
) -> None:
    """Incidents in the record, newest first (from the incident log)."""
    request = incidents_pb2.SearchIncidentsRequest(
        statuses=statuses, incident_types=types, limit=limit
    )
    if since:
        request.opened_from.CopyFrom(instant(session, since, ""))
    if until:
        request.opened_to.CopyFrom(instant(session, until, ""))
    found = session.ask(session.client.incidents.SearchIncidents, request).incidents
    for i in found:
        click.echo(
            f"{i.incident_id}  {session.local(i.opened_at)}  {status_name(i.status):<13} "
            f"L{i.alarm_level} {i.incident_type:<20} {i.events:>4} events  "
            f"{i.address}"
        )
    click.echo(f"{len(found)} incident(s)", err=True)


COMMANDS = (incident_log, incident_state, replay, report, add_note, history)
