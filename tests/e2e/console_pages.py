"""Helpers for the console's browser tests: a page logged in by keyboard, the edge's HTTP
API as a logged-in person, screenshots kept as test artifacts."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tools.stack import Stack

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
NEW_YORK = "America/New_York"  # the browser's zone: the page must still show Shanghai time


def screenshot(page: Any, name: str) -> Path:
    """Save what the page shows now as ``test-artifacts/<name>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def open_console(
    browser: Any,
    stack: Stack,
    user: str,
    timezone: str = NEW_YORK,
    size: tuple[int, int] = (1600, 1000),
    before_load: Callable[[Any], None] | None = None,
) -> Any:
    """A new browser context with the console logged in as ``user`` (password
    ``demo-<user>``), typed on the keyboard; returns the page once the boards are drawn.
    ``before_load(page)`` runs before the page is first opened (a fake clock, a request
    recorder, an init script)."""
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]}, timezone_id=timezone, locale="zh-CN"
    )
    page = context.new_page()
    if before_load is not None:
        before_load(page)
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.errors.append(str(error)))  # type: ignore[attr-defined]
    page.goto(f"http://{stack.address('edge')}/")
    page.wait_for_selector("#login-user", state="visible")
    page.keyboard.type(user)
    page.keyboard.press("Tab")
    page.keyboard.type(f"demo-{user}")
    page.keyboard.press("Enter")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    page.wait_for_selector("#connection.live", timeout=30_000)
    return page


class ConsoleApi:
    """The console's HTTP API as one logged-in person (cookie and CSRF token)."""

    def __init__(self, stack: Stack, user: str) -> None:
        self.http = httpx.Client(base_url=f"http://{stack.address('edge')}", timeout=15)
        reply = self.http.post("/api/session", json={"username": user, "password": f"demo-{user}"})
        reply.raise_for_status()
        self.csrf = reply.json()["csrf_token"]

    def post(self, path: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf, "Idempotency-Key": key or str(uuid.uuid4())}
        return self.http.post(path, json=body, headers=headers)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)

    def close(self) -> None:
        self.http.close()


def team_headers(station: str) -> dict[str, str]:
    return {"Authorization": f"Bearer demo-{station.lower()}", "Idempotency-Key": str(uuid.uuid4())}
