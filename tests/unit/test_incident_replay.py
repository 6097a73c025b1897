"""Replaying an incident's log: the canonical order whatever the delivery, the state at
any instant (time travel), the lines a person reads. The scripted incidents here are also
the report tests' material."""

from __future__ import annotations

import random

from google.protobuf.timestamp_pb2 import Timestamp

from emergency.v1 import common_pb2, events_pb2
from services.common.enums import IncidentStatus
from services.incidents.api import state_message
from services.incidents.narration import mask_number, summary, timeline
from services.incidents.ordering import EVENT_TYPES, ordered
from services.incidents.view import IncidentView, fold

EventEnvelope = events_pb2.EventEnvelope
Actor = events_pb2.Actor
S = common_pb2.UnitStatus
Outcome = events_pb2.AssignmentEnded.Outcome

T0 = 1_714_550_400_000_000  # 2024-05-01T08:00:00Z, the first call
ID = "INC-7"
DISPATCH_ACTOR = Actor(kind=Actor.SYSTEM, id="dispatch")


def at(seconds: float) -> int:
    return T0 + round(seconds * 1_000_000)


class Script:
    """An incident's log written event by event, each stream numbered from 1."""

    def __init__(self, incident_id: str = ID) -> None:
        self.incident_id = incident_id
        self.events: list[EventEnvelope] = []
        self.versions: dict[tuple[str, str], int] = {}

    def add(
        self, seconds: float, source: str, stream: str, actor: Actor, **payload: object
    ) -> EventEnvelope:
        (field,) = payload
        key = (source, stream)
        self.versions[key] = version = self.versions.get(key, 0) + 1
        occurred = Timestamp()
        occurred.FromMicroseconds(at(seconds))
        envelope = EventEnvelope(
            event_id=f"{source}/{stream}/{version}",
            stream_id=stream,
            stream_version=version,
            event_type=EVENT_TYPES[field],
            source=source,
            correlation_id=self.incident_id,
            occurred_at=occurred,
            actor=actor,
            **payload,
        )
        self.events.append(envelope)
        return envelope

    def dispatch(self, seconds: float, actor: Actor = DISPATCH_ACTOR, **payload: object) -> None:
        self.add(seconds, "dispatch", f"incident-{self.incident_id}", actor, **payload)

    def unit(
        self, seconds: float, unit_id: str, actor: Actor | None = None, **payload: object
    ) -> None:
        who = actor or Actor(kind=Actor.TEAM, id=unit_id.rsplit("-", 1)[0])
        self.add(seconds, "units", f"unit-{unit_id}", who, **payload)

    def note(self, seconds: float, kind: str, text: str) -> None:
        self.add(
            seconds,
            "incidents",
            f"notes-{self.incident_id}",
            Actor(kind=Actor.COMMANDER, id="li"),
            commander_note_added=events_pb2.CommanderNoteAdded(
                incident_id=self.incident_id,
                note_id=f"note-{len(self.events)}",
                kind=kind,
                text=text,
            ),
        )

    # --- steps that come in pairs or runs ------------------------------------------------

    def send(self, seconds: float, unit_id: str, capability: str, replaces: str = "") -> None:
        """Reserved (units), then dispatched (dispatch) a second later."""
        reserved = events_pb2.UnitReserved(unit_id=unit_id, incident_id=self.incident_id)
        self.unit(seconds - 1, unit_id, DISPATCH_ACTOR, unit_reserved=reserved)
        self.dispatch(
            seconds,
            unit_dispatched=events_pb2.UnitDispatched(
                incident_id=self.incident_id,
                unit_id=unit_id,
                capability=capability,
                replaces_unit_id=replaces,
                resource_request_id="n1" if replaces else "",
                reason="run card" if not replaces else f"replaces {replaces}",
            ),
        )

    def alert(self, seconds: float, unit_id: str, tier: int, station: str, staffed: bool) -> None:
        alerted = events_pb2.UnitAlerted(
            unit_id=unit_id,
            alert_id=f"a-{unit_id}",
            incident_id=self.incident_id,
            tier=tier,
            station_name=station,
            responders_needed=4,
            incident_type="high_rise_fire",
        )
        alerted.alerted_at.FromMicroseconds(at(seconds))
        if not staffed:
            alerted.deadline.FromMicroseconds(at(seconds + 120))
        system = Actor(kind=Actor.ADMIN, id="system")
        self.unit(seconds, unit_id, system, unit_alerted=alerted)
        if staffed:  # the same instant, the next version of the unit's stream
            self.unit(
                seconds,
                unit_id,
                system,
                alert_acknowledged=events_pb2.AlertAcknowledged(
                    unit_id=unit_id,
                    alert_id=f"a-{unit_id}",
                    responders=4,
                    responders_total=4,
                    complete=True,
                    automatic=True,
                ),
            )

    def status(self, seconds: float, unit_id: str, to: str) -> None:
        self.unit(
            seconds,
            unit_id,
            unit_status_changed=events_pb2.UnitStatusChanged(
                unit_id=unit_id, to_status=S.Value(to), incident_id=self.incident_id
            ),
        )

    def release(self, seconds: float, unit_id: str, reason: str) -> None:
        released = events_pb2.UnitReleased(
            unit_id=unit_id, incident_id=self.incident_id, reason=reason
        )
        self.unit(seconds, unit_id, DISPATCH_ACTOR, unit_released=released)
        self.dispatch(
            seconds + 0.5,
            assignment_ended=events_pb2.AssignmentEnded(
                incident_id=self.incident_id,
                unit_id=unit_id,
                outcome=Outcome.RELEASED,
                reason=reason,
            ),
        )


