"""The console page's own features in a real browser (Debian's chromium through
Playwright), each checked as a call taker sees it: nothing fetched from anywhere but the
edge, the English switch and back, day and night themes at WCAG AA contrast, the map
(boundary, stations, units by shape and text, incidents; never moved by updates), the
unit board (counts, filters, an unknown status not available), the call-to-dispatch clock
and the alert countdown (on a fast-forwarded clock), the sound armed by a click and the
aria-live announcements, the command line, the incident view's unified-command actions,
and times in Asia/Shanghai's 24-hour form in a browser that runs in New York."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
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
WAIT = 30_000  # ms: the machine is shared; expectations poll, they never sleep
CJK = re.compile(r"[\u3400-\u9fff]")

# Every visible text (and form value or placeholder) against what is really behind it:
# the nearest opaque background, with the translucent ones above it blended in. Large text
# (24 px, or 18.66 px bold) needs 3:1, the rest 4.5:1 (WCAG 2.2 AA, 1.4.3). Disabled
# controls are exempt, as WCAG exempts them.
CONTRAST_JS = """() => {
  const parse = (value) => {
    const m = value.match(/rgba?\\(([^)]+)\\)/)
    if (!m) return null
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number)
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]
  }
  const over = (top, under) =>
    [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1)
  const backdrop = (node) => {
    const layers = []
    for (let n = node; n; n = n.parentElement) {
      const bg = parse(getComputedStyle(n).backgroundColor)
      if (bg && bg[3] > 0) {
        layers.push(bg)
        if (bg[3] >= 1) break
      }
    }
    let colour = [255, 255, 255, 1]
    for (const layer of layers.reverse()) colour = over(layer, colour)
    return colour
  }
  const luminance = (rgb) => {
    const [r, g, b] = rgb.slice(0, 3).map((v) => {
      const s = v / 255
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
    })
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
  }
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x)
    return (hi + 0.05) / (lo + 0.05)
  }
  const checked = []
  const failures = []
  for (const node of document.body.querySelectorAll('*')) {
    if (node.closest('.sr-only, option, script, style, [hidden]')) continue
    if (node.disabled) continue
    let text = ''
    let colour = getComputedStyle(node).color
    if (node.tagName === 'SELECT') text = node.selectedOptions[0]?.textContent || ''
    else if (node.tagName === 'INPUT' || node.tagName === 'TEXTAREA') {
      text = node.value
      if (!text && node.placeholder) {
        text = node.placeholder
        colour = getComputedStyle(node, '::placeholder').color
      }
    } else {
      text = [...node.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('')
    }
    text = text.trim()
    if (!text) continue
    const box = node.getBoundingClientRect()
    if (box.width < 2 || box.height < 2 || box.right <= 0 || box.bottom <= 0) continue
    if (box.left >= innerWidth || box.top >= innerHeight) continue
    if (!node.checkVisibility({ checkOpacity: true, visibilityProperty: true })) continue
    const style = getComputedStyle(node)
    const bg = backdrop(node)
    const fg = over(parse(colour), bg)
    const size = parseFloat(style.fontSize)
    const large = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66)
    const needed = large ? 3 : 4.5
    const found = ratio(fg, bg)
    const classes = typeof node.className === 'string' ? node.className.trim() : ''
    const where = node.id ? '#' + node.id
      : node.tagName.toLowerCase() + (classes ? '.' + classes.replace(/\\s+/g, '.') : '')
    checked.push(where)
    if (found < needed) {
      const behind = 'rgb(' + bg.slice(0, 3).map(Math.round).join(',') + ')'
      const rounded = Math.round(found * 100) / 100
      failures.push({ where, text: text.slice(0, 40), ratio: rounded, needed, fg: colour,
        bg: behind })
    }
  }
  return { checked: checked.length, kinds: [...new Set(checked)], failures }
}"""


# The theme's colour pairs for text, whether or not the page shows each one right now (a
# lost connection, an alert's countdown, a refused dispatch, a selected row).
PALETTE_JS = """() => {
  const css = getComputedStyle(document.documentElement)
  const probe = document.createElement('span')
  document.body.append(probe)
  const rgb = (name) => {
    probe.style.color = css.getPropertyValue(name).trim()
    return getComputedStyle(probe).color.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number)
  }
  const luminance = (c) => {
    const [r, g, b] = c.map((v) => {
      const s = v / 255
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
    })
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
  }
  const pairs = [
    ['--text', '--panel'], ['--text', '--bg'], ['--muted', '--panel'], ['--muted', '--bg'],
    ['--accent-text', '--accent'], ['--warn-text', '--warn-bg'], ['--danger-text', '--danger-bg'],
    ['--ok-text', '--ok-bg'], ['--text', '--row-selected'], ['--muted', '--row-selected'],
  ]
  const found = pairs.map(([fg, bg]) => {
    const [hi, lo] = [luminance(rgb(fg)), luminance(rgb(bg))].sort((x, y) => y - x)
    return [fg + ' on ' + bg, Math.round(((hi + 0.05) / (lo + 0.05)) * 100) / 100]
  })
  probe.remove()
  return found
}"""


def palette_failures(page: Any) -> list[tuple[str, float]]:
    found = page.evaluate(PALETTE_JS)
    assert len(found) == 10 and found[0][1] > 10, found  # measured: text on panel is ~16:1
    return [(pair, ratio) for pair, ratio in found if ratio < 4.5]


@pytest.fixture(scope="module", autouse=True)
def patient_expectations() -> Iterator[None]:
    """Every expectation of this module waits up to WAIT (the default is 5 s)."""
    expect.set_options(timeout=WAIT)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture(autouse=True)
def close_pages(browser) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Each test's pages are closed after it: an open page keeps drawing and listening."""
    before = set(browser.contexts)
    yield
    for context in set(browser.contexts) - before:
        context.close()


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[ConsoleApi]:
    client = ConsoleApi(stack, "ct-03")
    yield client
    client.close()


