"""Presence journal on real SQLite files: intervals from a fake clock, the audit
trail, durability rules, crash recovery (a copied crash image, and a real child
process killed with SIGKILL)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from recorder.presence.evidence import Second
from recorder.presence.journal import (
    ENDED_MEMORY_S,
    EVIDENCE_EVERY_S,
    Journal,
    iso_intervals,
    to_iso,
)
from rtc.clock import FakeClock

T0 = 1_772_445_600.0  # 2026-03-02T10:00:00Z
REPO = Path(__file__).resolve().parents[2]
HOUR = 3600.0  # a heartbeat that never fires on its own: tests call flush()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=T0)


@pytest.fixture
async def journal(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Journal]:
    j = Journal(tmp_path / "journal.db", clock=clock, heartbeat_s=HOUR)
    await j.open()
    yield j
    await j.close()


def join(j: Journal, session: str, person: str) -> None:
    for kind in ("signal_up", "transport_up", "traffic"):
        j.observe(session, person, kind)


def traffic_for(j: Journal, clock: FakeClock, people: list[tuple[str, str]], seconds: int) -> None:
    """One packet per person per second, for ``seconds`` seconds."""
    for _ in range(seconds):
        clock.advance(1.0)
        for session, person in people:
            j.observe(session, person, "traffic")


def rows(path: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


async def test_a_session_becomes_intervals(
    journal: Journal, clock: FakeClock, tmp_path: Path
) -> None:
    join(journal, "s1", "t1")
    journal.observe("s1", "t1", "media_up", "video")
    clock.advance(2.0)
    join(journal, "s1", "p1")
    traffic_for(journal, clock, [("s1", "t1"), ("s1", "p1")], 10)  # now T0 + 12
    # Live view before anything is durable: open intervals cut at now.
    assert journal.intervals("s1") == {"t1": [(T0, T0 + 12)], "p1": [(T0 + 2, T0 + 12)]}
    await journal.flush()
    assert journal.intervals("s1") == {"t1": [(T0, T0 + 12)], "p1": [(T0 + 2, T0 + 12)]}
    journal.observe("s1", "p1", "signal_down")  # the phone leaves at T0 + 12
    traffic_for(journal, clock, [("s1", "t1")], 8)  # now T0 + 20
    journal.end_session("s1")
    journal.observe("s1", "t1", "signal_down")  # after the end: audit only
    expected = {"t1": [(T0, T0 + 20)], "p1": [(T0 + 2, T0 + 12)]}
    assert journal.intervals("s1") == expected
    await journal.flush()
    assert journal.intervals("s1", now=T0 + 999) == expected

    db = tmp_path / "journal.db"
    assert rows(db, "SELECT person, at - ?, active, detail FROM transitions ORDER BY id", T0) == [
        ("t1", 0.0, 1, "traffic"),
        ("p1", 2.0, 1, "traffic"),
        ("p1", 12.0, 0, "signal_down"),
        ("t1", 20.0, 0, "session_end"),
    ]
    assert rows(db, "SELECT COUNT(*) FROM events WHERE kind = 'traffic'") == [(0,)]
    assert [(e["time"], e["person"], e["kind"], e["detail"]) for e in journal.events("s1")] == [
        (T0, "t1", "signal_up", ""),
        (T0, "t1", "transport_up", ""),
        (T0, "t1", "media_up", "video"),
        (T0 + 2, "p1", "signal_up", ""),
        (T0 + 2, "p1", "transport_up", ""),
        (T0 + 12, "p1", "signal_down", ""),
        (T0 + 20, "", "session_end", ""),
        (T0 + 20, "t1", "signal_down", ""),
    ]
    assert journal.intervals("other") == {}


async def test_flush_applies_the_timeout_and_the_live_view_cuts_at_the_deadline(
    journal: Journal, clock: FakeClock, tmp_path: Path
) -> None:
    join(journal, "s1", "p")
    traffic_for(journal, clock, [("s1", "p")], 3)  # last packet at T0 + 3
    clock.advance(30.0)
    # Not ticked yet, but the live view already stops at last packet + 5 s.
    assert journal.intervals("s1") == {"p": [(T0, T0 + 8)]}
    assert journal.intervals("s1", now=T0 + 4) == {"p": [(T0, T0 + 4)]}
    await journal.flush()
    assert rows(tmp_path / "journal.db", "SELECT at, active, detail FROM transitions") == [
        (T0, 1, "traffic"),
        (T0 + 8, 0, "timeout"),
    ]
    assert rows(tmp_path / "journal.db", "SELECT node_id, at FROM heartbeat") == [
        ("local", T0 + 33)
    ]


async def test_storage_is_wal_and_append_only(journal: Journal, tmp_path: Path) -> None:
    join(journal, "s1", "p")
    await journal.flush()
    db = sqlite3.connect(tmp_path / "journal.db")
    try:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        for sql in (
            "UPDATE transitions SET at = 0",
            "DELETE FROM transitions",
            "UPDATE events SET at = 0",
            "DELETE FROM events",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                db.execute(sql)
    finally:
        db.close()


async def test_crash_image_is_recovered_at_the_last_heartbeat(
    journal: Journal, clock: FakeClock, tmp_path: Path
) -> None:
    """What a kill leaves on disk, taken by copying the files between two commits:
    the next open closes open intervals at the last durable heartbeat."""
    join(journal, "done", "a")
    clock.advance(4.0)
    journal.end_session("done")  # a closed interval [T0, T0 + 4)
    join(journal, "live", "b")
    join(journal, "live", "c")
    traffic_for(journal, clock, [("live", "b"), ("live", "c")], 6)
    journal.observe("live", "c", "signal_down")  # c closed at T0 + 10
    await journal.flush()  # durable heartbeat at T0 + 10
    traffic_for(journal, clock, [("live", "b")], 1)
    journal.observe("live", "b", "media_up", "audio")  # lost with the crash

    crash = tmp_path / "crash"
    crash.mkdir()
    for suffix in ("", "-wal"):
        shutil.copy(tmp_path / f"journal.db{suffix}", crash / f"journal.db{suffix}")

    later = FakeClock(start=T0 + 500)
    j2 = Journal(crash / "journal.db", clock=later, heartbeat_s=HOUR)
    await j2.open()
    try:
        assert j2.recovered == [("live", "b", T0 + 10)]
        assert j2.intervals("live") == {"b": [(T0 + 4, T0 + 10)], "c": [(T0 + 4, T0 + 10)]}
        assert j2.intervals("done") == {"a": [(T0, T0 + 4)]}
        assert [e["kind"] for e in j2.events("live") if e["person"] == "b"] == [
            "signal_up",
            "transport_up",
        ]
        # The same person in the same session is active again on the new run.
        join(j2, "live", "b")
        later.advance(2)
        assert j2.intervals("live")["b"] == [(T0 + 4, T0 + 10), (T0 + 500, T0 + 502)]
    finally:
        await j2.close()
    assert rows(crash / "journal.db", "SELECT at, detail FROM transitions WHERE active = 0") == [
        (T0 + 4, "session_end"),
        (T0 + 10, "signal_down"),
        (T0 + 10, "recovered"),
        (T0 + 502, "shutdown"),
    ]
    j3 = Journal(crash / "journal.db", clock=later, heartbeat_s=HOUR)
    await j3.open()
    assert j3.recovered == []  # nothing left open: recovery happens once
    await j3.close()


async def test_recovery_only_touches_its_own_node(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "journal.db"
    other = Journal(path, clock=clock, node_id="n2", heartbeat_s=HOUR)
    await other.open()
    join(other, "s", "far")
    await other.flush()  # n2's heartbeat: T0
    clock.advance(3)
    mine = Journal(path, clock=clock, heartbeat_s=HOUR)
    await mine.open()
    try:
        assert mine.recovered == []
        # n2's open interval, seen from this node, stops at n2's last heartbeat.
        assert mine.intervals("s") == {"far": []}
        await other.flush()
        assert mine.intervals("s") == {"far": [(T0, T0 + 3)]}
    finally:
        await mine.close()
        await other.close()


async def test_clean_close_ends_open_intervals_now(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "journal.db"
    j = Journal(path, clock=clock, heartbeat_s=HOUR)
    await j.open()
    join(j, "s", "p")
    clock.advance(2)
    await j.close()
    j.observe("s", "p", "signal_down")  # a late callback after close: dropped
    await j.close()  # idempotent
    j2 = Journal(path, clock=clock, heartbeat_s=HOUR)
    await j2.open()
    assert j2.recovered == []
    assert j2.intervals("s") == {"p": [(T0, T0 + 2)]}
    assert [e["kind"] for e in j2.events("s")] == ["signal_up", "transport_up"]
    await j2.close()


async def test_a_failed_commit_is_kept_and_retried(
    journal: Journal, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    join(journal, "s", "p")
    real_commit = journal._commit

    def disk_full(*args: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(journal, "_commit", disk_full)
    with pytest.raises(sqlite3.OperationalError):
        await journal.flush()
    clock.advance(1)
    journal.observe("s", "p", "signal_down")
    assert journal.intervals("s") == {"p": [(T0, T0 + 1)]}
    monkeypatch.setattr(journal, "_commit", real_commit)
    await journal.flush()
    assert [e["kind"] for e in journal.events("s")] == ["signal_up", "transport_up", "signal_down"]
    assert journal.intervals("s") == {"p": [(T0, T0 + 1)]}


async def test_the_heartbeat_commits_on_its_own(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "journal.db"
    j = Journal(path, clock=clock, heartbeat_s=0.5)
    await j.open()
    try:
        join(j, "s", "p")
        for _ in range(200):  # the beat runs on the journal's clock: move it, no sleeping
            clock.advance(0.25)
            await asyncio.sleep(0.01)
            if rows(path, "SELECT person, active FROM transitions"):
                break
        assert rows(path, "SELECT person, active FROM transitions") == [("p", 1)]
        assert rows(path, "SELECT COUNT(*) FROM heartbeat") == [(1,)]
    finally:
        await j.close()


async def test_traffic_is_cheap_and_not_persisted(journal: Journal, clock: FakeClock) -> None:
    for i in range(20):
        join(journal, "lecture", f"p{i}")
    for _ in range(5_000):
        clock.advance(0.001)
        for i in range(20):
            journal.observe("lecture", f"p{i}", "traffic", "rtp")
    assert len(journal._events) == 40  # signal_up and transport_up only
    await journal.flush()
    assert len(journal.intervals("lecture")) == 20


async def test_bad_calls(tmp_path: Path, clock: FakeClock, journal: Journal) -> None:
    with pytest.raises(ValueError):
        journal.observe("s", "p", "i_am_here")  # client claims are not a kind
    with pytest.raises(ValueError):
        journal.observe("s", "", "signal_up")
    unopened = Journal(tmp_path / "other.db", clock=clock)
    with pytest.raises(RuntimeError):
        unopened.observe("s", "p", "signal_up")
    with pytest.raises(ValueError):
        Journal(tmp_path / "x.db", clock=clock, heartbeat_s=0)
    assert journal.events("s") == []


def test_iso_format() -> None:
    assert to_iso(T0) == "2026-03-02T10:00:00.000Z"
    assert to_iso(T0 + 0.1234) == "2026-03-02T10:00:00.123Z"
    assert to_iso(T0 + 59.9996) == "2026-03-02T10:01:00.000Z"  # rounded, carried
    parsed = datetime.fromisoformat(to_iso(T0 + 1.5))
    assert parsed.timestamp() == T0 + 1.5 and parsed.utcoffset() is not None
    assert iso_intervals({"t1": [(T0, T0 + 60), (T0 + 70, T0 + 70.0001)]}) == {
        "t1": [["2026-03-02T10:00:00.000Z", "2026-03-02T10:01:00.000Z"]]
    }


# -- a real crash: a child process killed with SIGKILL ------------------------------

CHILD = """
import asyncio, json, sys
from pathlib import Path
from recorder.presence.journal import Journal
from rtc.clock import SystemClock

