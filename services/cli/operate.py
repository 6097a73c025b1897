"""Running the system on one machine, and playing generated calls against it."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.engine import make_url

from services.cli.session import Session, pass_session
from services.common.config import jurisdiction_file, settings
from services.common.database import create_store_engine
from services.common.jurisdiction import load_jurisdiction
from services.common.logging import configure_logging
from services.migrations import BRANCHES, upgrade


@click.command()
@click.option(
    "--data-dir",
    default=lambda: settings().uc_data_dir,
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
    from tools.stack import HTTP_SERVICES, SERVICES, Stack

    configure_logging("launcher")
    environment = settings()
    stack = Stack(
        data_dir=data_dir,
        # The same port variables as the services themselves read.
        ports={name: environment.port(name) for name in SERVICES},
        broker_port=broker_port,
        external_bootstrap=environment.kafka_bootstrap_servers,
        partitions=environment.uc_topic_partitions,
    )
    try:
        stack.start()
    except BaseException:
        stack.stop()
        raise
    click.echo("\nUnified Command is up:")
    embedded = "" if stack.external_bootstrap else "  (embedded, in memory)"
    click.echo(f"  kafka      {stack.bootstrap}{embedded}")
    for service in SERVICES:
        kind = "HTTP/JSON" if service in HTTP_SERVICES else "gRPC"
        click.echo(f"  {service:<10} {stack.address(service)}  ({kind}, healthy)")
    click.echo(f"  data       {data_dir.resolve()}")
    city = load_jurisdiction(jurisdiction_file())
    lat, lon = city.stations[0].location
    click.echo(
        f"  jurisdiction {city.jurisdiction.name} ({city.jurisdiction.time_zone}), "
        f"{jurisdiction_file()}\n"
        f"Try: .venv/bin/uc call --type residential_fire --lat {lat + 0.002:.4f} "
        f"--lon {lon + 0.002:.4f} --caller 13800000000\nCtrl-C stops everything.\n"
    )
    stack.watch()


@click.command(name="generate")
@pass_session
@click.option("--rate", default=0.2, show_default=True, help="Calls per scenario second.")
@click.option("--duration", default=300.0, show_default=True, help="Scenario seconds of calls.")
@click.option("--count", type=int, default=None, help="Stop after this many calls instead.")
@click.option("--seed", default=1, show_default=True)
@click.option("--speed", default=1.0, show_default=True, help="Scenario seconds per second.")
@click.option("--duplicates", default=0.15, show_default=True, help="Share of repeat calls.")
@click.option(
    "--false-alarms",
    default=0.6,
    show_default=True,
    help="Share of automatic alarms that are false.",
)
@click.option(
    "--hold",
    default=600.0,
    show_default=True,
    help="Scenario seconds an incident stays open before it is closed.",
)
@click.option("--no-dispatch", is_flag=True, help="Open incidents but send nobody.")
@click.option("--no-crews", is_flag=True, help="Do not play the crews (answers, moves).")
@click.option(
    "--from-history",
    "history_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Play a CAD export's calls instead (each recommended for, then cancelled), and "
    "measure the recommendation's first engine against the one that really came first.",
)
@click.option(
    "--mapping",
    "mapping_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="With --from-history: the export's column mapping (default: SF Calls for Service).",
)
@click.option(
    "--years",
    default="2016-2019",
    show_default=True,
    help="With --from-history: the years played (held out from the calibration), or 'all'.",
)
def generate(
    session: Session,
    rate: float,
    duration: float,
    count: int | None,
    seed: int,
    speed: float,
    duplicates: float,
    false_alarms: float,
    hold: float,
    no_dispatch: bool,
    no_crews: bool,
    history_path: Path | None,
    mapping_path: Path | None,
    years: str,
) -> None:
    """Play a generated call stream against the running system, as call takers would;
    or, with --from-history, a CAD export's calls, measuring the recommendation."""
    if history_path is not None:
        from services.cli.analytics import parse_years
        from services.cli.history_play import play_history, report

        wanted = None if years == "all" else set(parse_years(years))
        # --speed is scenario seconds per second; history's gaps are weeks: as fast as
        # possible unless a speed other than the default is asked for.
        pace = speed if speed != 1.0 else 0.0
        played = play_history(session, history_path, mapping_path, wanted, count, pace)
        for line in report(played, years):
            click.echo(line)
        return
    from tools.callgen import CallGenerator, CallMix, summary
    from tools.scenario import Pacing, Scenario

    try:
        mix = CallMix(
            rate_per_second=rate, duplicate_share=duplicates, false_alarm_share=false_alarms
        )
        generator = CallGenerator(load_jurisdiction(jurisdiction_file()), mix, seed)
        calls = list(generator.calls(count=count) if count else generator.calls(duration))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(f"{summary(calls)}", err=True)
    pacing = Pacing(speed=speed, close_after=hold, dispatch=not no_dispatch, crews=not no_crews)
    result = Scenario(session.client, pacing, click.echo, seed).play(calls)
    click.echo(
        f"{result.calls} calls: {len(result.incidents)} incidents, {result.linked} linked as "
        f"duplicates, {result.dispatched} units sent ({result.shortfalls} card short), "
        f"{result.verified} alarms verified, {result.cancelled} false alarms cancelled, "
        f"{result.closed} closed; crews: {result.acknowledged} acknowledged, "
        f"{result.declined} declined, {result.arrived} on scene; "
        f"{len(result.refused)} refusals",
        err=True,
    )


@click.command()
@click.option(
    "--service",
    "services",
    multiple=True,
    type=click.Choice(list(BRANCHES)),
    help="Only this service's database (repeatable); default: every one.",
)
def migrate(services: tuple[str, ...]) -> None:
    """Bring every store's schema up to date (idempotent): run it before starting the
    services of a new release. Reads the same settings as the services (DATABASE_URL,
    UC_<SERVICE>_DATABASE_URL, UC_DATA_DIR)."""
    configure_logging("migrate")
    environment = settings()
    for service in services or tuple(BRANCHES):
        url = environment.store_url(service)
        engine = create_store_engine(url)
        try:
            revisions = upgrade(engine, BRANCHES[service])
        finally:
            engine.dispose()
        shown = make_url(url).render_as_string(hide_password=True)
        click.echo(f"{service:<10} {', '.join(revisions)}  ({shown})")


COMMANDS = (run, generate, migrate)