def new_incident(
    api: ConsoleApi, where: tuple[float, float], kind: str = "residential_fire", address: str = ""
) -> str:
    reply = api.post(
        "/api/calls",
        {
            "incident_type": kind,
            "caller_number": "13812340000",
            "address": address or f"测试路{uuid.uuid4().hex[:4]}号",
            "location": {"latitude": where[0], "longitude": where[1]},
        },
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["incident_id"])


def dispatch(api: ConsoleApi, incident_id: str, unit: str, capability: str = "engine") -> None:
    reply = api.post(
        f"/api/incidents/{incident_id}/dispatch", {"unit_id": unit, "capability": capability}
    )
    assert reply.status_code == 200, reply.text


def waiting_alert(http: httpx.Client, station: str, unit: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        alerts = http.get("/v1/alerts", headers=team_headers(station)).json()["alerts"]
        found = next((a for a in alerts if a["unit_id"] == unit), None)
        if found:
            return dict(found)
        time.sleep(0.2)
    raise AssertionError(f"no alert for {unit} reached team {station}")


def command(page: Any, line: str) -> None:
    """Type a line on the command line (`/` opens it) and run it."""
    expect(page.locator("#command")).to_be_hidden(timeout=WAIT)
    page.keyboard.press("/")
    expect(page.locator("#command-input")).to_be_focused()
    page.keyboard.type(line)
    page.keyboard.press("Enter")


def contrast_failures(page: Any) -> tuple[int, list[dict[str, Any]]]:
    result = page.evaluate(CONTRAST_JS)
    return int(result["checked"]), list(result["failures"])


def settled_view(page: Any) -> list[float]:
    """The map's [lat, lon, zoom] once it has stopped moving (pans and zooms animate)."""
    before = page.evaluate("window.ucView()")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        page.wait_for_timeout(400)
        now = page.evaluate("window.ucView()")
        if now == before:
            return list(now)
        before = now
    raise AssertionError("the map never stopped moving")


# --- no CDN ------------------------------------------------------------------------------


def test_every_request_the_page_makes_goes_to_the_edge_itself(browser, stack: Stack) -> None:  # type: ignore[no-untyped-def]
    requested: list[str] = []

    def record(page: Any) -> None:
        page.on("request", lambda request: requested.append(request.url))

    page = open_console(browser, stack, "ct-01", before_load=record)
    # what else loads fonts, styles and scripts: the other language, the other theme, help
    page.locator("header .lang-switch").click()
    expect(page.locator("h1[data-i18n=title]")).to_have_text("119 Dispatch Console")
    page.locator("#theme-button").click()
    page.keyboard.press("F1")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("Escape")
    page.wait_for_function("document.fonts.status === 'loaded'", timeout=WAIT)

    edge = f"http://{stack.address('edge')}"
    assert requested, "no request was recorded"
    elsewhere = [u for u in requested if not u.startswith("data:") and _origin(u) != edge]
    assert elsewhere == [], f"requests left the edge: {elsewhere}"
    # the scripts, styles and the font are the edge's own copies, and really used
    paths = {urlsplit(u).path for u in requested}
    assert "/console/vendor/leaflet/leaflet.js" in paths
    assert any(p.startswith("/console/vendor/noto-sans-sc/files/") for p in paths)
    assert page.evaluate("document.fonts.check('16px \"Noto Sans SC\"', '接警')")
    assert page.errors == []


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# --- language ----------------------------------------------------------------------------


def test_the_language_switches_to_english_and_back_to_chinese(
    browser, stack: Stack, api: ConsoleApi
) -> None:  # type: ignore[no-untyped-def]
    page = open_console(browser, stack, "ct-02")
    incident_id = new_incident(api, (28.140, 113.030), address="芙蓉中路88号")  # in the feed
    row = page.locator(f"#queue-body tr[data-id='{incident_id}']")
    row.click()
    expect(page.locator("#incident-facts")).to_contain_text("住宅火灾")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

    page.locator("header .lang-switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1[data-i18n=title]")).to_have_text("119 Dispatch Console")
    expect(page.locator("header .lang-switch")).to_have_text("中文")  # the way back
    expect(page.locator("#queue-table th").first).to_have_text("Level")
    expect(row).to_contain_text("residential fire")
    expect(row).to_contain_text("芙蓉中路88号")  # data stays as it was typed
    expect(page.locator("#unit-counts [data-count=available]")).to_contain_text("available")
    expect(page.locator("#unit-body tr[data-status=AVAILABLE] td").nth(1).first).to_have_text(
        re.compile(r"available$")
    )
    # the open incident, the filters and the intake's choices follow the switch too
    expect(page.locator("#incident-facts")).to_contain_text("residential fire")
    expect(page.locator("#incident-body .actions [data-action=raise]")).to_have_text("Raise")
    created = page.locator("#feed li[data-type='IncidentCreated']", has_text="芙蓉中路88号")
    expect(created).to_contain_text("incident opened: residential fire")
    expect(page.locator("#map .incident-icon").first).to_contain_text("residential fire")
    # nothing of the page's own wording is left in Chinese (names and addresses are data)
    chrome = page.evaluate(
        """() => [...document.querySelectorAll(
              '[data-i18n], #queue-table th, #unit-table th, #unit-counts span, '
              + '#incident-facts dt, #incident-body .actions button, #incident-body h3, '
              + '.filters option, #f-type option, #f-source option, #theme-button, #connection')]
            .map((e) => e.textContent.trim()).filter(Boolean)"""
    )
    chinese = [text for text in chrome if CJK.search(text) and text != "中文"]
    assert chinese == [], f"still in Chinese after the switch to English: {chinese}"
    screenshot(page, "console-english")

    page.reload()  # the choice is kept
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    expect(page.locator("h1[data-i18n=title]")).to_have_text("119 Dispatch Console")

    page.locator("header .lang-switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1[data-i18n=title]")).to_have_text("119 接处警调度台")
    expect(page.locator("#queue-table th").first).to_have_text("等级")
    expect(page.locator(f"#queue-body tr[data-id='{incident_id}']")).to_contain_text("住宅火灾")
    expect(page.locator("#unit-counts [data-count=available]")).to_contain_text("可用")
    expect(page.locator("header .lang-switch")).to_have_text("English")
    assert page.errors == []


