"""What the SQL backends share: the tables (``schema.py``) and every path that is not hot
enough to go to the driver directly (reading one stream, checkpoints), on SQLAlchemy
Core. ``sqlite.py`` and ``postgres.py`` add the hot paths: append, read after a position,
find a request."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, func, select

from services.common.eventstore.model import RecordedEvent, StreamNotFound
from services.common.eventstore.schema import checkpoints_table, events_table
from services.migrations import upgrade


class SqlBackend:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite: BEGIN IMMEDIATE, so a checkpoint write waits its turn like an append.
        self._checkpoint_writer = engine.execution_options(immediate=True)

    def create_schema(self) -> None:
        upgrade(self.engine, ["store"])

    def close(self) -> None:
        self.engine.dispose()

    def read_stream(self, stream_id: str, from_version: int) -> list[RecordedEvent]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(events_table)
                .where(events_table.c.stream_id == stream_id)
                .where(events_table.c.stream_version >= from_version)
                .order_by(events_table.c.stream_version)
            ).all()
            if not rows and (from_version <= 1 or _stream_version(conn, stream_id) == 0):
                raise StreamNotFound(stream_id)
        return [RecordedEvent._make(row) for row in rows]

    def stream_version(self, stream_id: str) -> int:
        with self.engine.connect() as conn:
            return _stream_version(conn, stream_id)

    def max_position(self) -> int:
        with self.engine.connect() as conn:
            top = conn.execute(select(func.coalesce(func.max(events_table.c.position), 0)))
            return int(top.scalar_one())

    def save_checkpoints(
        self,
        positions: dict[str, int],
        clear_prefix: str | None,
        fence: Callable[[Connection], None] | None,
    ) -> None:
        with self._checkpoint_writer.begin() as conn:
            if fence is not None:
                fence(conn)
            if clear_prefix is not None:
                conn.execute(
                    checkpoints_table.delete().where(
                        checkpoints_table.c.name.startswith(clear_prefix, autoescape=True)
                    )
                )
            for name, position in positions.items():
                updated = conn.execute(
                    checkpoints_table.update()
                    .where(checkpoints_table.c.name == name)
                    .values(position=position)
                ).rowcount
                if not updated:
                    conn.execute(checkpoints_table.insert(), {"name": name, "position": position})

    def load_checkpoints(self, prefix: str) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(checkpoints_table.c.name, checkpoints_table.c.position).where(
                    checkpoints_table.c.name.startswith(prefix, autoescape=True)
                )
            ).all()
        return {row.name: row.position for row in rows}


def _stream_version(conn: Connection, stream_id: str) -> int:
    top = conn.execute(
        select(func.coalesce(func.max(events_table.c.stream_version), 0)).where(
            events_table.c.stream_id == stream_id
        )
    )
    return int(top.scalar_one())
