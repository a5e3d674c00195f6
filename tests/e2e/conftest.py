"""End-to-end fixtures: a real ``opentutor serve`` process and Debian's Chromium
driven by Playwright with fake camera and microphone.

Under ``./scripts/test`` as root this runs inside a network namespace created for
the run (OPENTUTOR_TEST_NETNS): Chromium never offers loopback candidates, so
media flows over the namespace's own veth addresses, which exist nowhere else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    async_playwright,
)

from tests.conftest import free_port
from tests.support import API_KEY, SECRET

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@dataclass
class RunningServer:
    base: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@contextmanager
def serving(tmp_path: Path, *extra: str) -> Iterator[RunningServer]:
    """``opentutor serve`` on a free port with its own data directory (``extra``: more
    flags), waited for until healthy, stopped after."""
    port = free_port()
    data_dir = tmp_path / "data"
    log = tmp_path / "server.log"
    args = [
        sys.executable,
        "-m",
        "signaling.server.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--api-key",
        API_KEY,
        "--token-secret",
        SECRET,
        "--no-demo",
        *extra,
    ]
    if os.environ.get("OPENTUTOR_TEST_NETNS"):
        args += ["--ice-host", "10.213.0.1"]
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    _WITNESS.server_logs.append(log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("server did not start:\n" + log.read_text())
            time.sleep(0.1)
    try:
        yield RunningServer(base, data_dir, process, log)
    finally:  # a failing test must not leave its server running
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def opentutor_server(tmp_path: Path) -> Iterator[RunningServer]:
    with serving(tmp_path) as server:
        yield server


# The device check before joining (web/src/device-check.js) is skipped on a device whose
# localStorage says so (a school's shared computer): every browser context of these tests
# is such a device, so the tests about something else go straight into the room, except
# a context made with ``browser.new_context(device_check=True, ...)``.
# (about:blank, where every page starts, has no storage: that one throws, harmlessly.)
SKIP_DEVICE_CHECK = "try { localStorage.setItem('opentutor.devicecheck', 'off') } catch {}"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: run ./scripts/test, which installs it")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        new_context = browser.new_context

        async def context_without_check(
            *, device_check: bool = False, **options: Any
        ) -> BrowserContext:
            context = await new_context(**options)
            _WITNESS.watch(context)
            # Playwright's 30 s default once ran out in the suite's busy first minutes
            # (a sign-in form not yet there); the tests wait on events, not on time.
            context.set_default_timeout(60_000)
            if not device_check:
                await context.add_init_script(SKIP_DEVICE_CHECK)
            return context

        browser.new_context = context_without_check  # type: ignore[method-assign]
        yield browser
        await browser.close()


class _Witness:
    """What the browsers and servers of the running test did, printed only when it fails:
    requests never answered or failed, error statuses, the pages' errors and console
    errors, and each server's log tail. (A console page once stayed on "Loading…" for
    60 s in CI and nothing said which request it waited for.)"""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.lines: list[str] = []
        self.pending: dict[Request, str] = {}
        self.server_logs: list[Path] = []

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def note(self, text: str) -> None:
        if len(self.lines) < 2000:
            self.lines.append(f"{time.monotonic() - self.started:7.2f}s {text}")

    def watch(self, context: BrowserContext) -> None:
        def started(request: Request) -> None:
            self.pending[request] = f"{request.method} {request.url[:160]}"

        def finished(request: Request) -> None:
            self.pending.pop(request, None)

        def failed(request: Request) -> None:
            self.pending.pop(request, None)
            self.note(f"request failed ({request.failure}): {request.method} {request.url[:160]}")

        context.on("request", started)
        context.on("requestfinished", finished)
        context.on("requestfailed", failed)
        def answered(response: Response) -> None:
            if response.status >= 400:
                self.note(f"answered {response.status}: {response.request.method} "
                          f"{response.url[:160]}")

        def said(message: ConsoleMessage) -> None:
            if message.type in ("error", "warning"):
                self.note(f"console {message.type}: {message.text[:300]}")

        def opened(page: Page) -> None:
            self.note(f"page opened: {page.url[:160]}")
            page.on("crash", lambda _: self.note(f"page crashed: {page.url[:160]}"))
            page.on("close", lambda _: self.note(f"page closed: {page.url[:160]}"))

        context.on("page", opened)
        context.on("response", answered)
        context.on("weberror", lambda e: self.note(f"page error: {e.error}"))
        context.on("console", said)

    def report(self) -> str:
        now = time.monotonic() - self.started
        out = [*self.lines, f"{now:7.2f}s requests still unanswered: {len(self.pending)}"]
        out += [f"  {what}" for what in self.pending.values()]
        for log in self.server_logs:
            try:
                tail = log.read_text(errors="replace").splitlines()[-60:]
            except OSError as exc:
                tail = [str(exc)]
            out += [f"--- {log} (last {len(tail)} lines)", *tail]
        return "\n".join(out)


_WITNESS = _Witness()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _WITNESS.reset()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and call.when in ("setup", "call"):
        report.sections.append(("what the browsers and servers did", _WITNESS.report()))
    return report