PRO_E, PRO_A = "PRO-01-E1", "PRO-01-A1"
VOL_NO, VOL_YES = "VOL-03-E1", "VOL-04-E1"
MICRO = "MIC-05-F1"
NOTE_ATTACK = "<script>alert('x')</script> floors 11-12 evacuated"
PRO, VOL, MIC = common_pb2.PROFESSIONAL, common_pb2.VOLUNTEER, common_pb2.MICRO_STATION


def high_rise_fire() -> list[EventEnvelope]:
    """A tower fire: 4 units of 3 tiers, a volunteer team declines and another goes, the
    alarm is raised, command is taken and handed over, then under control and closed.

    Figures built in (seconds from the first call): call to dispatch 45 (met); turnout
    PRO-01-E1 50, PRO-01-A1 75 (missed); micro station alert to on scene 150 (met); first
    capable unit on scene 355 after the first dispatch (missed)."""
    s = Script()
    s.dispatch(
        0,
        Actor(kind=Actor.CALL_TAKER, id="ct-01"),
        call_received=events_pb2.CallReceived(
            call_id="c1",
            caller_number="13912345678",
            source=common_pb2.PHONE,
            address="No. 3 Jianshe Rd, Tower B",
            incident_type="high_rise_fire",
            description="smoke from the 11th floor",
            location=common_pb2.GeoPoint(latitude=28.19, longitude=112.97),
        ),
    )
    s.dispatch(
        0.5,
        Actor(kind=Actor.CALL_TAKER, id="ct-01"),
        incident_created=events_pb2.IncidentCreated(
            incident_id=ID,
            call_id="c1",
            incident_type="high_rise_fire",
            address="No. 3 Jianshe Rd, Tower B",
            alarm_level=1,
            location=common_pb2.GeoPoint(latitude=28.19, longitude=112.97),
        ),
    )
    s.dispatch(
        30,
        call_received=events_pb2.CallReceived(
            call_id="c2",
            caller_number="13800001111",
            source=common_pb2.PHONE,
            address="Tower B",
            incident_type="high_rise_fire",
        ),
    )
    s.dispatch(
        30.1,
        duplicate_call_linked=events_pb2.DuplicateCallLinked(
            incident_id=ID, call_id="c2", linked_by="ct-01"
        ),
    )

    s.send(45, PRO_E, "engine")
    s.send(45.5, PRO_A, "aerial")
    s.send(46, VOL_NO, "engine")
    s.send(46.5, MICRO, "first_intervention")
    s.alert(46, PRO_E, PRO, "Station 1", staffed=True)
    s.alert(47, PRO_A, PRO, "Station 1", staffed=True)
    s.alert(47.5, VOL_NO, VOL, "Village 3 team", staffed=False)
    s.alert(48, MICRO, MIC, "Tower B micro station", staffed=False)
    s.unit(
        70,
        MICRO,
        alert_acknowledged=events_pb2.AlertAcknowledged(
            unit_id=MICRO, alert_id=f"a-{MICRO}", responders=4, responders_total=4, complete=True
        ),
    )
    s.status(80, MICRO, "EN_ROUTE")
    s.status(96, PRO_E, "EN_ROUTE")  # turnout 50 s

    s.unit(
        100,
        VOL_NO,
        alert_declined=events_pb2.AlertDeclined(
            unit_id=VOL_NO, alert_id=f"a-{VOL_NO}", reason="only 2 members home"
        ),
    )
    s.dispatch(
        100.5,
        assignment_ended=events_pb2.AssignmentEnded(
            incident_id=ID, unit_id=VOL_NO, outcome=Outcome.DECLINED, reason="only 2 members home"
        ),
    )
    s.dispatch(
        100.5,
        units_requested=events_pb2.UnitsRequested(
            incident_id=ID,
            resource_request_id="n1",
            capability="engine",
            count=1,
            replaces_unit_id=VOL_NO,
            reason=f"re-dispatch: {VOL_NO} declined (only 2 members home)",
        ),
    )
    s.send(111, VOL_YES, "engine", replaces=VOL_NO)
    s.alert(112, VOL_YES, VOL, "Village 4 team", staffed=False)
    s.status(122, PRO_A, "EN_ROUTE")  # turnout 75 s: late
    s.unit(
        130,
        VOL_YES,
        alert_acknowledged=events_pb2.AlertAcknowledged(
            unit_id=VOL_YES,
            alert_id=f"a-{VOL_YES}",
            responders=2,
            responders_total=2,
            eta_seconds=300,
        ),
    )
    s.unit(
        150,
        VOL_YES,
        alert_acknowledged=events_pb2.AlertAcknowledged(
            unit_id=VOL_YES,
            alert_id=f"a-{VOL_YES}",
            responders=2,
            responders_total=4,
            eta_seconds=300,
            complete=True,
        ),
    )
    s.status(170, VOL_YES, "EN_ROUTE")
    s.status(198, MICRO, "ON_SCENE")  # 150 s after its alert
    here = common_pb2.GeoPoint(latitude=28.191, longitude=112.969)
    s.unit(
        300,
        PRO_E,
        unit_location_reported=events_pb2.UnitLocationReported(unit_id=PRO_E, location=here),
    )
    s.status(400, PRO_E, "ON_SCENE")  # 355 s after the first dispatch
    s.dispatch(
        410,
        Actor(kind=Actor.COMMANDER, id="wang"),
        command_assumed=events_pb2.CommandAssumed(
            incident_id=ID, commander_id="wang", commander_name="Captain Wang", unit_id=PRO_E
        ),
    )
    s.status(430, PRO_A, "ON_SCENE")
    s.dispatch(
        450,
        Actor(kind=Actor.COMMANDER, id="wang"),
        alarm_level_raised=events_pb2.AlarmLevelRaised(
            incident_id=ID, from_level=1, to_level=2, reason="fire spreading to floor 12"
        ),
    )
    s.dispatch(
        450.1,
        units_requested=events_pb2.UnitsRequested(
            incident_id=ID,
            resource_request_id="n2",
            capability="aerial",
            count=1,
            reason="alarm level 2: aerial 1 of 2 sent or asked for",
        ),
    )
    s.dispatch(
        451,
        units_unavailable=events_pb2.UnitsUnavailable(
            incident_id=ID,
            resource_request_id="n2",
            capability="aerial",
            missing=1,
            reason="no free aerial within 30 km",
        ),
    )
    s.status(500, VOL_YES, "STAGING")
    s.status(520, VOL_YES, "ON_SCENE")
    s.dispatch(
        600,
        Actor(kind=Actor.COMMANDER, id="li"),
        command_transferred=events_pb2.CommandTransferred(
            incident_id=ID,
            from_commander_id="wang",
            to_commander_id="li",
            to_commander_name="Chief Li",
            reason="senior officer on scene",
        ),
    )
    s.note(700, "SITUATION_REPORT", NOTE_ATTACK)
    s.dispatch(
        1500,
        Actor(kind=Actor.COMMANDER, id="li"),
        incident_under_control=events_pb2.IncidentUnderControl(
            incident_id=ID, note="fire knocked down"
        ),
    )
    s.note(1600, "DECISION", "keep two engines for overhaul")
    s.dispatch(
        2400,
        Actor(kind=Actor.COMMANDER, id="li"),
        incident_closed=events_pb2.IncidentClosed(incident_id=ID, note="done"),
    )
    for i, unit_id in enumerate((PRO_E, PRO_A, MICRO, VOL_YES)):
        s.release(2401 + i, unit_id, "incident closed")
    # A kind of event this version does not know: a payload field it cannot name.
    s.events.append(
        EventEnvelope(
            event_id="future-1",
            stream_id=f"incident-{ID}",
            stream_version=99,
            event_type="IncidentArchived",
            source="dispatch",
            correlation_id=ID,
            occurred_at=s.events[-1].occurred_at,
        )
    )
    return s.events


