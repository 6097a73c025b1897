"""Event store benchmark: our store against the ``eventsourcing`` library's recorders.

Both sides run on the same database engine with the same durability, one fresh database
each, and get the same workload: commands of 10 events with a 200-byte payload, half of
them starting a new stream (expected version 0) and half appending to an existing stream
at its current version; then a bulk fill (commands of 100 events) and full reads in
batches of 1,000. Everything is single-threaded and sequential. The phases alternate
between the two sides (ours, theirs, ours, theirs, ...) so drift in the machine's
speed during the run does not favour either.

Our store writes one extra row per command (the request id, for idempotent retries),
as the services do; ``eventsourcing`` has no such row. That is part of the comparison.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import types
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

from bench.statistics import percentile
from services.common.database import create_store_engine
from services.common.eventstore import CommandKey, EventStore, NewEvent

if TYPE_CHECKING:
    from eventsourcing.postgres import PostgresApplicationRecorder

log = logging.getLogger("bench.eventstore")

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
PG_ADMIN_DB = "test"

EVENT_TYPE = "UnitStatusChanged"
TOPIC = "services.units.domain:UnitStatusChanged"
PAYLOAD = random.Random(119).randbytes(200)
FINGERPRINT = "f" * 64  # the services store a sha256 hex digest per command
READ_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Workload:
    commands: int = 2000  # timed appends, one transaction each
    events_per_command: int = 10
    fill_events: int = 100_000  # bulk appends, then the read set
    fill_command_size: int = 100
    warmup_commands: int = 20
    read_passes: int = 5
    seed: int = 119


@dataclass(frozen=True, slots=True)
class Command:
    stream: uuid.UUID
    expected_version: int
    size: int


class Subject(Protocol):
    """One event store under test, behind the operations the benchmark times."""

    def append(self, command: Command) -> None: ...

    def read_all(self) -> int:
        """Read every event in batches of :data:`READ_BATCH`; return how many."""
        ...

    def settings(self) -> dict[str, str]: ...

    def close(self) -> None: ...


# --- workload --------------------------------------------------------------------------


def plan_commands(count: int, size: int, rng: random.Random) -> list[Command]:
    """Even commands start a new stream; odd ones extend a random existing stream."""
    versions: dict[uuid.UUID, int] = {}
    streams: list[uuid.UUID] = []
    plan: list[Command] = []
    for i in range(count):
        if i % 2 == 0:
            stream = uuid.UUID(int=rng.getrandbits(128), version=4)
            streams.append(stream)
        else:
            stream = rng.choice(streams)
        version = versions.get(stream, 0)
        plan.append(Command(stream, version, size))
        versions[stream] = version + size
    return plan


def new_streams(count: int, size: int, rng: random.Random) -> list[Command]:
    return [Command(uuid.UUID(int=rng.getrandbits(128), version=4), 0, size) for _ in range(count)]


# --- the two subjects --------------------------------------------------------------------


class OurStore:
    def __init__(self, url: str) -> None:
        self.engine = create_store_engine(url)
        self.store = EventStore(self.engine)
        self.store.create_schema()

    def append(self, command: Command) -> None:
        request_id = str(uuid.uuid4())
        events = [
            NewEvent(
                event_type=EVENT_TYPE,
                payload=PAYLOAD,
                correlation_id=request_id,
                causation_id=request_id,
                actor="SYSTEM:bench",
            )
            for _ in range(command.size)
        ]
        self.store.append(
            f"unit-{command.stream}",
            command.expected_version,
            events,
            CommandKey("client:SYSTEM:bench", request_id, "Bench", FINGERPRINT),
        )

    def read_all(self) -> int:
        count, after = 0, 0
        while batch := self.store.read_all(after, READ_BATCH):
            count += len(batch)
            after = batch[-1].position
        return count

    def settings(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                return {
                    "journal_mode": str(conn.exec_driver_sql("PRAGMA journal_mode").scalar()),
                    "synchronous": _sqlite_synchronous(
                        conn.exec_driver_sql("PRAGMA synchronous").scalar()
                    ),
                }
            return _pg_settings(lambda sql: str(conn.exec_driver_sql(sql).scalar()))

    def close(self) -> None:
        self.engine.dispose()


class TheirRecorder:
    """``eventsourcing``'s application recorder: one ``insert_events`` call per command."""

    def __init__(self, recorder: SQLiteApplicationRecorder | PostgresApplicationRecorder) -> None:
        self.recorder = recorder
        recorder.create_table()

    def append(self, command: Command) -> None:
        v = command.expected_version
        self.recorder.insert_events(
            [
                StoredEvent(
                    originator_id=command.stream,
                    originator_version=v + i,
                    topic=TOPIC,
                    state=PAYLOAD,
                )
                for i in range(1, command.size + 1)
            ]
        )

    def read_all(self) -> int:
        count, after = 0, 0
        while batch := self.recorder.select_notifications(
            after, READ_BATCH, inclusive_of_start=False
        ):
            count += len(batch)
            after = batch[-1].id
        return count

    def settings(self) -> dict[str, str]:
        datastore = self.recorder.datastore
        if isinstance(datastore, SQLiteDatastore):
            with datastore.transaction(commit=False) as cursor:
                cursor.execute("PRAGMA journal_mode")
                journal_mode = str(cursor.fetchone()[0])
                cursor.execute("PRAGMA synchronous")
                synchronous = _sqlite_synchronous(cursor.fetchone()[0])
            return {"journal_mode": journal_mode, "synchronous": synchronous}
        with datastore.get_connection() as conn:

            def show(sql: str) -> str:
                row = conn.execute(sql).fetchone()
                assert row is not None
                return str(next(iter(row.values())))

            return _pg_settings(show)

    def close(self) -> None:
        self.recorder.datastore.close()


