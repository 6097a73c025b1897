"""The clients suite's arithmetic (bench/clients.py, bench/client_processes.py): what it
makes of CPU readings and of the send times messages carry. The suite itself needs a
broker and child processes: `python -m bench clients`."""

from __future__ import annotations

import pytest

from bench.client_processes import Receiver, latency_ms
from bench.clients import cpu_ms_per_second


def test_cpu_is_reported_in_ms_per_second_of_the_interval() -> None:
    before = {"consumer": 1.00, "broker": 10.00}
    after = {"consumer": 1.24, "broker": 10.06}
    assert cpu_ms_per_second(before, after, 6.0) == {"broker": 10.0, "consumer": 40.0}


def test_a_process_that_exited_is_reported_as_none_not_as_a_figure() -> None:
    # cpu_seconds leaves out a pid it cannot read; the broker must not pass for idle.
    rates = cpu_ms_per_second({"consumer": 1.0, "broker": 2.0}, {"consumer": 1.5}, 5.0)
    assert rates == {"broker": None, "consumer": 100.0}


def test_an_empty_interval_is_refused() -> None:
    with pytest.raises(ValueError):
        cpu_ms_per_second({"consumer": 1.0}, {"consumer": 1.0}, 0.0)


def test_latency_comes_from_the_send_time_in_the_value() -> None:
    sent = 1_700_000_000.125
    assert latency_ms(repr(sent).encode(), sent + 0.0075) == pytest.approx(7.5, abs=1e-3)
    assert latency_ms(b"not a time", sent) is None


def test_the_receiver_keeps_only_messages_that_carry_a_send_time() -> None:
    receiver = Receiver()
    receiver.took([b"1700000000.0", None, b"junk"])
    assert len(receiver.latencies) == 1
