"""Debian's Chromium driven by Playwright (never a downloaded browser), and a page that records
what a person would notice: console errors, failed requests, HTTP errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
SHOTS = Path(__file__).resolve().parents[1] / "output" / "web"


@dataclass
class Watched:
    """A page and the problems seen on it."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    http_errors: list[str] = field(default_factory=list)

    def shot(self, name: str, *, full_page: bool = True) -> Path:
        """Save a screenshot as tests/output/web/NAME.png."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def assert_clean(self, *, allowed_statuses: tuple[int, ...] = ()) -> None:
        """No console error, failed request or HTTP error (but the statuses a test provoked)."""
        unexpected = [e for e in self.http_errors if int(e.split()[0]) not in allowed_statuses]
        console = [c for c in self.console_errors
                   if not any(f"status of {s}" in c for s in allowed_statuses)]
        assert not console, console
        failed = [f for f in self.failed_requests if not _finished_stream(f)]
        assert not failed, failed
        assert not unexpected, unexpected


_EVENTS = re.compile(r"^GET (?P<job>\S+/v1/songs/[0-9a-f]+)/events net::ERR_ABORTED$")


def _finished_stream(failure: str) -> bool:
    """Chromium reports a fetch stream of a ``no-store`` response that the page read to its end
    as ``net::ERR_ABORTED`` (microsoft/playwright#42742); an event stream counts as finished, not
    failed, when its job has ended (the server then ends the stream, and the page reads to the end)."""
    match = _EVENTS.match(failure)
    if not match:
        return False
    status = httpx.get(match["job"]).json().get("status")
    return status in ("succeeded", "failed", "cancelled")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make setup` (scripts/install-system.sh installs Debian's chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def watched_page(browser: Browser, *, width: int = 1280, height: int = 900) -> Watched:
    """A new page (own context: own storage) whose problems are recorded."""
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    watched = Watched(page)
    page.on("console", lambda m: watched.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.console_errors.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: watched.failed_requests.append(f"{r.method} {r.url} {r.failure}"))
    page.on("response", lambda r: watched.http_errors.append(f"{r.status} {r.request.method} {r.url}")
            if r.status >= 400 else None)
    return watched
