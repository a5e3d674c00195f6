"""The presence journal on both back ends (issue 11, item 1): a SQLite file and a
real PostgreSQL server. Intervals, the audit trail and the evidence rows; a reader on
another node; append-only storage; and the durability promise with a real SIGKILL:
a killed node loses at most its last heartbeat, and another node reading the journal
closes the dead node's open intervals at that heartbeat."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from recorder.presence.evidence import Second
from recorder.presence.journal import Journal
from recorder.presence.journal_pg import PostgresJournalDb
from rtc.clock import FakeClock

T0 = 1_772_445_600.0  # 2026-03-02T10:00:00Z, a whole minute
REPO = Path(__file__).resolve().parents[2]
HOUR = 3600.0
VOICE = Second(audio_packets=50, audio_bytes=4000, audio_level=20)

Make = Callable[..., Journal]


@pytest.fixture
def make(database_url: str, tmp_path: Path) -> Make:
    """A journal on this test's back end (``database_url`` "": SQLite)."""

    def journal(clock: Any, node_id: str = "a") -> Journal:
        where: Any = PostgresJournalDb(database_url) if database_url else tmp_path / "j.db"
        return Journal(where, clock=clock, node_id=node_id, heartbeat_s=HOUR)

    return journal


@pytest.fixture
async def journal(make: Make) -> AsyncIterator[tuple[Journal, FakeClock]]:
    clock = FakeClock(start=T0)
    j = make(clock)
    await j.open()
    yield j, clock
    await j.close()


def join(j: Journal, session: str, person: str) -> None:
    for kind in ("signal_up", "transport_up", "traffic"):
        j.observe(session, person, kind)


async def test_rows_round_trip_and_another_node_reads_them(
    journal: tuple[Journal, FakeClock], make: Make
) -> None:
    j, clock = journal
    join(j, "s", "p")
    j.sample("s", "p", int(T0), VOICE)
    clock.advance(2)
    j.observe("s", "p", "signal_down")
    clock.advance(1)
    await j.flush()
    assert j.intervals("s") == {"p": [(T0, T0 + 2)]}
    reader = make(clock, node_id="report")
    await reader.open(read_only=True)
    try:
        assert reader.intervals("s") == {"p": [(T0, T0 + 2)]}
        assert [e["kind"] for e in reader.events("s")] == [
            "signal_up", "transport_up", "signal_down",
        ]  # fmt: skip
        (row,) = reader.evidence_rows("s")
        assert row.audio_packets == 50 and row.audio_level()[0] == 20
        assert reader.evidence("s")[0]["voiced_s"] == 1
    finally:
        await reader.close()


async def test_the_open_minute_is_rewritten_not_appended(
    journal: tuple[Journal, FakeClock],
) -> None:
    j, clock = journal
    for second in range(3):
        j.sample("s", "p", int(T0) + second, VOICE)
        clock.advance(5)  # EVIDENCE_EVERY_S: the open minute is rewritten each time
        await j.flush()
    (row,) = j.evidence_rows("s")
    assert row.audio_packets == 150


async def test_events_and_transitions_are_append_only(
    journal: tuple[Journal, FakeClock], database_url: str, tmp_path: Path
) -> None:
    j, _ = journal
    join(j, "s", "p")
    await j.flush()
    if database_url:
        import psycopg

        for table in ("events", "transitions"):
            with psycopg.connect(database_url, autocommit=True) as conn:
                with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                    conn.execute(f"DELETE FROM {table}")
                with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                    conn.execute(f"UPDATE {table} SET detail = 'x'")
    else:
        import sqlite3

        db = sqlite3.connect(tmp_path / "j.db")
        try:
            for table in ("events", "transitions"):
                with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                    db.execute(f"DELETE FROM {table}")
        finally:
            db.close()


CHILD = """
import asyncio, sys, time
from pathlib import Path
from recorder.presence.journal import Journal
from recorder.presence.journal_pg import PostgresJournalDb
from recorder.presence.evidence import Second
from rtc.clock import SystemClock

async def main(where):
    db = PostgresJournalDb(where) if where.startswith("postgres") else Path(where)
    j = Journal(db, clock=SystemClock(), node_id="dead", heartbeat_s=0.25,
                evidence_every_s=0.25)
    await j.open()
    for kind in ("signal_up", "transport_up", "traffic"):
        j.observe("s1", "a", kind)
    await j.flush()
    print("up", flush=True)
    second, base = 0, int(time.time()) // 60 * 60  # near now: the meter keeps recent minutes
    while True:
        j.observe("s1", "a", "traffic")
        j.sample("s1", "a", base + second, Second(audio_packets=50, audio_level=20))
        second += 1
        await asyncio.sleep(0.05)

asyncio.run(main(sys.argv[1]))
"""


def test_sigkill_loses_at_most_the_last_heartbeat(
    database_url: str, tmp_path: Path, make: Make
) -> None:
    # subprocess.Popen in a plain test: asyncio's child watcher can lose a killed
    # child's exit status.
    where = database_url or str(tmp_path / "j.db")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, where], cwd=REPO, env=env, stdout=subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"up"
        time.sleep(1.5)  # several heartbeats with a still active
        child.kill()
        killed_at = time.time()
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL

    async def read() -> tuple[dict[str, list[tuple[float, float]]], int]:
        # Another node reads: the dead node's open interval ends at its last heartbeat.
        other = make(FakeClock(start=killed_at + 100), node_id="b")
        await other.open()
        try:
            rows = other.evidence_rows("s1")
            return other.intervals("s1"), sum(r.audio_packets for r in rows)
        finally:
            await other.close()

    intervals, packets = asyncio.run(read())
    [(_, end)] = intervals["a"]
    assert killed_at - 2.0 <= end <= killed_at
    assert packets >= 50 * 10  # at least half a second of samples before the kill