# --- themes and contrast -----------------------------------------------------------------


def test_day_and_night_themes_both_keep_text_at_wcag_aa_contrast(
    browser, stack: Stack, api: ConsoleApi
) -> None:  # type: ignore[no-untyped-def]
    incident_id = new_incident(api, (28.150, 113.010))
    late = new_incident(api, (28.152, 113.012))
    dispatch(api, incident_id, "PRO-05-E2")

    def fake_clock(page: Any) -> None:
        page.clock.install()

    page = open_console(browser, stack, "ct-01", before_load=fake_clock)
    # what a shift shows: a late call (danger), a dispatched one (ok), the incident view,
    # a refused command (error), the feed, the unit board with busy units
    page.clock.fast_forward("01:30")
    expect(page.locator(f"#queue-body tr[data-id='{late}'] .call-clock.danger")).to_be_visible(
        timeout=WAIT
    )
    page.locator(f"#queue-body tr[data-id='{incident_id}']").click()
    expect(page.locator("#incident-units li[data-unit='PRO-05-E2']")).to_be_visible(timeout=WAIT)
    page.keyboard.press("/")
    page.keyboard.type("xyz")
    page.keyboard.press("Enter")
    expect(page.locator("#command-output.error")).to_be_visible()

    html = page.locator("html")
    expect(html).to_have_attribute("data-theme", "day")
    checked, failures = contrast_failures(page)
    screenshot(page, "console-day-theme")
    assert checked > 100  # the whole page was measured, not a corner of it
    assert failures == [], f"day theme below WCAG AA: {failures}"
    assert palette_failures(page) == []

    page.keyboard.press("Escape")  # the command line closes; Alt+T is the theme's key
    expect(page.locator("#command")).to_be_hidden()
    page.keyboard.press("Alt+T")
    expect(html).to_have_attribute("data-theme", "night")
    expect(page.locator("#theme-button")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#theme-button")).to_have_text("日间")  # the way back
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 16, 20)", background  # dark, not the day's grey
    page.keyboard.press("/")
    page.keyboard.type("xyz")
    page.keyboard.press("Enter")
    expect(page.locator("#command-output.error")).to_be_visible()
    checked, failures = contrast_failures(page)
    screenshot(page, "console-night-theme")
    assert checked > 100
    assert failures == [], f"night theme below WCAG AA: {failures}"
    assert palette_failures(page) == []

    page.keyboard.press("Escape")
    page.reload()  # a night shift keeps its theme
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    expect(html).to_have_attribute("data-theme", "night")
    page.locator("#theme-button").click()
    expect(html).to_have_attribute("data-theme", "day")
    expect(page.locator("#theme-button")).to_have_attribute("aria-pressed", "false")
    assert page.errors == []


