"""The README's command-line session ("A session with the demo city"), followed as written
against a real stack, so that the documentation cannot drift from the product.

The block is read from README.md and parsed as a shell would (``\\`` continuations,
comments, ``VAR=value`` prefixes, ``export``, ``a; b``). ``make run`` is this test's stack;
a command whose comment gives it its own terminal (``uc alerts``) runs in the background;
every other ``.venv/bin/uc`` line runs as a real ``uc`` process and must exit 0. Ids are
filled in as a reader fills them: ``<name>`` from the output of the step whose comment says
it ``prints <name>``, ``<alert-id>`` from the alerts terminal's line for the step's
``--unit``, anything else (``n6``) as written. After a step, what its comment promises is
checked too (``PROMISES``), and every promise must have found its step.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest

from emergency.v1 import common_pb2, dispatch_pb2, units_pb2
from services.dispatch.runcards import load_run_cards
from tests.e2e.conftest import CALL_TAKER, Clients, eventually
from tools.stack import Stack

README = Path(__file__).resolve().parents[2] / "README.md"
SESSION_INTRO = "A session with the demo city"
STEP_TIMEOUT = 60.0  # seconds a command may take ...
SLOW_STEPS = {"generate": 180.0}  # ... but these (`uc generate` takes about 95 s)
PLACEHOLDER = re.compile(r"<([a-z][a-z0-9-]*)>")
PRINTS = re.compile(r"\bprints\b[^<]*<([a-z][a-z0-9-]*)>")
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.DOTALL)
UC = ".venv/bin/uc"
AS_CALL_TAKER = tuple(CALL_TAKER)  # the checks read as a call taker

Completed = subprocess.CompletedProcess[str]


# --- reading the session -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One command of the session: ``argv`` as written (placeholders still in), the
    ``VAR=value`` prefixes it runs with, and the comment the README gives it."""

    line: int
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    comment: str = ""

    @property
    def text(self) -> str:
        return shlex.join([f"{k}={v}" for k, v in self.env.items()] + list(self.argv))

    @property
    def subcommand(self) -> str:
        return self.argv[1] if self.argv[:1] == (UC,) and len(self.argv) > 1 else ""

    def option(self, name: str) -> str:
        """The value given to ``name`` (``--unit VOL-03-E1``)."""
        if name not in self.argv[:-1]:
            pytest.fail(f"README.md line {self.line}: {self.text} has no {name}", pytrace=False)
        return self.argv[self.argv.index(name) + 1]


def readme_session(readme: str) -> tuple[int, list[str]]:
    """The line number and lines of the ``sh`` block after the session's introduction."""
    lines = readme.splitlines()
    intro = next((n for n, line in enumerate(lines) if line.startswith(SESSION_INTRO)), None)
    if intro is None:
        pytest.fail(f"README.md has no paragraph starting {SESSION_INTRO!r}", pytrace=False)
    opening = next((n for n in range(intro, len(lines)) if lines[n].strip() == "```sh"), None)
    if opening is None:
        pytest.fail(f"README.md: no ```sh block after {SESSION_INTRO!r}", pytrace=False)
    closing = next((n for n in range(opening + 1, len(lines)) if lines[n].strip() == "```"), None)
    if closing is None:
        pytest.fail(f"README.md line {opening + 1}: the ```sh block never ends", pytrace=False)
    return opening + 2, lines[opening + 1 : closing]


def unquoted(text: str) -> Iterator[tuple[int, str]]:
    """The characters of a shell line outside quotes and not escaped, with their index."""
    quote = ""
    escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        else:
            yield index, char


def split_comment(line: str) -> tuple[str, str]:
    """A line's command and its comment: a ``#`` starting a word, outside quotes."""
    for index, char in unquoted(line):
        if char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip(), line[index + 1 :].strip()
    return line.rstrip(), ""


def shell_lines(lines: list[str], first: int) -> Iterator[tuple[int, str, str]]:
    """(line number, command, comment) for each command line: continuations joined, the
    comments of its physical lines joined, comment-only lines dropped."""
    start, command, comments = first, "", []
    for number, raw in enumerate(lines, first):
        code, comment = split_comment(raw)
        if not command:
            start = number
        if comment:
            comments.append(comment)
        if code.endswith("\\"):
            command += code[:-1] + " "
            continue
        command += code
        if command.strip():
            yield start, command.strip(), " ".join(comments)
        command, comments = "", []


