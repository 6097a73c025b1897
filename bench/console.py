"""The dispatch console: live latency to 10 open consoles, page ready, transfer size.

The whole system runs as processes, as `make run` starts it (broker, the three services
and the edge with the console; SQLite stores), with Debian's chromium through Playwright
for the pages.

1. **Page ready.** 200 incidents are opened (the demo city has 258 units), then a
   logged-in page is loaded in a fresh browser context (nothing cached) and again with
   its cache: from navigation start to the first frame after the incident queue, the
   unit board and the map are drawn (`window.ucMetrics.ready`, set in a frame callback
   after the first render of the board). Target: under 1 s.
2. **Transfer size.** Every resource of the cold load (page, scripts, styles, font
   pieces, API answers), as the browser's Resource Timing reports it (`transferSize`:
   headers and body as sent).
3. **Live latency.** 10 consoles are open (one browser, 10 contexts, each logged in as a
   call taker); calls arrive at 20 per second (open loop, gRPC ReceiveCall) for 15 s.
   Each call commits two events (CallReceived, IncidentCreated) in dispatch's store.
   Every page records, for every item it applies, the time of the frame that shows it
   minus the event's `recorded_at` (the moment the store recorded it; same machine, same
   clock): store -> relay -> Kafka -> the edge's live board -> server-sent event -> page
   -> drawn. p50/p99 over every item on every page. Target: p99 under 300 ms.
"""

from __future__ import annotations

import logging
import os
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import grpc

from bench.statistics import percentile
from emergency.v1 import common_pb2, dispatch_pb2, dispatch_pb2_grpc
from tools.broker import free_port
from tools.stack import Stack

log = logging.getLogger("bench.console")
PAGES = int(os.environ.get("UC_BENCH_CONSOLE_PAGES", "10"))
RATE = 20.0  # calls per second
SECONDS = 15.0
READY_INCIDENTS = 200
READY_LOADS = 5
CALL_TAKER = (("authorization", "Bearer demo-ct-02"),)
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # ten pages share two cores with the services: none of them is "in the background"
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]


def call(stub: dispatch_pb2_grpc.DispatchServiceStub, n: int) -> None:
    """A call somewhere in the city (a 30 x 30 grid of places ~300 m apart)."""
    stub.ReceiveCall(
        dispatch_pb2.ReceiveCallRequest(
            request_id=str(uuid.uuid4()),
            caller_number=f"139{n:08d}",
            source=common_pb2.PHONE,
            location=common_pb2.GeoPoint(
                latitude=28.10 + (n % 30) * 0.003, longitude=112.90 + (n // 30 % 30) * 0.003
            ),
            address=f"芙蓉中路{n}号",
            incident_type="residential_fire",
        ),
        metadata=CALL_TAKER,
        timeout=10,
    )


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="uc-bench-console-") as tmp:
        stack = Stack(
            data_dir=Path(tmp),
            ports={name: free_port() for name in ("dispatch", "units", "incidents", "edge")},
            broker_port=free_port(),
            log_to_files=True,
            extra_env={
                "UC_LOG_FORMAT": "json",
                "UC_LOG_LEVEL": "WARNING",
                "DATABASE_URL": "",
                **{
                    f"UC_{s.upper()}_DATABASE_URL": ""
                    for s in ("dispatch", "units", "incidents", "edge")
                },
            },
        )
        log.info("console: starting the stack in %s", tmp)
        stack.start()
        try:
            return _measure(stack)
        finally:
            stack.stop()