def false_alarm() -> list[EventEnvelope]:
    """A smoke detector's alarm, cancelled 90 s in, before anyone moved."""
    s = Script("INC-9")
    s.dispatch(
        0,
        call_received=events_pb2.CallReceived(
            call_id="c9",
            source=common_pb2.SMART_SMOKE_DETECTOR,
            address="Flat 502, Block 9",
            incident_type="automatic_alarm",
        ),
    )
    s.dispatch(
        0.2,
        incident_created=events_pb2.IncidentCreated(
            incident_id="INC-9",
            call_id="c9",
            incident_type="automatic_alarm",
            address="Flat 502, Block 9",
            alarm_level=1,
        ),
    )
    s.send(40, "PRO-02-E1", "engine")
    s.send(40.2, "MIC-09-F1", "first_intervention")
    s.alert(41, "PRO-02-E1", PRO, "Station 2", staffed=True)
    s.alert(41.5, "MIC-09-F1", MIC, "Block 9 micro station", staffed=False)
    s.dispatch(
        90,
        Actor(kind=Actor.CALL_TAKER, id="ct-02"),
        incident_cancelled=events_pb2.IncidentCancelled(
            incident_id="INC-9",
            reason=events_pb2.IncidentCancelled.FALSE_ALARM,
            note="resident burnt toast",
        ),
    )
    s.release(91, "PRO-02-E1", "incident cancelled")
    s.release(91.2, "MIC-09-F1", "incident cancelled")
    return s.events


