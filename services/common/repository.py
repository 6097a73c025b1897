"""The repository of one kind of aggregate: every one of them in memory, folded from the
service's own event store and caught up before every read, so a read sees the service's
own writes at once and a restart rebuilds it at replay speed. The service is the only
writer of these streams, so nothing else can make the memory stale."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from services.common.aggregate import Aggregate
from services.common.eventstore import EventStore, RecordedEvent
from services.common.streams import recorded_payload

A = TypeVar("A", bound=Aggregate)


class AggregateRepository(Generic[A]):
    """Aggregates by key (the stream id without ``prefix``); reads hand out copies."""

    def __init__(
        self,
        store: EventStore,
        prefix: str,
        factory: Callable[[], A],
        on_event: Callable[[str, RecordedEvent, A], None] | None = None,
    ) -> None:
        """``on_event(key, event, item)`` runs after each event is folded into its item
        (under the repository's lock: it must be quick and must not read the repository)."""
        self.store = store
        self.prefix = prefix  # "unit-": the streams this repository folds
        self.factory = factory
        self.on_event = on_event
        self.items: dict[str, A] = {}
        self._position = 0
        self._lock = threading.Lock()
        # Skipping the store's query when nothing was appended since the last one: a
        # store only this process writes (SQLite, memory) tells it of every append at
        # commit, so a tick that has not moved means nothing new. A store other replicas
        # write (PostgreSQL) hears of theirs a moment later, so reads there always query.
        self._may_skip = not store.shared
        self._ticks = itertools.count(1)
        self._appended = 0  # a new value from _ticks at each append
        self._caught_up = -1  # the value _appended had when the last catch-up began
        store.on_append(self._on_append)

    def _on_append(self, _position: int) -> None:
        self._appended = next(self._ticks)

    def catch_up(self) -> None:
        """Fold what the store has that this repository has not seen yet (no query when
        the store is known not to have changed since the last catch-up)."""
        appended = self._appended
        if self._may_skip and appended == self._caught_up:
            return
        with self._lock:
            self._caught_up = appended
            for event in self.store.iter_all(self._position):
                if event.stream_id.startswith(self.prefix):
                    key = event.stream_id.removeprefix(self.prefix)
                    item = self.items.get(key)
                    if item is None:
                        item = self.items[key] = self.factory()
                    item.apply_recorded(recorded_payload(event), event.event_id, event.occurred_at)
                    if self.on_event is not None:
                        self.on_event(key, event, item)
                self._position = event.position

    def find(self, key: str) -> A | None:
        """A private copy of the item: a decision made on it, and the version it carries,
        cannot change under the caller while another thread catches the repository up."""
        self.catch_up()
        with self._lock:
            item = self.items.get(key)
            return item.clone() if item is not None else None

    def find_all(self, keys: Callable[[], Iterable[str]]) -> list[A]:
        """Private copies of the items whose keys ``keys()`` names, asked for once the
        repository is caught up and held still (an index kept by ``on_event``)."""
        self.catch_up()
        with self._lock:
            found = (self.items.get(key) for key in keys())
            return [item.clone() for item in found if item is not None]

    def values(self) -> list[A]:
        """Private copies of every item (see ``find``)."""
        return self.select(lambda item: True)

    def select(
        self, wanted: Callable[[A], bool], convert: Callable[[A], Any] | None = None
    ) -> list[Any]:
        """The items ``wanted`` admits, each passed through ``convert`` (a private copy
        by default) while the repository is held still. Only the matches are copied, so a
        query for a few items of a large repository stays cheap; a read-only query may convert
        straight to what it answers with (a protobuf message) and copy nothing."""
        self.catch_up()
        with self._lock:
            copied = convert or Aggregate.clone
            return [copied(item) for item in self.items.values() if wanted(item)]
