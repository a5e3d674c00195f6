"""The export queue is bounded: past ``MAX_PENDING`` queued or running exports a new one
is refused and nothing starts; finished jobs are forgotten oldest first past
``MAX_REMEMBERED``, so a long-running server does not keep every job it ever ran."""

from __future__ import annotations

from pathlib import Path

import pytest

from rtc.clock import FakeClock
from signaling.server import export_jobs
from signaling.server.export_jobs import MAX_PENDING, ExportJobs, ExportQueueFull


async def test_pending_exports_are_bounded(tmp_path: Path) -> None:
    jobs = ExportJobs(tmp_path, FakeClock(start=0.0))
    try:
        started = [jobs.start(f"s{n}") for n in range(MAX_PENDING)]
        with pytest.raises(ExportQueueFull):
            jobs.start("one too many")
        assert all(jobs.get(j.id) is j for j in started)
        assert len(jobs._jobs) == MAX_PENDING  # nothing was added by the refusal
    finally:
        await jobs.close()


async def test_finished_jobs_are_forgotten_oldest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_jobs, "MAX_REMEMBERED", 3)
    jobs = ExportJobs(tmp_path, FakeClock(start=0.0))
    try:
        first = jobs.start("s1")
        await jobs.close()  # the first one ends (killed): failed, so finished
        first.state = "failed"
        kept = []
        for n in range(3):
            job = jobs.start(f"s{n + 2}")
            job.state = "done"
            kept.append(job)
        assert jobs.get(first.id) is None
        assert [jobs.get(j.id) for j in kept] == kept
    finally:
        await jobs.close()
