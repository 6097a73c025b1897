"""Who is calling. Until per-user tokens arrive (issue 3), callers name themselves in the
``x-actor`` metadata as ``KIND:id`` (for example ``CALL_TAKER:ct-17``)."""

from __future__ import annotations

import grpc

from services.common.envelope import Actor, actor_ref


def actor_of(context: grpc.ServicerContext) -> str:
    metadata = dict(context.invocation_metadata() or ())
    declared = str(metadata.get("x-actor", ""))
    kind, _, actor_id = declared.partition(":")
    if kind in Actor.Kind.keys() and actor_id:  # noqa: SIM118 - protobuf enum wrapper
        return declared
    return actor_ref(Actor.SYSTEM, "unidentified")