def _measure(stack: Stack) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    base = f"http://{stack.address('edge')}"
    channel = grpc.insecure_channel(stack.address("dispatch"))
    stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
    log.info("console: opening %d incidents", READY_INCIDENTS)
    for n in range(READY_INCIDENTS):
        call(stub, n)
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        raise RuntimeError("chromium is not installed: `make browser` installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            ready = _page_ready(browser, base)
            latency = _live_latency(browser, base, stub)
        finally:
            browser.close()
    channel.close()
    return {**ready, "live": latency}


def _logged_in(browser: Any, base: str, user: str) -> Any:
    context = browser.new_context(
        viewport={"width": 1600, "height": 1000}, timezone_id="Asia/Shanghai", locale="zh-CN"
    )
    reply = context.request.post(
        f"{base}/api/session", data={"username": user, "password": f"demo-{user}"}
    )
    if not reply.ok:
        raise RuntimeError(f"log-in as {user} failed: {reply.status} {reply.text()}")
    return context


def _ready(page: Any) -> float:
    page.wait_for_function(
        "() => window.ucMetrics && window.ucMetrics.ready !== null", timeout=30_000
    )
    return float(page.evaluate("window.ucMetrics.ready"))


def _page_ready(browser: Any, base: str) -> dict[str, Any]:
    context = _logged_in(browser, base, "ct-01")
    page = context.new_page()
    page.goto(f"{base}/")
    cold = _ready(page)
    board = page.evaluate("window.ucBoard()")
    incidents, units = board["incidents"], board["units"]
    page.evaluate("() => document.fonts.ready")
    page.wait_for_timeout(1000)  # font pieces are fetched as their characters appear
    resources = page.evaluate("""() => {
        const entries = [...performance.getEntriesByType('navigation'),
                         ...performance.getEntriesByType('resource')]
        return entries.filter(e => !e.name.includes('/api/live'))
                      .map(e => ({name: e.name, bytes: e.transferSize, body: e.encodedBodySize}))
    }""")
    warm = []
    for _ in range(READY_LOADS):
        page.reload()
        warm.append(_ready(page))
    context.close()
    kinds: dict[str, int] = {}
    for r in resources:
        name = r["name"]
        kind = (
            "font"
            if ".woff2" in name
            else "script"
            if name.endswith(".js")
            else "style"
            if name.endswith(".css")
            else "api"
            if "/api/" in name
            else "page"
        )
        kinds[kind] = kinds.get(kind, 0) + int(r["bytes"])
    log.info("console: page ready %.0f ms cold, %.0f ms warm", cold, statistics.median(warm))
    return {
        "page_ready_ms": {
            "cold": round(cold),
            "warm_median": round(statistics.median(warm)),
            "warm_max": round(max(warm)),
            "loads": 1 + READY_LOADS,
            "active_incidents": incidents,
            "units": units,
            "target": 1000,
        },
        "transfer_bytes": {
            "total": sum(kinds.values()),
            "by_kind": kinds,
            "requests": len(resources),
        },
    }


def _live_latency(browser: Any, base: str, stub: dispatch_pb2_grpc.DispatchServiceStub) -> dict:
    pages = []
    for n in range(PAGES):
        context = _logged_in(browser, base, ("ct-01", "ct-02", "ct-03")[n % 3])
        page = context.new_page()
        page.goto(f"{base}/")
        _ready(page)
        page.wait_for_selector("#connection.live", timeout=30_000)
        pages.append(page)
    for page in pages:
        page.evaluate(
            "() => Object.assign(window.ucMetrics, {latencies: [], arrivals: [], enabled: true})"
        )
    total = round(RATE * SECONDS)
    log.info("console: %d calls at %.0f/s to %d open consoles", total, RATE, PAGES)
    late = 0
    errors: list[str] = []
    started = time.monotonic()
    threads = []
    for n in range(total):
        due = started + n / RATE
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        elif wait < -0.05:
            late += 1

        def one(n: int = n) -> None:
            try:
                call(stub, 10_000 + n)
            except grpc.RpcError as exc:
                errors.append(exc.code().name)

        thread = threading.Thread(target=one)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    expected = 2 * total  # CallReceived and IncidentCreated per call
    deadline = time.monotonic() + 30
    counts = [0] * PAGES
    while time.monotonic() < deadline:
        counts = [page.evaluate("window.ucMetrics.latencies.length") for page in pages]
        if min(counts) >= expected:
            break
        time.sleep(0.5)
    samples: list[float] = []
    arrivals: list[float] = []
    for page in pages:
        samples += page.evaluate("window.ucMetrics.latencies")
        arrivals += page.evaluate("window.ucMetrics.arrivals")
        page.context.close()
    return {
        "pages": PAGES,
        "rate_per_s": RATE,
        "seconds": SECONDS,
        "calls": total,
        "events_per_page": expected,
        "items_seen_per_page_min": min(counts),
        "calls_failed": len(errors),
        "calls_sent_late": late,
        "store_to_screen_ms": {
            "p50": round(percentile(samples, 50), 1),
            "p99": round(percentile(samples, 99), 1),
            "max": round(max(samples), 1),
            "samples": len(samples),
            "target_p99": 300,
        },
        # where the time goes: store to the page's hands (before it is drawn)
        "store_to_page_ms": {
            "p50": round(percentile(arrivals, 50), 1),
            "p99": round(percentile(arrivals, 99), 1),
        },
    }
