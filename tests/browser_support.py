"""Real headless Chromium for the tests: Debian's `chromium` driven by Playwright (never a downloaded browser).

`serve(site)` serves a built site on 127.0.0.1; `chromium()` starts the browser (skipped where it is
missing on a developer machine, a failure in CI); `logged_tab(browser)` opens a page in a fresh context
that records every request, console error and page error, and aborts (and records) any request that
would leave 127.0.0.1.
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from conftest import need

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
HOST = "127.0.0.1"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass


@dataclass
class Tab:
    """A page in its own browser context, with everything it asked for and complained about."""

    page: object
    requests: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def goto(self, url: str, settle: bool = False) -> None:
        """Open a page; `settle` also waits until the network is idle (late requests, late errors)."""
        response = self.page.goto(url, wait_until="networkidle" if settle else "load")
        assert response is not None and response.ok, f"{url}: HTTP {response.status if response else '?'}"

    def assert_clean(self) -> None:
        assert self.foreign == [], f"requests left {HOST}: {self.foreign}"
        assert self.errors == [], f"browser console errors: {self.errors}"


def leaves_host(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):  # never touch the network
        return False
    if parts.scheme == "file":  # the site opened from disk: a file on this machine, not a network path
        return bool(parts.netloc)
    return parts.hostname != HOST


@contextmanager
def serve(site: Path) -> Iterator[str]:
    """Serve a built site on 127.0.0.1; yields the base URL."""
    server = ThreadingHTTPServer((HOST, 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def need_chromium() -> None:
    need(shutil.which("chromium") is not None and Path(CHROMIUM).exists(), "Debian chromium")
    need(importlib.util.find_spec("playwright") is not None, "the playwright Python package")


@contextmanager
def chromium() -> Iterator[object]:
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def logged_tab(browser, **context_options) -> Iterator[Tab]:
    context = browser.new_context(**context_options)
    try:
        page = context.new_page()
        tab = Tab(page)

        def route(route) -> None:
            url = route.request.url
            tab.requests.append(url)
            if leaves_host(url):
                tab.foreign.append(url)
                route.abort()  # recorded, and nothing actually leaves the machine
            else:
                route.continue_()

        def on_request(request) -> None:  # anything the route did not see (it should see everything)
            if leaves_host(request.url) and request.url not in tab.foreign:
                tab.foreign.append(request.url)

        def on_console(message) -> None:
            if message.type == "error":
                tab.errors.append(f"{page.url}: console: {message.text}")

        context.route("**/*", route)
        context.on("request", on_request)
        page.on("console", on_console)
        page.on("pageerror", lambda error: tab.errors.append(f"{page.url}: page error: {error}"))
        yield tab
    finally:
        context.close()
