"""A command group that keeps an older command working under its own name: ``uc report
<incident>`` is still the after-action report while ``uc report period`` is a subcommand;
``uc history --status CLOSED`` still searches the record while ``uc history check``
reads a CAD export."""

from __future__ import annotations

from typing import Any

import click


class GroupWithDefault(click.Group):
    """Arguments that do not start with one of the group's subcommands go to
    ``default`` (which is also listed under its own name)."""

    def __init__(self, name: str, default: click.Command, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        assert default.name is not None
        self.default_name = default.name
        self.add_command(default)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = [self.default_name, *args]
        return super().parse_args(ctx, args)
