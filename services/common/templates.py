"""The one way the product renders HTML pages (after-action and period reports): Jinja
templates from a directory next to the module, escaped, strict about missing values."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2


def template_environment(directory: Path, **filters: Callable[..., Any]) -> jinja2.Environment:
    """A Jinja environment for the templates in ``directory``: HTML autoescaping (every
    value from the record is escaped), ``StrictUndefined`` (a misspelt name fails the
    render instead of printing nothing) and the given filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(filters)
    return env
