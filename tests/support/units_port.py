"""The units service as dispatch sees it, in memory: reservations with the same rules
(one incident at a time, idempotent by request id, refusals as the domain's errors) and
a switch to make it unreachable."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.common.errors import FailedPrecondition, NotFound, Unavailable
from services.common.eventstore import now_us
from services.common.geo import Point
from services.dispatch.recommend import Candidate


@dataclass
class _Held:
    incident_id: str
    event_id: str
    at_us: int


@dataclass
class InMemoryUnits:
    """Units free to send, and who holds the rest. ``reachable = False`` makes every call
    ``Unavailable``, as a units service that is down would."""

    candidates: dict[str, Candidate] = field(default_factory=dict)
    held: dict[str, _Held] = field(default_factory=dict)
    requests: dict[str, str] = field(default_factory=dict)  # request id -> unit id
    reachable: bool = True

    def add(
        self,
        unit_id: str,
        tier: str,
        capabilities: set[str],
        where: Point,
        turnout_seconds: int = 60,
    ) -> None:
        self.candidates[unit_id] = Candidate(
            unit_id, f"{unit_id} station", tier, frozenset(capabilities), where, turnout_seconds
        )

    def _up(self) -> None:
        if not self.reachable:
            raise Unavailable("the units service did not answer (UNAVAILABLE)")

    def reserve(self, unit_id: str, incident_id: str, request_id: str, authorization: str) -> None:
        self._up()
        if self.requests.get(request_id) == unit_id:
            return  # a retry
        if unit_id not in self.candidates:
            raise NotFound(f"no unit {unit_id!r} is registered")
        if unit_id in self.held:
            raise FailedPrecondition(
                f"unit {unit_id} is RESERVED for incident {self.held[unit_id].incident_id}"
            )
        self.held[unit_id] = _Held(incident_id, f"reserved-{unit_id}-{request_id}", now_us())
        self.requests[request_id] = unit_id

    def release(
        self, unit_id: str, incident_id: str, request_id: str, authorization: str, reason: str
    ) -> None:
        self._up()
        held = self.held.get(unit_id)
        if held is None or (incident_id and held.incident_id != incident_id):
            raise FailedPrecondition(f"unit {unit_id} is not on incident {incident_id}")
        del self.held[unit_id]

    def available(self, authorization: str) -> list[Candidate]:
        self._up()
        return [c for unit_id, c in self.candidates.items() if unit_id not in self.held]

    def reservations(self, authorization: str) -> list[tuple[str, str]]:
        self._up()
        return [(unit_id, held.incident_id) for unit_id, held in self.held.items()]

    def reserved_by(self, unit_id: str, authorization: str) -> tuple[str, int] | None:
        self._up()
        held = self.held.get(unit_id)
        return None if held is None else (held.event_id, held.at_us)
