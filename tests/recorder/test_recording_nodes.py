"""Recordings across nodes (issue 11, item 2): two servers, each with a data directory
of its own, share PostgreSQL and a recordings folder. A recording made by node A is
listed and served by node B (the single file, a segment with its delivery counted),
also once node A is gone."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from recorder.media.recording import FULL_FILE
from recorder.media.recording_index import Segment, Track
from signaling.server.http_util import SERVICES
from tests.conftest import create_database, free_port
from tests.support import ONE_TO_ONE, start_app, token_of

pytestmark = pytest.mark.timeout(60)


async def test_a_recording_of_a_gone_node_is_served_by_another(
    postgres_url: str, tmp_path: Path
) -> None:
    url = create_database(postgres_url)
    shared = tmp_path / "mnt-recordings"
    a = await start_app(tmp_path / "a", port=free_port(), node_id="node-a", database_url=url,
                        recordings_dir=shared)
    b = await start_app(tmp_path / "b", port=free_port(), node_id="node-b", database_url=url,
                        recordings_dir=shared)
    try:
        status, created = await a.api("POST", "/api/v1/sessions", copy.deepcopy(ONE_TO_ONE))
        assert status == 201
        session_id = created["session_id"]
        learner = token_of(created["join_urls"]["s1"])

        # Node A records (its index rows and its files under the shared folder).
        recordings = a.app[SERVICES].recordings
        assert recordings is not None and recordings.root == shared
        index = recordings.index
        rid = "r_" + "A" * 16
        folder = shared / rid
        folder.mkdir(parents=True)
        (folder / "v0-00001.webm").write_bytes(b"segment-bytes")
        (folder / FULL_FILE).write_bytes(b"whole-recording")

        def record() -> None:
            index.create(rid, session_id, 1_700_000_000.0)
            index.add_track(rid, Track("v0", "t1", "video", "VP8"))
            index.add_segment(rid, Segment("v0", 1, 0.0, 10.0, 150, 13), 1_700_000_010.0)
            index.finish(rid, "complete", 1_700_000_010.0, 10.0)
            index.set_file(rid, len(b"whole-recording"))

        await asyncio.to_thread(index.call, record)
        await a.stop()  # node A is gone

        status, listed = await b.api("GET", f"/api/v1/sessions/{session_id}/recordings")
        assert status == 200, listed
        [item] = listed["recordings"]
        assert item["id"] == rid and item["complete"] and item["file_ready"]
        path = urlsplit(item["url"])
        async with b.http.get(b.base + path.path + "?" + path.query) as r:
            assert r.status == 200 and await r.read() == b"whole-recording"

        # A participant's link, from node B: the segment is served and its delivery
        # counted (the session record's replay time).
        status, mine = await b.api("GET", "/api/v1/me/recordings", key=None, token=learner)
        assert status == 200, mine
        scope = urlsplit(mine["recordings"][0]["url"])
        base = scope.path.rsplit("/", 1)[0]
        async with b.http.get(f"{b.base}{base}/v0/1.webm?{scope.query}") as r:
            assert r.status == 200 and await r.read() == b"segment-bytes"
        on_b = b.app[SERVICES].recordings
        assert on_b is not None
        deliveries = await on_b.index.adeliveries(session_id)
        assert [media for _, media in deliveries["s1"]] == [10.0]
    finally:
        await b.stop()
        if a.runner.server is not None:
            await a.stop()
