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

    @classmethod
    def from_events(cls, events: Iterable[Message]) -> Self:
        aggregate = cls()
        for event in events:
            aggregate.apply(event)
        return aggregate
