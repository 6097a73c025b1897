"""The dispatch console in a real browser (Debian's chromium through Playwright) against
the services started as ``make run`` starts them: a call taken and dispatched by keyboard
alone, a duplicate linked, a volunteer's acknowledgement and a decline's re-dispatch seen
live, two consoles at once, pinyin input, a read-only user; and the console's HTTP API
refusing what it must (log-in, CSRF, idempotency, fields)."""

from __future__ import annotations

import concurrent.futures
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import share_one_stack_per_module
from tests.e2e.console_pages import ConsoleApi, open_console, screenshot, team_headers
from tools.stack import Stack

pytestmark = pytest.mark.e2e
stack, clients = share_one_stack_per_module()

SHANGHAI = ZoneInfo("Asia/Shanghai")
DOWNTOWN = ("28.19500", "112.97800")  # Wuyi Square
FIFTY_METRES_NORTH = ("28.19545", "112.97800")


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[ConsoleApi]:
    client = ConsoleApi(stack, "ct-03")
    yield client
    client.close()


def type_call(
    page, downs: int, caller: str, address: str, text: str, where: tuple[str, str]
) -> None:  # type: ignore[no-untyped-def]
    """Fill the intake form with the keyboard alone, in its tab order."""
    keys = page.keyboard
    keys.press("F2")  # the incident type
    for _ in range(downs):
        keys.press("ArrowDown")
    keys.press("Tab")  # the source: a phone call, as it is
    keys.press("Tab")
    keys.type(caller)
    keys.press("Tab")
    keys.type(address)
    keys.press("Tab")
    keys.type(text)
    keys.press("Tab")
    keys.type(where[0])
    keys.press("Tab")
    keys.type(where[1])


def command(page, line: str) -> None:  # type: ignore[no-untyped-def]
    """Run a line on the console's command line (it closes itself after a success)."""
    expect(page.locator("#command")).to_be_hidden()
    page.keyboard.press("/")
    expect(page.locator("#command-input")).to_be_focused()
    page.keyboard.type(line)
    page.keyboard.press("Enter")


def waiting_alert(http: httpx.Client, station: str, unit: str) -> dict:
    def found() -> dict | None:
        alerts = http.get("/v1/alerts", headers=team_headers(station)).json()["alerts"]
        return next((a for a in alerts if a["unit_id"] == unit), None)

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        alert = found()
        if alert:
            return alert
        time.sleep(0.1)
    raise AssertionError(f"no alert for {unit} reached team {station}")


