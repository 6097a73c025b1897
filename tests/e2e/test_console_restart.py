"""The console across failures, in a real browser: the edge restarted mid-session (the
page reconnects by itself, keeps its session and shows what happened meanwhile, each
event once), and the dispatch service down while a call is taken (a clear message, the
call stays in the form, and the retry takes it once)."""

from __future__ import annotations

import time
import uuid

import pytest
from playwright.sync_api import expect

from emergency.v1 import dispatch_pb2
from tests.e2e.conftest import CALL_TAKER, Clients, share_one_stack_per_module
from tests.e2e.console_pages import ConsoleApi, open_console, screenshot
from tools.stack import Stack

pytestmark = pytest.mark.e2e
stack, clients = share_one_stack_per_module()


def test_the_page_reconnects_after_an_edge_restart_and_shows_what_happened(
    browser, stack: Stack, clients: Clients
) -> None:  # type: ignore[no-untyped-def]
    page = open_console(browser, stack, "ct-01")
    before = clients.call(1).incident_id
    expect(page.locator(f"#queue-body tr[data-id='{before}']")).to_be_visible()

    stack.stop_service("edge")
    expect(page.locator("#connection.lost")).to_contain_text("数据截至")  # "data as of"
    # Meanwhile (nobody's console sees it happen): a new call, and units sent to both.
    during = clients.call(2).incident_id
    for incident, unit in ((before, "PRO-02-E1"), (during, "PRO-02-E2")):
        clients.dispatch.DispatchUnit(
            dispatch_pb2.DispatchUnitRequest(
                request_id=str(uuid.uuid4()),
                incident_id=incident,
                unit_id=unit,
                capability="engine",
            ),
            metadata=CALL_TAKER,
            timeout=10,
        )
    stack.start_service("edge")
    stack.wait_healthy(["edge"], timeout=60)

    expect(page.locator("#connection.live")).to_be_visible(timeout=30_000)
    expect(page.locator("#login")).to_be_hidden()  # the session outlived the edge
    expect(page.locator(f"#queue-body tr[data-id='{during}']")).to_be_visible()
    for unit in ("PRO-02-E1", "PRO-02-E2"):
        expect(page.locator(f"#unit-body tr[data-unit='{unit}']")).not_to_have_attribute(
            "data-status", "AVAILABLE"
        )
        expect(page.locator("#feed li[data-type='UnitDispatched']", has_text=unit)).to_have_count(1)
    expect(page.locator("#announcer")).to_contain_text("已重新连接")
    events = page.eval_on_selector_all("#feed li", "items => items.map(i => i.dataset.event)")
    assert len(events) == len(set(events))  # nothing shown twice
    screenshot(page, "console-after-edge-restart")
    assert page.errors == []


def test_a_service_down_keeps_the_call_in_the_form_and_the_retry_takes_it_once(
    browser, stack: Stack
) -> None:  # type: ignore[no-untyped-def]
    page = open_console(browser, stack, "ct-02")
    keys = page.keyboard
    keys.press("F2")
    keys.press("ArrowDown")
    keys.press("Tab")
    keys.press("Tab")
    keys.type("13812345678")
    keys.press("Tab")
    keys.type("岳麓区麓山南路1号")
    keys.press("Tab")
    keys.press("Tab")
    keys.type("28.18000")
    keys.press("Tab")
    keys.type("112.94000")

    stack.stop_service("dispatch")
    try:
        keys.press("Control+Enter")
        expect(page.locator("#intake-message")).to_contain_text("服务暂时不可用")
        assert page.eval_on_selector("#f-caller", "e => e.value") == "13812345678"
        assert page.eval_on_selector("#f-address", "e => e.value") == "岳麓区麓山南路1号"
        screenshot(page, "console-service-down")
    finally:
        stack.start_service("dispatch")
        stack.wait_healthy(["dispatch"], timeout=60)

    deadline = time.monotonic() + 30
    while page.eval_on_selector("#f-caller", "e => e.value") and time.monotonic() < deadline:
        keys.press("Control+Enter")  # the same call again: the same idempotency key
        page.wait_for_timeout(1000)
    assert page.eval_on_selector("#f-caller", "e => e.value") == ""  # taken, form cleared
    api = ConsoleApi(stack, "ct-03")
    taken = [
        i
        for i in api.get("/api/incidents").json()["incidents"]
        if i["address"] == "岳麓区麓山南路1号"
    ]
    assert len(taken) == 1
    api.close()