# --- the map -----------------------------------------------------------------------------


def test_the_map_draws_its_layers_and_never_moves_under_the_user(
    browser, stack: Stack, api: ConsoleApi
) -> None:  # type: ignore[no-untyped-def]
    page = open_console(browser, stack, "ct-02")
    layers = api.get("/api/map").json()["features"]
    stations = [f for f in layers if f["properties"]["kind"] == "station"]
    expect(page.locator("#map path.boundary")).to_have_count(1)
    expect(page.locator("#map .station-icon")).to_have_count(len(stations))
    assert page.locator("#map .station-icon[title^='PRO-01 ']").count() == 1
    # every unit free to go is an open circle; as many as the board says are available
    page.wait_for_function(
        """() => document.querySelectorAll('#map path.unit-idle').length ===
             document.querySelectorAll(
               '#unit-body tr[data-status=AVAILABLE], #unit-body tr[data-status=RETURNING]').length
             && document.querySelectorAll('#map path.unit-idle').length > 200""",
        timeout=WAIT,
    )

    # the user positions the map with the keyboard: pans and zooms out
    start = settled_view(page)
    page.locator("#map").focus()
    for key in ("ArrowLeft", "ArrowLeft", "ArrowUp", "-"):
        page.keyboard.press(key)
    page.wait_for_function(
        "(start) => JSON.stringify(window.ucView()) !== JSON.stringify(start)", arg=start
    )
    positioned = settled_view(page)
    assert positioned != start

    # meanwhile, elsewhere: a new incident and a unit sent to it
    incident_id = new_incident(api, (28.100, 113.120), address="东风路5号")
    dispatch(api, incident_id, "GOV-08-E1")
    marker = page.locator("#map .unit-icon", has_text="GOV-08-E1")
    # a busy unit: its shape, id and status in words (not colour alone)
    expect(marker).to_have_text(
        re.compile(r"^▲ GOV-08-E1 (已预占|已通知|已确认|途中)$"), timeout=WAIT
    )
    # an incident: its type and alarm level, titled with its address
    expect(page.locator("#map .incident-icon[title='东风路5号']")).to_have_text("▼ 住宅火灾 1")
    reply = api.post("/api/units/GOV-08-E1/status", {"status": "EN_ROUTE"})
    assert reply.status_code == 200, reply.text
    reply = api.post("/api/units/GOV-08-E1/status", {"status": "ON_SCENE"})
    assert reply.status_code == 200, reply.text
    expect(marker).to_have_text("■ GOV-08-E1 到场", timeout=WAIT)  # on scene: another shape
    expect(page.locator("#unit-body tr[data-unit='GOV-08-E1'] td").nth(1)).to_have_text("■到场")
    screenshot(page, "console-map")
    assert settled_view(page) == positioned, "a background update moved the map"
    assert page.errors == []


LABEL_OVERLAPS = """(names) => {
  const labels = [...document.querySelectorAll('#map .unit-icon span, #map .incident-icon')]
    .filter((node) => names.some((name) => node.textContent.includes(name) || node.title === name))
    .map((node) => [node.title || node.textContent, node.getBoundingClientRect()])
  const overlaps = []
  labels.forEach(([a, ra], i) => labels.slice(i + 1).forEach(([b, rb]) => {
    if (ra.left < rb.right && rb.left < ra.right && ra.top < rb.bottom && rb.top < ra.bottom) {
      overlaps.push([a, b])
    }
  }))
  return { labels: labels.map(([text]) => text), overlaps }
}"""


def test_busy_units_of_one_station_and_an_incident_beside_it_are_all_readable_on_the_map(
    browser, stack: Stack, api: ConsoleApi
) -> None:  # type: ignore[no-untyped-def]
    page = open_console(browser, stack, "cmd-02")
    incident_id = new_incident(api, (28.2185, 112.9205), address="望城坡10号")  # by PRO-03
    for unit in ("PRO-03-E3", "PRO-03-E4"):
        dispatch(api, incident_id, unit)
        expect(page.locator("#map .unit-icon", has_text=unit)).to_be_visible()
    expect(page.locator("#map .incident-icon[title='望城坡10号']")).to_be_visible()
    page.locator("#map").focus()
    page.keyboard.press("=")  # closer in: the two points are still a few pixels apart
    settled_view(page)
    found = page.evaluate(LABEL_OVERLAPS, ["PRO-03-E3", "PRO-03-E4", "望城坡10号"])
    screenshot(page, "console-map-labels")
    assert len(found["labels"]) == 3, found
    assert found["overlaps"] == [], f"labels drawn over one another: {found['overlaps']}"


# --- the unit board ----------------------------------------------------------------------


def _counts(page: Any) -> dict[str, int]:
    texts = page.eval_on_selector_all(
        "#unit-counts [data-count]", "spans => spans.map((s) => [s.dataset.count, s.textContent])"
    )
    return {name: int(text.split()[-1]) for name, text in texts}


