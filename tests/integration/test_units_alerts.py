"""The units application service's alerts against a real SQLite store: what team apps
hear, and the deadline queue it feeds."""

from __future__ import annotations

import queue
from pathlib import Path

import pytest

from emergency.v1 import common_pb2, events_pb2, units_pb2
from services.common.auth import SYSTEM, Principal
from services.common.commands import system_key
from services.common.config import DEMO_JURISDICTION
from services.common.database import create_store_engine
from services.common.envelope import EventEnvelope
from services.common.errors import FailedPrecondition
from services.common.eventstore import EventStore
from services.common.jurisdiction import Role
from services.units.app import UnitsApp

CALL_TAKER = Principal(Role.CALL_TAKER, "ct-01")
TEAM = Principal(Role.TEAM, "VOL-03:duty-phone", "VOL-03")


@pytest.fixture
def app(tmp_path: Path) -> UnitsApp:
    store = EventStore(create_store_engine(f"sqlite:///{tmp_path / 'units.db'}"))
    store.create_schema()
    app = UnitsApp(store)
    app.load_jurisdiction(
        units_pb2.LoadJurisdictionRequest(yaml=Path(DEMO_JURISDICTION).read_text("utf-8")),
        SYSTEM,
        system_key("startup", "LoadJurisdiction"),
    )
    return app


def alert_volunteers(app: UnitsApp, incident_id: str = "inc-1") -> None:
    app.reserve(
        units_pb2.ReserveUnitRequest(request_id="r1", unit_id="VOL-03-E1", incident_id=incident_id),
        CALL_TAKER,
    )
    app.alert_for_dispatch(
        EventEnvelope(
            event_id="dispatch-event-1",
            correlation_id=incident_id,
            unit_dispatched=events_pb2.UnitDispatched(
                incident_id=incident_id,
                unit_id="VOL-03-E1",
                incident_type="field_fire",
                location=common_pb2.GeoPoint(latitude=28.2, longitude=112.1),
            ),
        )
    )


def drained(inbox: queue.SimpleQueue[units_pb2.Alert]) -> list[tuple[str, int]]:
    out = []
    while not inbox.empty():
        alert = inbox.get()
        out.append((alert.unit_id, alert.state))
    return out


def test_a_release_after_the_answer_tells_the_team_nothing_new(app: UnitsApp) -> None:
    """Before: the release republished the answered alert to every team app watching."""
    inbox = app.hub.subscribe("VOL-03")
    deadlines: list[tuple[int, str, str]] = []
    app.on_alert_waiting = lambda *due: deadlines.append(due)
    alert_volunteers(app)
    needed = app.units.get("VOL-03-E1").alert.alert.responders_needed  # type: ignore[union-attr]
    app.acknowledge(
        units_pb2.AcknowledgeAlertRequest(
            request_id="a1", alert_id="dispatch-event-1", unit_id="VOL-03-E1", responders=needed
        ),
        TEAM,
    )
    app.release(
        units_pb2.ReleaseUnitRequest(request_id="x1", unit_id="VOL-03-E1", incident_id="inc-1"),
        CALL_TAKER,
    )

    assert drained(inbox) == [
        ("VOL-03-E1", units_pb2.Alert.WAITING),
        ("VOL-03-E1", units_pb2.Alert.ACKNOWLEDGED),
    ]
    assert [(unit, alert) for _, unit, alert in deadlines] == [("VOL-03-E1", "dispatch-event-1")]


def test_a_release_before_the_answer_withdraws_the_alert_and_the_team_hears_it(
    app: UnitsApp,
) -> None:
    inbox = app.hub.subscribe("VOL-03")
    alert_volunteers(app)
    app.release(
        units_pb2.ReleaseUnitRequest(request_id="x1", unit_id="VOL-03-E1", incident_id="inc-1"),
        CALL_TAKER,
    )
    assert drained(inbox)[-1] == ("VOL-03-E1", units_pb2.Alert.WITHDRAWN)
    assert app.time_out_alert("VOL-03-E1", "dispatch-event-1") is False  # nothing to time out


def test_the_time_out_is_recorded_once_however_often_it_is_asked_for(app: UnitsApp) -> None:
    due: list[tuple[int, str, str]] = []
    app.on_alert_waiting = lambda *waiting: due.append(waiting)
    alert_volunteers(app)
    assert [(unit, alert) for _, unit, alert in due] == [("VOL-03-E1", "dispatch-event-1")]
    # Not due yet: the domain refuses a time-out before the deadline.
    with pytest.raises(FailedPrecondition, match="has not reached its deadline"):
        app.time_out_alert("VOL-03-E1", "dispatch-event-1")


def test_another_replica_hears_of_the_alert_and_queues_its_deadline(app: UnitsApp) -> None:
    """Two replicas on one store: the one that did not record the alert still tells the
    team's app on its streams, and keeps the deadline (it may be the one to fire it)."""
    replica = UnitsApp(app.store)
    inbox = replica.hub.subscribe("VOL-03")
    waiting: list[tuple[int, str, str]] = []
    settled: list[str] = []
    replica.on_alert_waiting = lambda *due: waiting.append(due)
    replica.on_alert_settled = settled.append
    replica.follow()  # caught up before the alert: nothing yet
    assert drained(inbox) == [] and waiting == []

    alert_volunteers(app)
    replica.follow()

    assert drained(inbox) == [("VOL-03-E1", units_pb2.Alert.WAITING)]
    assert [(unit, alert) for _, unit, alert in waiting] == [("VOL-03-E1", "dispatch-event-1")]
    app.release(
        units_pb2.ReleaseUnitRequest(request_id="x1", unit_id="VOL-03-E1", incident_id="inc-1"),
        CALL_TAKER,
    )
    replica.follow()
    assert drained(inbox) == [("VOL-03-E1", units_pb2.Alert.WITHDRAWN)]
    assert settled == ["dispatch-event-1"]
