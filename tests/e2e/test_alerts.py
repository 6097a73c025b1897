"""Alerts to teams and their acknowledgement, end to end: dispatch reserves and records
the dispatch, the units service hears it on Kafka and alerts the team's app over
WatchAlerts; the team answers over gRPC."""

from __future__ import annotations

import threading
from pathlib import Path

import grpc
import pytest

from emergency.v1 import common_pb2, dispatch_pb2, units_pb2
from services.common.config import DEMO_JURISDICTION
from tests.e2e.conftest import (
    ADMIN,
    CALL_TAKER,
    Clients,
    eventually,
    rid,
    share_one_stack_per_module,
    team,
)
from tools.stack import Stack

pytestmark = pytest.mark.e2e

stack, clients = share_one_stack_per_module()


S = common_pb2.UnitStatus
Alert = units_pb2.Alert


class AlertWatch:
    """A team's app: a WatchAlerts stream read in a thread."""

    def __init__(self, clients: Clients, station_id: str) -> None:
        self.received: list[units_pb2.Alert] = []
        self.call = clients.units.WatchAlerts(
            units_pb2.WatchAlertsRequest(), metadata=team(station_id)
        )
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for alert in self.call:
                self.received.append(alert)
        except grpc.RpcError:
            pass  # cancelled

    def wait_for(self, state: int, unit_id: str, timeout: float = 30) -> units_pb2.Alert:
        return eventually(
            lambda: next(
                (a for a in self.received if a.state == state and a.unit_id == unit_id), None
            ),
            timeout=timeout,
            what=f"{Alert.State.Name(state)} alert for {unit_id}",
        )

    def close(self) -> None:
        self.call.cancel()
        self.thread.join(5)


def dispatch(clients: Clients, incident_id: str, unit_id: str) -> None:
    clients.dispatch.DispatchUnit(
        dispatch_pb2.DispatchUnitRequest(
            request_id=rid(), incident_id=incident_id, unit_id=unit_id, reason="nearest"
        ),
        metadata=CALL_TAKER,
        timeout=10,
    )


def unit_state(clients: Clients, unit_id: str) -> units_pb2.Unit:
    return clients.units.GetUnit(units_pb2.GetUnitRequest(unit_id=unit_id), metadata=ADMIN).unit


def test_a_volunteer_team_is_alerted_and_acknowledges_with_enough_responders(
    clients: Clients,
) -> None:
    watch = AlertWatch(clients, "VOL-03")
    incident = clients.call(1).incident_id
    dispatch(clients, incident, "VOL-03-E1")

    alert = watch.wait_for(Alert.WAITING, "VOL-03-E1")
    assert (alert.incident_id, alert.responders_needed, alert.team_id) == (incident, 5, "VOL-03")
    assert alert.deadline.seconds - alert.alerted_at.seconds == 120

    first = units_pb2.AcknowledgeAlertRequest(
        request_id=rid(),
        alert_id=alert.alert_id,
        unit_id="VOL-03-E1",
        responders=3,
        eta_seconds=420,
    )
    partial = clients.units.AcknowledgeAlert(first, metadata=team("VOL-03"))
    assert (partial.state, partial.responders_total) == (Alert.WAITING, 3)
    again = clients.units.AcknowledgeAlert(first, metadata=team("VOL-03"))  # a retry
    assert again.responders_total == 3
    assert unit_state(clients, "VOL-03-E1").status == S.Value("ALERTED")

    with pytest.raises(grpc.RpcError) as refused:
        clients.units.AcknowledgeAlert(
            units_pb2.AcknowledgeAlertRequest(
                request_id=rid(), alert_id=alert.alert_id, unit_id="VOL-03-E1", responders=2
            ),
            metadata=team("VOL-04"),
        )
    code = refused.value.code()
    assert code == grpc.StatusCode.PERMISSION_DENIED

    done = clients.units.AcknowledgeAlert(
        units_pb2.AcknowledgeAlertRequest(
            request_id=rid(),
            alert_id=alert.alert_id,
            unit_id="VOL-03-E1",
            responders=2,
            eta_seconds=360,
            note="Li and Wang from the orchard",
        ),
        metadata=team("VOL-03"),
    )
    assert (done.state, done.responders_total) == (Alert.ACKNOWLEDGED, 5)
    watch.wait_for(Alert.ACKNOWLEDGED, "VOL-03-E1")
    assert unit_state(clients, "VOL-03-E1").status == S.Value("ACKNOWLEDGED")
    watch.close()

    wanted = [
        "CallReceived",
        "IncidentCreated",
        "UnitReserved",
        "UnitDispatched",
        "UnitAlerted",
        "AlertAcknowledged",
        "AlertAcknowledged",
    ]
    eventually(
        lambda: sorted(clients.log_of(incident)) == sorted(wanted),
        timeout=30,
        what="the alert's steps in the incident log",
    )


