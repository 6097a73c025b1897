"""Configuration files in YAML read into pydantic models, with every problem reported as
``file:line: field: message`` so the person editing the file can go straight to it.

One way to read every YAML file the product takes (jurisdictions, rosters, run cards,
standards, CAD mappings, calibrations): ``load_yaml_model`` for a file, ``parse_yaml_model``
for text already read. Both raise the caller's error class (a ``ValueError`` subclass or
``ValueError`` itself) and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)
Location = tuple[str | int, ...]


def load_yaml_model(
    path: str | Path,
    model: type[Model],
    error: type[Exception] = ValueError,
    *,
    what: str = "file",
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    locate: Callable[[Location, str], Location] | None = None,
) -> Model:
    """The model in the YAML file at ``path``. ``what`` names the file in the error for
    an unreadable file ("cannot read the run cards: ..."); see ``parse_yaml_model`` for
    the rest. Raises ``error``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read the {what}: {exc}") from None
    return parse_yaml_model(text, model, error, name=str(path), prepare=prepare, locate=locate)


def parse_yaml_model(
    text: str,
    model: type[Model],
    error: type[Exception] = ValueError,
    *,
    name: str = "<yaml>",
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    locate: Callable[[Location, str], Location] | None = None,
) -> Model:
    """The model in YAML ``text`` (a mapping at the top).

    ``prepare`` may adjust the parsed mapping before validation (for example YAML reads an
    unquoted station reference ``10`` as a number); ``locate`` may point an error to a
    better place in the file, given its location and message (a whole-file check that
    names the list item in its message). Every validation problem becomes one line
    ``name:line: field.path[index]: message``. Raises ``error``."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise error(f"{name}{line}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise error(f"{name}: expected a mapping at the top of the file")
    if prepare is not None:
        data = prepare(data)
    lines = dict(_node_lines(node))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for problem in exc.errors():
            message = str(problem["msg"]).removeprefix("Value error, ")
            loc: Location = tuple(problem["loc"])
            if locate is not None:
                loc = locate(loc, message)
            at = _line_of(lines, loc)
            problems.append(f"{name}:{at or '?'}: {dotted(loc) or 'file'}: {message}")
        raise error("\n".join(problems)) from None


def dotted(loc: Location) -> str:
    """A location as people write it: ``stations[3].units``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(lines: Mapping[Location, int], loc: Location) -> int | None:
    """The line of ``loc``, or of the nearest enclosing node the file has (a missing
    field's line is its parent's)."""
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def _node_lines(node: yaml.Node | None, loc: Location = ()) -> Iterator[tuple[Location, int]]:
    """Every location in a composed YAML document with its line (1-based). Keys are
    taken as text, as pydantic reports them."""
    if node is None:
        return
    yield loc, node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield (*loc, str(key.value)), key.start_mark.line + 1
            yield from _node_lines(value, (*loc, str(key.value)))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _node_lines(item, (*loc, index))
