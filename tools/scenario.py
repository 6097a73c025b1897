"""A scenario: generated calls played against a running system as call takers and
commanders would handle them. Each call is checked for duplicates (and linked to its
original when dispatch offers it), opened, given the recommended units, and later closed;
an automatic alarm is verified (reclassified as a fire) or cancelled as false. The crews
of the units sent are played too: a team that must acknowledge does so (or declines, a
``decline_share`` of the time; dispatch then re-dispatches), and every unit goes en route
after its turnout and on scene at its ETA. Units dispatch sends on its own (a
re-dispatch) are not played: their alerts time out.

Used by ``uc generate`` (demos, load, material for replays and reports).
"""

from __future__ import annotations

import functools
import heapq
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

import grpc
from google.protobuf.message import Message

from emergency.v1 import common_pb2, dispatch_pb2, units_pb2
from services.common.grpc_client import Client
from tools.callgen import GeneratedCall

Say = Callable[[str], None]
RequestT = TypeVar("RequestT", bound=Message)
ResponseT = TypeVar("ResponseT", bound=Message)


@dataclass(frozen=True)
class Pacing:
    speed: float = 1.0  # scenario seconds per wall second
    verify_after: float = 60.0  # scenario seconds until an automatic alarm is checked
    close_after: float = 600.0  # scenario seconds an incident stays open
    dispatch: bool = True  # send the recommended units
    crews: bool = True  # play the crews: acknowledge, en route, on scene
    decline_share: float = 0.2  # of the alerts a team must answer


@dataclass
class ScenarioResult:
    calls: int = 0
    incidents: list[str] = field(default_factory=list)
    linked: int = 0
    dispatched: int = 0
    shortfalls: int = 0
    cancelled: int = 0
    verified: int = 0
    closed: int = 0
    acknowledged: int = 0
    declined: int = 0
    arrived: int = 0
    refused: list[str] = field(default_factory=list)


