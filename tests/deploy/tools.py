"""Where the deployment checks find their tools and files: every tool comes from a package
pinned in pyproject's dev extras and constraints.txt (or tests/deploy/package-lock.json),
installed into the project's venv by `make`; nothing is fetched at test time."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VENV_BIN = Path(sys.executable).parent
NODE_PACKAGES = Path(__file__).resolve().parent / "node_modules"


def tool(name: str, package: str) -> str:
    """The path of a command-line tool that a pinned dev package installs into the venv."""
    found = VENV_BIN / name
    if found.exists():
        return str(found)
    on_path = shutil.which(name)
    if on_path is None:
        pytest.fail(
            f"{name} is missing: it comes with the dev package {package} "
            "(`make test` installs it from constraints.txt)",
            pytrace=False,
        )
    return on_path
