"""GET /api/v1/sessions/{id}/evidence and /timeline against the real server: the rows
the journal holds (here sampled into it directly, as the media room does once a second),
as docs/record.md shows them, and the picture drawn with them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from recorder.presence.evidence import Second
from signaling.server.http_util import SERVICES
from tests.support import API_KEY, ServerHandle

NS = "{http://www.w3.org/2000/svg}"


async def test_rows_of_a_session(server: ServerHandle) -> None:
    session_id, _ = await server.create()
    journal = server.app[SERVICES].journal
    minute = 1_900_000_020 // 60 * 60  # a whole minute (2030-03-17 17:47 UTC)
    for s in range(3):
        journal.sample(session_id, "t1", minute + s, Second(
            audio_packets=50, audio_bytes=4000, audio_level=30,
            video_packets=40, video_bytes=30_000, video_frames=25, video_keyframes=int(s == 0),
        ))
    journal.sample(session_id, "s1", minute + 1, Second(forwarded_packets=90, confirmed=True))
    status, body = await server.api("GET", f"/api/v1/sessions/{session_id}/evidence")
    assert status == 200, body
    assert body["session_id"] == session_id
    rows = {r["person"]: r for r in body["rows"]}
    assert set(rows) == {"t1", "s1"}
    t1 = rows["t1"]
    assert t1["minute"].startswith("2030-03-17T17:47:00")
    assert (t1["video_frames"], t1["video_keyframes"], t1["audio_packets"]) == (75, 1, 150)
    assert t1["voiced_s"] == 3 and t1["frames"][:4] == [25, 25, 25, 0]
    assert t1["audio_level"][:4] == [30, 30, 30, None]
    assert rows["s1"]["forwarded_packets"] == 90 and rows["s1"]["confirmed"][1] is True


async def test_an_empty_session_has_no_rows(server: ServerHandle) -> None:
    session_id, _ = await server.create()
    status, body = await server.api("GET", f"/api/v1/sessions/{session_id}/evidence")
    assert status == 200 and body == {"session_id": session_id, "rows": []}


async def test_timeline_picture(server: ServerHandle) -> None:
    session_id, _ = await server.create()
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with server.http.get(f"{server.base}/api/v1/sessions/{session_id}/timeline",
                               headers=headers) as r:
        assert r.status == 200 and r.content_type == "image/svg+xml"
        root = ET.fromstring(await r.text())
    texts = " ".join(t.text or "" for t in root.iter(f"{NS}text"))
    assert session_id in texts and "no active time recorded" in texts


async def test_errors_and_who_may_read(server: ServerHandle) -> None:
    session_id, toks = await server.create()
    for what in ("evidence", "timeline"):
        path = f"/api/v1/sessions/{session_id}/{what}"
        status, body = await server.api("GET", path, token=toks["s1"])
        assert status == 403 and body["error"]["code"] == "forbidden"
        assert (await server.api("GET", path, key=None))[0] == 401
        assert (await server.api("GET", path, key="wrong"))[0] == 401
        assert (await server.api("GET", f"/api/v1/sessions/s_nope/{what}"))[0] == 404
