"""On-demand tutoring across two namespaced nodes, in real Chromium: a teacher goes on
duty on node A, a phone student's link opens on node B; the student sees the teacher
(the duty list is shared through Redis), calls, is told ``elsewhere`` with node A's
address, and the page goes there with the same pass and places the call again
(web/src/duty/main.js). The teacher's page on A rings, the teacher accepts, and both
are live in the one session on A."""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.conftest import create_database
from tests.e2e.conftest import CHROMIUM_FLAGS, SKIP_DEVICE_CHECK
from tests.e2e.test_oncall import LAPTOP, PHONE, link
from tests.multinode.topology import Node, Topology
from tests.oncall.support import calendar_text
from tests.recording_support import api

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def duty_nodes(net: Topology, tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    cal = tmp_path / "calendar.toml"  # open now: 19:xx of a working day in term
    cal.write_text(calendar_text(time.time(), open_now=True), encoding="utf-8")
    a, b = net.start_nodes(["duty-a", "duty-b"], database_url=create_database(net.postgres_url),
                           redis_db=6, extra=("--calendar", str(cal)))
    try:
        yield a, b
    finally:
        for node in (a, b):
            node.stop()


@pytest.fixture
async def browser(duty_nodes: tuple[Node, Node]) -> AsyncIterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: run ./scripts/test, which installs it")
    origins = ",".join(n.base for n in duty_nodes)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable,
            args=[*CHROMIUM_FLAGS, f"--unsafely-treat-insecure-origin-as-secure={origins}"])
        yield launched
        await launched.close()


async def test_a_student_on_another_node_reaches_the_teacher(
    browser: Browser, duty_nodes: tuple[Node, Node]
) -> None:
    a, b = duty_nodes
    t_ctx = await browser.new_context(**LAPTOP)  # type: ignore[arg-type]
    await t_ctx.add_init_script(SKIP_DEVICE_CHECK)
    teacher = await t_ctx.new_page()
    await teacher.goto(await link(a.base, "teacher_duty", "t1", "王老师", school="北京市第二中学",
                                  subjects=["math"], grades=["8"], rating=4.8))
    await teacher.click('[data-testid="duty-on"]')
    await teacher.wait_for_selector('[data-testid="duty-off"]')

    s_ctx = await browser.new_context(**PHONE)  # type: ignore[arg-type]
    await s_ctx.add_init_script(SKIP_DEVICE_CHECK)
    student = await s_ctx.new_page()
    await student.goto(await link(b.base, "student_call", "s1", "李明", school="密云区第三中学",
                                  grade="8"))
    assert student.url.startswith(b.base)
    await student.click('[data-testid="subject-math"]')
    await student.click('[data-testid="call-t1"]')  # listed through Redis; rings on A
    await student.wait_for_selector('[data-testid="duty-calling"]', timeout=30_000)
    assert student.url.startswith(a.base), student.url
    assert "token=" not in student.url  # the pass does not stay in the address bar

    await teacher.wait_for_selector('[data-testid="duty-ring"]')
    assert "李明" in await teacher.inner_text('[data-testid="duty-ring"]')
    await teacher.click('[data-testid="duty-accept"]')
    for who, page in (("teacher", teacher), ("student", student)):
        frame = page.frame_locator('[data-testid="duty-session"]')
        await frame.locator('[data-testid="status"][data-state="live"]').wait_for(
            timeout=30_000)
        await page.screenshot(path=f"/tmp/shots/oncall-nodes-{who}.png")
    status, calls = await api(a.base, "GET", "/api/v1/oncall/calls")
    assert status == 200
    (accepted,) = [c for c in calls["calls"] if c["outcome"] == "accepted"]
    status, live = await api(a.base, "GET", f"/api/v1/sessions/{accepted['session_id']}")
    assert status == 200 and sorted(live["present"]) == ["s1", "t1"], live
    await t_ctx.close()
    await s_ctx.close()
