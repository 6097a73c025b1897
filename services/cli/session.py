"""What every ``uc`` command shares: one connection to the services as the caller, the
jurisdiction's time zone, and the way a refusal ends the command (the service's
message, exit status 1)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC
from typing import NoReturn, TypeVar
from zoneinfo import ZoneInfo

import click
import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from emergency.v1 import common_pb2, units_pb2
from services.common.enums import IncidentStatus
from services.common.grpc_client import Client

Request = TypeVar("Request")
Reply = TypeVar("Reply")


class Session:
    """The caller (a bearer token) and, opened on first use, the services."""

    def __init__(self, token: str) -> None:
        self.token = token
        self._client: Client | None = None
        self._zone: ZoneInfo | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.token)
        return self._client

    def ask(self, call: Callable[[Request], Reply], request: Request) -> Reply:
        """One call; a refusal ends the command with the service's message."""
        try:
            return call(request)
        except grpc.RpcError as error:
            fail(error)
            raise  # not reached: fail() exits

    @property
    def zone(self) -> ZoneInfo:
        """The jurisdiction's time zone (asked of the units service once): every time is
        shown in it, whatever this machine's own zone is."""
        if self._zone is None:
            info = self.ask(self.client.units.GetJurisdiction, units_pb2.GetJurisdictionRequest())
            self._zone = ZoneInfo(info.time_zone)
        return self._zone

    def local(self, stamp: Timestamp, timespec: str = "seconds") -> str:
        """An instant in the jurisdiction's zone, 24-hour, with its offset:
        ``2026-12-01 08:31:41+08:00``."""
        return stamp.ToDatetime(tzinfo=UTC).astimezone(self.zone).isoformat(" ", timespec)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def fail(error: grpc.RpcError) -> NoReturn:
    """End the command with the service's refusal: ``error: CODE: message``, status 1."""
    assert isinstance(error, grpc.Call), "a failed call is also its Call"
    click.echo(f"error: {error.code().name}: {error.details()}", err=True)
    sys.exit(1)


pass_session = click.make_pass_decorator(Session)


def incident_status_option() -> Callable[[Callable[..., object]], Callable[..., object]]:
    """``--status``, repeatable: incident statuses by name, any case."""
    names = [s.name for s in IncidentStatus if s is not IncidentStatus.NONE]
    return click.option(
        "--status",
        "statuses",
        multiple=True,
        type=click.Choice(names, case_sensitive=False),
        callback=lambda _ctx, _param, chosen: [
            common_pb2.IncidentStatus.Value(name.upper()) for name in chosen
        ],
    )


def status_name(number: int) -> str:
    """An incident status as the CLI prints it (NONE before the incident was opened)."""
    try:
        return IncidentStatus(number).name
    except ValueError:  # a status newer than this CLI
        return f"STATUS_{number}"