def their_sqlite_datastore(path: Path) -> SQLiteDatastore:
    """``eventsourcing``'s SQLite datastore, with ``synchronous=FULL`` set explicitly.

    Its pool turns WAL on but leaves ``synchronous`` at the library default (FULL in
    most builds; NORMAL where SQLite was compiled with another WAL default). Setting it
    on every new connection makes its durability equal to ours whatever the build.
    """
    datastore = SQLiteDatastore(str(path))
    pool = datastore.pool
    create = pool._create_connection

    def create_full() -> Any:
        connection = create()
        connection.cursor().execute("PRAGMA synchronous=FULL")
        return connection

    pool._create_connection = create_full  # type: ignore[method-assign]
    return datastore


def their_postgres_recorder(dbname: str) -> PostgresApplicationRecorder:
    """``eventsourcing``'s PostgreSQL recorder on its own database (one pooled connection,
    its default)."""
    install_pool_stand_in()
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    datastore = PostgresDatastore(
        dbname=dbname, host=PG_HOST, port=PG_PORT, user=PG_USER, password=""
    )
    return PostgresApplicationRecorder(datastore)


_CT = TypeVar("_CT", bound=psycopg.Connection[Any])


class StandInPool(Generic[_CT]):
    """The part of ``psycopg_pool.ConnectionPool`` that ``eventsourcing.postgres`` uses.

    Only for when the ``psycopg-pool`` package is missing from the environment (it comes
    with ``eventsourcing[postgres]``, not with ``eventsourcing``). Connections are kept in
    a list and reused, configured once and rolled back if returned mid-transaction, as
    the real pool does, minus its locks, worker threads and health bookkeeping: if
    anything, it makes ``eventsourcing`` a little faster than it would be.
    """

    def __init__(
        self,
        conninfo: str = "",
        *,
        connection_class: type[_CT] = psycopg.Connection,  # type: ignore[assignment]
        kwargs: dict[str, Any] | None = None,
        configure: Callable[[_CT], None] | None = None,
        check: Callable[[_CT], None] | None = None,
        reset: Callable[[_CT], None] | None = None,
        **_: Any,
    ) -> None:
        self.conninfo = conninfo
        self.connection_class = connection_class
        self.kwargs = dict(kwargs or {})
        self._configure, self._check, self._reset = configure, check, reset
        self._idle: list[_CT] = []
        self.closed = False

    def __class_getitem__(cls, _item: Any) -> type[StandInPool[Any]]:
        return cls

    def _connect(self, timeout: float | None = None) -> _CT:
        conn = self.connection_class.connect(self.conninfo, **self.kwargs)
        if self._configure is not None:
            self._configure(conn)
        return conn

    def open(self, wait: bool = False, timeout: float = 30.0) -> None:
        self.closed = False

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[_CT]:
        conn = self._idle.pop() if self._idle else self._connect()
        if self._check is not None:
            self._check(conn)
        try:
            yield conn
        finally:
            if not conn.closed:
                if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    conn.rollback()
                if self._reset is not None:
                    self._reset(conn)
                self._idle.append(conn)

    @staticmethod
    def check_connection(conn: psycopg.Connection[Any]) -> None:
        conn.execute("")

    def close(self, timeout: float = 5.0) -> None:
        while self._idle:
            self._idle.pop().close()
        self.closed = True

    def __enter__(self) -> StandInPool[_CT]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def pool_in_use() -> str:
    try:
        return f"psycopg_pool {metadata.version('psycopg-pool')}"
    except metadata.PackageNotFoundError:
        return "bench.eventstore.StandInPool (psycopg-pool is not installed)"