def test_a_call_taker_takes_and_dispatches_a_call_by_keyboard_alone(
    browser, stack: Stack, api: ConsoleApi
) -> None:  # type: ignore[no-untyped-def]
    page = open_console(browser, stack, "ct-01")
    # --- a high-rise fire, typed: type, source, caller, address (Chinese), what, where
    type_call(page, 2, "13912345678", "五一广场大厦18楼", "18楼冒烟，有人被困", DOWNTOWN)
    assert page.eval_on_selector("#f-type", "e => e.value") == "high_rise_fire"
    page.keyboard.press("Control+Enter")
    expect(page.locator("#rec-list li").first).to_be_visible()
    expect(page.locator("#dispatch-all")).to_be_focused()  # one key sends it all
    incident_id = page.locator("#queue-body tr.selected").get_attribute("data-id")
    assert incident_id

    # --- a second call 50 m away: offered as a duplicate before it is submitted; one key links it
    type_call(page, 2, "13800001111", "五一广场大厦北门", "看到大楼冒烟", FIFTY_METRES_NORTH)
    offered = page.locator(f"#dup-list li[data-id='{incident_id}']")
    expect(offered).to_be_visible()
    expect(offered).to_contain_text("米")  # the distance, in metres
    page.keyboard.press("Alt+L")
    expect(page.locator("#intake-message")).to_contain_text(incident_id[:8])
    assert len(api.get(f"/api/incidents/{incident_id}").json()["call_ids"]) == 2
    assert page.locator("#queue-body tr[data-id]").count() == 1  # linked: no second incident

    # --- the recommendation, dispatched with one key
    picks = page.locator("#rec-list li").count()
    page.keyboard.press("Alt+D")
    expect(page.locator("#rec-list .outcome-dispatched")).to_have_count(picks)
    row = page.locator(f"#queue-body tr[data-id='{incident_id}']")
    expect(row.locator(".call-clock")).to_contain_text("✓")  # the call clock stopped
    screenshot(page, "console-dispatched")

    # times are Shanghai's although the browser runs in New York
    opened = api.get(f"/api/incidents/{incident_id}").json()["opened_at"]
    shanghai = datetime.fromisoformat(opened.replace("Z", "+00:00")).astimezone(SHANGHAI)
    expect(page.locator("#incident-facts")).to_contain_text(shanghai.strftime("%H:%M:%S"))

    # --- a volunteer unit, sent from the command line, acknowledged by its team over HTTP
    command(page, "d VOL-03-E1")
    volunteer = page.locator("#incident-units li[data-unit='VOL-03-E1']")
    expect(volunteer).to_contain_text("已通知")  # alerted
    expect(row.locator(".alert-clock")).not_to_be_empty()  # the countdown to its deadline
    http = api.http
    alert = waiting_alert(http, "VOL-03", "VOL-03-E1")
    reply = http.post(
        f"/v1/alerts/{alert['alert_id']}/acknowledge",
        json={"unit_id": "VOL-03-E1", "responders": 5, "eta_seconds": 420},
        headers=team_headers("VOL-03"),
    )
    assert reply.status_code == 200, reply.text
    expect(volunteer).to_contain_text("已确认")  # acknowledged, live
    expect(page.locator("#unit-body tr[data-unit='VOL-03-E1']")).to_have_attribute(
        "data-status", "ACKNOWLEDGED"
    )

    # --- another declines: the decline and the automatic re-dispatch appear at once
    command(page, "d VOL-04-E1")
    expect(page.locator("#incident-units li[data-unit='VOL-04-E1']")).to_contain_text("已通知")
    alert = waiting_alert(http, "VOL-04", "VOL-04-E1")
    reply = http.post(
        f"/v1/alerts/{alert['alert_id']}/decline",
        json={"unit_id": "VOL-04-E1", "reason": "人手不足"},
        headers=team_headers("VOL-04"),
    )
    assert reply.status_code == 200, reply.text
    expect(page.locator("#feed li[data-type='AlertDeclined']").first).to_contain_text("VOL-04-E1")
    redispatch = page.locator("#feed li[data-type='UnitDispatched']", has_text="替换 VOL-04-E1")
    expect(redispatch).to_be_visible()
    expect(page.locator("#incident-units li[data-unit='VOL-04-E1']")).to_contain_text("已拒绝")
    expect(page.locator("#announcer")).to_contain_text("VOL-04-E1")  # said, not only shown
    expect(page.locator("#command")).to_be_hidden()
    screenshot(page, "console-redispatched")
    assert page.errors == []


def test_two_consoles_see_each_others_dispatch_within_a_second(
    browser, stack: Stack, api: ConsoleApi
) -> None:  # type: ignore[no-untyped-def]
    first = open_console(browser, stack, "ct-02")
    second = open_console(browser, stack, "cmd-01")
    incident_id = api.post(
        "/api/calls",
        {
            "incident_type": "residential_fire",
            "caller_number": "13700000000",
            "address": "芙蓉路1号",
            "location": {"latitude": 28.20, "longitude": 113.00},
        },
    ).json()["incident_id"]
    for page in (first, second):
        expect(page.locator(f"#queue-body tr[data-id='{incident_id}']")).to_be_visible()

    for actor, watcher, unit in ((first, second, "PRO-02-E1"), (second, first, "PRO-02-E2")):
        command(actor, f"d {unit} {incident_id[:8]}")
        expect(actor.locator("#command-output")).to_contain_text("已派出")
        seen = time.monotonic()
        watcher.wait_for_selector(
            f"#unit-body tr[data-unit='{unit}']:not([data-status='AVAILABLE'])", timeout=1000
        )
        assert time.monotonic() - seen < 1.0
    screenshot(second, "console-second-screen")


