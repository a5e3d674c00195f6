"""Minutes that prove teaching, in real Chromium (issue 9): a lecture whose teacher
turns microphone and camera off for a measured stretch. Chromium's fake microphone
plays a tone (voiced), a disabled microphone sends silence (RFC 6464 level 127) and a
camera turned off sends nothing; the session record's ``publishing`` has a hole where
the teacher was silent and dark, the learner's ``receiving`` is confirmed by its
receiver reports, and the credits engine pays nothing for the stretch."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.e2e.conftest import RunningServer
from tests.e2e.test_lecture import lecture_body, sees_video_of
from tests.e2e.test_session import LAPTOP, PHONE, api, wait_live

pytestmark = pytest.mark.timeout(180)

SILENT_S = 20.0


def ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def covered(intervals: list[list[str]], start: float, end: float) -> float:
    """Seconds of [start, end) inside ``intervals``."""
    return sum(max(0.0, min(end, ts(b)) - max(start, ts(a))) for a, b in intervals)


async def test_a_silent_dark_teacher_is_not_publishing(
    opentutor_server: RunningServer, browser: Browser, artifacts: Path
) -> None:
    body = lecture_body()
    body["people"] = body["people"][:2]  # type: ignore[index]  # the teacher and one learner
    created = await api(opentutor_server.base, "POST", "/api/v1/sessions", body)
    session_id = created["session_id"]
    teacher_ctx = await browser.new_context(**LAPTOP)  # type: ignore[arg-type]
    learner_ctx = await browser.new_context(**PHONE)  # type: ignore[arg-type]
    teacher, learner = await teacher_ctx.new_page(), await learner_ctx.new_page()
    try:
        await teacher.goto(created["join_urls"]["t1"])
        await learner.goto(created["join_urls"]["s1"])
        await wait_live(teacher)
        await wait_live(learner)
        await sees_video_of(learner, "t1")
        await asyncio.sleep(6)  # teaching: voice and camera

        await teacher.click('[data-testid="mic-button"]')
        await teacher.click('[data-testid="camera-button"]')
        await teacher.wait_for_function(
            "() => { const l = window.opentutor.state().media.local;"
            " return !l.audio && !l.video; }"
        )
        muted_at = time.time()
        await asyncio.sleep(SILENT_S)
        # Before the clicks: the microphone is live from the first one, and the camera's
        # click can take a second on a busy machine (a run measured after both saw the
        # voiced second start 1.05 s before it).
        unmuted_at = time.time()
        await teacher.click('[data-testid="mic-button"]')
        await teacher.click('[data-testid="camera-button"]')
        await sees_video_of(learner, "t1")
        await asyncio.sleep(6)
        await teacher.screenshot(path=str(artifacts / "evidence-teacher.png"))
    finally:
        await teacher_ctx.close()
        await learner_ctx.close()
    await api(opentutor_server.base, "POST", f"/api/v1/sessions/{session_id}/end")
    record = await api(opentutor_server.base, "GET", f"/api/v1/sessions/{session_id}/record")

    hold = record["evidence"]["voice_hold_s"]
    # The stretch: from when the last voiced second's hold ran out to the unmute.
    dark = (muted_at + hold + 2, unmuted_at - 1)
    assert dark[1] - dark[0] >= SILENT_S - hold - 3
    publishing = record["publishing"]["t1"]
    assert covered(publishing, *dark) == 0, (publishing, dark)
    assert covered(publishing, muted_at - 5, muted_at - 1) > 0  # teaching before it
    assert covered(publishing, unmuted_at + 3, unmuted_at + 6) > 0  # and after it
    assert covered(record["voiced"]["t1"], unmuted_at + 3, unmuted_at + 6) > 0  # the tone
    # The learner received all along: silence packets are forwarded and confirmed.
    assert covered(record["receiving"]["s1"], muted_at - 5, unmuted_at + 5) > 20
    assert "s1" not in record["publishing"]  # an audience member publishes nothing

    rows = await api(opentutor_server.base, "GET", f"/api/v1/sessions/{session_id}/evidence")
    teacher_rows = [r for r in rows["rows"] if r["person"] == "t1"]
    assert sum(r["voiced_s"] for r in teacher_rows) > 0
    assert sum(r["silent_s"] for r in teacher_rows) >= SILENT_S - 3  # muted, not absent
    assert sum(r["video_frames"] for r in teacher_rows) > 0
