"""Unified command from the terminal: one table row per command, each a call to the
dispatch service that prints the incident it leaves. Every call gets a fresh request
id; the incident is always the first argument."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
from google.protobuf.message import Message

from emergency.v1 import dispatch_pb2
from services.cli.intake import print_incident
from services.cli.session import Session, pass_session

CANCEL_REASONS = ["FALSE_ALARM", "HOAX", "HANDLED_ELSEWHERE", "OTHER"]


def note() -> click.Option:
    return click.Option(["--note"], default="")


def reason() -> click.Option:
    return click.Option(["--reason"], default="")


@dataclass(frozen=True, slots=True)
class IncidentCommand:
    """``uc <name> INCIDENT ...``: ``build`` turns the parsed parameters (without the
    incident) into the RPC's name and its request (without request and incident id)."""

    name: str
    help: str
    params: tuple[click.Parameter, ...]
    build: Callable[..., tuple[str, Message]]


def _command(options: dict[str, Any]) -> tuple[str, Message]:
    """Assume command, or with --transfer take it over from the commander in place."""
    if options["transfer"]:
        return "TransferCommand", dispatch_pb2.TransferCommandRequest(
            to_commander_id=options["commander"],
            to_commander_name=options["name"],
            unit_id=options["unit"],
            reason=options["reason"],
        )
    return "AssumeCommand", dispatch_pb2.AssumeCommandRequest(
        commander_id=options["commander"],
        commander_name=options["name"],
        unit_id=options["unit"],
    )


TABLE = (
    IncidentCommand(
        "raise",
        "Raise the alarm level: the run card's difference is dispatched at once.",
        (click.Argument(["level"], type=click.IntRange(1, 5)), reason()),
        lambda o: (
            "RaiseAlarmLevel",
            dispatch_pb2.RaiseAlarmLevelRequest(alarm_level=o["level"], reason=o["reason"]),
        ),
    ),
    IncidentCommand(
        "request",
        "Ask for more of one capability (water_tanker, hazmat, ...): sent at once.",
        (
            click.Argument(["capability"]),
            click.Option(["--count"], default=1, show_default=True),
            reason(),
        ),
        lambda o: (
            "RequestUnits",
            dispatch_pb2.RequestUnitsRequest(
                capability=o["capability"], count=o["count"], reason=o["reason"]
            ),
        ),
    ),
    IncidentCommand(
        "command",
        "Assume command of an incident, or (--transfer) take it over.",
        (
            click.Option(["--commander"], default="", help="Who takes command (default: you)."),
            click.Option(["--name"], default="", help="The commander's name and rank."),
            click.Option(["--unit"], default="", help="The commander's unit, if on one."),
            click.Option(
                ["--transfer"], is_flag=True, help="Take over from the commander in place."
            ),
            reason(),
        ),
        _command,
    ),
    IncidentCommand(
        "control",
        "Mark the incident under control; open requests for units end unless kept.",
        (
            note(),
            click.Option(
                ["--keep-requests"],
                is_flag=True,
                help="Keep the open requests for units (by default they end).",
            ),
        ),
        lambda o: (
            "MarkUnderControl",
            dispatch_pb2.IncidentNoteRequest(note=o["note"], keep_requests=o["keep_requests"]),
        ),
    ),
    IncidentCommand(
        "withdraw",
        "Withdraw an open request for units (its id, n3, is in `uc incident`).",
        (
            click.Argument(["resource_request_id"]),
            click.Option(["--reason"], default="", help="Why it is no longer wanted."),
        ),
        lambda o: (
            "CancelResourceRequest",
            dispatch_pb2.CancelResourceRequestRequest(
                resource_request_id=o["resource_request_id"], reason=o["reason"]
            ),
        ),
    ),
    IncidentCommand(
        "close",
        "Close the incident: every unit still on it is released.",
        (note(),),
        lambda o: ("CloseIncident", dispatch_pb2.IncidentNoteRequest(note=o["note"])),
    ),
    IncidentCommand(
        "cancel",
        "Cancel the incident (a false alarm, say): every unit on it is released.",
        (
            click.Option(
                ["--reason"],
                type=click.Choice(CANCEL_REASONS),
                default="FALSE_ALARM",
                show_default=True,
            ),
            note(),
        ),
        lambda o: (
            "CancelIncident",
            dispatch_pb2.CancelIncidentRequest(reason=o["reason"], note=o["note"]),
        ),
    ),
    IncidentCommand(
        "classify",
        "Change the incident's type (verify an automatic alarm as a real fire).",
        (click.Argument(["incident_type"]), note()),
        lambda o: (
            "ClassifyIncident",
            dispatch_pb2.ClassifyIncidentRequest(incident_type=o["incident_type"], note=o["note"]),
        ),
    ),
)


def _click_command(row: IncidentCommand) -> click.Command:
    @pass_session
    def run(session: Session, incident_id: str, **options: Any) -> None:
        method, request = row.build(options)
        # Every row's request has both fields (a message without them raises ValueError).
        request.MergeFrom(type(request)(request_id=str(uuid.uuid4()), incident_id=incident_id))
        print_incident(session.ask(getattr(session.client.dispatch, method), request))

    return click.Command(
        row.name,
        callback=run,
        help=row.help,
        params=[click.Argument(["incident_id"]), *row.params],
    )


COMMANDS = tuple(_click_command(row) for row in TABLE)