# --- the whole log -----------------------------------------------------------------------


def test_fold_gives_the_final_state() -> None:
    view = fold(high_rise_fire())

    assert (view.incident_id, view.incident_type, view.status) == (
        ID,
        "high_rise_fire",
        IncidentStatus.CLOSED,
    )
    assert view.alarm_level == 2
    assert view.address == "No. 3 Jianshe Rd, Tower B"
    assert view.location == (28.19, 112.97)
    assert view.opened_us == at(0.5)
    assert view.ended_us == at(2400)
    assert view.under_control_us == at(1500)
    assert (view.commander_id, view.commander_name) == ("li", "Chief Li")
    assert view.calls == 2
    assert view.first_call_us == at(0)
    assert list(view.units) == [PRO_E, PRO_A, VOL_NO, MICRO, VOL_YES]  # dispatch order
    assert view.notes == [
        f"[SITUATION_REPORT] {NOTE_ATTACK}",
        "[DECISION] keep two engines for overhaul",
    ]
    assert view.escalations == [(at(450), 1, 2, "fire spreading to floor 12")]
    assert view.redispatches == [
        (at(100.5), VOL_NO, f"re-dispatch: {VOL_NO} declined (only 2 members home)")
    ]
    assert view.command_changes == [(at(410), "wang", "Captain Wang"), (at(600), "li", "Chief Li")]
    assert view.shortfalls == [(at(451), "aerial", 1, "no free aerial within 30 km")]
    assert view.events_applied == len(high_rise_fire())
    assert view.events_ignored == 1  # the unknown kind: counted, nothing else
    assert view.as_of_us == at(2404.5)