def split_sequence(command: str) -> list[str]:
    """``a; b`` as ``[a, b]`` (a quoted ``;`` stays)."""
    cuts = [index for index, char in unquoted(command) if char == ";"]
    parts = [command[a + 1 : b] for a, b in zip([-1, *cuts], [*cuts, len(command)], strict=True)]
    return [part.strip() for part in parts if part.strip()]


def parse_command(line: int, command: str, comment: str) -> Step:
    words = shlex.split(command)
    env: dict[str, str] = {}
    while words and ASSIGNMENT.fullmatch(words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    return Step(line, tuple(words), env, comment)


def parse_session(lines: list[str], first: int) -> list[Step]:
    return [
        parse_command(number, command, comment)
        for number, line, comment in shell_lines(lines, first)
        for command in split_sequence(line)
    ]


# --- following it ----------------------------------------------------------------------------


@dataclass
class Terminal:
    """A command left running in a terminal of its own; its output goes to files."""

    step: Step
    process: subprocess.Popen[bytes]
    out: Path
    err: Path

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def stop(self) -> int:
        """Ctrl-C, as the reader stops it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


class Reader:
    """Someone following the README in one shell: its environment (the stack's ports, no
    token of its own: the README says the default is a call taker's), the ids the commands
    printed, the terminals left running, and the promises checked."""

    def __init__(self, stack: Stack, workdir: Path) -> None:
        self.workdir = workdir
        self.env = {k: v for k, v in stack.service_env().items() if k != "UC_TOKEN"}
        self.ids: dict[str, str] = {}
        self.terminals: list[Terminal] = []
        self.kept: set[str] = set()
        self.stack_started = False
        self.clients = Clients(stack)

    def close(self) -> None:
        for terminal in self.terminals:
            terminal.stop()
        self.clients.close()

    def follow(self, step: Step) -> None:
        if step.argv == ("make", "run"):
            self.stack_started = True  # the test's stack is that
        elif step.argv[:1] == ("export",):
            self.export(step)
        elif not step.argv:
            fail(step, "sets a shell variable that no command sees (export it?)")
        elif step.argv[0] != UC:
            fail(step, "is not a command this test knows how to run")
        elif not self.stack_started:
            fail(step, "comes before `make run`")
        elif "own terminal" in step.comment:
            self.start_terminal(step)
        else:
            done = self.run(step)
            self.remember_printed_ids(step, done)
            self.check_promises(step, done)

    def export(self, step: Step) -> None:
        for assignment in step.argv[1:]:
            name, equals, value = assignment.partition("=")
            if not equals:
                fail(step, f"exports {name} without a value")
            self.env[name] = value

    def command(self, step: Step) -> list[str]:
        words = [PLACEHOLDER.sub(lambda m: self.value_of(m[1], step), w) for w in step.argv[1:]]
        return [sys.executable, "-m", "services.cli", *words]

    def run(self, step: Step) -> Completed:
        argv = self.command(step)
        print(f"$ {step.text}\n  ({shlex.join(argv[3:])})", flush=True)
        started = time.monotonic()
        timeout = SLOW_STEPS.get(step.subcommand, STEP_TIMEOUT)
        try:
            done = subprocess.run(
                argv,
                env={**self.env, **step.env},
                cwd=self.workdir,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:  # its output is bytes, whatever text= says
            out, err = (b.decode(errors="replace") if b else "" for b in (exc.stdout, exc.stderr))
            why = f"still running after {timeout:.0f} s (if it keeps running: 'own terminal'?)"
            fail(step, why, out, err)
        print(f"{done.stdout}{done.stderr}  ({time.monotonic() - started:.1f} s)", flush=True)
        if done.returncode != 0:
            fail(step, f"exit status {done.returncode}", done.stdout, done.stderr)
        return done

    def start_terminal(self, step: Step) -> None:
        name = f"{step.subcommand}-{len(self.terminals)}"
        out, err = self.workdir / f"{name}.out", self.workdir / f"{name}.err"
        print(f"$ {step.text} &", flush=True)
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(
                self.command(step),
                env={**self.env, **step.env},
                cwd=self.workdir,
                stdout=stdout,
                stderr=stderr,
            )
        self.terminals.append(Terminal(step, process, out, err))

    def terminal(self, subcommand: str, step: Step) -> Terminal:
        for terminal in self.terminals:
            if terminal.step.subcommand == subcommand:
                return terminal
        fail(step, f"needs `uc {subcommand}` running in its own terminal, and none is")

    def value_of(self, name: str, step: Step) -> str:
        if name == "alert-id":
            return self.alert_id(step)
        if name not in self.ids:
            fail(step, f"uses <{name}> before any step printed it (known: {sorted(self.ids)})")
        return self.ids[name]

    def alert_id(self, step: Step) -> str:
        """The id on the last line for the step's unit in the alerts terminal."""
        unit = step.option("--unit")
        alerts = self.terminal("alerts", step)
        pattern = re.compile(rf"\balert (\S+)\s+unit {re.escape(unit)}\b")

        def last_alert() -> str | None:
            found = pattern.findall(alerts.output())
            return found[-1] if found else None

        try:
            return eventually(last_alert, 30, f"an alert for {unit} in the alerts terminal")
        except AssertionError as exc:
            fail(step, str(exc), alerts.output(), alerts.err.read_text(errors="replace"))

    def remember_printed_ids(self, step: Step, done: Completed) -> None:
        for name in PRINTS.findall(step.comment):
            printed = done.stdout.split()
            if len(printed) != 1:
                fail(step, f"should print <{name}> alone", done.stdout, done.stderr)
            if self.ids.setdefault(name, printed[0]) != printed[0]:
                fail(step, f"printed {printed[0]}, not <{name}> {self.ids[name]}", done.stdout)

    def check_promises(self, step: Step, done: Completed) -> None:
        for promise in PROMISES:
            if promise.applies_to(step):
                print(f"  checking: {promise.says}", flush=True)
                promise.check(self, step, done)
                self.kept.add(promise.says)

    # what the stack says, for the checks

    def incident(self, incident_id: str) -> dispatch_pb2.Incident:
        return self.clients.dispatch.GetIncident(
            dispatch_pb2.GetIncidentRequest(incident_id=incident_id),
            timeout=5,
            metadata=AS_CALL_TAKER,
        )

    def unit(self, unit_id: str) -> units_pb2.Unit:
        reply = self.clients.units.GetUnit(
            units_pb2.GetUnitRequest(unit_id=unit_id, history=1), timeout=5, metadata=AS_CALL_TAKER
        )
        return reply.unit


def fail(step: Step, problem: str, stdout: str = "", stderr: str = "") -> NoReturn:
    pytest.fail(
        f"README.md line {step.line}: {step.text}\n  {problem}"
        + (f"\n--- stdout\n{stdout}" if stdout else "")
        + (f"\n--- stderr\n{stderr}" if stderr else ""),
        pytrace=False,
    )


# --- what the README's comments promise -------------------------------------------------------

Check = Callable[[Reader, Step, Completed], None]


@dataclass(frozen=True, slots=True)
class Promise:
    """What a step's comment says has happened, checked after the ``uc <command>`` step
    whose words include all of ``words``."""

    command: str
    words: tuple[str, ...]
    says: str
    check: Check

    def applies_to(self, step: Step) -> bool:
        return step.subcommand == self.command and all(w in step.argv for w in self.words)


def the_incident(reader: Reader, step: Step) -> str:
    return reader.value_of("incident-id", step)


def offers_the_open_incident(reader: Reader, step: Step, done: Completed) -> None:
    assert the_incident(reader, step) in done.stdout, done.stdout


def acknowledged_at_once(reader: Reader, step: Step, done: Completed) -> None:
    unit_id = step.argv[3]
    eventually(
        lambda: reader.unit(unit_id).status == common_pb2.ACKNOWLEDGED,
        what=f"{unit_id} ACKNOWLEDGED",
    )


def alert_complete(reader: Reader, step: Step, done: Completed) -> None:
    assert done.stdout.startswith("ACKNOWLEDGED: responders 5/5"), done.stdout


def replaced_on_its_own(reader: Reader, step: Step, done: Completed) -> None:
    declined = step.option("--unit")
    incident_id = the_incident(reader, step)

    def replacement() -> str | None:
        for a in reader.incident(incident_id).assignments:
            if a.replaces_unit_id == declined and a.state == "ACTIVE":
                return a.unit_id
        return None

    eventually(replacement, what=f"a unit sent in place of {declined}")


def active_by_capability(incident: dispatch_pb2.Incident) -> dict[str, int]:
    counts: dict[str, int] = {}
    for a in incident.assignments:
        if a.state == "ACTIVE":
            counts[a.capability] = counts.get(a.capability, 0) + 1
    return counts


def run_card_difference_sent(reader: Reader, step: Step, done: Completed) -> None:
    incident_id, level = the_incident(reader, step), int(step.argv[3])
    card = load_run_cards().card(reader.incident(incident_id).incident_type, level)

    def card_covered() -> bool:
        active = active_by_capability(reader.incident(incident_id))
        return all(active.get(capability, 0) >= n for capability, n in card.items())

    eventually(card_covered, what=f"active units covering the level-{level} card {card}")


def request_sent_at_once(reader: Reader, step: Step, done: Completed) -> None:
    capability, incident_id = step.argv[3], the_incident(reader, step)
    eventually(
        lambda: all(r.capability != capability for r in reader.incident(incident_id).open_requests),
        what=f"the request for {capability} filled",
    )


def request_stays_open_as_named(reader: Reader, step: Step, done: Completed) -> None:
    named = re.search(r"\bas (n\d+)\b", step.comment)
    assert named, f"README.md line {step.line}: the comment names no request id"
    assert f"REQUEST {named[1]}:" in done.stdout, done.stdout
    incident_id = the_incident(reader, step)
    eventually(
        lambda: any(
            r.resource_request_id == named[1] and r.unavailable_reason
            for r in reader.incident(incident_id).open_requests
        ),
        what=f"request {named[1]} open and marked not filled",
    )


def command_taken_over(reader: Reader, step: Step, done: Completed) -> None:
    assert f"command: {step.option('--name')}" in done.stdout, done.stdout


def units_went_home(reader: Reader, step: Step, done: Completed) -> None:
    incident_id = the_incident(reader, step)
    sent = [a.unit_id for a in reader.incident(incident_id).assignments]
    assert sent, "no unit was ever on the incident"

    def all_home() -> bool:
        ended = all(a.state != "ACTIVE" for a in reader.incident(incident_id).assignments)
        return ended and all(reader.unit(u).incident_id != incident_id for u in sent)

    eventually(all_home, what=f"{', '.join(sent)} off the incident")


def first_line_says(*words: str) -> Check:
    def check(reader: Reader, step: Step, done: Completed) -> None:
        first = done.stdout.splitlines()[0] if done.stdout else ""
        assert all(word in first for word in words), done.stdout

    return check


def incidents_closed(reader: Reader, step: Step, done: Completed) -> None:
    closed = re.search(r"(\d+) closed", done.stderr)
    assert closed and int(closed[1]) > 0, done.stderr


def listed_as_closed(reader: Reader, step: Step, done: Completed) -> None:
    incident_id = the_incident(reader, step)
    assert any(
        line.startswith(incident_id) and " CLOSED " in line for line in done.stdout.splitlines()
    ), done.stdout


def replayed_to_the_end(reader: Reader, step: Step, done: Completed) -> None:
    assert "IncidentClosed" in done.stdout and "-> CLOSED" in done.stdout, done.stdout


def report_written(reader: Reader, step: Step, done: Completed) -> None:
    incident_id = the_incident(reader, step)
    html = reader.workdir / f"report-{incident_id}.html"
    figures = reader.workdir / f"report-{incident_id}.json"
    assert html.is_file() and figures.is_file(), sorted(p.name for p in reader.workdir.iterdir())
    assert json.loads(figures.read_text())["incident_id"] == incident_id
    assert "<svg" in html.read_text()


PROMISES: tuple[Promise, ...] = (
    Promise("duplicates", (), "the open fire is offered as the same", offers_the_open_incident),
    Promise(
        "dispatch", ("PRO-01-E1",), "a staffed unit acknowledges at once", acknowledged_at_once
    ),
    Promise("ack", ("--responders", "2"), "5 responders complete the alert", alert_complete),
    Promise("decline", (), "dispatch sends the next best on its own", replaced_on_its_own),
    Promise("raise", (), "the new level's difference is sent", run_card_difference_sent),
    Promise("request", ("water_tanker",), "requested units are sent at once", request_sent_at_once),
    Promise(
        "request",
        ("first_intervention",),
        "an unfillable request stays open under its id",
        request_stays_open_as_named,
    ),
    Promise("command", ("--transfer",), "the new commander takes over", command_taken_over),
    Promise("close", (), "units go home", units_went_home),
    Promise("cancel", (), "the alarm is cancelled", first_line_says("CANCELLED")),
    Promise(
        "classify",
        ("residential_fire",),
        "the alarm becomes a fire",
        first_line_says("residential_fire", "OPEN"),
    ),
    Promise("generate", (), "generated incidents are closed", incidents_closed),
    Promise("history", ("CLOSED",), "the closed incident is in the record", listed_as_closed),
    Promise(
        "replay", ("--state",), "the replay shows the incident to its end", replayed_to_the_end
    ),
    Promise("report", (), "report-<id>.html and .json are written", report_written),
)


# --- the tests ---------------------------------------------------------------------------------


def test_the_session_is_read_as_a_shell_reads_it() -> None:
    lines = [
        "make run      # own terminal: the stack",
        "# a whole-line comment",
        'X=1 Y="a b" .venv/bin/uc call --type t \\',
        '    --address "No. 5 # east"   # prints the incident id: <incident-id>',
        "export UC_TOKEN=demo-cmd-01",
        ".venv/bin/uc control <incident-id>; .venv/bin/uc close 'a;b'  # both",
    ]
    steps = parse_session(lines, 10)
    assert [(s.line, s.argv, s.env, s.comment) for s in steps] == [
        (10, ("make", "run"), {}, "own terminal: the stack"),
        (
            12,
            (UC, "call", "--type", "t", "--address", "No. 5 # east"),
            {"X": "1", "Y": "a b"},
            "prints the incident id: <incident-id>",
        ),
        (14, ("export", "UC_TOKEN=demo-cmd-01"), {}, ""),
        (15, (UC, "control", "<incident-id>"), {}, "both"),
        (15, (UC, "close", "a;b"), {}, "both"),
    ]
    assert PRINTS.findall(steps[1].comment) == ["incident-id"]


def test_the_readme_has_the_session_and_only_commands_a_reader_can_run() -> None:
    first, lines = readme_session(README.read_text())
    steps = parse_session(lines, first)
    assert steps[0].argv == ("make", "run"), "the session starts the stack first"
    runnable = [
        s for s in steps if s.argv[:1] in ((UC,), ("export",)) or s.argv[:2] == ("make", "run")
    ]
    assert runnable == steps, [s.text for s in steps if s not in runnable]
    unmatched = [p.says for p in PROMISES if not any(p.applies_to(s) for s in steps)]
    assert not unmatched, f"no README step for what these checks expect: {unmatched}"


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.timeout(600)  # about 2 min alone; 5 on a machine shared 20 ways
def test_the_readme_session_runs_as_written(stack: Stack, tmp_path: Path) -> None:
    first, lines = readme_session(README.read_text())
    steps = parse_session(lines, first)
    workdir = tmp_path / "terminal"
    workdir.mkdir()
    reader = Reader(stack, workdir)
    try:
        for step in steps:
            reader.follow(step)
        for terminal in reader.terminals:
            code = terminal.stop()
            if code != 0:
                err = terminal.err.read_text(errors="replace")
                fail(terminal.step, f"exit status {code} after Ctrl-C", terminal.output(), err)
    finally:
        reader.close()
    unchecked = [p.says for p in PROMISES if p.says not in reader.kept]
    assert not unchecked, f"no step of the session was checked for: {unchecked}"
