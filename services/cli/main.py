"""The ``uc`` command group: the caller's token, and every subcommand."""

from __future__ import annotations

import click

from services.cli import analytics, command, intake, jurisdiction, operate, record, teams
from services.cli.session import Session


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
    session = Session(token)
    ctx.obj = session
    ctx.call_on_close(session.close)


# analytics comes after record: its `history` and `report` groups take the record's
# commands of those names as their defaults.
for module in (operate, intake, command, record, teams, jurisdiction, analytics):
    for cli_command in module.COMMANDS:
        main.add_command(cli_command)
