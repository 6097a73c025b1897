"""Team apps over HTTP/JSON: the edge in front of the units service."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator

import httpx
import pytest

from emergency.v1 import dispatch_pb2
from tests.e2e.conftest import CALL_TAKER, Clients, eventually, share_one_stack_per_module
from tools.stack import Stack

pytestmark = pytest.mark.e2e

stack, clients = share_one_stack_per_module()


def headers(station: str, key: str | None = None) -> dict[str, str]:
    out = {"Authorization": f"Bearer demo-{station.lower()}"}
    if key is not None:
        out["Idempotency-Key"] = key
    return out


@pytest.fixture(scope="module")
def http(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://{stack.address('edge')}", timeout=10) as client:
        yield client


class EventStream:
    """An app reading /v1/alerts/stream (server-sent events) in a thread."""

    def __init__(self, http: httpx.Client, station: str) -> None:
        self.alerts: list[dict] = []
        self.http = http
        self.station = station
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            with self.http.stream(
                "GET", "/v1/alerts/stream", headers=headers(self.station), timeout=None
            ) as reply:
                for line in reply.iter_lines():
                    if line.startswith("data: "):
                        self.alerts.append(json.loads(line.removeprefix("data: ")))
        except httpx.HTTPError:
            pass  # the edge closed the stream (the stack stopped)


def test_a_team_app_answers_alerts_over_http(
    stack: Stack, clients: Clients, http: httpx.Client
) -> None:
    assert http.get("/v1/alerts", headers=headers("VOL-05")).json() == {"alerts": []}
    stream = EventStream(http, "VOL-05")
    incident = clients.call(11).incident_id
    clients.dispatch.DispatchUnit(
        dispatch_pb2.DispatchUnitRequest(
            request_id=str(uuid.uuid4()), incident_id=incident, unit_id="VOL-05-E1"
        ),
        metadata=CALL_TAKER,
    )

    alert = eventually(lambda: next(iter(stream.alerts), None), what="the alert over SSE")
    assert (alert["unit_id"], alert["state"], alert["incident_id"]) == (
        "VOL-05-E1",
        "WAITING",
        incident,
    )
    waiting = http.get("/v1/alerts", headers=headers("VOL-05")).json()["alerts"]
    assert [a["alert_id"] for a in waiting] == [alert["alert_id"]]

    url = f"/v1/alerts/{alert['alert_id']}/acknowledge"
    body = {"unit_id": "VOL-05-E1", "responders": 3, "eta_seconds": 300}
    key = str(uuid.uuid4())
    first = http.post(url, json=body, headers=headers("VOL-05", key))
    again = http.post(url, json=body, headers=headers("VOL-05", key))  # a retry
    assert first.status_code == again.status_code == 200
    assert first.json()["responders_total"] == again.json()["responders_total"] == 3

    done = http.post(url, json={**body, "responders": 9}, headers=headers("VOL-05", "k2"))
    assert done.json()["state"] == "ACKNOWLEDGED"
    eventually(
        lambda: any(a["state"] == "ACKNOWLEDGED" for a in stream.alerts),
        what="the acknowledged state over SSE",
    )
    late = http.post(
        f"/v1/alerts/{alert['alert_id']}/decline",
        json={"unit_id": "VOL-05-E1", "reason": "too late"},
        headers=headers("VOL-05", "k3"),
    )
    assert late.status_code == 409
    assert late.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("station", "body", "key", "status", "fragment"),
    [
        (None, {"unit_id": "VOL-05-E1", "responders": 1}, "k", 401, "missing credentials"),
        ("VOL-05", {"unit_id": "VOL-05-E1", "responders": -2}, "k", 422, "responders"),
        ("VOL-05", {"unit_id": "VOL-05-E1", "responders": 1}, None, 400, "Idempotency-Key"),
        ("VOL-06", {"unit_id": "VOL-05-E1", "responders": 1}, "k", 403, "own units"),
        ("VOL-05", {"unit_id": "VOL-05-E1", "responders": 1}, "k", 404, "no alert"),
    ],
)
def test_bad_answers_get_a_problem_document_and_change_nothing(
    http: httpx.Client,
    station: str | None,
    body: dict,
    key: str | None,
    status: int,
    fragment: str,
) -> None:
    sent = headers(station, key) if station else ({"Idempotency-Key": key} if key else {})
    reply = http.post("/v1/alerts/no-such-alert/acknowledge", json=body, headers=sent)
    assert reply.status_code == status
    problem = reply.json()
    assert problem["status"] == status and fragment in problem["detail"]
    assert reply.headers["content-type"] == "application/problem+json"
