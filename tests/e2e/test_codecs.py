"""H.264 beside VP8 in real Chromium (issue 13, item 5): the teacher's link asks for
H.264 (``&codec=h264``: the page puts Constrained Baseline first with
``setCodecPreferences``), the student's does not (VP8, every browser's default). Each
side decodes the other's video, and ``getStats()`` names the codec on both ends of each
direction: H.264 teacher → server → student, VP8 student → server → teacher, unchanged."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.e2e.conftest import RunningServer
from tests.e2e.test_session import LAPTOP, PHONE, api, wait_live, wait_video_flowing
from tests.support import ONE_TO_ONE

pytestmark = pytest.mark.timeout(180)

# Test-only: keep the page's peer connections where getStats() can reach them.
KEEP_PCS = """(() => {
  const Original = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Original(...args);
    window.__pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Original.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, Original);
})();"""

VIDEO_CODECS = """async () => {
  const out = { outbound: [], inbound: [] };
  for (const pc of window.__pcs) {
    if (pc.connectionState !== "connected") continue;
    const stats = await pc.getStats();
    stats.forEach((s) => {
      const rtp = s.type === "outbound-rtp" || s.type === "inbound-rtp";
      if (rtp && s.kind === "video" && s.codecId) {
        const codec = stats.get(s.codecId);
        const frames = s.type === "outbound-rtp" ? s.framesEncoded : s.framesDecoded;
        if (codec && frames > 0) out[s.type.split("-")[0]].push(codec.mimeType);
      }
    });
  }
  return out;
}"""


async def video_codecs(page: Page) -> dict[str, list[str]]:
    codecs: dict[str, list[str]] = await page.evaluate(VIDEO_CODECS)
    return codecs


async def wait_codecs(page: Page, outbound: str, inbound: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for _ in range(60):
        seen = await video_codecs(page)
        if seen["outbound"] == [outbound] and seen["inbound"] == [inbound]:
            return seen
        await asyncio.sleep(0.5)
    raise AssertionError(f"expected {outbound} out, {inbound} in; saw {seen}")


async def test_h264_publisher_and_vp8_publisher_in_one_session(
    opentutor_server: RunningServer, browser: Browser, artifacts: Path
) -> None:
    base = opentutor_server.base
    created = await api(base, "POST", "/api/v1/sessions", ONE_TO_ONE)
    teacher_ctx = await browser.new_context(**LAPTOP)  # type: ignore[arg-type]
    student_ctx = await browser.new_context(**PHONE)  # type: ignore[arg-type]
    for ctx in (teacher_ctx, student_ctx):
        await ctx.add_init_script(KEEP_PCS)
    teacher, student = await teacher_ctx.new_page(), await student_ctx.new_page()
    await teacher.goto(created["join_urls"]["t1"] + "&codec=h264")
    await student.goto(created["join_urls"]["s1"])
    await wait_live(teacher)
    await wait_live(student)

    await wait_video_flowing(student, "student decodes the teacher's H.264")
    await wait_video_flowing(teacher, "teacher decodes the student's VP8")
    await wait_codecs(teacher, outbound="video/H264", inbound="video/VP8")
    await wait_codecs(student, outbound="video/VP8", inbound="video/H264")

    await teacher.screenshot(path=str(artifacts / "codecs-teacher-h264.png"))
    await student.screenshot(path=str(artifacts / "codecs-student-vp8.png"))
    await teacher_ctx.close()
    await student_ctx.close()
