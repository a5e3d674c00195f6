"""Bounded growth over real socket.io clients and HTTP: the whiteboard's limits
(points per stroke, ops per second per person, bytes per page), and the upload
quota per person. Over a bound the sender gets a clear error and nothing is stored."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from signaling.server import participant_api
from signaling.server.participant_api import UploadQuota
from signaling.session.whiteboard import DEFAULT_LIMITS
from tests.conftest import free_port
from tests.signaling.test_participant_rules import GOOD, present
from tests.support import ServerHandle, lecture, start_app

LIMITS = DEFAULT_LIMITS
# docs/protocol.md: the board in a welcome is at most one page (plus its background
# URL); the whole welcome stays under 4 MiB, the frame limit of aiohttp clients.
WELCOME_MAX = 4 * 1024 * 1024


def stroke(sid: str, points: int = 1) -> dict[str, Any]:
    return {
        "type": "stroke",
        "id": sid,
        "tool": "pen",
        "color": "#1f2933",
        "width": 4,
        "points": [[0.1234, 0.5678]] * points,
    }


def size(data: Any) -> int:
    return len(json.dumps(data, separators=(",", ":")).encode())


async def test_a_stroke_over_the_point_limit_is_refused_and_not_stored(
    server: ServerHandle,
) -> None:
    _, toks = await server.create()
    student = await server.connect(toks["s1"])
    await student.wait_for("welcome")
    longest = await student.call("board", {"op": stroke("ok", LIMITS.points_per_stroke)})
    assert longest["ok"], longest
    ack = await student.call("board", {"op": stroke("long", LIMITS.points_per_stroke + 1)})
    assert not ack["ok"] and ack["error"]["code"] == "stroke_too_long", ack
    (error,) = await student.wait_for("error")
    assert (error["event"], error["code"]) == ("board", "stroke_too_long")
    teacher = await server.connect(toks["t1"])
    (welcome,) = await teacher.wait_for("welcome")
    assert [s["id"] for s in welcome["board"]["strokes"]] == ["ok"]
    assert welcome["board"]["seq"] == 1


async def test_board_ops_are_rate_limited_per_person(server: ServerHandle) -> None:
    _, toks = await server.create()
    student = await server.connect(toks["s1"])
    await student.wait_for("welcome")
    start = time.monotonic()
    # Within the event burst (60), over the board burst: only the board limit applies.
    acks = await asyncio.gather(
        *(student.call("board", {"op": stroke(f"d{i}")}) for i in range(55))
    )
    elapsed = time.monotonic() - start
    accepted = sum(1 for a in acks if a["ok"])
    refused = {a["error"]["code"] for a in acks if not a["ok"]}
    assert refused <= {"rate_limited"}
    assert accepted <= LIMITS.ops_burst + LIMITS.ops_per_s * elapsed
    teacher = await server.connect(toks["t1"])
    (welcome,) = await teacher.wait_for("welcome")
    assert len(welcome["board"]["strokes"]) == accepted


async def test_a_board_flood_stops_at_the_page_limit_and_joining_still_works(
    server: ServerHandle,
) -> None:
    _, toks = await server.create()
    student = await server.connect(toks["s1"])
    await student.wait_for("welcome")
    op_bytes = size(stroke("f0000", LIMITS.points_per_stroke))
    accepted: list[str] = []
    codes: set[str] = set()
    # As fast as the server lets us, until the page is full (bounded: before the page
    # limit existed this went on past three pages' worth).
    for batch in range(400):
        ids = [f"f{batch:03d}{i}" for i in range(8)]
        acks = await asyncio.gather(
            *(student.call("board", {"op": stroke(i, LIMITS.points_per_stroke)}) for i in ids)
        )
        accepted += [i for i, a in zip(ids, acks, strict=True) if a["ok"]]
        codes |= {a["error"]["code"] for a in acks if not a["ok"]}
        if "board_full" in codes or len(accepted) * op_bytes > 3 * LIMITS.page_bytes:
            break
        if "rate_limited" in codes:
            await asyncio.sleep(0.1)
    assert "board_full" in codes, codes
    assert len(accepted) * op_bytes <= LIMITS.page_bytes
    full = await student.call("board", {"op": stroke("after", LIMITS.points_per_stroke)})
    assert not full["ok"] and full["error"]["code"] in ("board_full", "rate_limited")
    # A fresh python-socketio client (aiohttp: 4 MiB frames at most) still joins.
    teacher = await server.connect(toks["t1"])
    (welcome,) = await teacher.wait_for("welcome", within=30)
    assert sorted(s["id"] for s in welcome["board"]["strokes"]) == sorted(accepted)
    assert size(welcome["board"]) <= LIMITS.page_bytes
    assert size(welcome) < WELCOME_MAX
    # The instructor clears: a new page, drawing works again.
    assert (await teacher.call("board", {"op": {"type": "clear"}}))["ok"]
    assert (await teacher.call("board", {"op": stroke("fresh", 2)}))["ok"]


PNG = b"\x89PNG\r\n\x1a\n"


async def upload(server: ServerHandle, token: str, size: int) -> tuple[int, Any]:
    data = PNG + b"\0" * (size - len(PNG))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/png"}
    async with server.http.post(
        server.base + "/api/v1/me/uploads", data=data, headers=headers
    ) as r:
        return r.status, await r.json()


def stored(data_dir: Path) -> int:
    folder = data_dir / "uploads"
    return len(list(folder.iterdir())) if folder.exists() else 0


async def test_uploads_past_the_quota_are_refused_and_not_stored(
    server: ServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(participant_api, "UPLOAD_QUOTA", UploadQuota(files=4, bytes=10_000))
    _, toks = await server.create()
    # Concurrent uploads cannot pass the quota together: 2 × 4000 fit in 10 000.
    answers = await asyncio.gather(*(upload(server, toks["s1"], 4000) for _ in range(5)))
    assert sorted(status for status, _ in answers) == [201, 201, 413, 413, 413]
    refused = [body for status, body in answers if status == 413]
    assert all(body["error"]["code"] == "quota_exceeded" for body in refused), refused
    assert stored(server.data_dir) == 2
    assert (await upload(server, toks["s1"], 1000))[0] == 201  # 9000 bytes, 3 files
    assert (await upload(server, toks["s1"], 500))[0] == 201  # 4 files
    status, body = await upload(server, toks["s1"], 100)
    assert (status, body["error"]["code"]) == (413, "quota_exceeded")
    assert stored(server.data_dir) == 4
    assert (await upload(server, toks["t1"], 4000))[0] == 201  # per person
    # Counted from the store: another process on the same data (a restart) agrees.
    again = await start_app(server.data_dir, port=free_port(), database_url=server.database_url)
    try:
        status, body = await upload(again, toks["s1"], 100)
        assert (status, body["error"]["code"]) == (413, "quota_exceeded")
    finally:
        await again.stop()
    assert stored(server.data_dir) == 5


async def test_an_upload_after_the_end_is_refused_and_not_stored(server: ServerHandle) -> None:
    _, toks = await server.create()
    teacher = await server.connect(toks["t1"])
    await teacher.wait_for("welcome")
    assert (await upload(server, toks["s1"], 200))[0] == 201
    assert (await teacher.call("end"))["ok"]
    for person in ("s1", "t1"):
        status, body = await upload(server, toks[person], 200)
        assert (status, body["error"]["code"]) == (409, "session_ended"), body
    assert stored(server.data_dir) == 1


async def test_reviewers_attach_pictures_to_their_report_after_the_end(
    server: ServerHandle,
) -> None:
    body = lecture(1)
    body["form"] = "review"
    body["people"] = [
        {"id": "r1", "name": "专家1", "role": "instructor"},
        {"id": "p1", "name": "学员教师", "role": "learner"},
    ]
    session_id, toks = await server.create(body)
    reviewer = await server.connect(toks["r1"])
    await reviewer.wait_for("welcome")
    present(server, session_id, "r1")  # the journal sees the reviewer in the review
    await asyncio.sleep(0.05)
    assert (await reviewer.call("end"))["ok"]
    assert (await upload(server, toks["p1"], 200))[0] == 409
    status, picture = await upload(server, toks["r1"], 200)
    assert status == 201
    report = {"text": "教学设计清晰。" + GOOD, "attachments": [picture["id"]]}
    assert (await server.api("POST", "/api/v1/me/report", report, token=toks["r1"]))[0] == 201
    status, body = await upload(server, toks["r1"], 200)  # the report is sent
    assert (status, body["error"]["code"]) == (409, "session_ended")
    assert stored(server.data_dir) == 1
