"""Leases on SQLite and PostgreSQL: one holder at a time, a rising fencing token, a holder
that stops on its own clock before another can start."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine

from services.common.lease import Lease, LeaseKeeper, LeaseLost
from services.migrations import upgrade
from tests.e2e.conftest import eventually


@pytest.fixture
def engine(store_engine: Engine) -> Engine:
    upgrade(store_engine, ["store"])
    return store_engine


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_first_replica_takes_the_lease_and_the_second_waits(engine: Engine) -> None:
    a, b = Lease(engine, "relay", "a"), Lease(engine, "relay", "b")

    first = a.acquire_or_renew()

    assert first is not None and first.token == 1
    assert b.acquire_or_renew() is None and b.held() is None
    renewed = a.acquire_or_renew()
    assert renewed is not None and renewed.token == 1  # renewing keeps the token


def test_leases_are_by_name(engine: Engine) -> None:
    assert Lease(engine, "relay", "a").acquire_or_renew() is not None
    assert Lease(engine, "request-filler", "b").acquire_or_renew() is not None


def test_an_expired_lease_goes_to_the_next_replica_with_a_higher_token(engine: Engine) -> None:
    a, b = Lease(engine, "relay", "a", ttl=0.3), Lease(engine, "relay", "b", ttl=0.3)
    held = a.acquire_or_renew()
    assert held is not None

    taken = eventually(b.acquire_or_renew, timeout=5, what="the lease to expire")

    assert taken.token == held.token + 1
    assert a.acquire_or_renew() is None  # the old holder's renewal is refused
    with engine.begin() as conn, pytest.raises(LeaseLost, match="token 1"):
        a.fence(conn, held.token)
    with engine.begin() as conn:
        b.fence(conn, taken.token)  # the new holder's writes go through


def test_a_released_lease_is_free_at_once(engine: Engine) -> None:
    a, b = Lease(engine, "relay", "a", ttl=60), Lease(engine, "relay", "b", ttl=60)
    assert a.acquire_or_renew() is not None

    a.release()

    assert a.held() is None
    taken = b.acquire_or_renew()
    assert taken is not None and taken.token == 2


def test_the_holder_gives_up_on_its_own_clock_before_the_database_expiry(
    engine: Engine,
) -> None:
    clock = FakeClock()
    a = Lease(engine, "relay", "a", ttl=10, clock=clock)
    assert a.acquire_or_renew() is not None

    clock.now += 7.9
    assert a.held() is not None
    clock.now += 0.2  # 8.1 s after the renewal was sent: past ttl - margin (10 - 2)
    assert a.held() is None
    # The database still has it as a's (its expiry is 10 s out): nobody else can start.
    assert Lease(engine, "relay", "b", ttl=10).acquire_or_renew() is None


def test_two_keepers_run_the_work_in_one_replica_and_the_other_takes_over(
    engine: Engine,
) -> None:
    running: list[str] = []
    lock = threading.Lock()

    def keeper(name: str) -> LeaseKeeper:
        def acquired(token: int) -> None:
            with lock:
                running.append(name)

        def lost() -> None:
            with lock:
                running.remove(name)

        return LeaseKeeper(Lease(engine, "filler", name, ttl=1.0), acquired, lost).start()

    a = keeper("a")
    eventually(lambda: running, timeout=5, what="a holder")
    b = keeper("b")
    time.sleep(1.5)  # a few renewal rounds: still one holder
    assert len(running) == 1
    holder, standby = (a, b) if running == ["a"] else (b, a)

    holder.stop()  # a graceful stop releases the lease

    eventually(lambda: running == [standby.lease.holder], timeout=5, what="the take-over")
    standby.stop()
    assert running == []


def test_a_crashed_holder_is_replaced_after_its_lease_expires(engine: Engine) -> None:
    a = Lease(engine, "relay", "a", ttl=0.5)
    assert a.acquire_or_renew() is not None  # and then nothing: the process died
    taken: list[int] = []
    b = LeaseKeeper(Lease(engine, "relay", "b", ttl=0.5), taken.append).start()
    try:
        token = eventually(lambda: taken, timeout=5, what="the take-over")[0]
    finally:
        b.stop()
    assert token == 2


def test_a_lease_lasts_a_positive_time(engine: Engine) -> None:
    with pytest.raises(ValueError, match="positive time"):
        Lease(engine, "relay", "a", ttl=0)
