"""Fixtures shared by every test layer: stores on both backends."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from services.common.database import create_store_engine

# Every broker a test starts is the embedded one, which grants no producer ids: relays
# run in the test process publish without idempotence, as `make run`'s do.
os.environ.setdefault("KAFKA_ENABLE_IDEMPOTENCE", "false")

POSTGRES_URL = os.environ.get(
    "UC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A throwaway database on the PostgreSQL server, dropped at the end of the session.

    PostgreSQL is part of what this project promises to support, so an unreachable
    server fails the run instead of skipping it.
    """
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"uc_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - environment failure
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc}", pytrace=False)
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def fresh_postgres(url: str) -> Engine:
    """An engine on ``url`` whose public schema was just emptied."""
    engine = create_store_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    return engine


@pytest.fixture(params=["sqlite", "postgres"])
def store_engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """An empty database of each backend the stores support."""
    if request.param == "sqlite":
        engine = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        engine = fresh_postgres(request.getfixturevalue("postgres_server_url"))
    yield engine
    engine.dispose()


BROWSER_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's chromium driven by Playwright (``make test`` installs it when missing).
    A missing browser fails the run: what users see must be tested."""
    import shutil

    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("chromium is not installed: `make browser` (apt) installs it", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=BROWSER_FLAGS)
        yield launched
        launched.close()
