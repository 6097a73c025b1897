"""The request filler: dispatch acting on its own. It turns each open request of an active
incident (a re-dispatch after a decline or time-out, a raised alarm level, a commander's
request, a dispatch the units service could not take at once) into units reserved and
dispatched, the best free ones for the capability; and it sends home every unit still on an
incident that is over. It works with the dispatch service's own credential (the SERVICE
role): no person's token is there to forward.

It wakes at every append to the store (this replica's or, on PostgreSQL, another's), and
every few seconds besides, so a request that could not be filled (no unit free, the
units service down) is tried again until the incident ends. One pass at a time: requests
are filled in the order they were asked for. Every step is idempotent (request ids
derive from the incident, the request and the unit), so a pass cut short by a crash is
simply done again.

With several replicas, only the one holding the ``request-filler`` lease acts
(``in_charge``); it checks before each incident, so a replica that lost the lease stops
within one reservation.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

import structlog

from services.common.commands import derived_request_id, system_key
from services.common.errors import DomainError, FailedPrecondition, NotFound, Unavailable
from services.common.eventstore import now_us
from services.common.wake_loop import WakeLoop
from services.dispatch.app import SYSTEM_ACTOR, DispatchApp
from services.dispatch.domain import Incident, ResourceRequest
from services.dispatch.recommend import (
    FIRST_INTERVENTION,
    MICRO_STATION,
    CandidatePool,
    Recommendation,
    recommend,
)

log = structlog.get_logger(__name__)
STRAY_AFTER = 30.0  # seconds a reservation may go without its dispatch record (default)


class RequestFiller:
    def __init__(
        self,
        app: DispatchApp,
        authorization: str,
        every: float = 2.0,
        stray_after: float = STRAY_AFTER,
        in_charge: Callable[[], bool] = lambda: True,
    ) -> None:
        """``authorization``: the dispatch service's own ``Bearer <token>``;
        ``stray_after``: seconds a reservation may go without its dispatch record;
        ``in_charge``: whether this replica may act now (it holds the lease)."""
        self.in_charge = in_charge
        self.stray_after = stray_after
        self.app = app
        self.authorization = authorization
        self._pass = threading.Lock()
        self._next_stray_check = 0.0
        self._loop = WakeLoop("request-filler", self._pass_if_in_charge, every)

    def start(self) -> RequestFiller:
        self._loop.start()
        return self

    def stop(self) -> None:
        self._loop.stop()

    def wake(self) -> None:
        self._loop.wake()

    def _pass_if_in_charge(self) -> None:
        if self.in_charge():
            self.fill_all()

    def fill_all(self) -> None:
        """One pass over every incident with work for the filler."""
        with self._pass:
            try:
                self._release_strays()
            except Unavailable as exc:
                log.warning("units service unavailable; strays checked later", error=str(exc))
            work = self.app.incidents_with_work()
            if not work:
                return
            pool: CandidatePool | None = None
            for incident in work:
                if not self.in_charge():
                    log.info("request filler no longer in charge; stopping the pass")
                    return
                structlog.contextvars.bind_contextvars(correlation_id=incident.incident_id)
                try:
                    for unit_id in incident.releases_owed():
                        self._release(incident, unit_id)
                    for request in (
                        list(incident.resource_requests.values()) if incident.active else []
                    ):
                        if pool is None:
                            pool = self._pool()
                        self._fill(incident.incident_id, request.resource_request_id, pool)
                except Unavailable as exc:
                    log.warning(
                        "units service unavailable; the filler tries again later", error=str(exc)
                    )
                    return
                except Exception:  # this incident's trouble must not stall the others
                    log.exception("request filler failed on an incident; trying again later")
                finally:
                    structlog.contextvars.unbind_contextvars("correlation_id")

    # --- filling -------------------------------------------------------------------------

    def _pool(self) -> CandidatePool:
        assert self.app.units is not None
        return CandidatePool(
            self.app.units.available(self.authorization),
            first_intervention_only=self.app.run_cards.first_intervention.only_tiers,
        )

    def _fill(self, incident_id: str, resource_request_id: str, pool: CandidatePool) -> None:
        incident = self.app.get_incident(incident_id)
        request = incident.resource_requests.get(resource_request_id)
        if request is None or not incident.active:
            return
        if request.unit_id and request.unit_id not in incident.active_units():
            try:
                self._send(
                    incident,
                    request,
                    request.unit_id,
                    request.capability,
                    f"{request.reason}: the unit asked for",
                )
                return
            except (FailedPrecondition, NotFound) as exc:
                if not request.capability:
                    self._unavailable(incident, request, request.remaining, str(exc))
                    return
                log.info(
                    "unit asked for cannot go; filling the capability instead",
                    unit_id=request.unit_id,
                    reason=str(exc),
                )
        capability = request.capability or self._capability_of(request.replaces, pool, incident)
        if not capability:
            why = f"cannot tell which capability {request.replaces} filled: dispatch by hand"
            self._unavailable(incident, request, request.remaining, why)
            return
        if incident.location is None:
            self._unavailable(
                incident, request, request.remaining, "the incident has no coordinates"
            )
            return
        result = self._recommend(incident, capability, request.remaining, pool)
        for pick in result.picks:
            try:
                self._send(
                    incident, request, pick.unit_id, capability, f"{request.reason}; {pick.reason}"
                )
            except (FailedPrecondition, NotFound) as exc:  # taken meanwhile: next pass
                log.info("candidate not reserved", unit_id=pick.unit_id, reason=str(exc))
                continue
            pool.exclude(pick.unit_id)
            incident = self.app.get_incident(incident_id)
        for shortfall in result.shortfalls:
            fresh = self.app.get_incident(incident_id)
            if resource_request_id in fresh.resource_requests:
                self._unavailable(
                    fresh,
                    fresh.resource_requests[resource_request_id],
                    shortfall.missing,
                    shortfall.reason,
                )

    def _recommend(
        self, incident: Incident, capability: str, count: int, pool: CandidatePool
    ) -> Recommendation:
        assert incident.location is not None
        at = (incident.location.latitude, incident.location.longitude)
        exclude = set(incident.dispatched)
        if capability == FIRST_INTERVENTION:
            within = self.app.run_cards.first_intervention.within_seconds
            return recommend(
                {}, pool, at, self.app.travel, first_intervention_within=within, exclude=exclude
            )
        return recommend(
            {capability: count},
            pool,
            at,
            self.app.travel,
            first_intervention_within=None,
            exclude=exclude,
        )

    def _capability_of(self, unit_id: str, pool: CandidatePool, incident: Incident) -> str:
        """The capability a replaced unit filled, when nobody named it: what the run card asks
        for that the unit has (a micro station: first intervention)."""
        unit = pool.get(unit_id)
        if unit is None:
            return ""
        if unit.tier == MICRO_STATION:
            return FIRST_INTERVENTION
        card = self.app.run_cards.card(incident.incident_type, incident.alarm_level)
        return next((capability for capability in card if capability in unit.capabilities), "")

    def _send(
        self,
        incident: Incident,
        request: ResourceRequest,
        unit_id: str,
        capability: str,
        reason: str,
    ) -> None:
        """Reserve the unit, then record it as filling the request; if the request is gone by
        then (filled by hand, incident closed), give the unit back."""
        assert self.app.units is not None
        request_id = derived_request_id(
            "fill", incident.incident_id, request.resource_request_id, unit_id
        )
        self.app.units.reserve(unit_id, incident.incident_id, request_id, self.authorization)
        self.app.taken(unit_id)
        try:
            self.app.command(
                # The operation's name is part of keys already stored: it keeps the
                # old term so a retry across an upgrade is still seen as a repeat.
                system_key(request_id, "FillNeed"),
                incident.incident_id,
                lambda i: i.fill(request.resource_request_id, unit_id, capability, reason),
                SYSTEM_ACTOR,
            )
        except DomainError as exc:
            log.info("request gone after reservation; releasing", unit_id=unit_id, reason=str(exc))
            self.app.units.release(
                unit_id,
                incident.incident_id,
                derived_request_id(request_id, "undo"),
                self.authorization,
                "not needed after all",
            )
            return
        log.info(
            "request filled",
            resource_request_id=request.resource_request_id,
            unit_id=unit_id,
            capability=capability,
        )

    def _unavailable(
        self, incident: Incident, request: ResourceRequest, missing: int, reason: str
    ) -> None:
        self.app.command(
            system_key(
                f"unavailable:{incident.incident_id}:{request.resource_request_id}:{incident.version}",
                "RecordUnavailable",
            ),
            incident.incident_id,
            lambda i: i.units_unavailable(request.resource_request_id, missing, reason),
            SYSTEM_ACTOR,
        )

    def _release_strays(self) -> None:
        """Give back orphaned reservations: units held RESERVED with no assignment behind
        them, for one of our incidents or for an incident dispatch does not know, once
        they have been so for ``stray_after`` seconds. The first kind is a reservation
        whose record never came (the process died in between, or the units service's
        answer was lost in a time-out), and the request it was for is filled again as usual;
        the second, a client reserving for an incident that does not exist."""
        if time.monotonic() < self._next_stray_check:
            return
        self._next_stray_check = time.monotonic() + self.stray_after
        assert self.app.units is not None
        for unit_id, incident_id in self.app.units.reservations(self.authorization):
            incident = self.app.incidents.find(incident_id)
            # A reservation for an incident dispatch never opened is an orphan too: the
            # units service cannot tell a real incident id from a made-up one.
            if incident is not None and unit_id in incident.active_units():
                continue
            held = self.app.units.reserved_by(unit_id, self.authorization)
            if held is None or now_us() - held[1] < self.stray_after * 1_000_000:
                continue
            log.warning(
                "releasing a reservation never dispatched",
                unit_id=unit_id,
                correlation_id=incident_id,
            )
            with contextlib.suppress(FailedPrecondition, NotFound):  # moved on meanwhile
                self.app.units.release(
                    unit_id,
                    incident_id,
                    derived_request_id("stray", held[0]),
                    self.authorization,
                    "never dispatched",
                )

    # --- releasing -------------------------------------------------------------------------

    def _release(self, incident: Incident, unit_id: str) -> None:
        assert self.app.units is not None
        why = f"incident {incident.status.name.lower()}"
        try:
            self.app.units.release(
                unit_id,
                incident.incident_id,
                derived_request_id("release", incident.incident_id, unit_id),
                self.authorization,
                why,
            )
        except (FailedPrecondition, NotFound) as exc:  # off the incident already
            log.info("unit was no longer on the incident", unit_id=unit_id, reason=str(exc))
        self.app.command(
            system_key(f"released:{incident.incident_id}:{unit_id}", "RecordRelease"),
            incident.incident_id,
            lambda i: i.released(unit_id, why),
            SYSTEM_ACTOR,
        )
