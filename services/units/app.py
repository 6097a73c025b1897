"""The units application service: load, decide, append (idempotently)."""

from __future__ import annotations

from emergency.v1 import units_pb2
from services.common.commands import fingerprint, require_request_id
from services.common.envelope import new_event
from services.common.errors import AlreadyExists, NotFound
from services.common.eventstore import ConcurrencyConflict, EventStore, StreamNotFound
from services.common.geo import Point
from services.common.streams import typed
from services.units.domain import Unit, stream_id


class UnitsApp:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def register_unit(self, request: units_pb2.RegisterUnitRequest, actor: str) -> Unit:
        request_id = require_request_id(request.request_id)
        request_print = fingerprint(request)
        seen = self.store.find_request(request_id, request_print)
        if seen is not None:
            return self._unit_at(seen.events[0].stream_id, seen.events[-1].stream_version)
        unit_id = request.unit_id.strip()
        home = Point.checked(request.home.latitude, request.home.longitude, f"unit {unit_id} home")
        events = Unit.register(
            unit_id, request.name, request.tier, request.station_id, request.capabilities, home
        )
        try:
            result = self.store.append(
                stream_id(unit_id),
                0,
                [new_event(e, causation_id=request_id, actor=actor) for e in events],
                request_id=request_id,
                fingerprint=request_print,
            )
        except ConcurrencyConflict as exc:
            raise AlreadyExists(f"unit {unit_id!r} is registered already") from exc
        return self._unit_at(stream_id(unit_id), result.events[-1].stream_version)

    def get_unit(self, unit_id: str) -> Unit:
        return self._unit_at(stream_id(unit_id), None)

    def _unit_at(self, stream: str, version: int | None) -> Unit:
        try:
            events = self.store.read_stream(stream)
        except StreamNotFound:
            raise NotFound(f"no unit {stream.removeprefix('unit-')!r} is registered") from None
        return Unit.from_events(
            typed(e) for e in events if version is None or e.stream_version <= version
        )
