"""Micro-lessons' REST on the real app (in this process): who may publish, malformed
and over-bound requests (4xx naming the field, never a 500), browsing, the paced video
with Range requests and the watched time the server derives from what it sent.

The lesson's file here is a small MP4 made on the spot and put in place as publishing
would (the publish pipeline from a real recording is in tests/e2e/test_microlessons.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from signaling.microlessons.api import MICRO
from signaling.microlessons.lessons import Lesson
from signaling.microlessons.making import cut
from signaling.server.http_util import SERVICES
from tests.conftest import free_port
from tests.microlessons.support import make_mp4
from tests.support import API_KEY, ServerHandle, start_app

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerHandle]:
    handle = await start_app(tmp_path / "data", port=free_port())
    try:
        yield handle
    finally:
        await handle.stop()


async def pass_for(server: ServerHandle, kind: str, pid: str, **extra: Any) -> str:
    body = {"kind": kind, "person": {"id": pid, "name": f"名{pid}", "school": "一中"}, **extra}
    status, made = await server.api("POST", "/api/v1/oncall/passes", body)
    assert status == 201, made
    return str(made["token"])


async def ready_lesson(server: ServerHandle, tmp_path: Path, teacher: str = "t1") -> str:
    """A lesson in the ready state, its file cut from a made MP4 as publishing does."""
    ml = server.app[MICRO]
    lesson = Lesson("ml_" + "a" * 16, teacher, "王老师", "一中", "sess", "rec", 1.0, 11.0,
                    "二次函数的图像", "math", "8", "顶点式", "preparing", "",
                    "2026-12-04T10:00:00.000Z")
    assert await ml.store.add(lesson, 30)
    make_mp4(tmp_path / "export.mp4")
    made = cut(tmp_path / "export.mp4", ml.file(lesson.lesson_id), 1.0, 11.0)
    await ml.store.finish(lesson.lesson_id, state="ready", lead_s=made.lead_s,
                          duration_s=made.duration_s, size=made.size,
                          byte_index=json.dumps(made.index.wire()))
    return lesson.lesson_id


async def test_publishing_is_refused_clearly(server: ServerHandle) -> None:
    teacher = await pass_for(server, "teacher_duty", "t1", subjects=["math"])
    student = await pass_for(server, "student_call", "s1", grade="8")
    good = {"recording_id": "r_nothing", "start_s": 0, "end_s": 60, "title": "二次函数",
            "subject": "math", "grade": "8", "knowledge_point": "顶点式"}
    cases: list[tuple[str | None, Any, int, str, str | None]] = [
        (None, good, 401, "no_token", None),
        ("not.a.pass", good, 401, "bad_token", None),
        (student, good, 403, "teachers_only", None),
        (teacher, "[", 400, "invalid", None),
        (teacher, {**good, "end_s": "60"}, 400, "invalid", "end_s"),
        (teacher, {**good, "end_s": 5000}, 400, "too_long", "end_s"),
        (teacher, {**good, "end_s": 3}, 400, "too_short", "end_s"),
        (teacher, {**good, "subject": "art"}, 400, "invalid", "subject"),
        (teacher, {**good, "title": "x" * 500}, 400, "invalid", "title"),
        (teacher, good, 404, "no_recording", "recording_id"),
        (API_KEY, good, 400, "invalid", "teacher"),
        (API_KEY, {**good, "teacher": {"id": "t1", "name": "王"}}, 404, "no_recording",
         "recording_id"),
    ]
    for who, body, status, code, field in cases:
        headers = {"Authorization": f"Bearer {who}"} if who else {}
        data = body if isinstance(body, str) else json.dumps(body)
        async with server.http.post(server.base + "/api/v1/microlessons", data=data,
                                    headers=headers) as r:
            got = await r.json(content_type=None)
        assert (r.status, got["error"]["code"]) == (status, code), (body, got)
        assert got["error"].get("field") == field, got


async def test_browse_watch_and_report(server: ServerHandle, tmp_path: Path) -> None:
    lesson_id = await ready_lesson(server, tmp_path)
    student = await pass_for(server, "student_call", "s1", grade="8")
    other = await pass_for(server, "teacher_duty", "t2", subjects=["math"])
    owner = await pass_for(server, "teacher_duty", "t1", subjects=["math"])

    status, listed = await server.api("GET", "/api/v1/microlessons?subject=math&grade=8",
                                      key=None, token=student)
    assert status == 200 and [x["lesson_id"] for x in listed["lessons"]] == [lesson_id]
    assert "session_id" not in listed["lessons"][0]
    status, none = await server.api("GET", "/api/v1/microlessons?knowledge_point=浮力",
                                    key=None, token=student)
    assert status == 200 and none["lessons"] == []
    for bad in ("subject=art", "order=random", "limit=0", "limit=abc"):
        status, body = await server.api("GET", f"/api/v1/microlessons?{bad}", key=None,
                                        token=student)
        assert status == 400 and body["error"]["field"], bad
    assert (await server.api("GET", "/api/v1/microlessons", key=None))[0] == 401

    status, one = await server.api("GET", f"/api/v1/microlessons/{lesson_id}", key=None,
                                   token=student)
    assert status == 200 and one["watched_s"] == 0.0
    video = server.base + one["video_url"]
    size = one["lesson"]["bytes"]

    async with aiohttp.ClientSession() as http:
        # A small range, then everything as fast as it comes (the pace holds it back).
        async with http.get(video, headers={"Range": "bytes=0-99"}) as r:
            assert r.status == 206 and r.headers["Content-Range"] == f"bytes 0-99/{size}"
            assert len(await r.read()) == 100
        started = time.monotonic()
        async with http.get(video, headers={"Range": "bytes=100-"}) as r:
            assert r.status == 206 and r.headers["Accept-Ranges"] == "bytes"
            assert len(await r.read()) == size - 100
        elapsed = time.monotonic() - started
        for bad in ("bytes=99999999-", "bytes=5-2", "bytes=0-1,5-9", "pages=1-2"):
            async with http.get(video, headers={"Range": bad}) as r:
                assert r.status in (416, 200), bad  # never a 500
                if r.status == 416:
                    assert r.headers["Content-Range"] == f"bytes */{size}"
                else:
                    await r.read()
        async with http.get(video.replace("sig=", "sig=0")) as r:
            assert r.status == 403
        tampered = video.replace(f"/{lesson_id}/", f"/{lesson_id}/x")
        async with http.get(tampered) as r:
            assert r.status == 403

    status, seen = await server.api("GET", f"/api/v1/microlessons/{lesson_id}/watched",
                                    key=None, token=student)
    assert status == 200
    # Served ≈ the whole lesson, but no faster than the wall clock: bounded by the time
    # the responses took plus one chunk per rule (slack_s = 2), never the file's length.
    slack = server.app[MICRO].policy().slack_s
    assert 0 < seen["watched_s"] <= elapsed + slack + 0.5 + slack, (seen, elapsed)
    assert seen["watched_s"] <= one["lesson"]["duration_s"]

    status, ordered = await server.api("GET", "/api/v1/microlessons?order=most_watched",
                                       key=None, token=student)
    assert ordered["lessons"][0]["views"] == 1

    status, report = await server.api("GET", "/api/v1/microlessons/report")
    assert status == 200
    (row,) = report["views"]
    assert (row["viewer"], row["school"], row["grade"]) == ("s1", "一中", "8")
    assert row["watched_s"] == seen["watched_s"]
    assert (await server.api("GET", "/api/v1/microlessons/report", key=None,
                             token=student))[0] == 403
    assert (await server.api("GET", "/api/v1/microlessons/report?limit=9999"))[0] == 400

    # Unpublish: not by another teacher; by its own; then it is gone, its file too.
    path = f"/api/v1/microlessons/{lesson_id}"
    assert (await server.api("DELETE", path, key=None, token=other))[0] == 403
    assert (await server.api("DELETE", path, key=None, token=student))[0] == 403
    assert (await server.api("DELETE", path, key=None, token=owner))[0] == 200
    assert (await server.api("GET", path, key=None, token=student))[0] == 404
    assert not server.app[MICRO].file(lesson_id).exists()
    async with aiohttp.ClientSession() as http, http.get(video) as r:
        assert r.status == 404
    status, mine = await server.api("GET", "/api/v1/microlessons/mine", key=None, token=owner)
    assert status == 200 and mine["lessons"][0]["state"] == "unpublished"
    assert (await server.api("GET", "/api/v1/microlessons/mine", key=None,
                             token=student))[0] == 403
    assert (await server.api("GET", "/api/v1/microlessons/ml_nonexistent0000", key=None,
                             token=student))[0] == 404


async def test_publishing_a_recording_makes_a_ready_lesson(server: ServerHandle) -> None:
    """A finished recording of t1's session (a silent, empty board: no tracks, which the
    export draws as the board alone) published by t1: 202 preparing, then ready, cut at
    a keyframe at or before the start. Another teacher may not; the part must fit."""
    session_id, _ = await server.create()
    recs = server.app[SERVICES].recordings
    assert recs is not None
    now = time.time()
    await asyncio.to_thread(recs.index.call, recs.index.create, "r_board", session_id, now - 20)
    await asyncio.to_thread(recs.index.call, recs.index.finish, "r_board", "complete", now - 6,
                            14.0)
    teacher = await pass_for(server, "teacher_duty", "t1", subjects=["math"])
    other = await pass_for(server, "teacher_duty", "t2", subjects=["math"])
    body = {"recording_id": "r_board", "start_s": 2, "end_s": 13, "title": "函数图像",
            "subject": "math", "grade": "8", "knowledge_point": "一次函数"}
    status, mine = await server.api("GET", "/api/v1/microlessons/mine", key=None, token=teacher)
    assert status == 200 and [r["recording_id"] for r in mine["recordings"]] == ["r_board"]
    status, refused = await server.api("POST", "/api/v1/microlessons", body, key=None,
                                       token=other)
    assert (status, refused["error"]["code"]) == (403, "not_yours")
    status, refused = await server.api("POST", "/api/v1/microlessons", {**body, "end_s": 30},
                                       key=None, token=teacher)
    assert (status, refused["error"]["code"]) == (400, "out_of_range")
    status, made = await server.api("POST", "/api/v1/microlessons", body, key=None,
                                    token=teacher)
    assert status == 202 and made["lesson"]["state"] == "preparing", made
    lesson_id = made["lesson"]["lesson_id"]
    deadline = time.monotonic() + 90
    while True:
        _, one = await server.api("GET", f"/api/v1/microlessons/{lesson_id}", key=None,
                                  token=teacher)
        if one["lesson"]["state"] != "preparing":
            break
        assert time.monotonic() < deadline, one
        await asyncio.sleep(0.3)
    lesson = one["lesson"]
    assert lesson["state"] == "ready", lesson
    assert 0 <= lesson["lead_s"] <= 2 and lesson["bytes"] > 0
    assert 11 <= lesson["duration_s"] <= 13 + 0.5
    assert server.app[MICRO].file(lesson_id).is_file()
