"""The fan-out bench's server under test: ``opentutor serve`` as a process of its own,
and what it costs, summed over its whole process tree.

With ``workers > 1`` the command is ``serve --workers W``: a supervisor, W worker
processes (worker *i* also on its own port, PORT+1+*i*) and a private ``redis-server``
through which the workers place rooms (``signaling/server/workers.py``). Its CPU and
memory are those of every one of them together, and :meth:`Server.snapshot` keeps each
process's share, so a run can say what each worker did.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import redis.asyncio

from bench.harness import ProcessTree, wait_healthy
from signaling.router.redis import room_key

API_KEY = "bench-api-key"
SECRET = "bench-token-secret"

# pid → (what it is: "server", "supervisor", "w0"…, "redis"; user+sys CPU seconds so far)
Snapshot = dict[int, tuple[str, float]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server(ProcessTree):
    def __init__(self, mode: str, workdir: Path, workers: int = 1) -> None:
        self.workers = workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"server-{mode}-{self.port}.log"
        self.data_dir = workdir / f"data-{self.port}"
        # "python": the forward path with rtc/wire.py's pure-Python send instead of the C one.
        # "per-slot": C sends, one call per slot from Python's loop (before forward_all).
        if mode == "python":
            env = dict(os.environ, OPENTUTOR_MEDIA_MODE="forward", OPENTUTOR_NATIVE="0")
        elif mode == "per-slot":
            env = dict(os.environ, OPENTUTOR_MEDIA_MODE="forward", OPENTUTOR_FORWARD_ALL="0")
        else:
            env = dict(os.environ, OPENTUTOR_MEDIA_MODE=mode)
        args = [
            sys.executable, "-m", "signaling.server.cli", "serve", "--host", "127.0.0.1",
            "--port", str(self.port), "--data-dir", str(self.data_dir),
            "--api-key", API_KEY, "--token-secret", SECRET, "--no-demo",
            "--ice-host", "127.0.0.1",
        ]
        if workers > 1:
            args += ["--workers", str(workers)]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.ps = psutil.Process(self.process.pid)
        self._labels: dict[int, str] = {}
        wait_healthy(self.base, self.process, self.log, self.stop)
        # The shared port answers once worker 0 listens; the supervisor starts the others
        # one after another. A lecture placed before they all listen lands on worker 0.
        for i in range(workers if workers > 1 else 0):
            wait_healthy(self.worker_base(i), self.process, self.log, self.stop)

    def worker_base(self, index: int) -> str:
        """Worker ``index``'s own port: a join there stays there unless the room runs
        elsewhere (the URL a ``moved`` names)."""
        return f"http://127.0.0.1:{self.port + 1 + index}"

    def _label(self, ps: psutil.Process) -> str:
        if ps.pid == self.ps.pid:
            return "supervisor" if self.workers > 1 else "server"
        if ps.pid not in self._labels:
            label = "other"
            with contextlib.suppress(psutil.Error):
                cmd = ps.cmdline()
                if ps.name().startswith("redis-server"):
                    label = "redis"
                elif "--worker-port" in cmd:
                    at = cmd.index("--worker-port") + 1
                    label = f"w{int(cmd[at]) - self.port - 1}"
            self._labels[ps.pid] = label
        return self._labels[ps.pid]

    def snapshot(self) -> Snapshot:
        """Each process's CPU seconds so far (/proc/PID/stat: utime + stime)."""
        out: Snapshot = {}
        for ps in self.processes():
            with contextlib.suppress(psutil.Error):
                t = ps.cpu_times()
                out[ps.pid] = (self._label(ps), t.user + t.system)
        return out

    def cpu(self) -> float:
        return sum(seconds for _, seconds in self.snapshot().values())

    def pids(self) -> list[int]:
        return [ps.pid for ps in self.processes()]

    async def placement(self, session_ids: list[str]) -> list[int | None]:
        """The worker each session's room runs on, from the private redis-server's claims
        (the value of a room's key is its node, ``HOST:PORT-wI``); ``None``: not placed."""
        if self.workers <= 1:
            return [0 for _ in session_ids]
        client = redis.asyncio.Redis(unix_socket_path=str(self.data_dir / "run" / "redis.sock"))
        out: list[int | None] = []
        try:
            for sid in session_ids:
                owner = await client.get(room_key(sid))
                node = owner.decode() if isinstance(owner, bytes) else None
                out.append(int(node.rsplit("-w", 1)[1]) if node and "-w" in node else None)
        finally:
            await client.aclose()
        return out



def per_process_cores(before: Snapshot, after: Snapshot, wall: float) -> dict[str, float]:
    """Cores each kind of process used between two snapshots, by label. A process that
    started in between (a restarted worker) counts from zero."""
    out: dict[str, float] = {}
    for pid, (label, seconds) in after.items():
        spent = seconds - before.get(pid, (label, 0.0))[1]
        out[label] = out.get(label, 0.0) + spent / wall
    return {k: round(v, 3) for k, v in sorted(out.items())}
