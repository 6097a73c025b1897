"""The shape a newcomer can guess: the services never import the tools around them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("common", "dispatch", "units", "incidents", "edge")


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_the_tools(service: str) -> None:
    offenders = []
    for path in sorted((ROOT / "services" / service).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "tools"
            ]
    assert offenders == []


@pytest.mark.parametrize("service", ("dispatch", "units", "incidents"))
def test_every_service_has_the_same_rooms(service: str) -> None:
    rooms = {p.stem for p in (ROOT / "services" / service).glob("*.py")}
    assert {"domain", "app", "api", "__main__"} <= rooms