def test_enter_while_composing_pinyin_never_submits(browser, stack: Stack) -> None:  # type: ignore[no-untyped-def]
    page = open_console(browser, stack, "ct-03")
    posted: list[str] = []  # calls taken (duplicates are asked for as the form fills: not these)
    page.on("request", lambda r: posted.append(r.url) if r.url.endswith("/api/calls") else None)
    keys = page.keyboard
    keys.press("F2")
    keys.press("ArrowDown")  # a residential fire
    for _ in range(2):
        keys.press("Tab")
    keys.type("13600000000")
    keys.press("Tab")  # the address: typed with a pinyin input method
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.imeSetComposition", {"text": "wuyi", "selectionStart": 4, "selectionEnd": 4})
    keys.press("Enter")  # confirms the composition (isComposing): must not submit
    cdp.send(
        "Input.imeSetComposition", {"text": "guangchang", "selectionStart": 10, "selectionEnd": 10}
    )
    keys.press("Control+Enter")  # not even Ctrl+Enter while composing
    cdp.send("Input.insertText", {"text": "五一广场"})  # the characters chosen
    keys.press("Enter")  # a plain Enter in a field does nothing either
    page.wait_for_timeout(500)
    assert posted == []
    assert page.eval_on_selector("#f-address", "e => e.value").endswith("五一广场")
    keys.press("Control+Enter")  # now, and only now, the call goes in
    page.wait_for_function("() => document.querySelector('#f-address').value === ''")
    assert any(url.endswith("/api/calls") for url in posted)


def test_a_read_only_user_cannot_dispatch(browser, stack: Stack, api: ConsoleApi) -> None:  # type: ignore[no-untyped-def]
    incident_id = api.post(
        "/api/calls",
        {
            "incident_type": "vehicle_fire",
            "caller_number": "13500000000",
            "location": {"latitude": 28.21, "longitude": 112.99},
        },
    ).json()["incident_id"]
    page = open_console(browser, stack, "sup-01")
    expect(page.locator("#whoami")).to_contain_text("只读")
    page.locator(f"#queue-body tr[data-id='{incident_id}']").click()
    expect(page.locator("#incident-facts")).to_be_visible()
    assert page.locator("#incident-body .actions").count() == 0  # no action is offered
    command(page, f"d PRO-04-E1 {incident_id[:8]}")
    expect(page.locator("#command-output")).to_contain_text("sup-01")  # refused, and why
    supervisor = ConsoleApi(stack, "sup-01")
    refused = supervisor.post(f"/api/incidents/{incident_id}/dispatch", {"unit_id": "PRO-04-E1"})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    units = api.get("/api/units", station="PRO-04").json()["units"]
    assert {u["status"] for u in units} == {"AVAILABLE"}  # nothing was written
    assert api.get(f"/api/incidents/{incident_id}").json()["dispatched_unit_ids"] == []
    supervisor.close()


def test_an_ended_session_returns_the_page_to_the_log_in(
    browser, stack: Stack, api: ConsoleApi
) -> None:  # type: ignore[no-untyped-def]
    page = open_console(browser, stack, "cmd-02")
    incident_id = api.post(
        "/api/calls",
        {
            "incident_type": "field_fire",
            "caller_number": "13300000000",
            "location": {"latitude": 28.22, "longitude": 112.95},
        },
    ).json()["incident_id"]
    expect(page.locator(f"#queue-body tr[data-id='{incident_id}']")).to_be_visible()
    cookie = {c["name"]: c["value"] for c in page.context.cookies()}["uc_session"]
    with httpx.Client(
        base_url=f"http://{stack.address('edge')}", cookies={"uc_session": cookie}
    ) as same_session:
        csrf = same_session.get("/api/session").json()["csrf_token"]
        assert (
            same_session.delete("/api/session", headers={"X-CSRF-Token": csrf}).status_code == 200
        )
        assert same_session.get("/api/board").status_code == 401
    command(page, f"d PRO-05-E1 {incident_id[:8]}")  # the next request finds no session
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#login-message")).to_contain_text("会话已结束")


# --- the HTTP API's refusals -------------------------------------------------------------