def install_pool_stand_in() -> None:
    """Let ``eventsourcing.postgres`` import when ``psycopg_pool`` is missing."""
    try:
        import psycopg_pool  # noqa: F401
    except ModuleNotFoundError:
        module, abc = types.ModuleType("psycopg_pool"), types.ModuleType("psycopg_pool.abc")
        module.ConnectionPool = StandInPool  # type: ignore[attr-defined]
        module.abc = abc  # type: ignore[attr-defined]
        abc.CT = _CT  # type: ignore[attr-defined]
        for name in ("ConnectFailedCB", "ConnectionCB", "ConninfoParam", "KwargsParam"):
            setattr(abc, name, Any)
        sys.modules["psycopg_pool"], sys.modules["psycopg_pool.abc"] = module, abc
        log.warning("psycopg_pool is not installed: eventsourcing runs on %s", pool_in_use())


def _sqlite_synchronous(value: object) -> str:
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    return f"{names.get(int(value), '?')} ({value})"  # type: ignore[call-overload]


def _pg_settings(show: Callable[[str], str]) -> dict[str, str]:
    return {
        name: show(f"SHOW {name}")
        for name in ("synchronous_commit", "fsync", "wal_sync_method", "server_version")
    }


# --- measuring ---------------------------------------------------------------------------


def time_appends(subject: Subject, commands: list[Command]) -> dict[str, float]:
    latencies: list[float] = []
    clock = time.perf_counter
    start = clock()
    for command in commands:
        t0 = clock()
        subject.append(command)
        latencies.append(clock() - t0)
    elapsed = clock() - start
    latencies.sort()
    events = sum(c.size for c in commands)
    return {
        "commands": len(commands),
        "events": events,
        "seconds": round(elapsed, 3),
        "events_per_s": round(events / elapsed),
        "commands_per_s": round(len(commands) / elapsed, 1),
        "latency_ms_p50": round(percentile(latencies, 50) * 1000, 3),
        "latency_ms_p99": round(percentile(latencies, 99) * 1000, 3),
    }


def time_read(subject: Subject, expected: int) -> float:
    start = time.perf_counter()
    count = subject.read_all()
    elapsed = time.perf_counter() - start
    if count != expected:
        raise RuntimeError(f"read {count} events, expected {expected}")
    return elapsed


