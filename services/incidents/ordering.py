"""The canonical order of an incident's events, whatever the delivery.

The log mixes three services' streams (dispatch, units, incidents); the order must not
depend on where the events were read from (the store or the Kafka topics), so it is a
sort on what every copy of an event carries: when it happened, then source, stream and
version, with repeats of one (source, stream, version) dropped. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from emergency.v1 import events_pb2

EventEnvelope = events_pb2.EventEnvelope
_PAYLOAD = EventEnvelope.DESCRIPTOR.oneofs_by_name["payload"]
# oneof field name -> payload message name ("unit_alerted" -> "UnitAlerted")
EVENT_TYPES: dict[str, str] = {
    f.name: f.message_type.name for f in _PAYLOAD.fields if f.message_type is not None
}


def event_type(envelope: EventEnvelope) -> str:
    """The payload's message name: the envelope's ``event_type``, else the oneof's."""
    if envelope.event_type:
        return envelope.event_type
    kind = envelope.WhichOneof("payload")
    return EVENT_TYPES.get(kind, "") if kind else ""


def _identity(envelope: EventEnvelope) -> tuple[str, str, int]:
    return (envelope.source, envelope.stream_id, envelope.stream_version)


def timed(envelopes: Iterable[EventEnvelope]) -> tuple[list[int], list[EventEnvelope]]:
    """The envelopes in the canonical order, each event once, and their occurred_at µs.

    Sorts indices by time alone (ints: cheap), and reads source, stream and version only
    for events that share an instant: copies of one event carry the same occurred_at, so
    repeats are always among those. Building a tuple key per event cost three times more.
    """
    envs = envelopes if isinstance(envelopes, list) else list(envelopes)
    ats: list[int] = []
    push = ats.append
    for envelope in envs:
        ts = envelope.occurred_at
        push(ts.seconds * 1_000_000 + ts.nanos // 1000)
    order = sorted(range(len(envs)), key=ats.__getitem__)
    out_at: list[int] = []
    out_env: list[EventEnvelope] = []
    n, i = len(order), 0
    while i < n:
        k = order[i]
        at = ats[k]
        j = i + 1
        if j < n and ats[order[j]] == at:  # a tie: by source, stream, version; once each
            while j < n and ats[order[j]] == at:
                j += 1
            tied = sorted((envs[m] for m in order[i:j]), key=_identity)  # stable: first kept
            previous = None
            for envelope in tied:
                ident = _identity(envelope)
                if ident != previous:
                    previous = ident
                    out_at.append(at)
                    out_env.append(envelope)
        else:
            out_at.append(at)
            out_env.append(envs[k])
        i = j
    return out_at, out_env


def ordered(envelopes: Iterable[EventEnvelope]) -> list[EventEnvelope]:
    """The canonical order: by (occurred_at, source, stream_id, stream_version), repeats of
    one (source, stream_id, stream_version) dropped. The same list whichever source (the
    store, the Kafka topics) and however often each event was delivered. (Every copy of a
    recorded event carries the same occurred_at: repeats are looked for at each instant.)"""
    return timed(envelopes)[1]