def test_a_wrong_password_and_an_unknown_user_get_the_same_401_then_a_delay(stack: Stack) -> None:
    with httpx.Client(base_url=f"http://{stack.address('edge')}", timeout=30) as http:
        wrong = http.post("/api/session", json={"username": "ct-02", "password": "nope"})
        nobody = http.post("/api/session", json={"username": "ghost", "password": "nope"})
        assert wrong.status_code == nobody.status_code == 401
        assert wrong.json() == nobody.json()
        assert wrong.headers["content-type"] == "application/problem+json"
        for _ in range(2):
            http.post("/api/session", json={"username": "ghost", "password": "nope"})
        started = time.monotonic()
        http.post("/api/session", json={"username": "ghost", "password": "nope"})
        assert time.monotonic() - started >= 1.0  # the fourth failure waits


def test_the_session_cookie_is_httponly_strict_and_ends_at_log_out(stack: Stack) -> None:
    with httpx.Client(base_url=f"http://{stack.address('edge')}") as http:
        reply = http.post("/api/session", json={"username": "ct-02", "password": "demo-ct-02"})
        cookie = reply.headers["set-cookie"].lower()
        for flag in ("httponly", "samesite=strict", "path=/", "max-age="):
            assert flag in cookie
        csrf = reply.json()["csrf_token"]
        assert http.delete("/api/session").status_code == 403  # a write: CSRF needed
        assert http.delete("/api/session", headers={"X-CSRF-Token": csrf}).status_code == 200
        assert http.get("/api/session").status_code == 401


def test_writes_need_the_csrf_token_and_an_idempotency_key(stack: Stack, api: ConsoleApi) -> None:
    body = {
        "incident_type": "field_fire",
        "caller_number": "13900000000",
        "location": {"latitude": 28.3, "longitude": 112.9},
    }
    no_csrf = api.http.post("/api/calls", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert no_csrf.status_code == 403 and no_csrf.json()["errors"][0]["field"] == "X-CSRF-Token"
    no_key = api.http.post("/api/calls", json=body, headers={"X-CSRF-Token": api.csrf})
    assert no_key.status_code == 422
    assert [e["field"] for e in no_key.json()["errors"]] == ["Idempotency-Key"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"incident_type": "alien_landing"}, "incident_type"),
        ({"caller_number": ""}, "caller_number"),
        ({"caller_number": "call me maybe"}, "caller_number"),
        ({"location": {"latitude": 95, "longitude": 112.9}}, "location.latitude"),
        ({"location": {"latitude": True, "longitude": True}}, "location.latitude"),
        ({"location": {"latitude": "28.3", "longitude": 112.9}}, "location.latitude"),
        ({"location": {"latitude": 40.0, "longitude": 116.4}}, "location"),  # Beijing
        ({"location": None, "address": ""}, "location"),
        ({"description": "x" * 2001}, "description"),
        ({"source": "PIGEON"}, "source"),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_written(
    stack: Stack, api: ConsoleApi, change: dict, field: str
) -> None:
    before = len(api.get("/api/incidents").json()["incidents"])
    body = {
        "incident_type": "field_fire",
        "caller_number": "13900000000",
        "location": {"latitude": 28.3, "longitude": 112.9},
        **change,
    }
    reply = api.post("/api/calls", body)
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in reply.json()["errors"]]
    time.sleep(0.3)
    assert len(api.get("/api/incidents").json()["incidents"]) == before


def test_a_double_click_dispatches_once(stack: Stack, api: ConsoleApi) -> None:
    incident_id = api.post(
        "/api/calls",
        {
            "incident_type": "residential_fire",
            "caller_number": "13400000000",
            "location": {"latitude": 28.25, "longitude": 112.99},
        },
    ).json()["incident_id"]
    key = str(uuid.uuid4())
    # a county team's units: no other test (nor any automatic re-dispatch) takes them
    body = {
        "picks": [
            {"unit_id": "GOV-07-E1", "capability": "engine"},
            {"unit_id": "GOV-07-T1", "capability": "water_tanker"},
        ]
    }
    path = f"/api/incidents/{incident_id}/dispatch-recommendation"
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda _: api.post(path, body, key), range(2)))
    assert [r.status_code for r in replies] == [200, 200], [r.text for r in replies]
    again = api.post(path, body, key)  # a retry later
    assert again.status_code == 200
    incident = api.get(f"/api/incidents/{incident_id}").json()
    assert sorted(incident["dispatched_unit_ids"]) == ["GOV-07-E1", "GOV-07-T1"]
