"""Evidence benchmark: what per-minute media evidence costs the journal (issue 9).

    python -m bench.evidence                      # 300 people, 180 simulated seconds
    python -m bench.evidence --people 50 --seconds 60

A real :class:`~recorder.presence.journal.Journal` on a temporary SQLite file (WAL,
``synchronous=FULL``), driven by a fake clock so that simulated time runs as fast as the
CPU allows. Each simulated second, every person gives what a live session gives the
journal, and the journal commits (its heartbeat). Two runs on the same machine, in the
same process:

- *baseline*: presence only, as before issue 9 (one ``traffic`` observation per person
  per second, the heartbeat's commit);
- *evidence*: the same, plus one :class:`~recorder.presence.evidence.Second` per person
  per second (a talking teacher with camera; learners receiving), folded into minute rows
  and upserted each heartbeat.

It prints CPU time (all threads: the commit runs on the journal's thread) per person
per second for both, their ratio, the CPU share of one core a 300-person lecture costs,
and the evidence table's size per person-hour (SQLite's own page count for the table).
The sampling in the media room itself is a handful of counter reads per person per
second; the per-packet cost of counting is in ``bench/forward_path.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

from recorder.presence.evidence import Second
from recorder.presence.journal import Journal
from rtc.clock import FakeClock

T0 = 1_780_000_020.0  # a whole minute
TEACHER = Second(
    audio_packets=50, audio_bytes=4_200, audio_level=18, video_packets=95,
    video_bytes=110_000, video_frames=25, video_keyframes=0, forwarded_packets=10,
    forwarded_bytes=900, confirmed=True,
)  # fmt: skip
LEARNER = Second(forwarded_packets=145, forwarded_bytes=114_000, confirmed=True, rr_loss=0.01)


async def _run(people: int, seconds: int, evidence: bool, folder: Path) -> tuple[float, Path]:
    clock = FakeClock(start=T0)
    path = folder / ("evidence.db" if evidence else "baseline.db")
    journal = Journal(path, clock=clock, heartbeat_s=3600.0)  # we beat by hand
    await journal.open()
    names = [f"p{i}" for i in range(people)]
    for name in names:
        for kind in ("signal_up", "transport_up", "traffic"):
            journal.observe("s", name, kind)
    cpu = time.process_time()
    for n in range(seconds):
        clock.advance(1.0)
        second = int(T0) + n
        for i, name in enumerate(names):
            journal.observe("s", name, "traffic")
            if evidence:
                journal.sample("s", name, second, TEACHER if i == 0 else LEARNER)
        await journal.flush()
    cpu = time.process_time() - cpu
    await journal.close()
    return cpu, path


def _table_bytes(path: Path, table: str) -> int:
    db = sqlite3.connect(path)
    try:
        try:
            row = db.execute("SELECT SUM(pgsize) FROM dbstat WHERE name = ?", (table,)).fetchone()
            return int(row[0] or 0)
        except sqlite3.OperationalError:  # SQLite built without dbstat: the file size
            return path.stat().st_size
    finally:
        db.close()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=300)
    ap.add_argument("--seconds", type=int, default=180)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base, _ = await _run(args.people, args.seconds, False, folder)
        ev, path = await _run(args.people, args.seconds, True, folder)
        size = _table_bytes(path, "evidence")
    person_seconds = args.people * args.seconds
    per_base = base / person_seconds * 1e6
    per_ev = ev / person_seconds * 1e6
    hours = person_seconds / 3600
    print(f"{args.people} people × {args.seconds} s, one heartbeat commit per second")
    print(f"baseline (presence only): {per_base:7.1f} µs CPU per person-second")
    ratio, extra = per_ev / per_base, per_ev - per_base
    print(f"with evidence:            {per_ev:7.1f} µs CPU per person-second "
          f"({ratio:.2f}× baseline; evidence alone {extra:.1f} µs)")  # fmt: skip
    print(f"a {args.people}-person session: {ev / args.seconds * 100:.1f} % of one core "
          f"(baseline {base / args.seconds * 100:.1f} %)")  # fmt: skip
    print(f"evidence table: {size / hours / 1024:.1f} KiB per person-hour "
          f"({size / 1024:.0f} KiB for {hours:.1f} person-hours)")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