def test_units_tracks() -> None:
    units = fold(high_rise_fire()).units

    pro = units[PRO_E]
    assert (pro.tier, pro.station_name, pro.capability) == (PRO, "Station 1", "engine")
    assert (pro.status, pro.outcome) == ("AVAILABLE", "RELEASED")
    assert (pro.dispatched_us, pro.alerted_us, pro.acknowledged_us) == (at(45), at(46), at(46))
    assert (pro.en_route_us, pro.on_scene_us, pro.released_us) == (at(96), at(400), at(2401))
    assert pro.location == (28.191, 112.969)

    declined = units[VOL_NO]
    assert (declined.outcome, declined.outcome_reason) == ("DECLINED", "only 2 members home")
    assert declined.ended_us == at(100)
    assert (declined.acknowledged_us, declined.released_us) == (0, 0)

    stand_in = units[VOL_YES]
    assert stand_in.replaces == VOL_NO
    assert stand_in.acknowledged_us == at(150)  # the complete acknowledgement, not the first
    assert (stand_in.en_route_us, stand_in.on_scene_us) == (at(170), at(520))
    assert stand_in.released_us == at(2404)

    micro = units[MICRO]
    assert (micro.tier, micro.capability, micro.acknowledged_us) == (
        MIC,
        "first_intervention",
        at(70),
    )


# --- time travel -------------------------------------------------------------------------


def statuses(view: IncidentView) -> dict[str, str]:
    return {unit_id: track.status for unit_id, track in view.units.items()}


