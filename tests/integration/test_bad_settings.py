"""A bad setting stops each process at start, naming the variable and why, before it
touches a database or a broker."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CASES = [
    ("dispatch", "UC_LEASE_SECONDS", "soon"),  # not a number
    ("units", "UC_LEASE_SECONDS", "0.2"),  # below its floor
    ("incidents", "UC_TOPIC_REPLICATION_FACTOR", "0"),
    ("edge", "UC_LEASE_SECONDS", "soon"),
]


@pytest.mark.parametrize(("service", "variable", "value"), CASES)
def test_a_bad_setting_stops_the_process_naming_the_variable(
    service: str, variable: str, value: str
) -> None:
    env = {**os.environ, variable: value}
    done = subprocess.run(
        [sys.executable, "-m", f"services.{service}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "bad setting" in done.stderr and variable in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr  # a message for an operator, not a crash
