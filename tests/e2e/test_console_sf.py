"""The console on the San Francisco jurisdiction (``make run JURISDICTION=san-francisco``
starts the same): the city's name and zone in the header, the map on San Francisco's
stations with OpenStreetMap's notice, times in America/Los_Angeles whatever the browser's
zone, a call taken and dispatched by keyboard with SF engines recommended, and imported
history kept off the live queue; the 5-minute circle drawn as a layer with the engines
just sent taken out. Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from emergency.v1 import common_pb2, dispatch_pb2
from services.common.config import CONFIG_DIR
from services.common.envelope import timestamp
from tests.e2e.conftest import ADMIN, Clients, running_stack
from tests.e2e.console_pages import ConsoleApi, open_console, screenshot
from tests.e2e.test_console import type_call
from tools.stack import Stack

pytestmark = pytest.mark.e2e
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
LONE_MOUNTAIN = ("37.77750", "-122.45170")  # near the University of San Francisco


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {"UC_JURISDICTION_FILE": str(CONFIG_DIR / "jurisdiction" / "san-francisco.yaml")}
    with running_stack(tmp_path_factory.mktemp("sf-console") / "var", env) as running:
        yield running


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[ConsoleApi]:
    client = ConsoleApi(stack, "ct-02")
    yield client
    client.close()


def import_one_fire(stack: Stack) -> str:
    """A 2009 fire imported into the record (history: it must not reach the queue)."""
    clients = Clients(stack)
    try:
        received = 1_231_626_961_000_000  # 2009-01-10 22:36:01 UTC
        reply = clients.dispatch.ImportHistoricalIncident(
            dispatch_pb2.ImportHistoricalIncidentRequest(
                source="sf-calls-for-service",
                file_name="console-test.csv",
                source_incident_id="09002955",
                source_incident_type="Outside Fire",
                incident_type="field_fire",
                location=common_pb2.GeoPoint(latitude=37.775086, longitude=-122.444593),
                district="SF-21",
                received_at=timestamp(received),
                units=[
                    dispatch_pb2.HistoricalUnit(
                        unit_id="E21",
                        unit_type="ENGINE",
                        capability="engine",
                        dispatched_at=timestamp(received + 81_000_000),
                        en_route_at=timestamp(received + 151_000_000),
                        on_scene_at=timestamp(received + 310_000_000),
                        available_at=timestamp(received + 354_000_000),
                    )
                ],
            ),
            metadata=ADMIN,
            timeout=30,
        )
        assert reply.imported
        return reply.incident_id
    finally:
        clients.close()


def test_the_console_runs_on_san_francisco(browser, stack: Stack, api: ConsoleApi) -> None:  # type: ignore[no-untyped-def]
    history = import_one_fire(stack)
    config = api.get("/api/config").json()["jurisdiction"]
    assert config["name"] == "San Francisco" and config["time_zone"] == "America/Los_Angeles"
    assert "OpenStreetMap" in config["attribution"]

    # the browser in Shanghai: the page must still show San Francisco's time
    page = open_console(browser, stack, "ct-01", timezone="Asia/Shanghai")
    expect(page.locator("#jurisdiction")).to_have_text("San Francisco · America/Los_Angeles")
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("OpenStreetMap")
    # the map opens on the city: its 45 stations drawn, nearly all inside the view
    stations = page.locator(".station-icon")
    expect(stations).to_have_count(45)
    inside = page.evaluate(
        """() => {
          const box = document.getElementById('map').getBoundingClientRect()
          return [...document.querySelectorAll('.station-icon')].filter((s) => {
            const r = s.getBoundingClientRect()
            return r.left >= box.left && r.right <= box.right && r.top >= box.top
              && r.bottom <= box.bottom
          }).length
        }"""
    )
    assert inside >= 40, f"only {inside} of 45 stations in the map's first view"

    # a structure fire near Lone Mountain, typed and dispatched from the keyboard
    type_call(page, 1, "4155550100", "2130 Fulton St", "smoke from the roof", LONE_MOUNTAIN)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#rec-list li").first).to_be_visible()
    expect(page.locator("#rec-list")).to_contain_text("E21")  # the engine next door
    page.keyboard.press("Alt+D")
    expect(page.locator("#rec-list .outcome-dispatched").first).to_be_visible()
    incident_id = page.locator("#queue-body tr.selected").get_attribute("data-id")
    assert incident_id and incident_id != history
    # the queue holds the new call only: imported history is in the record, not live
    expect(page.locator("#queue-body tr[data-id]")).to_have_count(1)

    opened = api.get(f"/api/incidents/{incident_id}").json()["opened_at"]
    local = datetime.fromisoformat(opened.replace("Z", "+00:00")).astimezone(LOS_ANGELES)
    expect(page.locator("#incident-facts")).to_contain_text(local.strftime("%H:%M:%S"))
    screenshot(page, "console-san-francisco")

    # the 5-minute circle as a layer (Alt+C): the engines just sent are out of it
    coverage = api.get("/api/coverage").json()
    sent = set(
        page.locator("#incident-units li[data-unit]").evaluate_all(
            "items => items.map((i) => i.dataset.unit)"
        )
    )
    assert {u for u in sent if u.startswith("E")} <= set(coverage["committed_unit_ids"])
    assert coverage["capable_units"] == 44 and coverage["cell_m"] == 250
    assert coverage["share_now"] <= coverage["share_all"]
    assert len(coverage["latitudes"]) == len(coverage["covered"]) > 1000
    page.keyboard.press("Alt+C")
    expect(page.locator("#coverage-toggle")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#coverage-summary")).to_contain_text(f"{100 * coverage['share_all']:.1f}%")
    expect(page.locator("path.coverage-reached")).to_have_count(1)
    if not all(coverage["covered"]):
        expect(page.locator("path.coverage-gap")).to_have_count(1)
    if coverage.get("move_up"):
        expect(page.locator("#coverage-summary")).to_contain_text(coverage["move_up"]["unit_id"])
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("OpenStreetMap")
    screenshot(page, "console-san-francisco-coverage")
    page.keyboard.press("Alt+C")  # off again: the layer goes
    expect(page.locator("path.coverage-reached")).to_have_count(0)
    assert not page.errors  # type: ignore[attr-defined]
    page.context.close()
