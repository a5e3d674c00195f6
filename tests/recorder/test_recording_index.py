"""The recordings index on both back ends (``database_url``: SQLite, and a real
PostgreSQL server): every write reads back the same, viewer handles are one per
person, retention selects by end time, and on an index shared by two nodes a node
finishes only its own open recordings, or another's long still one, claimed once."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from recorder.media.recording import ORPHAN_S, recover
from recorder.media.recording_index import Gap, RecordingIndex, Segment, Track, open_index

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def index(database_url: str, tmp_path: Path) -> AsyncIterator[RecordingIndex]:
    idx = open_index(database_url, tmp_path / "recordings.sqlite", node="n1")
    await idx.open()
    yield idx
    await idx.close()


async def test_a_recording_reads_back_as_written(index: RecordingIndex) -> None:
    def build() -> None:
        index.create("r_1", "s_1", 1000.0)
        index.add_track("r_1", Track("v0", "t1", "video", "VP8"))
        index.add_track("r_1", Track("a1", "t1", "audio", "opus"))
        index.add_track("r_1", Track("v0", "t1", "video", "VP8"))  # again: ignored
        for n in (2, 1):
            index.add_segment("r_1", Segment("v0", n, n * 10.0, n * 10.0 + 10, 150, 5000),
                              1000.0 + n * 10)
        index.add_segment("r_1", Segment("a1", 1, 0.0, 9.5, 475, 800), 1012.0)
        index.add_gap("r_1", Gap(None, 20.0, 21.5, "writer_behind"))
        index.add_gap("r_1", Gap("v0", 5.0, 6.0, "write_failed"))
        index.heartbeat("r_1", 1030.0)

    await asyncio.to_thread(index.call, build)
    rec = await index.aget("r_1")
    assert rec is not None
    assert (rec.session_id, rec.state, rec.node, rec.heartbeat_at) == (
        "s_1", "recording", "n1", 1030.0)
    assert [t.track for t in rec.tracks] == ["v0", "a1"]  # the order they appeared in
    assert [(s.track, s.n) for s in rec.segments] == [("a1", 1), ("v0", 1), ("v0", 2)]
    assert rec.bytes == 10_800 and rec.segments_of("v0")[0].file == "v0-00001.webm"
    assert [(g.track, g.start_s, g.reason) for g in rec.gaps] == [
        ("v0", 5.0, "write_failed"), (None, 20.0, "writer_behind")]

    await asyncio.to_thread(index.call, index.finish, "r_1", "complete", 1031.0, 31.0)
    await asyncio.to_thread(index.call, index.heartbeat, "r_1", 2000.0)  # finished: ignored
    await asyncio.to_thread(index.call, index.set_file, "r_1", 12_345)
    rec = await index.aget("r_1")
    assert rec is not None and rec.complete and rec.bytes == 12_345
    assert (rec.stopped_at, rec.duration_s, rec.heartbeat_at) == (1031.0, 31.0, 1030.0)
    assert await index.aget("r_missing") is None


async def test_listing_and_retention_select_by_session_state_and_end(
    index: RecordingIndex
) -> None:
    def build() -> None:
        for n, (session, origin) in enumerate([("s_1", 300.0), ("s_2", 100.0), ("s_1", 200.0)]):
            index.create(f"r_{n}", session, origin)
        index.finish("r_1", "complete", 150.0, 50.0)
        index.finish("r_2", "incomplete", 260.0, 60.0)

    await asyncio.to_thread(index.call, build)
    assert [r.id for r in await index.arecordings(session_id="s_1")] == ["r_2", "r_0"]
    assert [r.id for r in await index.arecordings(state="recording")] == ["r_0"]
    old = await asyncio.to_thread(index.call, index.ids, stopped_before=200.0)
    assert old == ["r_1"]  # never one still recording, whatever its age
    await asyncio.to_thread(index.call, index.forget, "r_1")
    assert await index.aget("r_1") is None
    assert [r.id for r in await index.arecordings()] == ["r_2", "r_0"]


async def test_one_viewer_handle_per_person_and_deliveries(index: RecordingIndex) -> None:
    made = iter(f"v_{n:016d}" for n in range(100))
    handles = await asyncio.gather(*(index.aviewer(lambda: next(made), "s_1", "s1")
                                     for _ in range(8)))
    assert len(set(handles)) == 1
    platform = await index.aviewer(lambda: next(made), "s_1", None)
    assert platform != handles[0] and await index.aviewer(lambda: next(made), "s_1", None) \
        == platform
    assert await index.awho(handles[0]) == ("s_1", "s1")
    assert await index.awho(platform) == ("s_1", None)
    assert await index.awho("v_unknown") is None

    await index.adelivered("r_1", "s_1", "s1", "v0", 2, 1010.0, 10.0)
    await index.adelivered("r_1", "s_1", "s1", "v0", 1, 1000.0, 10.0)
    await index.adelivered("r_1", "s_1", "s2", "a1", 1, 1005.0, 9.5)
    assert await index.adeliveries("s_1") == {
        "s1": [(1000.0, 10.0), (1010.0, 10.0)], "s2": [(1005.0, 9.5)]}
    assert await index.adeliveries("s_other") == {}


async def test_shared_index_each_node_recovers_its_own_and_long_still_ones(
    database_url: str, tmp_path: Path
) -> None:
    """Two nodes on one index and one recordings root (PostgreSQL and a shared folder;
    on SQLite, processes sharing a data directory): at start a node finishes only its
    own open recordings; another node's live one is left alone; one whose node and
    files have been still for ORPHAN_S is finished by exactly one node."""
    if database_url:
        # Two nodes, each its own data directory: only the database is shared.
        a = open_index(database_url, tmp_path / "a" / "recordings.sqlite", node="node-a")
        b = open_index(database_url, tmp_path / "b" / "recordings.sqlite", node="node-b")
    else:
        a = open_index("", tmp_path / "recordings.sqlite", node="node-a")
        b = open_index("", tmp_path / "recordings.sqlite", node="node-b")
    root = tmp_path / "shared-recordings"
    now = time.time()
    await a.open()
    await b.open()
    try:
        def build() -> None:
            a.create("r_mine", "s_1", now - 30)  # node-a's, cut by its crash
            b.create("r_live", "s_2", now - 30)  # node-b's, running now
            b.heartbeat("r_live", now - 1)
            b.create("r_gone", "s_3", now - 4000)  # node-b's, still for an hour
            b.heartbeat("r_gone", now - 3600)

        await asyncio.to_thread(a.call, build)
        for rid in ("r_mine", "r_live", "r_gone"):
            (root / rid).mkdir(parents=True)
        stale = now - 3600
        os.utime(root / "r_gone", (stale, stale))

        finished = await asyncio.to_thread(recover, a, root, now=now)
        assert sorted(finished) == ["r_gone", "r_mine"]
        states = {r.id: (r.state, r.node) for r in await a.arecordings()}
        assert states == {"r_mine": ("incomplete", "node-a"), "r_live": ("recording", "node-b"),
                          "r_gone": ("incomplete", "node-a")}
        # node-b, starting later, has nothing of its own cut: its live one it does not
        # touch here (that is its recorder's), and nothing is finished twice.
        assert await asyncio.to_thread(recover, b, root, orphans_only=True, now=now) == []
        # A live recording whose index heartbeat stopped (its node lost the database)
        # but whose files still move is not an orphan.
        await asyncio.to_thread(b.call, b.heartbeat, "r_live", now - 2 * ORPHAN_S)
        (root / "r_live" / "v0-00001.part").write_bytes(b"x")
        assert await asyncio.to_thread(recover, a, root, orphans_only=True, now=now) == []
        # A claim is taken once: the second node's claim of the same recording fails.
        assert await asyncio.to_thread(b.call, b.claim, "r_live", "node-b", "node-c")
        assert not await asyncio.to_thread(a.call, a.claim, "r_live", "node-b", "node-a")
    finally:
        await a.close()
        await b.close()


async def test_sqlite_index_of_the_unversioned_layout_upgrades(tmp_path: Path) -> None:
    import sqlite3

    from recorder.media.recording_index import _SQLITE_FIRST, MIGRATIONS

    path = tmp_path / "recordings.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(_SQLITE_FIRST)
        db.execute("INSERT INTO recordings (id, session_id, origin_wall, state, heartbeat_at)"
                   " VALUES ('r_old', 's_1', 100.0, 'complete', 110.0)")
    index = open_index("", path, node="n1")
    await index.open()
    try:
        assert index.schema_version == len(MIGRATIONS)
        rec = await index.aget("r_old")
        assert rec is not None and rec.node == "" and rec.complete
    finally:
        await index.close()
