"""What the end-to-end benches share: waiting for a server process to answer, what a
server's process tree costs, creating a session through the REST API, the CPU seconds
of a set of processes, and the VP8 encoder settings of a real-time camera. Kept here
once so that every bench starts, measures and encodes the same way."""

from __future__ import annotations

import contextlib
import fractions
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import aiohttp
import av
import psutil


def wait_healthy(
    base: str, process: subprocess.Popen[bytes], log: Path, stop: Callable[[], None],
    timeout_s: float = 60,
) -> None:
    """Until ``base``/healthz answers; a server that exits or stays silent is stopped
    and its log raised, so a bench never measures a server that did not start."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop()
                raise RuntimeError("server did not start:\n" + log.read_text()) from None
            time.sleep(0.1)


class ProcessTree:
    """A server process under test and everything it started (``serve --workers``: the
    workers and the private redis-server): its CPU and memory are theirs together."""

    process: subprocess.Popen[bytes]
    ps: psutil.Process

    def processes(self) -> list[psutil.Process]:
        try:
            return [self.ps, *self.ps.children(recursive=True)]
        except psutil.Error:
            return [self.ps]

    def cpu(self) -> float:
        """User + system seconds of the whole tree so far (/proc/PID/stat)."""
        return cpu_seconds(ps.pid for ps in self.processes())

    def rss_mib(self) -> float:
        total = 0
        for ps in self.processes():
            with contextlib.suppress(psutil.Error):
                total += ps.memory_info().rss
        return total / 2**20

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def create_session(
    http: aiohttp.ClientSession, base: str, api_key: str, body: dict[str, Any]
) -> tuple[str, dict[str, str]]:
    """POST /api/v1/sessions: the session's id and each person's join token."""
    async with http.post(base + "/api/v1/sessions", json=body,
                         headers={"Authorization": f"Bearer {api_key}"}) as r:
        created = await r.json()
        if r.status != 201:
            raise RuntimeError(f"session not created: {r.status} {created}")
    tokens = {pid: url.split("token=", 1)[1] for pid, url in created["join_urls"].items()}
    return str(created["session_id"]), tokens


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system seconds of these processes so far (gone ones count nothing)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
    return total


def vp8_encoder(width: int, height: int, fps: int, bitrate: int, gop: int) -> Any:
    """libvpx as a browser encodes a camera: real time, no look-ahead, constant bit
    rate, a keyframe every ``gop`` frames exactly (so subscribers' waits are known)."""
    codec: Any = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = fractions.Fraction(1, fps)
    codec.framerate = fps
    codec.bit_rate = bitrate
    codec.gop_size = gop
    codec.options = {
        "deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0",
        "kf-max-dist": str(gop), "kf-min-dist": str(gop), "end-usage": "cbr",
    }
    return codec


def encode_vp8(codec: Any, planes: Iterable[Any]) -> tuple[list[bytes], list[int]]:
    """Encode yuv420p planes (numpy arrays) with ``codec``, one frame each, then flush:
    the packets, and the indices of the keyframes among them."""
    out: list[bytes] = []
    keys: list[int] = []

    def take(packets: list[Any]) -> None:
        for p in packets:
            if p.is_keyframe:
                keys.append(len(out))
            out.append(bytes(p))

    for i, plane in enumerate(planes):
        frame = av.VideoFrame.from_ndarray(plane, format="yuv420p")
        frame.pts = i
        take(codec.encode(frame))
    take(codec.encode(None))
    return out, keys
