"""What every aggregate shares: it is rebuilt by applying its events in order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Self

from google.protobuf.message import Message


class Aggregate:
    """Subclasses are dataclasses with defaults for every field and an ``apply`` that
    evolves the state by one event (and counts it in ``version``)."""

    version: int

    def apply(self, event: Message) -> None:
        raise NotImplementedError

    def apply_recorded(self, event: Message, event_id: str, occurred_at_us: int) -> None:
        """Apply an event read back from the store, with what the store adds to it (its
        id and time). Aggregates that remember either override this; the rest apply."""
        self.apply(event)

    @classmethod
    def from_events(cls, events: Iterable[Message]) -> Self:
        aggregate = cls()
        for event in events:
            aggregate.apply(event)
        return aggregate
