"""Real Chromium on namespaced nodes: a teacher and a student each sent to a different
node meet in one room and see each other's video; then the room's node is killed and
the student's link opened on the live node at once, while Redis still names the dead
one: the page must not follow ``moved`` onto the dead address (a browser error page)
nor loop, but end up in the session (web/src/protocol.js ``followMoved``)."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from playwright.async_api import Browser, Page, async_playwright

from signaling.router.redis import room_key
from tests.conftest import create_database
from tests.e2e.conftest import CHROMIUM_FLAGS, SKIP_DEVICE_CHECK
from tests.e2e.test_session import remote_frames, wait_live
from tests.multinode.topology import Node, Topology
from tests.recording_support import api
from tests.support import ONE_TO_ONE

pytestmark = pytest.mark.timeout(180)
SHOTS = Path("/tmp/shots")


@pytest.fixture
def nodes(net: Topology) -> Iterator[tuple[Node, Node, redis.Redis]]:
    a, b = net.start_nodes(["web-a", "web-b"], database_url=create_database(net.postgres_url),
                           redis_db=5)
    client = redis.Redis.from_url(net.redis_url.rsplit("/", 1)[0] + "/5")
    try:
        yield a, b, client
    finally:
        client.close()
        for node in (a, b):
            node.stop()


@pytest.fixture
async def browser(nodes: tuple[Node, Node, redis.Redis]) -> AsyncIterator[Browser]:
    """Chromium as in tests/e2e, told to treat the nodes' plain-http addresses as
    secure (as it does 127.0.0.1): the camera is only offered to secure pages."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: run ./scripts/test, which installs it")
    origins = ",".join(n.base for n in nodes[:2])
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable,
            args=[*CHROMIUM_FLAGS, f"--unsafely-treat-insecure-origin-as-secure={origins}"])
        yield launched
        await launched.close()


async def video_flowing(page: Page) -> None:
    deadline = time.monotonic() + 30
    while await remote_frames(page) < 10:
        assert time.monotonic() < deadline, "no remote video decoded"
        await asyncio.sleep(0.25)
    width: int = await page.evaluate(
        """() => Math.max(0, ...[...document.querySelectorAll('[data-testid="remote-video"]')]
              .map(v => v.videoWidth))""")
    assert width > 0


async def test_two_browsers_on_two_nodes_meet_then_survive_the_owners_death(
    browser: Browser,
    nodes: tuple[Node, Node, redis.Redis],
) -> None:
    a, b, client = nodes
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    status, created = await api(a.base, "POST", "/api/v1/sessions", ONE_TO_ONE)
    assert status == 201
    session = created["session_id"]
    links = created["join_urls"]
    assert links["t1"].startswith(a.base)  # the creating node's public URL

    teacher_ctx, student_ctx = await browser.new_context(), await browser.new_context()
    for context in (teacher_ctx, student_ctx):  # straight into the room, as in tests/e2e
        await context.add_init_script(SKIP_DEVICE_CHECK)
    teacher, student = await teacher_ctx.new_page(), await student_ctx.new_page()
    try:
        await teacher.goto(links["t1"])
        await wait_live(teacher)
        assert client.get(room_key(session)) == b"web-a"
        await student.goto(links["s1"].replace(a.base, b.base))  # the other node
        await wait_live(student)
        assert student.url.startswith(a.base)  # followed moved to the room's node
        await video_flowing(teacher)
        await video_flowing(student)
        await teacher.screenshot(path=str(SHOTS / "netns-teacher-on-a.png"))
        await student.screenshot(path=str(SHOTS / "netns-student-moved-to-a.png"))

        # The room's node dies; the student opens the link on b at once (b still says
        # moved to a for about two beats).
        await student.close()
        await asyncio.to_thread(a.kill)
        killed = time.monotonic()
        student = await student_ctx.new_page()
        await student.goto(links["s1"].replace(a.base, b.base))
        await student.wait_for_selector('[data-testid="status"][data-state="live"]',
                                        timeout=45_000)
        assert student.url.startswith(b.base)  # never left for the dead node
        print(f"\nthe student's page is in the session on {b.node_id} "
              f"{time.monotonic() - killed:.1f} s after the owner's SIGKILL")
        assert client.get(room_key(session)) == b"web-b"
        await teacher.goto(links["t1"].replace(a.base, b.base))
        await wait_live(teacher)
        await video_flowing(student)
        await video_flowing(teacher)
        await student.screenshot(path=str(SHOTS / "netns-student-after-owner-death.png"))
        await teacher.screenshot(path=str(SHOTS / "netns-teacher-after-owner-death.png"))
    finally:
        await teacher_ctx.close()
        await student_ctx.close()