def test_state_at_any_instant() -> None:
    log = high_rise_fire()

    before = fold(log, until_us=at(0) - 1)
    assert (before.status, before.events_applied, before.units) == (IncidentStatus.NONE, 0, {})

    just_called = fold(log, until_us=at(0))  # an event at the instant is included
    assert (just_called.status, just_called.calls, just_called.events_applied) == (
        IncidentStatus.NONE,
        1,
        1,
    )

    alerted = fold(log, until_us=at(50))
    assert (alerted.status, alerted.alarm_level, alerted.commander_name) == (
        IncidentStatus.OPEN,
        1,
        "",
    )
    assert statuses(alerted) == {
        PRO_E: "ACKNOWLEDGED",
        PRO_A: "ACKNOWLEDGED",
        VOL_NO: "ALERTED",
        MICRO: "ALERTED",
    }
    assert alerted.as_of_us == at(48)

    declined = fold(log, until_us=at(105))
    assert statuses(declined) == {
        PRO_E: "EN_ROUTE",
        PRO_A: "ACKNOWLEDGED",
        VOL_NO: "AVAILABLE",
        MICRO: "EN_ROUTE",
    }
    assert declined.units[VOL_NO].outcome == "DECLINED"

    stand_in_coming = fold(log, until_us=at(140))
    assert stand_in_coming.units[VOL_YES].status == "ALERTED"  # 2 of 4 responders so far
    assert stand_in_coming.units[VOL_YES].acknowledged_us == 0

    raised = fold(log, until_us=at(455))
    assert (raised.alarm_level, raised.commander_name, raised.status) == (
        2,
        "Captain Wang",
        IncidentStatus.OPEN,
    )
    assert statuses(raised)[PRO_E] == "ON_SCENE"
    assert statuses(raised)[VOL_YES] == "EN_ROUTE"

    staging = fold(log, until_us=at(510))
    assert statuses(staging)[VOL_YES] == "STAGING"

    handed_over = fold(log, until_us=at(1550))
    assert (handed_over.status, handed_over.commander_name) == (
        IncidentStatus.UNDER_CONTROL,
        "Chief Li",
    )
    assert len(handed_over.notes) == 1
    assert all(t.outcome in ("", "DECLINED") for t in handed_over.units.values())

    closed = fold(log, until_us=at(2400.1))
    assert closed.status == IncidentStatus.CLOSED
    assert closed.units[PRO_E].outcome == ""  # released a second later
    assert fold(log, until_us=at(2402)).units[PRO_E].outcome == "RELEASED"


def test_a_late_instant_gives_the_whole_log() -> None:
    log = high_rise_fire()
    assert fold(log, until_us=at(10**6)) == fold(log)


# --- the order ---------------------------------------------------------------------------


