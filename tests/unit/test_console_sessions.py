"""Console sessions (services/edge/sessions.py) on a real SQLite file: only the id's hash
is stored, idle and absolute expiry, logout, and the failed log-in counter."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.common.database import create_store_engine
from services.edge.sessions import (
    FAILURE_WINDOW,
    TOUCH_EVERY,
    SessionStore,
    login_delay,
    sessions_table,
)

NOW = 1_796_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    sessions = SessionStore(
        create_store_engine(f"sqlite:///{tmp_path / 'edge.db'}"), idle_seconds=600, max_seconds=3600
    )
    sessions.create_schema()
    return sessions


def test_a_session_is_found_by_its_id_whose_hash_alone_is_stored(store: SessionStore) -> None:
    session_id, session = store.create("ct-01", NOW)
    assert len(session_id) >= 40 and session.csrf_token and session.csrf_token != session_id
    found = store.get(session_id, NOW + 1)
    assert found is not None and (found.operator_id, found.csrf_token) == (
        "ct-01",
        session.csrf_token,
    )
    with store.engine.connect() as conn:
        (stored,) = conn.execute(select(sessions_table.c.id_sha256)).scalars().all()
    assert stored == hashlib.sha256(session_id.encode()).hexdigest() != session_id
    assert store.get("not-a-session", NOW) is None
    assert store.get("", NOW) is None


def test_a_session_survives_a_restart_of_the_edge(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'edge.db'}"
    first = SessionStore(create_store_engine(url))
    first.create_schema()
    session_id, _ = first.create("ct-01", NOW)
    again = SessionStore(create_store_engine(url))  # a new process on the same store
    assert again.get(session_id, NOW + 5) is not None


def test_idle_sessions_expire_and_use_restarts_the_idle_clock(store: SessionStore) -> None:
    session_id, _ = store.create("ct-01", NOW)
    assert store.get(session_id, NOW + 599) is not None  # within the 600 s idle limit
    # a request after a minute restarts the clock (written at most once a minute)
    assert store.get(session_id, NOW + 599 + TOUCH_EVERY) is not None
    assert store.get(session_id, NOW + 599 + TOUCH_EVERY + 599) is not None
    assert store.get(session_id, NOW + 599 + TOUCH_EVERY + 599 + 601) is None
    assert store.get(session_id, NOW + 1) is None  # expired sessions are deleted


def test_a_check_that_is_not_the_persons_doing_does_not_keep_it_alive(store: SessionStore) -> None:
    session_id, _ = store.create("ct-01", NOW)
    assert store.get(session_id, NOW + 500, touch=False) is not None
    assert store.get(session_id, NOW + 601) is None


def test_every_session_ends_at_its_absolute_expiry(store: SessionStore) -> None:
    session_id, _ = store.create("ct-01", NOW)
    t = NOW
    while t + 300 < NOW + 3600:  # busy all along
        t += 300
        assert store.get(session_id, t) is not None
    assert store.get(session_id, NOW + 3600) is None


def test_logout_deletes_and_purge_removes_the_expired(store: SessionStore) -> None:
    one, _ = store.create("ct-01", NOW)
    two, _ = store.create("ct-02", NOW)
    store.delete(one)
    assert store.get(one, NOW) is None and store.get(two, NOW) is not None
    assert store.purge(NOW + 1000) == 1  # two went idle
    assert store.purge(NOW + 1000) == 0


def test_a_log_in_deletes_the_sessions_that_expired(store: SessionStore) -> None:
    for n in range(5):
        store.create(f"ct-{n:02}", NOW)
    three, _ = store.create("ct-03", NOW + 1000)  # the five went idle meanwhile
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(sessions_table)).scalar_one() == 1
    assert store.get(three, NOW + 1000) is not None


def test_failed_log_ins_are_counted_per_name_and_forgotten(store: SessionStore) -> None:
    assert store.failures("ct-01", NOW) == 0
    for n in range(1, 5):
        assert store.record_failure("ct-01", NOW + n) == n
    assert store.failures("nobody", NOW) == 0
    assert store.record_failure("nobody", NOW) == 1  # unknown names count the same way
    assert store.failures("ct-01", NOW + 4 + FAILURE_WINDOW + 1) == 0
    store.clear_failures("ct-01")
    assert store.failures("ct-01", NOW + 5) == 0


def test_the_delay_grows_after_three_failures_and_is_capped() -> None:
    assert [login_delay(n) for n in range(0, 9)] == [0, 0, 0, 1, 2, 4, 8, 8, 8]
