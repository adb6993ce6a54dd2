"""Headless Chromium for tests: Debian's package driven by playwright, with the network cut off.

Playwright's own browser download needs the internet, so tests use /usr/bin/chromium (Debian's
`chromium`), installed once by `ensure_chromium` when missing. `open_offline` loads a page with
every request that is not file:// or data: blocked, and records what the page tried to fetch and
which errors it logged, so a test can assert that a self-contained page really is one.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_LOCK = Path("/tmp/regenheart-chromium-install.lock")
INSTALL_BY_HAND = "install it by hand: sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium"
OFFLINE_SCHEMES = ("file:", "data:")
LAUNCH_ARGS = [
    "--no-sandbox",  # containers run as root, where Chromium's sandbox refuses to start
    "--disable-dev-shm-usage",  # /dev/shm is often tiny (64 MB) in containers
    "--disable-gpu",
    "--no-proxy-server",
]
# Second fence behind the request routing: no host name resolves, so nothing can leave by accident.
NO_DNS = "--host-resolver-rules=MAP * ~NOTFOUND"


class ChromiumUnavailable(Exception):
    """Chromium is missing and could not be installed: the message says why and what to do."""


def ensure_chromium(timeout: float = 900) -> Path:
    """/usr/bin/chromium, installed with apt when missing (one installer at a time across processes)."""
    if CHROMIUM.exists():
        return CHROMIUM
    with INSTALL_LOCK.open("w") as lock:
        # pytest-xdist workers wait here for the first one's install rather than racing apt's own lock.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not CHROMIUM.exists():
            _apt_install_chromium(timeout)
    if not CHROMIUM.exists():
        raise ChromiumUnavailable(f"apt-get reported success but {CHROMIUM} is missing; {INSTALL_BY_HAND}")
    return CHROMIUM


def _apt_install_chromium(timeout: float) -> None:
    if os.geteuid() != 0:
        raise ChromiumUnavailable(f"{CHROMIUM} is missing and installing it needs root; {INSTALL_BY_HAND}")
    if shutil.which("apt-get") is None:
        raise ChromiumUnavailable(f"{CHROMIUM} is missing and there is no apt-get to install it: install Chromium so that {CHROMIUM} exists")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    started = time.monotonic()
    result = _run(install, env, timeout)
    if result.returncode != 0:
        # Usually no package lists yet (a fresh container): fetch them once and try again.
        update = _run(["apt-get", "update"], env, timeout)
        if update.returncode != 0:
            raise ChromiumUnavailable(f"`apt-get update` failed (no mirror reachable?):\n{_tail(update)}\n{INSTALL_BY_HAND}")
        result = _run(install, env, timeout - (time.monotonic() - started))
    if result.returncode != 0:
        raise ChromiumUnavailable(f"`{' '.join(install)}` failed:\n{_tail(result)}\n{INSTALL_BY_HAND}")


def _run(command: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=max(timeout, 1))
    except subprocess.TimeoutExpired:
        raise ChromiumUnavailable(f"`{' '.join(command)}` took longer than {timeout:.0f}s; {INSTALL_BY_HAND}")


def _tail(result: subprocess.CompletedProcess, lines: int = 15) -> str:
    return "\n".join((result.stdout + result.stderr).splitlines()[-lines:])


@dataclass
class PageVisit:
    url: str
    title: str
    text: str  # the body's visible text (inner_text)
    outside_requests: list[str]  # every request attempted to something not file:// or data: (all blocked)
    console_errors: list[str]
    page_errors: list[str]
    screenshot: Path | None = None


@dataclass
class OfflinePage:
    """An open page, with what it attempted and logged so far."""

    page: object  # playwright.sync_api.Page
    url: str
    outside_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def visit(self, screenshot: Path | None = None) -> PageVisit:
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(screenshot), full_page=True)
        return PageVisit(
            url=self.url,
            title=self.page.title(),
            text=self.page.inner_text("body"),
            outside_requests=list(self.outside_requests),
            console_errors=list(self.console_errors),
            page_errors=list(self.page_errors),
            screenshot=screenshot,
        )


def page_url(url_or_file: str | Path) -> str:
    if isinstance(url_or_file, Path) or "://" not in str(url_or_file) and not str(url_or_file).startswith("data:"):
        return Path(url_or_file).resolve().as_uri()
    return str(url_or_file)


@contextmanager
def offline_page(
    chromium_path: Path, url_or_file: str | Path, viewport: tuple[int, int] = (1280, 900)
) -> Iterator[OfflinePage]:
    """A loaded page in headless Chromium without network, open until the block ends."""
    from playwright.sync_api import sync_playwright

    url = page_url(url_or_file)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=[*LAUNCH_ARGS, NO_DNS])
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            page = context.new_page()
            opened = OfflinePage(page, url)

            def block_outside(route):
                if route.request.url.startswith(OFFLINE_SCHEMES):
                    route.continue_()
                else:
                    route.abort("blockedbyclient")

            def record(request):
                if not request.url.startswith(OFFLINE_SCHEMES):
                    opened.outside_requests.append(request.url)

            def record_console(message):
                if message.type == "error":
                    opened.console_errors.append(message.text)

            context.route("**/*", block_outside)
            # Recorded from the request events, not the route: they also see what routing may not catch.
            context.on("request", record)
            page.on("console", record_console)
            page.on("pageerror", lambda error: opened.page_errors.append(str(error)))
            page.goto(url, wait_until="load")
            yield opened
        finally:
            browser.close()


def open_offline(
    chromium_path: Path, url_or_file: str | Path, screenshot: Path | None = None, viewport: tuple[int, int] = (1280, 900)
) -> PageVisit:
    """Load a page with the network disabled; optionally save a full-page screenshot."""
    with offline_page(chromium_path, url_or_file, viewport) as opened:
        return opened.visit(screenshot)
