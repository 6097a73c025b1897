"""Schema migrations (Alembic) for every store the services keep.

Each kind of table set is a branch of its own, so each database gets exactly the tables
its service owns:

- ``store``: the event store (events, idempotency keys, checkpoints, leases), in the
  dispatch, units and incidents databases;
- ``incident_log``: the incident log's read models and the projection's tracking, in the
  incidents database;
- ``sessions``: the console's sessions, in the edge's database.

``uc migrate`` brings every database up to date (``upgrade``); each service checks at
start that its database is at exactly the revisions its code was written for
(``check``) and refuses to start otherwise, naming the command. A database created
before migrations existed (its tables there, no version table) is first stamped with the
branch's baseline, which is that schema, then upgraded. Concurrent upgrades of one
PostgreSQL database wait for each other (an advisory lock).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

HERE = Path(__file__).resolve().parent
BRANCHES: dict[str, tuple[str, ...]] = {
    "dispatch": ("store",),
    "units": ("store",),
    "incidents": ("store", "incident_log"),
    "edge": ("sessions",),
}
# A table only the branch's baseline creates: present without a version table, the
# database predates migrations.
_BASELINE_TABLE = {
    "store": "events",
    "incident_log": "incident_log_entries",
    "sessions": "console_sessions",
}
_LOCK_KEY = 0x5543_4D47  # "UCMG": migrations of one database, one at a time
# Alembic says which dialect it found each time it looks at a database: once per service
# start and per test store. What was applied is reported by ``uc migrate`` itself.
logging.getLogger("alembic").setLevel(logging.WARNING)


class SchemaNotCurrent(Exception):
    """The database is not at the revisions this code needs; the message says what to do."""


def _config(conn: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["connection"] = conn
    return config


def _script() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    return ScriptDirectory.from_config(config)


def _branch_head(script: ScriptDirectory, branch: str) -> str:
    (head,) = script.get_revisions(f"{branch}@head")
    assert head is not None
    return head.revision


def _baseline(script: ScriptDirectory, branch: str) -> str:
    """The first revision of a branch: the schema as it was before migrations."""
    return next(
        r.revision
        for r in script.walk_revisions()
        if r.down_revision is None and branch in r.branch_labels
    )


def _branch_of(script: ScriptDirectory, revision: str) -> str | None:
    """The branch a revision belongs to (None: a revision this code does not know)."""
    try:
        found = script.get_revision(revision)
    except Exception:  # alembic raises its own lookup errors for unknown ids
        return None
    if found is None:
        return None
    for ancestor in script.iterate_revisions(revision, "base"):
        if ancestor is not None and ancestor.branch_labels:
            return next(iter(ancestor.branch_labels))
    return None


def upgrade(engine: Engine, branches: Sequence[str]) -> list[str]:
    """Bring ``branches`` of the database up to their heads; the revisions it is at after."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        config = _config(conn)
        current = set(MigrationContext.configure(conn).get_current_heads())
        script = _script()
        tables = set(inspect(conn).get_table_names())
        for branch in branches:
            if any(_branch_of(script, rev) == branch for rev in current):
                continue
            if _BASELINE_TABLE[branch] in tables:  # made before migrations: its baseline
                command.stamp(config, _baseline(script, branch))
        for branch in branches:
            command.upgrade(config, f"{branch}@head")
        return sorted(MigrationContext.configure(conn).get_current_heads())


def check(engine: Engine, branches: Sequence[str], what: str) -> None:
    """``SchemaNotCurrent`` unless the database is at the head of every branch in
    ``branches``. ``what`` names the database in the message (``the dispatch store``)."""
    script = _script()
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
        tables = set(inspect(conn).get_table_names())
    for revision in current:
        if _branch_of(script, revision) is None:
            raise SchemaNotCurrent(
                f"{what} is at schema revision {revision!r}, which this code does not know: "
                "it was migrated by a newer release. Run that release, or restore a backup "
                "taken before its migration."
            )
    for branch in branches:
        head = _branch_head(script, branch)
        at = next((r for r in current if _branch_of(script, r) == branch), None)
        if at == head:
            continue
        if at is None:
            state = (
                "was created before schema migrations"
                if _BASELINE_TABLE[branch] in tables
                else "has no tables yet"
            )
        else:
            state = f"is at schema revision {at!r}"
        raise SchemaNotCurrent(
            f"{what} {state}; this code needs {head!r}. Run `uc migrate` "
            "(python -m services.cli migrate) with the same settings, then start again."
        )