def test_the_unit_board_counts_and_filters_and_an_unknown_status_is_not_available(
    browser, stack: Stack, api: ConsoleApi
) -> None:  # type: ignore[no-untyped-def]
    # two civilian teams' units, free: one with the wire's "unspecified", one with a status
    # this page has never heard of
    strange = {"CIV-01-W2": "UNIT_STATUS_UNSPECIFIED", "CIV-02-K2": "MAINTENANCE"}
    units = {u["profile"]["unit_id"]: u for u in api.get("/api/units").json()["units"]}
    assert {units[u]["status"] for u in strange} == {"AVAILABLE"}

    def unknown_statuses(page: Any) -> None:
        # the board as an edge of a newer version might send it: statuses this page
        # does not know
        def rewrite(route: Any) -> None:
            reply = route.fetch()
            board = reply.json()
            for unit in board["units"]:
                if unit["profile"]["unit_id"] in strange:
                    unit["status"] = strange[unit["profile"]["unit_id"]]
            route.fulfill(response=reply, json=board)

        page.route("**/api/board", rewrite)

    page = open_console(browser, stack, "ct-03", before_load=unknown_statuses)
    # the same as the edge counts, but for the two: unknown, so not available
    expected: dict[str, int] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        expected = dict(api.get("/api/units").json()["counts"])
        expected["available"] -= 2
        expected["unknown"] += 2
        if _counts(page) == expected:
            break
        page.wait_for_timeout(200)
    counts = _counts(page)
    assert counts == expected
    assert sum(counts.values()) == len(units)
    expect(page.locator("#unit-counts [data-count=available]")).to_have_text(
        f"○ 可用 {counts['available']}"
    )
    expect(page.locator("#unit-counts [data-count=unknown]")).to_have_text(
        f"? 未知 {counts['unknown']}"
    )
    for unit in strange:
        cell = page.locator(f"#unit-body tr[data-unit='{unit}'] td").nth(1)
        expect(cell.locator(".shape")).to_have_text("?")
    # on the map too: a labelled "?", not the open circle of a unit free to go
    expect(page.locator("#map .unit-icon", has_text="CIV-01-W2")).to_have_text("? CIV-01-W2 未知")
    expect(page.locator("#map .unit-icon", has_text="CIV-02-K2")).to_have_text(
        "? CIV-02-K2 MAINTENANCE"
    )

    # filter by tier (keyboard: Alt+U goes to the filters)
    page.keyboard.press("Alt+U")
    expect(page.locator("#filter-tier")).to_be_focused()
    page.locator("#filter-tier").select_option("VOLUNTEER")
    volunteers = api.get("/api/units", tier="VOLUNTEER").json()
    rows = page.locator("#unit-body tr")
    expect(rows).to_have_count(len(volunteers["units"]))
    assert set(rows.locator("td:nth-child(5)").all_text_contents()) == {"志愿消防队"}
    assert sum(_counts(page).values()) == len(volunteers["units"])

    # and by station, typed
    page.locator("#filter-tier").select_option("")
    page.locator("#filter-station").fill("PRO-01")
    expect(rows).to_have_count(7)
    assert all(
        u.startswith("PRO-01-") for u in rows.evaluate_all("r => r.map(x => x.dataset.unit)")
    )
    assert sum(_counts(page).values()) == 7

    # and by status
    page.locator("#filter-station").fill("")
    page.locator("#filter-status").select_option("AVAILABLE")
    free = api.get("/api/units", status="AVAILABLE").json()["units"]
    expect(rows).to_have_count(len(free) - 2)
    assert set(rows.evaluate_all("r => r.map(x => x.dataset.status)")) == {"AVAILABLE"}
    screenshot(page, "console-unit-board")
    assert page.errors == []


# --- clocks ------------------------------------------------------------------------------