class Scenario:
    def __init__(self, client: Client, pacing: Pacing, say: Say = print, seed: int = 1) -> None:
        """``client`` carries the call taker's credentials to every call."""
        self.dispatch = client.dispatch
        self.units = client.units
        self.random = random.Random(seed)
        self.pacing = pacing
        self.say = say
        self.result = ScenarioResult()
        self._incident_of: dict[int, str] = {}  # call seq -> incident id
        self._agenda: list[tuple[float, int, str, Callable[[], None]]] = []
        self._over: set[str] = set()  # incidents closed or cancelled: their crews stop
        self._order = 0
        self._now = 0.0  # scenario seconds of the action being played

    def play(self, calls: Iterable[GeneratedCall]) -> ScenarioResult:
        """Plays every call at its time (scaled by the speed), then the follow-ups."""
        start = time.monotonic()
        for call in calls:
            self._at(call.at_seconds, functools.partial(self._take, call))
        while self._agenda:
            due, _, incident_id, action = heapq.heappop(self._agenda)
            if incident_id in self._over:
                continue  # a crew's move on an incident that is over: not played
            self._now = due
            wait = start + due / self.pacing.speed - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                action()
            except grpc.RpcError as exc:
                self.result.refused.append(f"{exc.code().name}: {exc.details()}")
                self.say(f"  refused: {exc.code().name}: {exc.details()}")
        return self.result

    def _at(self, when: float, action: Callable[[], None], incident_id: str = "") -> None:
        """Play ``action`` at scenario second ``when``; with ``incident_id``, only while
        that incident is still going."""
        self._order += 1
        heapq.heappush(self._agenda, (when, self._order, incident_id, action))

    # --- the call taker ----------------------------------------------------------------

    def _take(self, call: GeneratedCall) -> None:
        self.result.calls += 1
        where = common_pb2.GeoPoint(latitude=call.latitude, longitude=call.longitude)
        link = self._original_offered(call, where)
        reply = self._ask(
            self.dispatch.ReceiveCall,
            dispatch_pb2.ReceiveCallRequest(
                request_id=str(uuid.uuid4()),
                caller_number=call.caller_number,
                source=call.source,
                location=where,
                address=call.address,
                incident_type=call.incident_type,
                description=call.description,
                link_to_incident_id=link,
            ),
        )
        self._incident_of[call.seq] = reply.incident_id
        if link:
            self.result.linked += 1
            self.say(f"{call.at_seconds:7.1f}s call {call.seq}: linked to {link}")
            return
        self.result.incidents.append(reply.incident_id)
        self.say(
            f"{call.at_seconds:7.1f}s call {call.seq}: {call.incident_type} "
            f"-> incident {reply.incident_id}"
        )
        if self.pacing.dispatch:
            self._send_recommended(reply.incident_id)
        if call.incident_type == "automatic_alarm":
            self._at(
                call.at_seconds + self.pacing.verify_after,
                lambda: self._verify(reply.incident_id, call),
            )
        else:
            self._at(
                call.at_seconds + self.pacing.close_after, lambda: self._close(reply.incident_id)
            )

    def _original_offered(self, call: GeneratedCall, where: common_pb2.GeoPoint) -> str:
        """The original's incident, when this call repeats it and dispatch offers it."""
        if call.duplicate_of is None or call.duplicate_of not in self._incident_of:
            return ""
        offered = self._ask(
            self.dispatch.FindDuplicates,
            dispatch_pb2.FindDuplicatesRequest(
                incident_type=call.incident_type, location=where, address=call.address
            ),
        ).duplicates
        original = self._incident_of[call.duplicate_of]
        return original if any(d.incident_id == original for d in offered) else ""

    def _send_recommended(self, incident_id: str) -> None:
        offer = self._ask(
            self.dispatch.RecommendUnits,
            dispatch_pb2.RecommendUnitsRequest(incident_id=incident_id),
        )
        for pick in offer.picks:
            try:
                self._ask(
                    self.dispatch.DispatchUnit,
                    dispatch_pb2.DispatchUnitRequest(
                        request_id=str(uuid.uuid4()),
                        incident_id=incident_id,
                        unit_id=pick.unit_id,
                        capability=pick.capability,
                        reason=pick.reason,
                    ),
                )
                self.result.dispatched += 1
                if self.pacing.crews:
                    self._play_crew(incident_id, pick)
            except grpc.RpcError as exc:  # taken by another incident meanwhile
                self.result.refused.append(f"{exc.code().name}: {exc.details()}")
        self.result.shortfalls += len(offer.shortfalls)
        sent = ", ".join(p.unit_id for p in offer.picks) or "nobody"
        self.say(
            f"          sent {sent}"
            + (f"; {len(offer.shortfalls)} capability(s) short" if offer.shortfalls else "")
        )

    # --- the crews ---------------------------------------------------------------------

    def _play_crew(self, incident_id: str, pick: dispatch_pb2.Recommendation.Pick) -> None:
        now = self._now
        staffed = pick.tier in (common_pb2.PROFESSIONAL, common_pb2.GOV_FULLTIME)
        answer = 0.0 if staffed else self.random.uniform(15, 50)
        if not staffed:
            self._at(now + answer, lambda: self._answer(incident_id, pick.unit_id), incident_id)
        turnout = max(20.0, pick.eta_seconds * 0.25)  # the pick's ETA includes the turnout
        self._at(
            now + answer + turnout,
            lambda: self._move(pick.unit_id, common_pb2.EN_ROUTE),
            incident_id,
        )
        self._at(
            now + answer + max(pick.eta_seconds, turnout + 10),
            lambda: self._move(pick.unit_id, common_pb2.ON_SCENE),
            incident_id,
        )

    def _answer(self, incident_id: str, unit_id: str) -> None:
        """The team answers its alert (a call taker may do it on the team's behalf)."""
        detail = self._ask(
            self.units.GetUnit, units_pb2.GetUnitRequest(unit_id=unit_id, history=10)
        )
        alert = next(
            (
                e.unit_alerted
                for e in reversed(detail.history)
                if e.WhichOneof("payload") == "unit_alerted"
                and e.unit_alerted.incident_id == incident_id
            ),
            None,
        )
        if alert is None or detail.unit.status != common_pb2.ALERTED:
            return  # not alerted for this incident (any more)
        if self.random.random() < self.pacing.decline_share:
            self._ask(
                self.units.DeclineAlert,
                units_pb2.DeclineAlertRequest(
                    request_id=str(uuid.uuid4()),
                    alert_id=alert.alert_id,
                    unit_id=unit_id,
                    reason="not enough members at home",
                ),
            )
            self.result.declined += 1
            self.say(f"          {unit_id} declined")
            return
        self._ask(
            self.units.AcknowledgeAlert,
            units_pb2.AcknowledgeAlertRequest(
                request_id=str(uuid.uuid4()),
                alert_id=alert.alert_id,
                unit_id=unit_id,
                responders=max(1, alert.responders_needed),
                note="scenario",
            ),
        )
        self.result.acknowledged += 1

    def _move(self, unit_id: str, status: common_pb2.UnitStatus.ValueType) -> None:
        unit = self._ask(self.units.GetUnit, units_pb2.GetUnitRequest(unit_id=unit_id)).unit
        allowed = {
            common_pb2.EN_ROUTE: common_pb2.ACKNOWLEDGED,
            common_pb2.ON_SCENE: common_pb2.EN_ROUTE,
        }
        if unit.status != allowed[status]:
            return  # declined, timed out, released meanwhile
        self._ask(
            self.units.ChangeStatus,
            units_pb2.ChangeStatusRequest(
                request_id=str(uuid.uuid4()), unit_id=unit_id, status=status
            ),
        )
        if status == common_pb2.ON_SCENE:
            self.result.arrived += 1
            self.say(f"          {unit_id} on scene")

    # --- the commander -----------------------------------------------------------------

    def _verify(self, incident_id: str, call: GeneratedCall) -> None:
        if call.false_alarm:
            self._ask(
                self.dispatch.CancelIncident,
                dispatch_pb2.CancelIncidentRequest(
                    request_id=str(uuid.uuid4()),
                    incident_id=incident_id,
                    reason="FALSE_ALARM",
                    note="checked on site: no fire",
                ),
            )
            self.result.cancelled += 1
            self._over.add(incident_id)
            self.say(f"          incident {incident_id}: false alarm, cancelled")
            return
        self._ask(
            self.dispatch.ClassifyIncident,
            dispatch_pb2.ClassifyIncidentRequest(
                request_id=str(uuid.uuid4()),
                incident_id=incident_id,
                incident_type="residential_fire",
                note="alarm verified: smoke and flames",
            ),
        )
        self.result.verified += 1
        self.say(f"          incident {incident_id}: alarm verified as a residential fire")
        if self.pacing.dispatch:
            self._send_recommended(incident_id)
        self._at(
            call.at_seconds + self.pacing.verify_after + self.pacing.close_after,
            lambda: self._close(incident_id),
        )

    def _close(self, incident_id: str) -> None:
        for method in (self.dispatch.MarkUnderControl, self.dispatch.CloseIncident):
            note = dispatch_pb2.IncidentNoteRequest(
                request_id=str(uuid.uuid4()), incident_id=incident_id, note="scenario"
            )
            self._ask(method, note)
        self.result.closed += 1
        self._over.add(incident_id)
        self.say(f"          incident {incident_id}: under control, closed")

    def _ask(
        self, method: grpc.UnaryUnaryMultiCallable[RequestT, ResponseT], request: RequestT
    ) -> ResponseT:
        return method(request, timeout=10)