async def main(path):
    j = Journal(Path(path), clock=SystemClock(), heartbeat_s=0.25)
    await j.open()
    for kind in ("signal_up", "transport_up", "traffic"):
        j.observe("s1", "b", kind)
    await asyncio.sleep(0.3)
    j.observe("s1", "b", "signal_down")  # b: a short, closed interval
    for kind in ("signal_up", "transport_up", "traffic"):
        j.observe("s1", "a", kind)  # a: stays active until the kill
    await j.flush()
    print(json.dumps(j.intervals("s1")), flush=True)
    while True:
        j.observe("s1", "a", "traffic")
        await asyncio.sleep(0.05)

asyncio.run(main(sys.argv[1]))
"""


async def test_sigkill_loses_at_most_the_last_heartbeat(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(path), cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        before = json.loads(await asyncio.wait_for(child.stdout.readline(), 60))
        await asyncio.sleep(1.5)  # several heartbeats with a still active
        os.kill(child.pid, signal.SIGKILL)
        killed_at = time.time()
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()
    assert child.returncode == -signal.SIGKILL

    j = Journal(path, clock=FakeClock(start=killed_at + 100), heartbeat_s=HOUR)
    await j.open()
    try:
        after = j.intervals("s1")
        # Earlier closed intervals are intact, to the bit.
        assert after["b"] == [tuple(iv) for iv in before["b"]]
        # a's interval was closed at the last durable heartbeat, just before the kill.
        [(start, end)] = after["a"]
        assert start == before["a"][0][0]
        assert killed_at - 2.0 <= end <= killed_at
        assert j.recovered == [("s1", "a", end)]
    finally:
        await j.close()
    assert rows(path, "SELECT person, detail FROM transitions WHERE active = 0") == [
        ("b", "signal_down"),
        ("a", "recovered"),
    ]


async def test_ended_sessions_are_forgotten_after_a_while(
    journal: Journal, clock: FakeClock
) -> None:
    """Late callbacks cannot revive an ended session, yet the memory of ended sessions is
    bounded: a long-running server does not keep every session id it ever ran."""
    for n in range(50):
        join(journal, f"s{n}", "t1")
        journal.end_session(f"s{n}")
    journal.observe("s0", "t1", "traffic")  # late: refused
    assert "s0" not in journal._trackers
    await journal.flush()
    assert len(journal._ended) == 50
    clock.advance(ENDED_MEMORY_S + 1)
    await journal.flush()
    assert journal._ended == {}


# -- per-minute media evidence (issue 9, item 1) ---------------------------------------

VOICE = Second(audio_packets=50, audio_bytes=4000, audio_level=20)
LIVE = Second(video_packets=60, video_bytes=50_000, video_frames=15, video_keyframes=1)


async def test_evidence_rows_are_durable_with_each_heartbeat(
    journal: Journal, clock: FakeClock, tmp_path: Path
) -> None:
    minute = int(T0)  # T0 is a whole minute
    journal.sample("s", "t", minute, VOICE)
    journal.sample("s", "t", minute + 1, LIVE)
    # Before the heartbeat the live view already has it; the disk does not.
    (row,) = journal.evidence_rows("s")
    assert row.audio_packets == 50 and row.video_frames == 15
    path = tmp_path / "journal.db"
    assert rows(path, "SELECT COUNT(*) FROM evidence") == [(0,)]
    await journal.flush()
    assert rows(path, "SELECT person, minute, audio_packets, video_frames FROM evidence") == [
        ("t", minute, 50, 15)
    ]
    # The open minute is rewritten, not appended, at most every EVIDENCE_EVERY_S: not
    # at the next heartbeat, at the first one that far after the last write.
    journal.sample("s", "t", minute + 2, VOICE)
    await journal.flush()
    assert rows(path, "SELECT audio_packets, video_frames FROM evidence") == [(50, 15)]
    assert journal.evidence_rows("s")[0].audio_packets == 100  # the live view has it
    clock.advance(EVIDENCE_EVERY_S)
    await journal.flush()
    assert rows(path, "SELECT audio_packets, video_frames FROM evidence") == [(100, 15)]
    # A minute that is over goes with the very next heartbeat, the open one waits.
    clock.advance(60)
    journal.sample("s", "t", minute + 61, VOICE)  # the next minute, open
    await journal.flush()  # writes both (5 s since the last write of open minutes)
    journal.sample("s", "t", minute + 59, VOICE)  # late, for the closed minute
    journal.sample("s", "t", minute + 62, VOICE)
    clock.advance(EVIDENCE_EVERY_S / 2)
    await journal.flush()
    assert rows(path, "SELECT minute, audio_packets FROM evidence ORDER BY minute") == [
        (minute, 150), (minute + 60, 50)]
    shown = journal.evidence("s")[0]
    assert shown["minute"] == to_iso(T0) and shown["voiced_s"] == 3
    assert shown["audio_level"][:3] == [20, None, 20]  # type: ignore[index]


async def test_a_failed_commit_keeps_the_evidence(
    journal: Journal, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    journal.sample("s", "t", int(T0), VOICE)
    real_commit = journal._commit

    def disk_full(*args: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(journal, "_commit", disk_full)
    with pytest.raises(sqlite3.OperationalError):
        await journal.flush()
    assert journal.evidence_rows("s")[0].audio_packets == 50
    monkeypatch.setattr(journal, "_commit", real_commit)
    await journal.flush()
    assert rows(tmp_path / "journal.db", "SELECT audio_packets FROM evidence") == [(50,)]


EVIDENCE_CHILD = """
import asyncio, sys, time
from pathlib import Path
from recorder.presence.evidence import Second
from recorder.presence.journal import Journal
from rtc.clock import SystemClock

