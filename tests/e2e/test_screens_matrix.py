"""The screenshot matrix of issue 12 (its "done means"): every item in real Chromium
through a real server, at phone (390×844, touch), tablet (820×1180, touch) and laptop
(1280×800) sizes, in Chinese and English, each picture checked by tests/e2e/layout.py
(nothing overlapping or covered, touch targets of 44 px — 24 on the laptop —, every
word from the chosen language's i18n file).

Pictures are named ``12-<item>-<state>__<size>__<zh|en>.png`` and written to the
directory in ``OPENTUTOR_SCREENSHOTS`` (default: the test's tmp dir). The full matrix
(4 sizes — the tablet also on its side, 1180×820 — × 2 languages) runs only when that
variable is set; by default a slice — the phone in Chinese and the laptop in English —
keeps the module short.

Each view (size, language) is one browser context with its language chosen before the
page loads; views run side by side (asyncio.gather) and each gets its own sessions, its
counterparts python-socketio clients (cheap: no camera), except the class of item 2,
one session shared by every view with a real Chromium teacher (its video in the tiles).

1. the device check, the room on one screen (the teacher's video, the board, the chat's
   unread badge);
2. waiting for the teacher, in class with the recording badge, the recording stopped
   and resumed notices, the teacher stepped away, the server unreachable escalated;
3. the teacher's counted minutes, the warning before ending under the minimum, the end
   summary; the learner's elapsed time;
4. the tutoring student's rating, the training form's 200 characters with the live
   count, the reviewer's report editor with the discussion timer;
5. the stage invitation, muted, the teacher's list with hands up and lower-all-hands,
   a decline told;
6. the review: roles named on the tiles, the discussion's minutes toward 45;
7. the landing page, an error page with its support code, a replay error.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import socketio
from playwright.async_api import Browser, BrowserContext, Page

from tests.e2e.conftest import RunningServer, serving
from tests.e2e.layout import WEB, dictionary, layout_problems
from tests.e2e.test_lecture import sees_video_of
from tests.e2e.test_session import api
from tests.support import ONE_TO_ONE, Peer, token_of

pytestmark = pytest.mark.timeout(300)

SIZES: dict[str, dict[str, Any]] = {
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
              "is_mobile": True, "has_touch": True},
    "tablet": {"viewport": {"width": 820, "height": 1180}, "is_mobile": True,
               "has_touch": True},
    "laptop": {"viewport": {"width": 1280, "height": 800}},
    # A tablet on its side (the console's arrangement with a finger's targets): in the
    # full matrix only.
    "tablet-landscape": {"viewport": {"width": 1180, "height": 820}, "is_mobile": True,
                         "has_touch": True},
}
SHORT = {"zh-CN": "zh", "en": "en"}
LINK_LONG_MS = 20_000  # web/src/presence.js: lost this long, the page blames the server
FULL = bool(os.environ.get("OPENTUTOR_SCREENSHOTS"))
View = tuple[str, str]
VIEWS: list[View] = (
    [(size, lang) for size in SIZES for lang in ("zh-CN", "en")] if FULL
    else [("phone", "zh-CN"), ("laptop", "en")]
)
LEARNERS = ["李同学", "张同学", "赵同学", "刘同学", "陈同学", "周同学", "吴同学", "孙同学"]
WORDS = ["opentutor", "王老师", "函数复习课", "二次函数答疑", "函数图像答疑", "《背影》公开课检课",
         "张老师", "陈老师", *LEARNERS]


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server for the module's tests but the first (which kills its own)."""
    with serving(tmp_path_factory.mktemp("matrix")) as server:
        yield server


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("OPENTUTOR_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Matrix:
    """Opens the views' pages, takes and checks their pictures; the problems are
    gathered so that every picture is taken before the test says what is wrong."""

    def __init__(self, browser: Browser, folder: Path) -> None:
        self.browser, self.folder = browser, folder
        self.contexts: list[BrowserContext] = []
        self.peers: list[Peer] = []
        self.problems: list[str] = []

    async def page(self, view: View, url: str, *, check: bool = False,
                   clock: bool = False) -> Page:
        """A page of ``view`` at ``url``; ``clock``: Playwright's clock, running at its
        natural pace until a test moves it on (the page's 20 s before it says the
        server is not answering, without waiting them)."""
        size, lang = view
        ctx = await self.browser.new_context(device_check=check, **SIZES[size])  # type: ignore[call-arg]
        await ctx.add_init_script(f"localStorage.setItem('opentutor.lang', '{lang}')")
        self.contexts.append(ctx)
        page = await ctx.new_page()
        if clock:
            await page.clock.install()
        await page.goto(url)
        return page

    async def peer(self, base: str, join_url: str) -> Peer:
        peer = Peer(socketio.AsyncClient(reconnection=False))
        await peer.connect(base, token_of(join_url))
        await peer.wait_for("welcome")
        self.peers.append(peer)
        return peer

    async def snap(self, page: Page, view: View, name: str, *, user: Sequence[str] = (),
                   one_screen: bool = False, full_page: bool = False) -> None:
        size, lang = view
        path = self.folder / f"{name}__{size}__{SHORT[lang]}.png"
        await page.screenshot(path=str(path), full_page=full_page)
        found = await layout_problems(page, lang=lang, user=[*WORDS, *user], one_screen=one_screen,
                                      min_target=24 if size == "laptop" else 44)
        # Toasts are out of the layout checks; an error one has no place in these states.
        if await page.locator(".toast.error").count():
            said = await page.evaluate("""() => (window.opentutor ? window.opentutor.state()
                .notices : []).filter((n) => n.level === "error")
                .map((n) => [n.code, n.message])""")
            found.append(f"an error notice: {said!r}")
        self.problems += [f"{path.name}: {p}" for p in found]

    async def close(self) -> None:
        for peer in self.peers:
            if peer.sio.connected:
                await peer.sio.disconnect()
        for ctx in self.contexts:
            await ctx.close()

    def verdict(self) -> None:
        assert not self.problems, "layout problems:\n  " + "\n  ".join(self.problems)


@pytest.fixture
async def matrix(browser: Browser, shots: Path) -> Any:
    m = Matrix(browser, shots)
    yield m
    await m.close()


async def each(fn: Callable[[View], Awaitable[None]], views: Sequence[View] = VIEWS) -> None:
    """``fn`` for every view, side by side, three at most (six pages joining with their
    cameras at once kept a shared machine's server busy past the joins' waits)."""
    gate = asyncio.Semaphore(3)

    async def one(view: View) -> None:
        async with gate:
            await fn(view)

    await asyncio.gather(*(one(v) for v in views))


def body(form: str, programme: str, title: str, learners: int, **extra: Any) -> dict[str, Any]:
    b = copy.deepcopy(ONE_TO_ONE)
    b.update(form=form, programme=programme, title=title, **extra)
    b["people"] = [ONE_TO_ONE["people"][0]] + [
        {"id": f"s{i + 1}", "name": LEARNERS[i], "role": "learner"} for i in range(learners)
    ]
    return b


async def wait_live(page: Page) -> None:
    # Longer than test_session's: several views join at once on a machine others share.
    await page.wait_for_selector('[data-testid="status"][data-state="live"]', timeout=90_000)


async def detail(page: Page, value: str) -> None:
    await page.wait_for_selector(f'[data-testid="status"][data-detail="{value}"]', timeout=20_000)


async def test_1_2_phone_layout_device_check_and_honest_states(
    tmp_path: Path, browser: Browser, shots: Path
) -> None:
    """One classroom (tutoring, recorded), a learner per view, a real teacher; its own
    server, which is killed at the end."""
    matrix = Matrix(browser, shots)
    with serving(tmp_path) as server:
        try:
            classroom = body("classroom", "tutoring", "函数复习课", len(VIEWS), record=True)
            created = await api(server.base, "POST", "/api/v1/sessions", classroom)
            urls = created["join_urls"]
            pages: dict[View, Page] = {}

            async def check_and_wait(view: View) -> None:
                i = VIEWS.index(view)
                page = pages[view] = await matrix.page(view, urls[f"s{i + 1}"], check=True,
                                                       clock=True)
                # The audience's check: the camera opens only when asked.
                await page.wait_for_selector('[data-testid="check-start"]:not([hidden])',
                                             timeout=20_000)
                await page.click('[data-testid="check-start"]')
                await page.wait_for_function(
                    "() => document.querySelector('[data-testid=\"check-video\"]').videoWidth > 0",
                    timeout=60_000)
                await page.wait_for_selector('[data-testid="check-heard"]:not([hidden])',
                                             timeout=60_000)
                await matrix.snap(page, view, "12-1-devicecheck")
                await page.click('[data-testid="check-join"]')
                await wait_live(page)
                await detail(page, "waiting")
                await matrix.snap(page, view, "12-2-waiting", one_screen=True)

            await each(check_and_wait)

            teacher_ctx = await browser.new_context(**SIZES["laptop"])
            matrix.contexts.append(teacher_ctx)
            teacher = await teacher_ctx.new_page()
            await teacher.goto(urls["t1"])
            await wait_live(teacher)
            message = "同学们，先看黑板上的第一题。"

            async def in_class(view: View) -> None:
                page = pages[view]
                await detail(page, "in_class")
                await sees_video_of(page, "t1")
                await page.wait_for_selector('[data-testid="recording-badge"]:not([hidden])',
                                             timeout=20_000)
                await page.wait_for_selector('[data-testid="clock"]:not([hidden])', timeout=20_000)
                await matrix.snap(page, view, "12-2-inclass", one_screen=True)
                await matrix.snap(page, view, "12-3-learnerclock", one_screen=True)

            await each(in_class)
            await teacher.fill('[data-testid="chat-input"]', message)
            await teacher.click('[data-testid="chat-send"]')

            async def unread(view: View) -> None:
                page = pages[view]
                # The chat's unread badge, or the message itself where the chat is shown.
                await page.wait_for_function(
                    """(m) => [...document.querySelectorAll('[data-testid="tab-chat"] .badge')]
                        .some((b) => b.checkVisibility())
                      || [...document.querySelectorAll('.chat-list *, [data-testid="chat-list"] *')]
                        .some((e) => e.textContent === m && e.checkVisibility())""",
                    arg=message, timeout=10_000)
                await matrix.snap(page, view, "12-1-room", user=[message], one_screen=True)

            await each(unread)

            # The recording stopped, then started again: the badge and a notice, from the server.
            await teacher.click('[data-testid="record-button"]')

            async def stopped(view: View) -> None:
                page = pages[view]
                await page.wait_for_function("() => !window.opentutor.state().recording.on",
                                             timeout=15_000)
                await page.wait_for_selector('.toast[data-notice="recording.stopped"]',
                                             timeout=10_000)
                await matrix.snap(page, view, "12-2-recordingstopped", user=[message],
                                  one_screen=True)

            await each(stopped)
            await teacher.click('[data-testid="record-button"]')

            async def started(view: View) -> None:
                page = pages[view]
                await page.wait_for_function("() => window.opentutor.state().recording.on",
                                             timeout=15_000)
                await page.wait_for_selector('[data-testid="recording-badge"]:not([hidden])')
                await matrix.snap(page, view, "12-2-recording", user=[message], one_screen=True)

            await each(started)

            await teacher_ctx.close()
            matrix.contexts.remove(teacher_ctx)

            async def away(view: View) -> None:
                page = pages[view]
                await detail(page, "teacher_away")
                # The waiting line says the same as the pill: stepped away, not "not yet".
                said = json.loads((WEB / "i18n" / f"{view[1]}.json").read_text("utf-8"))
                line = page.locator(".tile.placeholder")
                await line.wait_for(timeout=10_000)
                assert await line.inner_text() == said["stage.teacher_away"]
                await matrix.snap(page, view, "12-2-teacheraway", user=[message], one_screen=True)

            await each(away)

            server.process.kill()
            server.process.wait(timeout=10)

            async def down(view: View) -> None:
                page = pages[view]
                await page.wait_for_selector('[data-testid="link-banner"]:not([hidden])',
                                             timeout=15_000)
                await page.clock.fast_forward(LINK_LONG_MS + 1000)  # presence.js LINK_LONG_MS
                await page.wait_for_selector('[data-testid="link-banner"][data-link="server"]',
                                             timeout=45_000)
                await matrix.snap(page, view, "12-2-serverdown", user=[message], one_screen=True)

            await each(down)
        finally:
            await matrix.close()
    matrix.verdict()


async def test_3_the_clock_that_pays(
    shared_server: RunningServer, matrix: Matrix
) -> None:
    base = shared_server.base

    async def teacher_view(view: View) -> None:
        created = await api(base, "POST", "/api/v1/sessions", ONE_TO_ONE)  # training: ≥ 10 min
        page = await matrix.page(view, created["join_urls"]["t1"])
        await wait_live(page)
        await page.wait_for_selector('[data-testid="clock-reason"]:not([hidden])', timeout=40_000)
        await matrix.snap(page, view, "12-3-teacherclock", one_screen=True)
        await page.click('[data-testid="end-button"]')
        await page.wait_for_selector('[data-testid="end-warning"]', timeout=10_000)
        await matrix.snap(page, view, "12-3-endwarning")
        await page.click('[data-testid="end-confirm"]')
        await page.wait_for_selector('[data-testid="session-summary"]', timeout=15_000)
        # The server's final figures, not "counting…".
        await page.wait_for_function(
            "() => { const c = window.opentutor.state().clock; return !!(c && c.final); }",
            timeout=20_000)
        await matrix.snap(page, view, "12-3-summary", full_page=True)

    await each(teacher_view)
    matrix.verdict()


async def test_4_6_forms_and_the_review(
    shared_server: RunningServer, matrix: Matrix
) -> None:
    base = shared_server.base
    gain = "我学会了用配方法求二次函数的顶点坐标"

    async def rating(view: View) -> None:
        created = await api(base, "POST", "/api/v1/sessions",
                            body("one_to_one", "tutoring", "二次函数答疑", 1))
        page = await matrix.page(view, created["join_urls"]["s1"])
        await wait_live(page)
        await api(base, "POST", f"/api/v1/sessions/{created['session_id']}/end")
        await page.wait_for_selector('[data-testid="feedback-form"]:not([hidden])', timeout=15_000)
        await page.locator('label.star[data-n="4"]').click()
        await page.evaluate("window.scrollTo(0, 0)")
        await matrix.snap(page, view, "12-4-rating", full_page=True)

    async def training(view: View) -> None:
        created = await api(base, "POST", "/api/v1/sessions", ONE_TO_ONE)
        page = await matrix.page(view, created["join_urls"]["s1"])
        await wait_live(page)
        await api(base, "POST", f"/api/v1/sessions/{created['session_id']}/end")
        await page.wait_for_selector('[data-testid="feedback-form"]:not([hidden])', timeout=15_000)
        # Typed in without focusing it (focus would scroll the form under the sticky header).
        await page.eval_on_selector('[data-testid="feedback-gain"]', """(el, text) => {
            el.value = text; el.dispatchEvent(new Event("input", {bubbles: true})); }""", gain)
        await page.wait_for_function(
            """() => /\\d/.test(
                document.querySelector('[data-testid="feedback-count"]').textContent)""")
        await matrix.snap(page, view, "12-4-training", user=[gain], full_page=True)

    async def review(view: View) -> None:
        b = copy.deepcopy(ONE_TO_ONE)
        b.update(form="review", title="《背影》公开课检课")
        b["people"] = [
            {"id": "r1", "name": "陈老师", "role": "instructor", "school": "S1",
             "district": "通州"},
            {"id": "p1", "name": "张老师", "role": "learner", "school": "S7",
             "district": "密云"},
        ]
        created = await api(base, "POST", "/api/v1/sessions", b)
        await matrix.peer(base, created["join_urls"]["p1"])  # the presenter, no camera
        page = await matrix.page(view, created["join_urls"]["r1"])
        await wait_live(page)
        await page.wait_for_selector('.tile.remote[data-person="p1"] .tile-role:not([hidden])',
                                     timeout=20_000)
        await page.wait_for_selector('[data-testid="clock-progress"]:not([hidden])',
                                     timeout=60_000)
        await matrix.snap(page, view, "12-6-review", one_screen=True)
        await page.click('[data-tab="report"]')
        await page.wait_for_selector('[data-testid="report-timer"]:not([hidden])', timeout=20_000)
        await page.fill('[data-testid="report-text"]', gain)
        await matrix.snap(page, view, "12-4-report", user=[gain], one_screen=True)

    await each(rating)
    await each(training)
    await each(review)
    matrix.verdict()


async def test_5_consent_and_control(
    shared_server: RunningServer, matrix: Matrix
) -> None:
    base = shared_server.base

    async def learner(view: View) -> None:
        created = await api(base, "POST", "/api/v1/sessions",
                            body("classroom", "tutoring", "函数复习课", 1))
        teacher = await matrix.peer(base, created["join_urls"]["t1"])
        page = await matrix.page(view, created["join_urls"]["s1"])
        await wait_live(page)
        assert (await teacher.call("grant", {"person": "s1", "what": "stage", "on": True}))["ok"]
        await page.wait_for_selector('[data-testid="stage-invite"]:not([hidden])', timeout=10_000)
        await matrix.snap(page, view, "12-5-invite")
        await page.click('[data-testid="invite-accept"]')
        await page.wait_for_function("() => window.opentutor.state().media.local.audio",
                                     timeout=15_000)
        assert (await teacher.call("mute", {"person": "s1"}))["ok"]
        await page.wait_for_selector('.toast[data-notice="notice.muted"]', timeout=10_000)
        await matrix.snap(page, view, "12-5-muted", one_screen=True)

    async def teacher_view(view: View) -> None:
        created = await api(base, "POST", "/api/v1/sessions",
                            body("classroom", "tutoring", "函数复习课", 3))
        urls = created["join_urls"]
        page = await matrix.page(view, urls["t1"])
        await wait_live(page)
        learners = [await matrix.peer(base, urls[f"s{i}"]) for i in (1, 2, 3)]
        if await page.locator('[data-tab="people"]').is_visible():
            await page.click('[data-tab="people"]')
        for peer in learners[:2]:
            assert (await peer.call("hand", {"up": True}))["ok"]
        await page.wait_for_selector('[data-testid="hands-down"]:not([hidden])', timeout=10_000)
        await page.wait_for_selector('li.person.hand[data-person="s2"]', timeout=10_000)
        # The third is asked onto the stage and says no at once.
        assert (await page.locator('[data-testid="grant-stage"][data-person="s3"]').count()) == 1
        await page.click('[data-testid="grant-stage"][data-person="s3"]')
        await learners[2].wait_for("invited")
        assert (await learners[2].call("stage_answer", {"accept": False}))["ok"]
        await page.wait_for_selector('.toast[data-notice="notice.declined"]', timeout=10_000)
        await matrix.snap(page, view, "12-5-hands", one_screen=True)
        await page.click('[data-testid="hands-down"]')
        await page.wait_for_selector('li.person.hand', state="detached", timeout=10_000)
        await matrix.snap(page, view, "12-5-handsdown", one_screen=True)

    await each(learner)
    await each(teacher_view)
    matrix.verdict()


async def test_7_pages(shared_server: RunningServer, matrix: Matrix) -> None:
    base = shared_server.base

    async def pages(view: View) -> None:
        lang = view[1]
        other = dictionary("en" if lang == "zh-CN" else "zh-CN")
        page = await matrix.page(view, base + "/")
        await page.wait_for_selector("h1")
        await matrix.snap(page, view, "12-7-landing", full_page=True)
        response = await page.goto(base + "/lesson/that/is/not/here")
        assert response is not None and response.status == 404
        code = response.headers["x-support-code"]
        # The error page says it in both languages on purpose (the link's reader may not
        # have chosen one yet): the other language's words are expected there.
        other_said = [w.replace("{code}", code) for w in other]
        await matrix.snap(page, view, "12-7-error", user=[code, *other_said], full_page=True)
        # A replay link that is not valid (or expired): refused before the replay page
        # loads, by the error page with the replay's own words (errorpage.*.replay).
        response = await page.goto(base + "/replay?r=rec_gone&v=v1&exp=1&sig=bad")
        assert response is not None and response.status == 403
        code = response.headers["x-support-code"]
        assert code in await page.inner_text('[data-testid="support-code"]')
        other_said = [w.replace("{code}", code) for w in other]
        await matrix.snap(page, view, "12-7-replayerror", user=[code, *other_said],
                          full_page=True)

    await each(pages)
    matrix.verdict()