def test_a_decline_frees_the_unit_and_a_late_answer_is_refused(clients: Clients) -> None:
    watch = AlertWatch(clients, "VOL-04")
    incident = clients.call(2).incident_id
    dispatch(clients, incident, "VOL-04-E1")
    alert = watch.wait_for(Alert.WAITING, "VOL-04-E1")

    declined = clients.units.DeclineAlert(
        units_pb2.DeclineAlertRequest(
            request_id=rid(),
            alert_id=alert.alert_id,
            unit_id="VOL-04-E1",
            reason="crew away at the county fair",
        ),
        metadata=team("VOL-04"),
    )
    assert declined.state == Alert.DECLINED
    watch.wait_for(Alert.DECLINED, "VOL-04-E1")
    assert unit_state(clients, "VOL-04-E1").status == S.Value("AVAILABLE")

    with pytest.raises(grpc.RpcError) as info:
        clients.units.AcknowledgeAlert(
            units_pb2.AcknowledgeAlertRequest(
                request_id=rid(), alert_id=alert.alert_id, unit_id="VOL-04-E1", responders=5
            ),
            metadata=team("VOL-04"),
        )
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "DECLINED" in info.value.details()
    watch.close()


def test_an_app_reconnecting_gets_the_alerts_it_missed(clients: Clients) -> None:
    incident = clients.call(3).incident_id
    dispatch(clients, incident, "MIC-001-M1")  # nobody is watching yet
    eventually(
        lambda: unit_state(clients, "MIC-001-M1").status == S.Value("ALERTED"),
        what="the micro station alerted",
    )

    watch = AlertWatch(clients, "MIC-001")
    missed = watch.wait_for(Alert.WAITING, "MIC-001-M1", timeout=10)
    assert missed.incident_id == incident
    watch.close()


def test_a_staffed_station_is_acknowledged_on_alert(clients: Clients) -> None:
    incident = clients.call(4).incident_id
    dispatch(clients, incident, "PRO-03-E1")
    eventually(
        lambda: unit_state(clients, "PRO-03-E1").status == S.Value("ACKNOWLEDGED"),
        what="the professional engine acknowledged automatically",
    )


def test_an_unanswered_alert_times_out_and_frees_the_unit(clients: Clients) -> None:
    # Give one micro station a 1-second deadline through the jurisdiction file.
    text = Path(DEMO_JURISDICTION).read_text(encoding="utf-8")
    start = text.index("- id: MIC-002")
    edited = text[:start] + text[start:].replace(
        "staffing:", "ack_deadline_seconds: 1\n    staffing:", 1
    )
    loaded = clients.units.LoadJurisdiction(
        units_pb2.LoadJurisdictionRequest(request_id=rid(), yaml=edited, file_name="demo.yaml"),
        metadata=ADMIN,
    )
    assert sorted(loaded.updated) == ["MIC-002-E1", "MIC-002-M1"]

    watch = AlertWatch(clients, "MIC-002")
    incident = clients.call(5).incident_id
    dispatch(clients, incident, "MIC-002-M1")
    timed_out = watch.wait_for(Alert.TIMED_OUT, "MIC-002-M1", timeout=20)
    assert timed_out.incident_id == incident
    assert unit_state(clients, "MIC-002-M1").status == S.Value("AVAILABLE")
    with pytest.raises(grpc.RpcError) as late:
        clients.units.AcknowledgeAlert(
            units_pb2.AcknowledgeAlertRequest(
                request_id=rid(), alert_id=timed_out.alert_id, unit_id="MIC-002-M1", responders=3
            ),
            metadata=team("MIC-002"),
        )
    assert late.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "TIMED OUT" in late.value.details()
    watch.close()


def test_dispatching_a_unit_that_is_not_free_is_refused_and_writes_nothing(
    stack: Stack, clients: Clients
) -> None:
    first = clients.call(6).incident_id
    second = clients.call(7).incident_id
    dispatch(clients, first, "GOV-01-E1")
    with pytest.raises(grpc.RpcError) as info:
        dispatch(clients, second, "GOV-01-E1")
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "GOV-01-E1" in info.value.details() and first in info.value.details()
    incident = clients.dispatch.GetIncident(
        dispatch_pb2.GetIncidentRequest(incident_id=second), metadata=CALL_TAKER
    )
    assert incident.version == 2  # nothing recorded for the refused dispatch
