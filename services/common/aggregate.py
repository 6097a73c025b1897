"""What every aggregate shares: it is rebuilt by applying its events in order."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from enum import Enum
from typing import Any, Self

from google.protobuf.message import Message

# Values that cannot change in place: shared between an aggregate and its copies.
_IMMUTABLE = (str, int, float, bool, bytes, type(None), Enum)
_SCALARS = frozenset(_IMMUTABLE[:-1])  # the common case, by exact type: quicker to test


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

    def clone(self) -> Self:
        """A private copy: nothing mutable is shared with ``self``. Walks the dataclass
        fields, lists and dicts, and copies protobuf messages, sharing what cannot change
        (strings, numbers, enums; frozen dataclasses and tuples, which the domain fills
        with immutable values only); anything else is deep-copied."""
        return _copied(self)  # type: ignore[no-any-return]

    @classmethod
    def from_events(cls, events: Iterable[Message]) -> Self:
        aggregate = cls()
        for event in events:
            aggregate.apply(event)
        return aggregate


def _copied(value: Any) -> Any:
    kind = type(value)
    if kind in _SCALARS or isinstance(value, _IMMUTABLE):
        return value
    if kind is list:
        return [_copied(item) for item in value]
    if kind is dict:
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, tuple | frozenset):
        return value
    params = getattr(kind, "__dataclass_params__", None)
    if params is not None:
        if params.frozen:
            return value
        if hasattr(value, "__dict__"):
            fresh = object.__new__(kind)
            fresh.__dict__ = {name: _copied(item) for name, item in value.__dict__.items()}
            return fresh
    if isinstance(value, Message):
        fresh_message = kind()
        fresh_message.CopyFrom(value)
        return fresh_message
    return copy.deepcopy(value)
