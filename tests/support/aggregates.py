"""Given / when / then for an aggregate, shared by every domain test.

incident = given(Incident, *history)           # the aggregate after its events
events = incident.dispatch("E1", "card")       # when: a decision returns events
assert events == [...]                         # then: the events decided
applied(incident, events)                      # and the state they leave
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from google.protobuf.message import Message

from services.common.aggregate import Aggregate

A = TypeVar("A", bound=Aggregate)


def given(factory: Callable[[], A], *events: Message) -> A:
    """A fresh aggregate that has recorded ``events``, in order."""
    aggregate = factory()
    return applied(aggregate, events)


def applied(aggregate: A, events: Iterable[Message]) -> A:
    """``aggregate`` after the events a decision returned (the state "then" looks at)."""
    for event in events:
        aggregate.apply(event)
    return aggregate
