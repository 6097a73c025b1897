"""The analytics commands on files: ``uc report period`` (an empty period is an empty
report), ``uc history check``, and the groups that keep ``uc report INCIDENT`` and
``uc history --status ...`` working beside their new subcommands."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from services.cli.groups import GroupWithDefault
from services.cli.main import main

HEADER = (
    "Call Number,Unit ID,Incident Number,Call Type,Received DtTm,Dispatch DtTm,"
    "Response DtTm,On Scene DtTm,Available DtTm,Address,Station Area,Number of Alarms,"
    "Unit Type,Location"
)
ROWS = [
    "1,E21,17000001,Structure Fire,07/01/2017 02:00:00 PM,07/01/2017 02:01:00 PM,"
    "07/01/2017 02:02:00 PM,07/01/2017 02:05:00 PM,07/01/2017 02:30:00 PM,GROVE ST,21,1,"
    'ENGINE,"(37.7751, -122.4446)"',
    "2,E10,17000002,Outside Fire,07/02/2017 02:00:00 PM,07/02/2017 02:01:00 PM,"
    "07/02/2017 02:02:00 PM,07/02/2017 02:01:00 PM,07/02/2017 02:30:00 PM,GEARY,10,1,"
    'ENGINE,"(37.7812, -122.4588)"',
]


def calls(tmp_path: Path) -> Path:
    path = tmp_path / "calls.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return path


def test_history_check_names_the_bad_rows(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["history", "check", str(calls(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "calls.csv:3: On Scene DtTm: 07/02/2017 02:01:00 PM is before Response DtTm" in (
        result.output
    )
    assert "2 rows; 1 incidents with 1 unit responses; 1 bad row(s) left out" in result.output


def test_report_period_writes_the_files_and_an_empty_period_is_no_error(tmp_path: Path) -> None:
    path = calls(tmp_path)
    out = tmp_path / "p"
    args = ["report", "period", "--history", str(path), "--out", str(out)]
    full = CliRunner().invoke(main, [*args, "--from", "2017-07-01", "--to", "2017-07-31"])
    assert full.exit_code == 0, full.output
    data = json.loads(Path(f"{out}.json").read_text(encoding="utf-8"))
    assert data["overall"]["incidents"] == 1 and data["time_zone"] == "America/Los_Angeles"
    assert Path(f"{out}.html").read_text(encoding="utf-8").count("<svg") == 3
    empty = CliRunner().invoke(main, [*args, "--from", "2018-01-01", "--to", "2018-01-31"])
    assert empty.exit_code == 0, empty.output
    assert "no incidents in this period: the report is empty" in empty.output
    assert json.loads(Path(f"{out}.json").read_text(encoding="utf-8"))["overall"]["incidents"] == 0
    wrong = CliRunner().invoke(main, [*args, "--from", "2018-01-31", "--to", "2018-01-01"])
    assert wrong.exit_code == 2 and "is not after --from" in wrong.output


def test_a_group_passes_what_is_not_a_subcommand_to_its_default() -> None:
    seen: list[tuple[str, ...]] = []

    @click.command(name="show")
    @click.argument("things", nargs=-1)
    @click.option("--status", default="")
    def show(things: tuple[str, ...], status: str) -> None:
        seen.append((*things, status))

    group = GroupWithDefault("report", show)

    @group.command(name="period")
    def period() -> None:
        seen.append(("period",))

    runner = CliRunner()
    for args in (["abc"], ["--status", "CLOSED"], [], ["period"], ["show", "x"]):
        assert runner.invoke(group, args).exit_code == 0
    assert seen == [("abc", ""), ("CLOSED",), ("",), ("period",), ("x", "")]
    assert "period" in runner.invoke(group, ["--help"]).output


def test_the_record_commands_are_still_the_defaults() -> None:
    report, history = main.commands["report"], main.commands["history"]
    assert isinstance(report, GroupWithDefault) and report.default_name == "report"
    assert isinstance(history, GroupWithDefault) and history.default_name == "history"
    assert {"period"} < set(report.commands) and {"check"} < set(history.commands)
