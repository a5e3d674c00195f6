"""SIGKILL of a real server process in the middle of a recorded session: after the
restart the recording up to the last segment plays, is marked incomplete, and the
session record says which span was lost; the session goes on being recorded."""

from __future__ import annotations

import asyncio
import copy
import time
from datetime import datetime
from pathlib import Path

import aiohttp
import av
import pytest

from recorder.presence.journal import EVIDENCE_EVERY_S
from tests.conftest import free_port
from tests.recording_support import Publisher, api, running
from tests.support import ONE_TO_ONE, token_of

pytestmark = pytest.mark.timeout(120)


def ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def test_sigkill_loses_at_most_the_open_segment(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data, log = tmp_path / "data", tmp_path / "server.log"
    segment = ("--recordings-segment-seconds", "2")
    body = copy.deepcopy(ONE_TO_ONE)
    body["record"] = True
    with running(data, port, log, *segment) as server:
        status, created = await api(base, "POST", "/api/v1/sessions", body)
        assert status == 201
        session_id = created["session_id"]
        teacher = await Publisher.join(base, token_of(created["join_urls"]["t1"]), "t1")
        try:
            deadline = time.monotonic() + 20
            while len(list(data.glob("recordings/r_*/v0-*.webm"))) < 2:
                assert time.monotonic() < deadline, "two durable video segments"
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.2)  # into the next segment
            killed_at = time.time()
            server.kill()  # SIGKILL: nothing is closed, flushed or finished
            server.wait(timeout=10)
        finally:
            await teacher.close()

    with running(data, port, log, *segment):
        _, listed = await api(base, "GET", f"/api/v1/sessions/{session_id}/recordings")
        (rec,) = listed["recordings"]
        assert rec["complete"] is False and rec["file_ready"] is True
        lost = rec["unrecorded"]
        assert lost and {u["reason"] for u in lost} == {"server_stopped"}
        for span in lost:
            # What was lost is the end: from the last complete data to (about) the kill.
            assert abs(span["end_s"] - rec["duration_s"]) < 0.01
            assert span["end_s"] - span["start_s"] <= 2.0 + 1.0 + 1.0  # a segment, a beat
            assert abs(ts(span["end"]) - killed_at) < 2.0
        # The recording up to there plays: every surviving frame decodes.
        async with aiohttp.ClientSession() as http, http.get(rec["url"]) as r:
            assert r.status == 200
            (tmp_path / "cut.webm").write_bytes(await r.read())
        with av.open(str(tmp_path / "cut.webm")) as container:
            assert sorted(s.codec_context.name for s in container.streams) == ["opus", "vp8"]
            times = [f.time for f in container.decode(video=0)]
        kept = max(u["start_s"] for u in lost)
        assert times and max(times) >= kept - 0.5 and max(times) > 3.0
        # The session record says which span was lost.
        _, record = await api(base, "GET", f"/api/v1/sessions/{session_id}/record")
        (summary,) = record["recordings"]
        assert summary["state"] == "incomplete"
        assert [(u["start"], u["end"]) for u in summary["unrecorded"]] == [
            (u["start"], u["end"]) for u in lost]
        # The media evidence survived too (issue 9): the teacher's camera was live up
        # to about the last write of the open minute's row before the kill.
        last_live = max(ts(end) for _, end in record["publishing"]["t1"])
        assert killed_at - EVIDENCE_EVERY_S - 3.0 <= last_live <= killed_at + 0.5
        assert record["evidence"]["source"] == "server"

        # The session goes on: the next join records again, in a new recording.
        teacher = await Publisher.join(base, token_of(created["join_urls"]["t1"]), "t1")
        try:
            assert teacher.peer.named("welcome")[0]["recording"]["on"] is True
            await asyncio.sleep(2.5)
        finally:
            await teacher.close()
        await api(base, "POST", f"/api/v1/sessions/{session_id}/end")
        deadline = time.monotonic() + 20
        while True:
            _, listed = await api(base, "GET", f"/api/v1/sessions/{session_id}/recordings")
            if len(listed["recordings"]) == 2 and listed["recordings"][1]["file_ready"]:
                break
            assert time.monotonic() < deadline, listed
            await asyncio.sleep(0.3)
        assert [r["complete"] for r in listed["recordings"]] == [False, True]