async def main(path):
    j = Journal(Path(path), clock=SystemClock(), heartbeat_s=0.25, evidence_every_s=0.25)
    await j.open()
    base = int(time.time()) // 60 * 60
    print(base, flush=True)
    for n in range(100000):  # one "second" of evidence per 0.05 s: minutes pass fast
        j.sample("s1", "a", base + n, Second(audio_packets=50, audio_level=20))
        print(n, flush=True)
        await asyncio.sleep(0.05)

asyncio.run(main(sys.argv[1]))
"""


def test_sigkill_keeps_the_evidence_up_to_the_last_heartbeat(tmp_path: Path) -> None:
    # A plain test with subprocess.Popen, not asyncio's subprocesses: asyncio's child
    # watcher can lose the exit status of a killed child ("unknown child process").
    path = tmp_path / "journal.db"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", EVIDENCE_CHILD, str(path)], cwd=REPO, env=env,
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        base = int(child.stdout.readline())
        time.sleep(4.0)  # ~80 "seconds" of evidence, over two minutes
        child.kill()  # SIGKILL
        printed = child.stdout.read().split()
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    last = base + int(printed[-1])  # the last second sampled before the kill

    async def reopen() -> list[Any]:
        j = Journal(path, clock=FakeClock(start=time.time() + 100), heartbeat_s=HOUR)
        await j.open()
        try:
            return j.evidence_rows("s1")
        finally:
            await j.close()

    got = asyncio.run(reopen())
    assert len(got) >= 2  # the closed minute and the open one survived
    seconds = sorted(r.minute + i for r in got for i, v in enumerate(r.levels) if v == 20)
    # Every second from the first up to about the last heartbeat before the kill
    # (0.25 s: 5 samples, and a little slack for a slow commit) is on disk.
    assert seconds == list(range(base, seconds[-1] + 1))
    assert seconds[-1] >= last - 5 - 5


async def test_a_read_only_journal_reads_beside_the_writer_and_writes_nothing(
    journal: Journal, clock: FakeClock, tmp_path: Path
) -> None:
    join(journal, "s", "p")
    journal.sample("s", "p", int(T0), VOICE)
    clock.advance(10)
    await journal.flush()
    path = tmp_path / "journal.db"
    before = rows(path, "SELECT node_id, run_id, at FROM heartbeat")
    reader = Journal(path, clock=clock, node_id="report")
    await reader.open(read_only=True)
    try:
        # p is still open on the writer's node: cut at its last durable heartbeat.
        assert reader.intervals("s") == {"p": [(T0, T0 + 5)]}  # traffic timed out at +5
        assert reader.evidence_rows("s")[0].audio_packets == 50
        with pytest.raises(RuntimeError, match="read_only"):
            reader.observe("s", "p", "traffic")
        with pytest.raises(RuntimeError, match="read_only"):
            reader.sample("s", "p", int(T0), VOICE)
    finally:
        await reader.close()
    assert rows(path, "SELECT node_id, run_id, at FROM heartbeat") == before
    with pytest.raises(FileNotFoundError):
        await Journal(tmp_path / "nothing.db", clock=clock).open(read_only=True)
