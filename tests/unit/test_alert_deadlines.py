"""The deadline queue: each alert timed out at its deadline, once, in deadline order."""

from __future__ import annotations

import threading

from services.common.eventstore import now_us
from services.units.alerts import AlertDeadlines


def test_alerts_time_out_at_their_deadlines_in_order_and_once() -> None:
    fired: list[tuple[str, int]] = []
    done = threading.Event()

    def time_out(unit_id: str, alert_id: str) -> bool:
        fired.append((alert_id, now_us()))
        if len(fired) == 3:
            done.set()
        return True

    deadlines = AlertDeadlines(time_out).start()
    start = now_us()
    due = {"a3": start + 300_000, "a1": start + 100_000, "a2": start + 200_000}
    for alert_id, at in due.items():
        deadlines.add(at, "U1", alert_id)
    assert done.wait(5)
    deadlines.stop()

    assert [alert_id for alert_id, _ in fired] == ["a1", "a2", "a3"]
    assert all(at >= due[alert_id] for alert_id, at in fired)  # never before the deadline
    assert deadlines.pending() == 0


def test_a_time_out_that_fails_is_tried_again() -> None:
    attempts: list[int] = []
    done = threading.Event()

    def time_out(unit_id: str, alert_id: str) -> bool:
        attempts.append(now_us())
        if len(attempts) == 1:
            raise RuntimeError("database away")
        done.set()
        return True

    deadlines = AlertDeadlines(time_out)
    deadlines.RETRY_AFTER_US = 50_000
    deadlines.start()
    deadlines.add(now_us(), "U1", "a1")
    assert done.wait(5)
    deadlines.stop()
    assert len(attempts) == 2


def test_an_earlier_deadline_added_later_wakes_the_queue() -> None:
    fired = threading.Event()
    deadlines = AlertDeadlines(lambda unit, alert: fired.set() or True).start()
    deadlines.add(now_us() + 3_600_000_000, "U1", "in-an-hour")
    deadlines.add(now_us() + 50_000, "U2", "soon")
    assert fired.wait(5)
    deadlines.stop()
    assert deadlines.pending() == 1
