"""Following the store: a catch-up whenever the store was appended to (by this process
or, on PostgreSQL, by another replica), and every few seconds regardless, so read models
in memory follow the writes of every replica."""

from __future__ import annotations

from collections.abc import Callable

from services.common.eventstore import EventStore
from services.common.wake_loop import WakeLoop


def follow_store(store: EventStore, catch_up: Callable[[], None], every: float = 2.0) -> WakeLoop:
    """A started loop running ``catch_up`` (reads what is new; cheap when nothing is) at
    every append, and every ``every`` seconds when none is heard of."""
    loop = WakeLoop("store-follower", catch_up, every)
    store.on_append(lambda _position: loop.wake())
    return loop.start()