def test_the_call_to_dispatch_clock_warns_past_60_s_and_an_alert_counts_down(
    browser, stack: Stack, api: ConsoleApi
) -> None:  # type: ignore[no-untyped-def]
    def fake_clock(page: Any) -> None:
        page.clock.install()

    page = open_console(browser, stack, "cmd-01", before_load=fake_clock)
    incident_id = new_incident(api, (28.340, 113.960), address="浏阳河畔1号")  # by VOL-10
    row = page.locator(f"#queue-body tr[data-id='{incident_id}']")
    clock = row.locator(".call-clock")
    expect(clock).to_have_text(re.compile(r"^0:[0-5]\d$"), timeout=WAIT)  # running, in time
    expect(clock).not_to_have_class(re.compile("danger"))

    page.clock.fast_forward("01:05")  # a minute passes with nobody sent
    expect(clock).to_have_text(re.compile(r"^1:\d\d 超时$"))
    expect(clock).to_have_class(re.compile(r"\bdanger\b"))
    screenshot(page, "console-call-clock-late")

    # a volunteer unit is alerted: the clock stops; its team's deadline counts down
    dispatch(api, incident_id, "VOL-10-E1")
    expect(clock).to_contain_text("✓", timeout=WAIT)
    alerts = row.locator(".alert-clock")
    expect(alerts).to_have_text(re.compile(r"^1 · \d:\d\d$"))
    unit_alert = page.locator("#unit-body tr[data-unit='VOL-10-E1'] td").nth(2)
    expect(unit_alert).to_contain_text("0/")  # nobody has answered yet
    first = _seconds(alerts.text_content() or "")
    page.clock.fast_forward("00:20")
    later = _seconds(alerts.text_content() or "")
    # at least the 20 s forwarded (real seconds pass too, many on a loaded machine)
    assert first - 45 <= later <= first - 19, (first, later)
    page.clock.fast_forward(max(later - 20, 0) * 1000)  # under 30 s left: urgent
    expect(alerts).to_have_class(re.compile(r"\bdanger\b"))
    expect(unit_alert.locator(".danger")).to_be_visible()
    screenshot(page, "console-alert-countdown")

    # the team answers: the countdown is gone
    alert = waiting_alert(api.http, "VOL-10", "VOL-10-E1")
    reply = api.http.post(
        f"/v1/alerts/{alert['alert_id']}/acknowledge",
        json={"unit_id": "VOL-10-E1", "responders": 6, "eta_seconds": 300},
        headers=team_headers("VOL-10"),
    )
    assert reply.status_code == 200, reply.text
    expect(alerts).to_have_text("", timeout=WAIT)
    assert page.errors == []


def _seconds(text: str) -> int:
    minutes, seconds = text.split("·")[-1].strip().split(":")[-2:]
    return int(minutes) * 60 + int(seconds)


# --- sound and announcements -------------------------------------------------------------

COUNT_BEEPS = """
window.ucBeeps = 0
window.ucSaid = []
new MutationObserver(() => {
  const region = document.getElementById('announcer')
  if (region && region.textContent) window.ucSaid.push(region.textContent)
}).observe(document, { subtree: true, childList: true, characterData: true })
const Real = window.AudioContext
window.AudioContext = class extends Real {
  createOscillator() {
    const oscillator = super.createOscillator()
    const start = oscillator.start.bind(oscillator)
    oscillator.start = (...args) => { window.ucBeeps += 1; return start(...args) }
    return oscillator
  }
}
"""


def test_urgent_news_is_announced_and_sounds_only_once_armed_by_a_click(
    browser, stack: Stack, api: ConsoleApi
) -> None:  # type: ignore[no-untyped-def]
    page = open_console(
        browser, stack, "ct-02", before_load=lambda p: p.add_init_script(COUNT_BEEPS)
    )
    announcer = page.locator("#announcer")
    expect(announcer).to_have_attribute("aria-live", "assertive")
    expect(page.locator("#connection")).to_have_attribute("aria-live", "polite")
    sound = page.locator("#sound-button")
    expect(sound).to_have_attribute("aria-pressed", "false")
    expect(sound).to_have_text("提示音：关")

    # beside PRO-01: a declined volunteer is replaced by a professional engine
    incident_id = new_incident(api, (28.197, 113.014), address="解放西路3号")
    for unit, station, armed in (("VOL-11-E1", "VOL-11", False), ("VOL-12-E1", "VOL-12", True)):
        if armed:
            sound.click()
            expect(sound).to_have_attribute("aria-pressed", "true")
            expect(sound).to_have_text("提示音：开")
        dispatch(api, incident_id, unit)
        alert = waiting_alert(api.http, station, unit)
        reply = api.http.post(
            f"/v1/alerts/{alert['alert_id']}/decline",
            json={"unit_id": unit, "reason": "人手不足"},
            headers=team_headers(station),
        )
        assert reply.status_code == 200, reply.text
        expect(page.locator("#feed li[data-type='AlertDeclined']", has_text=unit)).to_be_visible(
            timeout=WAIT
        )
        said(page, f"{unit} 拒绝出动：人手不足")
        if armed:
            page.wait_for_function("window.ucBeeps > 0", timeout=WAIT)
        else:
            assert page.evaluate("window.ucBeeps") == 0  # not armed: silent
    said(page, "替换 VOL-12-E1")  # the re-dispatch is said too
    screenshot(page, "console-announced")
    assert page.errors == []


def said(page: Any, text: str) -> None:
    """``text`` was put in the aria-live region (announcements follow one another fast:
    each is recorded as it is made)."""
    page.wait_for_function(
        "(text) => window.ucSaid.some((s) => s.includes(text))", arg=text, timeout=WAIT
    )


# --- the command line --------------------------------------------------------------------