def test_shuffled_and_repeated_delivery_gives_the_same_order_and_state() -> None:
    log = high_rise_fire()
    canonical = ordered(log)
    assert len(canonical) == len(log)  # nothing repeated in the script
    expected = fold(log)
    for seed in range(5):
        rng = random.Random(seed)
        delivered = log + rng.sample(log, len(log) // 2)  # half of it delivered twice
        copies = [EventEnvelope.FromString(e.SerializeToString()) for e in delivered]
        rng.shuffle(copies)
        assert ordered(copies) == canonical
        assert fold(copies) == expected
        assert fold(copies, until_us=at(455)) == fold(log, until_us=at(455))


def test_the_canonical_order() -> None:
    log = ordered(high_rise_fire())
    keys = [(e.occurred_at.ToMicroseconds(), e.source, e.stream_id, e.stream_version) for e in log]
    assert keys == sorted(keys)
    # At one instant: dispatch before units; in one stream, by version.
    tied = [e for e in log if e.occurred_at.ToMicroseconds() == at(100.5)]
    assert [e.event_type for e in tied] == ["AssignmentEnded", "UnitsRequested"]
    alert, ack = (
        e
        for e in log
        if e.stream_id == f"unit-{PRO_E}" and e.occurred_at.ToMicroseconds() == at(46)
    )
    assert (alert.event_type, ack.event_type) == ("UnitAlerted", "AlertAcknowledged")


def test_an_event_repeated_by_another_source_is_not_a_repeat() -> None:
    log = high_rise_fire()[:2]
    same_place_other_source = EventEnvelope()
    same_place_other_source.CopyFrom(log[0])
    same_place_other_source.source = "incidents"
    assert len(ordered([*log, same_place_other_source, log[0]])) == 3


# --- lines for people --------------------------------------------------------------------


def test_summaries() -> None:
    lines = {e.event_type + ":" + e.stream_id: summary(e) for e in high_rise_fire()}
    text = "\n".join(summary(e) for e in ordered(high_rise_fire()))

    assert (
        "call from 139xxxx5678 (PHONE): high_rise_fire at No. 3 Jianshe Rd, Tower B - "
        "smoke from the 11th floor"
    ) in text
    assert "13912345678" not in text
    assert f"{VOL_NO} declined: only 2 members home" in text
    assert "alarm raised 1 -> 2: fire spreading to floor 12" in text
    assert f"Captain Wang took command ({PRO_E})" in text
    assert "command passed from wang to Chief Li: senior officer on scene" in text
    assert f"{PRO_E} on scene" in text
    assert f"{VOL_YES} staging" in text
    assert f"{VOL_YES} dispatched (engine) replacing {VOL_NO}: replaces {VOL_NO}" in text
    assert f"{VOL_YES}: 2 coming (4 in all), ETA 5 min, acknowledged" in text
    assert f"{PRO_E} acknowledged (staffed station)" in text
    assert f"{MICRO} (Tower B micro station, MICRO_STATION) alerted" in text
    assert "[SITUATION_REPORT] <script>" in text  # escaping is the page's job
    assert lines[f"IncidentArchived:incident-{ID}"] == (
        "IncidentArchived (not described by this version) from dispatch"
    )
    assert summary(false_alarm()[0]) == (
        "alarm (SMART_SMOKE_DETECTOR): automatic_alarm at Flat 502, Block 9"
    )


def test_mask_number() -> None:
    assert mask_number("13912345678") == "139xxxx5678"
    assert mask_number(" 02888886666 ") == "028xxxx6666"
    assert mask_number("110") == "x10"
    assert mask_number("") == ""


def test_timeline() -> None:
    log = high_rise_fire()
    entries = timeline(reversed(log))

    assert len(entries) == len(log)
    first, last = entries[0], entries[-1]
    assert (first.seconds_from_start, first.source, first.event_type) == (
        0.0,
        "dispatch",
        "CallReceived",
    )
    assert first.actor == "CALL_TAKER:ct-01"
    assert first.summary.startswith("call from 139xxxx5678")
    assert first.at_us == at(0)
    assert last.seconds_from_start == 2404.5
    declined = next(e for e in entries if e.event_type == "AlertDeclined")
    assert (declined.actor, declined.seconds_from_start) == ("TEAM:VOL-03", 100.0)
    assert [e.seconds_from_start for e in entries] == sorted(e.seconds_from_start for e in entries)
    assert timeline([]) == []


def test_state_message() -> None:
    state = state_message(fold(high_rise_fire(), until_us=at(455)))

    assert (state.incident_id, state.status, state.alarm_level) == (ID, IncidentStatus.OPEN, 2)
    assert (state.commander_id, state.commander_name, state.calls) == ("wang", "Captain Wang", 2)
    assert (state.location.latitude, state.location.longitude) == (28.19, 112.97)
    assert state.opened_at.ToMicroseconds() == at(0.5)
    assert not state.HasField("ended_at")
    assert state.as_of.ToMicroseconds() == at(451)
    assert [u.unit_id for u in state.units] == [PRO_E, PRO_A, VOL_NO, MICRO, VOL_YES]
    pro = state.units[0]
    assert (pro.tier, pro.status, pro.capability) == (PRO, "ON_SCENE", "engine")
    assert pro.on_scene_at.ToMicroseconds() == at(400)
    assert not pro.HasField("released_at")
    assert state.units[2].outcome == "DECLINED"
    assert state.units[4].replaces_unit_id == VOL_NO
    assert state.events_applied == fold(high_rise_fire(), until_us=at(455)).events_applied

    empty = state_message(fold([]))
    assert (empty.status, empty.events_applied, len(empty.units)) == (IncidentStatus.NONE, 0, 0)


def test_a_unit_event_first_creates_its_track() -> None:
    s = Script()
    s.status(5, "CIV-01-B1", "EN_ROUTE")  # before any dispatch reached the log
    view = fold(s.events)
    assert view.status == IncidentStatus.NONE
    assert view.incident_id == ID  # from the correlation id
    assert view.units["CIV-01-B1"].status == "EN_ROUTE"
    assert view.units["CIV-01-B1"].en_route_us == at(5)
