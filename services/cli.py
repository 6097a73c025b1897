"""``uc``: run the system and talk to it from a terminal."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import click
import grpc
from google.protobuf.json_format import MessageToDict

from emergency.v1 import (
    common_pb2,
    dispatch_pb2,
    dispatch_pb2_grpc,
    incidents_pb2,
    incidents_pb2_grpc,
)
from services.common.config import DEFAULT_PORTS
from services.common.logging import configure_logging


def _address(service: str) -> str:
    port = os.environ.get(f"UC_{service.upper()}_PORT", DEFAULT_PORTS[service])
    return f"{os.environ.get(f'UC_{service.upper()}_HOST', '127.0.0.1')}:{port}"


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
    from services.stack import SERVICES, Stack

    configure_logging("launcher")
    stack = Stack(
        data_dir=data_dir,
        broker_port=broker_port,
        external_bootstrap=os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None,
        partitions=int(os.environ.get("UC_TOPIC_PARTITIONS", "3")),
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
        click.echo(f"  {service:<10} {stack.address(service)}  (gRPC, health: SERVING)")
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
def call(
    auth: list[tuple[str, str]],
    incident_type: str,
    lat: float | None,
    lon: float | None,
    address: str,
    caller: str,
    description: str,
) -> None:
    """Take a 119 call: opens an incident and prints its id."""
    request = dispatch_pb2.ReceiveCallRequest(
        request_id=str(uuid.uuid4()),
        caller_number=caller,
        source=common_pb2.PHONE,
        address=address,
        incident_type=incident_type,
        description=description,
    )
    if lat is not None and lon is not None:
        request.location.latitude, request.location.longitude = lat, lon
    with grpc.insecure_channel(_address("dispatch")) as channel:
        try:
            reply = dispatch_pb2_grpc.DispatchServiceStub(channel).ReceiveCall(
                request, timeout=10, metadata=auth
            )
        except grpc.RpcError as error:
            _fail(error)
    click.echo(reply.incident_id)


@main.command(name="log")
@click.pass_obj
@click.argument("incident_id")
def incident_log(auth: list[tuple[str, str]], incident_id: str) -> None:
    """Print an incident's log, one event a line."""
    with grpc.insecure_channel(_address("incidents")) as channel:
        try:
            reply = incidents_pb2_grpc.IncidentsServiceStub(channel).GetIncidentLog(
                incidents_pb2.GetIncidentLogRequest(incident_id=incident_id),
                timeout=10,
                metadata=auth,
            )
        except grpc.RpcError as error:
            _fail(error)
    for entry in reply.entries:
        when = entry.occurred_at.ToDatetime().isoformat(timespec="milliseconds")
        payload = MessageToDict(getattr(entry, entry.WhichOneof("payload")))
        click.echo(
            f"{when}  {entry.source:<9} {entry.event_type:<18} "
            f"{entry.actor.id or '-':<12} {payload}"
        )


if __name__ == "__main__":
    main()