def test_the_command_line_verbs_prefixes_and_unit_completion(
    browser, stack: Stack, api: ConsoleApi
) -> None:  # type: ignore[no-untyped-def]
    incident_id = new_incident(api, (28.530, 113.320), address="金井镇1号")  # by GOV-09
    page = open_console(browser, stack, "cmd-02")
    expect(page.locator(f"#queue-body tr[data-id='{incident_id}']")).to_be_visible()
    box = page.locator("#command")
    line = page.locator("#command-input")
    out = page.locator("#command-output")

    page.keyboard.press("/")  # opens it, Esc closes it
    expect(line).to_be_focused()
    page.keyboard.press("Escape")
    expect(box).to_be_hidden()
    command(page, "x")
    expect(out).to_have_text("未知命令：x")
    page.keyboard.press("Escape")

    # a line typed with its own '/' (as the issue writes it: /d VOL-03-E1) completes too
    page.keyboard.press("/")
    page.keyboard.type("/lo GOV-09-T")
    page.keyboard.press("Tab")
    expect(line).to_have_value("/lo GOV-09-T1 ")
    page.keyboard.press("Escape")
    expect(box).to_be_hidden()

    # completion: the unit's id, then the incident's
    page.keyboard.press("/")
    page.keyboard.type("dis GOV-09-")
    page.keyboard.press("Tab")
    expect(out).to_contain_text("GOV-09-E1")  # the choices, as there are several
    expect(out).to_contain_text("GOV-09-T1")
    page.keyboard.type("E")
    page.keyboard.press("Tab")
    expect(line).to_have_value("dis GOV-09-E1 ")
    page.keyboard.type(incident_id[:6])
    page.keyboard.press("Tab")
    expect(line).to_have_value(f"dis GOV-09-E1 {incident_id} ")
    page.keyboard.press("Enter")
    expect(out).to_have_text(re.compile(r"^GOV-09-E1 (已派出|待完成)$"))
    expect(box).to_be_hidden(timeout=WAIT)  # a success closes it
    expect(page.locator("#incident-units li[data-unit='GOV-09-E1']")).to_be_visible(timeout=WAIT)
    assert "GOV-09-E1" in api.get(f"/api/incidents/{incident_id}").json()["dispatched_unit_ids"]

    # status, by prefixes of the verb and of the status
    unit_row = page.locator("#unit-body tr[data-unit='GOV-09-E1']")
    expect(unit_row).to_have_attribute("data-status", "ACKNOWLEDGED", timeout=WAIT)
    command(page, "st GOV-09-E1 en")
    expect(out).to_have_text("GOV-09-E1 → 途中")
    expect(unit_row).to_have_attribute("data-status", "EN_ROUTE", timeout=WAIT)
    command(page, "s GOV-09-E1 av")  # not allowed from en route: refused, and why
    expect(out).to_contain_text("被拒绝")
    expect(out).to_contain_text("EN_ROUTE")
    expect(box).to_be_visible()  # a refusal stays on screen
    page.keyboard.press("Escape")

    # look-up of a unit: where it is and what it does; of an incident: opens it
    command(page, "look GOV-09-T1")
    expect(out).to_contain_text("GOV-09-T1")
    expect(page.locator("#filter-station")).to_have_value("GOV-09")
    expect(page.locator("#unit-body tr")).to_have_count(2)
    expect(box).to_be_hidden()
    page.locator("#filter-station").fill("")
    page.keyboard.press("Alt+Q")  # out of the field (where "/" is a character) to the queue

    # note, raise, close on the open incident
    command(page, "no 二楼有人被困")
    expect(out).to_have_text("备注：已完成", timeout=WAIT)
    expect(page.locator("#incident-timeline")).to_contain_text("二楼有人被困", timeout=WAIT)
    command(page, "ra 2 火势扩大")
    expect(out).to_have_text("升级：已完成", timeout=WAIT)
    row = page.locator(f"#queue-body tr[data-id='{incident_id}']")
    expect(row.locator("td").first).to_have_text("2级", timeout=WAIT)
    command(page, f"l {incident_id[:8]}")
    expect(out).to_contain_text(incident_id[:8])
    command(page, "cl 处置完毕")
    expect(out).to_have_text("结案：已完成", timeout=WAIT)
    expect(row).to_have_count(0, timeout=WAIT)  # closed: off the queue
    screenshot(page, "console-command-line")
    assert page.errors == []


def test_a_call_takers_note_from_the_command_line_is_refused_with_the_reason(
    browser, stack: Stack, api: ConsoleApi
) -> None:  # type: ignore[no-untyped-def]
    incident_id = new_incident(api, (28.120, 113.050))
    page = open_console(browser, stack, "ct-01")
    page.locator(f"#queue-body tr[data-id='{incident_id}']").click()
    expect(page.locator("#incident-facts")).to_be_visible()
    command(page, "n 测试")
    out = page.locator("#command-output")
    expect(out).to_have_class(re.compile(r"\berror\b"), timeout=WAIT)
    expect(out).to_have_text(re.compile(r"^备注：被拒绝：.+"))
    expect(page.locator("#announcer")).to_contain_text("备注：被拒绝")


# --- the incident view's actions ---------------------------------------------------------


