"""The Q&A centre in real browsers (issue 14 item 5): a student on a phone asks with a
photo, a teacher on a laptop answers with a photo and a voice note recorded by
MediaRecorder from Chromium's fake microphone, the student sees the answer, hears
the note's player and accepts it; the stored thread and the teacher's points agree.
Screenshots at phone size in /work/shots/issue14/qa-*.png."""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page

from tests.e2e.conftest import serving
from tests.oncall.support import calendar_text
from tests.support import API_KEY

pytestmark = pytest.mark.timeout(240)
SHOTS = Path("/work/shots/issue14")
LAPTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real (decodable) PNG of one colour with a darker diagonal: the page decodes it."""
    rows = b"".join(b"\x00" + b"".join(
        bytes(c // 3 for c in rgb) if abs(x - y) < 3 else bytes(rgb) for x in range(width))
        for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


async def api(base: str, method: str, path: str, body: Any = None,
              token: str = API_KEY) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, base + path, json=body,
                     headers={"Authorization": f"Bearer {token}"}) as r,
    ):
        assert r.status < 300, await r.text()
        return await r.json()


async def token(base: str, kind: str, pid: str, name: str, **extra: Any) -> str:
    body = {"kind": kind, "person": {"id": pid, "name": name, "school": extra.pop("school"),
                                     "district": "通州区"}, **extra}
    return str((await api(base, "POST", "/api/v1/oncall/passes", body))["token"])


def files(tmp_path: Path) -> tuple[Path, Path]:
    """The homework photo, and a calendar whose term holds today (the points' term)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    photo = tmp_path / "homework.png"
    photo.write_bytes(png(120, 90, (250, 240, 200)))
    cal = tmp_path / "calendar.toml"
    cal.write_text(calendar_text(time.time()), encoding="utf-8")
    return photo, cal


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"qa-{name}.png"))


async def test_asked_with_a_photo_answered_with_photo_and_voice_then_solved(
        tmp_path: Path, browser: Browser) -> None:
    photo, cal = files(tmp_path)
    with serving(tmp_path, "--calendar", str(cal)) as server:
        base = server.base
        s_token = await token(base, "student_call", "s1", "李同学", school="密云区第三中学",
                              grade="8")
        t_token = await token(base, "teacher_duty", "t1", "王老师", school="北京市第二中学",
                              subjects=["math"], grades=["8", "9"])

        s_ctx = await browser.new_context(**PHONE)  # type: ignore[arg-type]
        student = await s_ctx.new_page()
        await student.goto(f"{base}/qa?token={s_token}")
        await student.wait_for_selector('[data-testid="qa-empty"]')
        assert "token" not in student.url  # the pass leaves the address bar
        await student.click('[data-testid="qa-new"]')
        await student.click('[data-testid="qa-subject-math"]')
        await student.fill('[data-testid="qa-text"]', "这道三角形全等的题，第二步怎么证？")
        await student.set_input_files('[data-testid="qa-photo-camera"]', str(photo))
        await student.wait_for_selector(".thumb img")
        await shot(student, "student-ask")
        await student.click('[data-testid="qa-send"]')
        await student.wait_for_selector('[data-testid="qa-q-photos"] img')
        assert "待回答" in await student.inner_text('[data-testid="qa-state"]')

        t_ctx = await browser.new_context(**LAPTOP)  # type: ignore[arg-type]
        teacher = await t_ctx.new_page()
        await teacher.goto(f"{base}/qa?token={t_token}")
        await teacher.click('[data-testid^="qa-q-q_"]')
        await teacher.wait_for_selector('[data-testid="qa-reply-text"]')
        await teacher.fill('[data-testid="qa-reply-text"]',
                           "先找出两组对应边，再看它们的夹角，用“边角边”判定全等。")
        await teacher.set_input_files('[data-testid="qa-reply-photo-album"]', str(photo))
        await teacher.wait_for_selector(".reply .thumb img")
        await teacher.click('[data-testid="qa-record"]')  # the fake microphone's beep
        await teacher.wait_for_selector('[data-testid="qa-record"].danger')
        await teacher.wait_for_timeout(1500)  # a second and a half of voice, not a check
        await teacher.click('[data-testid="qa-record"]')
        await teacher.wait_for_selector('[data-testid="qa-voice-preview"]')
        await teacher.screenshot(path=str(SHOTS / "qa-teacher-answering-laptop.png"))
        await teacher.click('[data-testid="qa-reply-send"]')
        await teacher.wait_for_selector('[data-testid="qa-notice"]')
        await teacher.wait_for_selector('[data-testid="qa-voice"]')
        await teacher.screenshot(path=str(SHOTS / "qa-teacher-answered-laptop.png"))

        # The student's page looks again every 20 s; going back and in shows it at once.
        await student.click('[data-testid="qa-back"]')
        await student.click('[data-testid^="qa-q-q_"]')
        await student.wait_for_selector('[data-testid="qa-voice"]')
        await student.wait_for_selector('[data-testid="qa-a-photos"] img')
        assert "边角边" in await student.inner_text('[data-testid="qa-detail"]')
        await shot(student, "student-answer")
        await student.click('[data-testid^="qa-accept-"]')
        await student.wait_for_selector('[data-testid="qa-state"]:has-text("已解决")')
        await shot(student, "student-solved")
        await student.click('[data-testid="qa-back"]')
        await student.click("header .link")  # English
        await student.wait_for_selector('[data-testid^="qa-q-q_"]:has-text("Solved")')
        await shot(student, "student-list-en")

        mine = await api(base, "GET", "/api/v1/qa/questions", token=s_token)
        [q] = mine["questions"]
        thread = await api(base, "GET", f"/api/v1/qa/questions/{q['id']}", token=s_token)
        [answer] = thread["answers"]
        assert thread["state"] == "solved" and answer["accepted"]
        assert len(thread["photos"]) == 1 and len(answer["photos"]) == 1
        async with aiohttp.ClientSession() as http, http.get(base + answer["voice"]) as r:
            voice = await r.read()
            assert r.status == 200 and r.content_type == "audio/webm"
        assert voice.startswith(b"\x1a\x45\xdf\xa3") and len(voice) > 1000
        points = await api(base, "GET", "/api/v1/qa/points?teacher=t1")
        assert (points["accepted"], points["counted"], points["points"]) == (1, 1, 2)
        await s_ctx.close()
        await t_ctx.close()
