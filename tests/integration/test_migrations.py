"""Schema migrations: a database written by the release before migrations is upgraded
with its events intact; a service refuses a database that is behind or ahead of it.

The fixtures in tests/data were written by that release's own code (commit 48609ac: its
EventStore, incident log projection and session store) on SQLite and on PostgreSQL
(``pg_dump --inserts`` of its schema).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, MetaData, create_engine, text
from sqlalchemy.engine import make_url

from services.common.database import create_store_engine
from services.common.eventstore import EventStore
from services.common.lease import Lease
from services.edge.sessions import SessionStore
from services.incidents.read_models import IncidentLogReader
from services.migrations import SchemaNotCurrent, check, upgrade

DATA = Path(__file__).resolve().parents[1] / "data"
EVERY_BRANCH = ["store", "incident_log", "sessions"]
HEADS = ["incident_log_0001", "sessions_0001", "store_0002"]


@pytest.fixture(params=["sqlite", "postgres"])
def release_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The database as the release before migrations left it."""
    if request.param == "sqlite":
        copy = tmp_path / "store.db"
        shutil.copy(DATA / "release-before-migrations.sqlite", copy)
        engine = create_store_engine(f"sqlite:///{copy}")
    else:
        url = request.getfixturevalue("postgres_server_url")
        plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS relfixture CASCADE")
            # The project's own dump: several statements, sent as one simple query.
            conn.execute((DATA / "release-before-migrations.postgres.sql").read_text())
        engine = create_store_engine(f"{url}?uc_schema=relfixture")
    yield engine
    engine.dispose()


def test_a_release_before_migrations_is_upgraded_with_every_event_intact(
    release_database: Engine,
) -> None:
    store = EventStore(release_database)
    before = store.read_all(0, 100)
    assert [e.stream_id for e in before] == ["unit-U0", "unit-U1", "unit-U2", "incident-I1"]
    with pytest.raises(SchemaNotCurrent, match="created before schema migrations"):
        check(release_database, ["store"], "the units store")

    assert upgrade(release_database, EVERY_BRANCH) == HEADS

    check(release_database, EVERY_BRANCH, "the store")  # current now: a service starts
    assert store.read_all(0, 100) == before  # every event, byte for byte
    assert store.load_checkpoint("relay:emergency.units.v1") == 2
    assert [e.stream_id for e in IncidentLogReader(release_database).entries("I1")] == [
        "incident-I1"
    ]
    assert Lease(release_database, "relay", "a").acquire_or_renew() is not None  # new table
    with release_database.connect() as conn:
        sessions = conn.execute(text("SELECT count(*) FROM console_sessions")).scalar_one()
        requests = conn.execute(text("SELECT request_id FROM command_requests")).scalars()
        assert sorted(requests) == ["register-0", "register-1", "register-2"]
    assert sessions == 1
    assert upgrade(release_database, EVERY_BRANCH) == HEADS  # again: nothing to do


def test_an_empty_database_is_refused_until_migrated(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'dispatch.db'}")
    with pytest.raises(SchemaNotCurrent) as refused:
        check(engine, ["store"], "the dispatch store")
    assert str(refused.value) == (
        "the dispatch store has no tables yet; this code needs 'store_0002'. Run `uc migrate` "
        "(python -m services.cli migrate) with the same settings, then start again."
    )
    upgrade(engine, ["store"])
    check(engine, ["store"], "the dispatch store")


def test_a_database_behind_the_code_is_refused(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'units.db'}")
    upgrade(engine, ["store"])
    with engine.begin() as conn:  # as the release with only the baseline left it
        conn.execute(text("DROP TABLE leases"))
        conn.execute(text("UPDATE alembic_version SET version_num = 'store_0001'"))
    with pytest.raises(SchemaNotCurrent, match="is at schema revision 'store_0001'; this code"):
        check(engine, ["store"], "the units store")


def test_a_database_ahead_of_the_code_is_refused(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'units.db'}")
    upgrade(engine, ["store"])
    with engine.begin() as conn:  # a newer release migrated it
        conn.execute(text("UPDATE alembic_version SET version_num = 'store_0099'"))
    with pytest.raises(SchemaNotCurrent, match="'store_0099', which this code does not know"):
        check(engine, ["store"], "the units store")


def test_each_service_gets_only_its_own_tables(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'edge.db'}")
    SessionStore(engine).create_schema()
    with engine.connect() as conn:
        names = set(conn.execute(text("SELECT name FROM sqlite_master")).scalars())
    assert {"console_sessions", "console_login_failures"} <= names
    assert "events" not in names and "incident_log_entries" not in names


def test_the_migrations_match_the_tables_the_code_declares(tmp_path: Path) -> None:
    """What the code's SQLAlchemy tables say and what the migrations create agree, so a
    new column cannot be forgotten in a migration (Alembic's own comparison)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from services.common.eventstore.schema import metadata as store_tables
    from services.common.projection import tracking_metadata
    from services.edge.sessions import metadata as session_tables
    from services.incidents.read_models import metadata as log_tables

    engine = create_engine(f"sqlite:///{tmp_path / 'all.db'}")
    upgrade(engine, EVERY_BRANCH)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn)
        for declared in (store_tables, tracking_metadata, session_tables, log_tables):
            differences = [d for d in compare_metadata(context, declared) if _concerns(d, declared)]
            assert differences == [], differences


def _concerns(difference: tuple[object, ...], declared: MetaData) -> bool:
    """Whether a difference Alembic found is about one of ``declared``'s tables (the
    database also holds the other branches' tables, which ``declared`` does not list)."""
    thing = difference[1]
    table = getattr(thing, "table", thing)
    return getattr(table, "name", None) in declared.tables