def test_unified_command_actions_show_pending_then_done_or_refused_with_the_reason(
    browser, stack: Stack, api: ConsoleApi
) -> None:  # type: ignore[no-untyped-def]
    incident_id = new_incident(api, (28.260, 112.990), address="湘江北路9号")
    page = open_console(browser, stack, "cmd-01")
    page.locator(f"#queue-body tr[data-id='{incident_id}']").click()
    message = page.locator("#incident-action-message")
    facts = page.locator("#incident-facts")
    expect(facts).to_contain_text("暂无")  # nobody commands yet

    held: list[Any] = []
    page.route("**/command/assume", lambda route: held.append(route))
    page.locator("#incident-body .actions [data-action=assume]").click()
    form = page.locator("#incident-form-area form")
    form.locator("input[name=commander_name]").fill("王队长")
    form.locator("button[type=submit]").click()
    expect(message).to_have_text("接管指挥：处理中…")  # pending, while the answer is out
    deadline = time.monotonic() + 20
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert held, "the action was never sent"
    screenshot(page, "console-action-pending")
    held[0].continue_()
    page.unroute("**/command/assume")
    expect(message).to_have_text("接管指挥：已完成", timeout=WAIT)
    expect(facts).to_contain_text("王队长", timeout=WAIT)

    # the same again: someone is in command now, refused with dispatch's reason
    page.locator("#incident-body .actions [data-action=assume]").click()
    form.locator("input[name=commander_name]").fill("李队长")
    form.locator("button[type=submit]").click()
    expect(message).to_have_text(re.compile(r"^接管指挥：被拒绝：.*王队长.*TransferCommand"))
    expect(message).to_have_class(re.compile(r"\berror\b"))
    screenshot(page, "console-action-refused")

    page.locator("#incident-body .actions [data-action=under_control]").click()
    page.locator("#incident-form-area form button[type=submit]").click()
    expect(message).to_have_text("已控制：已完成", timeout=WAIT)
    expect(facts).to_contain_text("已控制", timeout=WAIT)
    status = api.get(f"/api/incidents/{incident_id}").json()["status"]
    assert status == "UNDER_CONTROL"
    assert page.errors == []


# --- time --------------------------------------------------------------------------------


def test_times_are_shown_in_shanghai_in_24_hour_form_in_a_new_york_browser(
    browser, stack: Stack, api: ConsoleApi
) -> None:  # type: ignore[no-untyped-def]
    page = open_console(browser, stack, "ct-03")  # the browser's zone: America/New_York
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "America/New_York"
    expect(page.locator("#jurisdiction")).to_contain_text("Asia/Shanghai")

    # the header clock: Shanghai's time now, hh:mm:ss
    shown = page.locator("#clock").text_content() or ""
    assert re.fullmatch(r"\d\d:\d\d:\d\d", shown), shown
    now = datetime.now(SHANGHAI)
    h, m, s = (int(x) for x in shown.split(":"))
    apart = abs((h * 3600 + m * 60 + s) - (now.hour * 3600 + now.minute * 60 + now.second))
    assert min(apart, 86400 - apart) <= 10, (shown, now.isoformat())

    # an afternoon instant, in the page's own formatter: 24-hour, Shanghai, in both languages
    afternoon = "Date.UTC(2026, 0, 15, 7, 5, 9)"  # 15:05:09 in Shanghai, 02:05:09 in New York
    fmt = (
        "(async () => { const f = await import('/console/js/format.js');"
        " return [f.clock(%s), f.dateTime(%s)] })()"
    )
    clock_zh, date_zh = page.evaluate(fmt % (afternoon, afternoon))
    assert clock_zh == "15:05:09"
    assert "15:05:09" in date_zh and "01" in date_zh and "15" in date_zh
    page.locator("header .lang-switch").click()
    clock_en, _ = page.evaluate(fmt % (afternoon, afternoon))
    assert clock_en == "15:05:09"  # not "3:05:09 PM"
    page.locator("header .lang-switch").click()

    # an incident's opening time, in its view and in the feed
    incident_id = new_incident(api, (28.230, 112.930), address="岳麓大道100号")
    opened = api.get(f"/api/incidents/{incident_id}").json()["opened_at"]
    local = datetime.fromisoformat(opened.replace("Z", "+00:00")).astimezone(SHANGHAI)
    page.locator(f"#queue-body tr[data-id='{incident_id}']").click()
    expect(page.locator("#incident-facts")).to_contain_text(
        local.strftime("%H:%M:%S"), timeout=WAIT
    )
    feed = page.locator("#feed li[data-type='IncidentCreated']", has_text="岳麓大道100号")
    expect(feed.locator("time")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    shown = feed.locator("time").text_content() or ""
    feed_apart = abs(
        datetime.strptime(shown, "%H:%M:%S").replace(year=2000)
        - local.replace(tzinfo=None, year=2000, month=1, day=1)
    )
    assert feed_apart.total_seconds() <= 5, (shown, local)
