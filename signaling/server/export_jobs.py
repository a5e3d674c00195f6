"""Single-file exports as asynchronous jobs for the REST API.

Each job runs ``opentutor recording export`` (:mod:`signaling.server.recording_cli`) as a
child process at lower CPU priority, one job at a time: encoding H.264 is the one
expensive thing the recording feature does, and it must not take the event loop or
both cores from live sessions. Progress comes back as JSON lines on the child's
stdout. Jobs are kept in memory (a restart forgets them; their files stay until
retention removes them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rtc.clock import Clock
from signaling.session.timefmt import iso_at

log = logging.getLogger(__name__)

JOB_ID = re.compile(r"x_[A-Za-z0-9_-]{16}")
NICE = 10
# Bounds: exports run one at a time, so a long queue only delays everyone; finished jobs
# are remembered (for their status and download) until this many newer ones exist.
MAX_PENDING = 20
MAX_REMEMBERED = 500


class ExportQueueFull(Exception):
    """Too many exports are queued or running; nothing was started."""


@dataclass
class ExportJob:
    id: str
    session_id: str
    path: Path
    created_at: float
    state: str = "queued"  # queued | running | done | failed
    progress: float = 0.0
    duration_s: float | None = None
    error: str | None = None

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "session_id": self.session_id,
            "state": self.state,
            "progress": round(self.progress, 3),
            "created_at": iso_at(self.created_at),
            "duration_s": self.duration_s,
            "bytes": self.path.stat().st_size if self.state == "done" else None,
            "error": self.error,
        }


def _lower_priority() -> None:  # runs in the child before exec
    os.nice(NICE)


class ExportJobs:
    def __init__(self, data_dir: Path, clock: Clock) -> None:
        self.folder = data_dir / "exports"
        self._data_dir = data_dir
        self._clock = clock
        self._jobs: dict[str, ExportJob] = {}
        self._one_at_a_time = asyncio.Semaphore(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._procs: set[asyncio.subprocess.Process] = set()

    def start(self, session_id: str) -> ExportJob:
        """Queue an export; raises :class:`ExportQueueFull` (and starts nothing) when
        ``MAX_PENDING`` are already queued or running."""
        pending = sum(1 for j in self._jobs.values() if j.state in ("queued", "running"))
        if pending >= MAX_PENDING:
            raise ExportQueueFull
        self._forget_oldest_finished()
        job_id = "x_" + secrets.token_urlsafe(12)
        self.folder.mkdir(parents=True, exist_ok=True)
        job = ExportJob(job_id, session_id, self.folder / f"{job_id}.mp4", self._clock.time())
        self._jobs[job_id] = job
        task = asyncio.create_task(self._run(job), name=f"export:{job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    def _forget_oldest_finished(self) -> None:
        finished = [j for j in self._jobs.values() if j.state in ("done", "failed")]
        for job in finished[: max(0, len(self._jobs) + 1 - MAX_REMEMBERED)]:
            del self._jobs[job.id]  # insertion order: the oldest first

    def get(self, job_id: str) -> ExportJob | None:
        return self._jobs.get(job_id) if JOB_ID.fullmatch(job_id) else None

    async def _run(self, job: ExportJob) -> None:
        async with self._one_at_a_time:
            job.state = "running"
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "signaling.server.cli", "recording", "export", job.session_id,
                "--data-dir", str(self._data_dir), "--out", str(job.path), "--progress", "json",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                preexec_fn=_lower_priority,
            )
            self._procs.add(proc)
            try:
                assert proc.stdout is not None and proc.stderr is not None
                errors = asyncio.ensure_future(proc.stderr.read())
                async for line in proc.stdout:
                    with contextlib.suppress(ValueError, KeyError, ZeroDivisionError):
                        data = json.loads(line)
                        job.progress = min(1.0, data["done"] / data["total"])
                        job.duration_s = round(data["total"], 3)
                code = await proc.wait()
                tail = (await errors).decode(errors="replace").strip().splitlines()[-3:]
            finally:
                self._procs.discard(proc)
            if code == 0 and job.path.exists():
                job.state, job.progress = "done", 1.0
            else:
                job.state = "failed"
                job.error = " / ".join(tail) or f"exit code {code}"
                log.error("export %s of session %s failed: %s", job.id, job.session_id,
                          job.error)

    async def close(self) -> None:
        for proc in list(self._procs):
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