def compare(subjects: dict[str, Subject], work: Workload) -> dict[str, Any]:
    """Run the workload on each subject, phase by phase, alternating between them."""
    rng = random.Random(work.seed)
    warmup = new_streams(work.warmup_commands, work.events_per_command, rng)
    timed = plan_commands(work.commands, work.events_per_command, rng)
    fill = new_streams(work.fill_events // work.fill_command_size, work.fill_command_size, rng)
    total = sum(c.size for c in warmup + timed + fill)

    result: dict[str, Any] = {name: {"settings": s.settings()} for name, s in subjects.items()}
    for name, subject in subjects.items():
        log.info("%s: warm-up (%d commands)", name, len(warmup))
        for command in warmup:
            subject.append(command)
    for name, subject in subjects.items():
        log.info("%s: append (%d commands)", name, len(timed))
        result[name]["append"] = time_appends(subject, timed)
    for name, subject in subjects.items():
        log.info("%s: bulk append (%d commands)", name, len(fill))
        bulk = time_appends(subject, fill)
        result[name]["bulk_append"] = {
            k: bulk[k] for k in ("commands", "events", "seconds", "events_per_s")
        }
    passes: dict[str, list[float]] = {name: [] for name in subjects}
    for _ in range(work.read_passes):
        for name, subject in subjects.items():
            passes[name].append(time_read(subject, total))
    for name, seconds in passes.items():
        median = statistics.median(seconds)
        log.info("%s: read %d events, median %.3f s", name, total, median)
        result[name]["read"] = {
            "events": total,
            "batch": READ_BATCH,
            "passes_seconds": [round(s, 3) for s in seconds],
            "events_per_s": round(total / median),
        }

    ours, theirs = result["ours"], result["eventsourcing"]
    result["ratio_note"] = (
        "ours / eventsourcing: for rates >1 means ours is faster, for latency >1 ours is slower"
    )
    result["ratio_ours_to_eventsourcing"] = {
        "append_events_per_s": _ratio(ours["append"], theirs["append"], "events_per_s"),
        "append_latency_p50": _ratio(ours["append"], theirs["append"], "latency_ms_p50"),
        "bulk_append_events_per_s": _ratio(
            ours["bulk_append"], theirs["bulk_append"], "events_per_s"
        ),
        "read_events_per_s": _ratio(ours["read"], theirs["read"], "events_per_s"),
    }
    return result


def _ratio(ours: dict[str, float], theirs: dict[str, float], key: str) -> float:
    return round(ours[key] / theirs[key], 2)


@contextmanager
def _closing(subjects: dict[str, Subject]) -> Iterator[dict[str, Subject]]:
    try:
        yield subjects
    finally:
        for subject in subjects.values():
            with suppress(Exception):
                subject.close()


# --- backends ----------------------------------------------------------------------------


def sqlite_suite(work: Workload) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="uc-bench-") as tmp:
        directory = Path(tmp)
        ours_path, theirs_path = directory / "ours.db", directory / "eventsourcing.db"
        subjects: dict[str, Subject] = {
            "ours": OurStore(f"sqlite:///{ours_path}"),
            "eventsourcing": TheirRecorder(
                SQLiteApplicationRecorder(their_sqlite_datastore(theirs_path))
            ),
        }
        with _closing(subjects):
            result = compare(subjects, work)
        result["sqlite_version"] = sqlite3.sqlite_version
        result["directory"] = str(directory.parent)
        result["files"] = {
            "ours": _size_mb(ours_path),
            "eventsourcing": _size_mb(theirs_path),
        }
        return result


def _size_mb(path: Path) -> str:
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return f"{size / 1e6:.1f} MB (with -wal/-shm)"


def _pg_admin() -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=PG_HOST,
        port=PG_PORT,
        user=PG_USER,
        dbname=PG_ADMIN_DB,
        autocommit=True,
        connect_timeout=5,
    )


def postgres_suite(work: Workload) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    ours_db, theirs_db = f"uc_bench_ours_{tag}", f"uc_bench_es_{tag}"
    try:
        with _pg_admin() as admin:
            for name in (ours_db, theirs_db):
                admin.execute(f'CREATE DATABASE "{name}"')
        subjects: dict[str, Subject] = {
            "ours": OurStore(f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{ours_db}"),
            "eventsourcing": TheirRecorder(their_postgres_recorder(theirs_db)),
        }
        with _closing(subjects):
            result = compare(subjects, work)
        result["databases"] = {"ours": ours_db, "eventsourcing": theirs_db}
        result["eventsourcing_connection_pool"] = pool_in_use()
        return result
    except Exception as exc:  # the rest of the run still reports
        log.exception("PostgreSQL suite failed")
        return {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        with suppress(Exception), _pg_admin() as admin:
            for name in (ours_db, theirs_db):
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(work: Workload | None = None) -> dict[str, Any]:
    work = work or Workload()
    return {
        "workload": {
            "payload_bytes": len(PAYLOAD),
            "events_per_command": work.events_per_command,
            "timed_commands": work.commands,
            "timed_commands_new_stream": (work.commands + 1) // 2,
            "warmup_commands": work.warmup_commands,
            "bulk_events": work.fill_events,
            "bulk_events_per_command": work.fill_command_size,
            "read_batch": READ_BATCH,
            "read_passes": work.read_passes,
            "threads": 1,
            "ours_extra_row_per_command": "command_requests (request id, idempotency)",
        },
        "sqlite": sqlite_suite(work),
        "postgresql": postgres_suite(work),
    }
