"""Soak: rooms of aiortc participants churning against one real server, for a bounded time.

    python -m bench.soak                       # 50 rooms × 5 people, 30 min
    python -m bench.soak --rooms 10 --minutes 20 --json soak.json

Starts ``opentutor serve`` (its own data directory in a temporary folder, 127.0.0.1
only, ``--ice-host 127.0.0.1``; ``--redis-url``/``--database-url`` are passed through)
and drives it from ``--workers`` client processes. Each room is a lecture of five:
the instructor publishes a tiny pre-encoded VP8 stream (160×120, 10 fps, looped, no
encoder at run time) and Opus; four learners receive both (their RTP is read off the
socket, not decoded, like :mod:`bench.fanout_client`). Every few seconds each person
does one thing: chats, draws (the instructor), leaves and comes back (a new socket and
a new peer connection), or reconnects (a new peer connection on the same socket, as a
browser after a network change). Sessions last ``--session-s`` (random around it), the
instructor ends them, and the room starts a new session: rooms churn too.

Every ``--sample-s`` the orchestrator records the server's RSS (VmRSS), open file
descriptors, asyncio tasks and peer connections (``/metrics``), journal rows, and the
events the clients sent and received. An event is a chat message or a whiteboard stroke;
it is *expected* at every other person whose connection was welcomed before it was sent
and is still the same connection 3 s later, and *lost* if such a person never got it.

Verdict: RSS growth from the end of warm-up (``--warmup-minutes``) to the last sample
under load, in %, against the goal (< 5 %), and the lost events (goal: none).

``OPENTUTOR_DEBUG_OBJECTS=N`` (or ``--debug-objects N``) makes the server list its N
most numerous object types in ``/metrics``; the table then shows the types that grew,
and glibc's heap (bytes in use, bytes free but kept); once every client has left, the
server reports the peer connections still in memory after a full collection and what
holds each (SIGUSR2, ``signaling/server/leaks.py``). ``--tracemalloc N`` runs the server
with ``PYTHONTRACEMALLOC=N`` (slower), takes a snapshot at the end of warm-up and at the
last loaded sample (SIGUSR2, ``signaling/server/ops.py``) and prints the tracebacks
whose memory grew most in between.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import signal as signals
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from aiortc import RTCPeerConnection

from bench.fanout_client import Signal, Subscriber, negotiate
from bench.fanout_media import Encoded, PrecodedTrack, encode_audio
from bench.harness import create_session, encode_vp8, vp8_encoder, wait_healthy
from rtc.ice import rtc_configuration

API_KEY = "soak-api-key"
SECRET = "soak-token-secret"
LEARNERS = 4
CHECK_AFTER_S = 3.0  # an event is due at a receiver this long after its ack
GOAL_RSS_PCT = 5.0


# ------------------------------------------------------------------------------ media


def encode_small_video(frames: int = 60, fps: int = 10) -> Encoded:
    """6 s of 160×120 VP8 at 10 fps (~40 kbit/s), a keyframe every 3 s."""
    width, height = 160, 120
    codec = vp8_encoder(width, height, fps, 40_000, 3 * fps)
    rng = np.random.default_rng(1)

    def planes() -> Iterator[Any]:
        for i in range(frames):
            plane = np.full((height * 3 // 2, width), 200, np.uint8)
            x = (i * 3) % (width - 20)
            plane[50:70, x:x + 20] = rng.integers(0, 255, (20, 20), dtype=np.uint8)
            yield plane

    out, keys = encode_vp8(codec, planes())
    return Encoded("video", out, keys, 90000, 90000 // fps, 1 / fps)


# ---------------------------------------------------------------------------- clients


@dataclass
class Counts:
    sessions: int = 0
    sessions_ended: int = 0
    joins: int = 0
    leaves: int = 0
    reconnects: int = 0
    chats: int = 0
    strokes: int = 0
    expected: int = 0  # deliveries due (event × present receiver)
    delivered: int = 0
    lost: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 8:
            self.error_samples.append(text[:300])


class Person:
    """One participant: a socket.io connection and, on it, a peer connection."""

    def __init__(self, base: str, name: str, token: str, media: dict[str, Encoded],
                 counts: Counts) -> None:
        self.base, self.name, self.token = base, name, token
        self.teacher = name == "t1"
        self.media = media
        self.counts = counts
        self.signal: Signal | None = None
        self.pc: RTCPeerConnection | None = None
        self.sub: Subscriber | None = None
        self.online = False  # welcomed, not leaving
        self.received: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []

    async def connect(self) -> None:
        signal = Signal()

        async def on_event(data: Any) -> None:
            key = event_key(data)
            if key:
                self.received.add(key)

        signal.sio.on("chat", on_event)
        signal.sio.on("board", on_event)
        await signal.join(self.base, self.token)
        self.signal = signal
        self.online = True
        self.counts.joins += 1
        await self.new_pc()

    async def new_pc(self) -> None:
        await self.drop_pc()
        signal = self.signal
        assert signal is not None
        pc = RTCPeerConnection(rtc_configuration())
        self.pc = pc
        if self.teacher:
            for encoded in (self.media["audio"], self.media["video"]):
                track = PrecodedTrack(encoded)
                sender = pc.addTrack(track)
                sender._send_keyframe = track.request_keyframe  # type: ignore[method-assign]
            await negotiate(pc, signal)
            self._tasks.append(asyncio.ensure_future(self._ignore_renegotiations(signal)))
            return
        sub = self.sub = Subscriber(self.name)
        sub.signal, sub.pc = signal, pc
        for kind in ("audio", "video"):
            pc.addTransceiver(kind, direction="recvonly")
        await negotiate(pc, signal)
        sub._map_payload_types()
        sub._hook_sockets()
        sub._tasks.append(asyncio.ensure_future(sub._follow()))
        sub._tasks.append(asyncio.ensure_future(sub._reports()))

    async def _ignore_renegotiations(self, signal: Signal) -> None:
        while True:  # the instructor receives nothing: no learner has the stage
            await signal.renegotiations.get()

    async def drop_pc(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        if self.sub is not None:
            for task in self.sub._tasks:
                task.cancel()
            self.sub = None
        pc, self.pc = self.pc, None
        if pc is not None:
            with contextlib.suppress(Exception):
                await pc.close()

    async def leave(self) -> None:
        self.online = False
        await self.drop_pc()
        signal, self.signal = self.signal, None
        if signal is not None:
            await signal.close()

    def present(self) -> bool:
        return self.online and self.signal is not None and bool(self.signal.sio.connected)


def event_key(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    text = data.get("text")
    if isinstance(text, str) and text.startswith("soak "):
        return text
    op = data.get("op")
    if isinstance(op, dict) and isinstance(op.get("id"), str):
        return "stroke " + str(op["id"])
    return None


def session_body() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "programme": "training",
        "form": "lecture",
        "title": "soak",
        "scheduled_start": (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scheduled_end": (now + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "record": False,
        "people": [{"id": "t1", "name": "老师", "role": "instructor"}]
        + [{"id": f"s{i}", "name": f"学员{i}", "role": "learner"} for i in range(1, LEARNERS + 1)],
    }


class RoomDriver:
    def __init__(self, base: str, index: int, args: argparse.Namespace, until: float,
                 media: dict[str, Encoded], counts: Counts) -> None:
        self.base, self.index, self.args, self.until = base, index, args, until
        self.media, self.counts = media, counts
        self.rng = random.Random(index)
        self.serial = 0
        self._checks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        await asyncio.sleep(self.rng.uniform(0, self.args.session_s / 2))  # stagger
        while time.time() < self.until - 10:
            try:
                await self.one_session()
            except Exception as exc:
                self.counts.error(f"room {self.index}: {type(exc).__name__}: {exc}")
                await asyncio.sleep(2)

    async def one_session(self) -> None:
        async with aiohttp.ClientSession() as http:
            _, tokens = await create_session(http, self.base, API_KEY, session_body())
        people = [Person(self.base, pid, tok, self.media, self.counts)
                  for pid, tok in sorted(tokens.items(), key=lambda i: i[0] != "t1")]
        self.counts.sessions += 1
        life = self.args.session_s * self.rng.uniform(0.6, 1.4)
        ends = min(time.time() + life, self.until)
        try:
            for person in people:  # the instructor first
                await person.connect()
            await asyncio.gather(*(self.churn(p, people, ends) for p in people))
            teacher = people[0]
            if teacher.present() and teacher.signal is not None:
                ack = await teacher.signal.sio.call("end", {}, timeout=30)
                if ack.get("ok"):
                    self.counts.sessions_ended += 1
                else:
                    self.counts.error(f"end refused: {ack}")
            await asyncio.sleep(1)
        finally:
            for person in people:
                with contextlib.suppress(Exception):
                    await person.leave()

    async def churn(self, me: Person, people: list[Person], ends: float) -> None:
        period = self.args.action_s
        while True:
            wait = self.rng.uniform(0.5, 1.5) * period
            if time.time() + wait >= ends:
                await asyncio.sleep(max(0.0, ends - time.time()))
                return
            await asyncio.sleep(wait)
            roll = self.rng.random()
            try:
                if not me.present():
                    await me.leave()
                    await me.connect()
                elif roll < 0.10:
                    self.counts.leaves += 1
                    await me.leave()
                    await asyncio.sleep(self.rng.uniform(1, 4))
                    await me.connect()
                elif roll < 0.25:
                    self.counts.reconnects += 1
                    await me.new_pc()
                elif roll < 0.55 and me.teacher:
                    await self.send(me, people, "board")
                else:
                    await self.send(me, people, "chat")
            except Exception as exc:
                self.counts.error(f"{me.name}: {type(exc).__name__}: {exc}")

    async def send(self, me: Person, people: list[Person], what: str) -> None:
        assert me.signal is not None
        self.serial += 1
        ident = f"r{self.index}-{self.serial}"
        receivers = [(p, p.signal) for p in people if p is not me and p.present()]
        if what == "chat":
            key = f"soak {ident} from {me.name}"
            ack = await me.signal.sio.call("chat", {"text": key}, timeout=30)
            self.counts.chats += 1
        else:
            key = "stroke " + ident
            op = {"type": "stroke", "id": ident, "tool": "pen", "color": "#203040",
                  "width": 2, "points": [[0.1, 0.1], [self.rng.random(), self.rng.random()]]}
            ack = await me.signal.sio.call("board", {"op": op}, timeout=30)
            self.counts.strokes += 1
        if not ack.get("ok"):
            self.counts.error(f"{what} refused: {ack}")
            return

        async def check() -> None:
            await asyncio.sleep(CHECK_AFTER_S)
            for p, signal in receivers:
                if p.signal is not signal or not p.present():
                    continue  # left meanwhile: not due
                self.counts.expected += 1
                if key in p.received:
                    self.counts.delivered += 1
                else:
                    self.counts.lost += 1
                    self.counts.error(f"lost: {key} at {p.name}")

        task = asyncio.ensure_future(check())
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)


def run_worker(conn: Any, base: str, rooms: list[int], args: argparse.Namespace,
               until: float) -> None:
    asyncio.run(_worker(conn, base, rooms, args, until))


async def _worker(conn: Any, base: str, rooms: list[int], args: argparse.Namespace,
                  until: float) -> None:
    loop = asyncio.get_running_loop()
    counts = Counts()
    media = {"audio": encode_audio(), "video": encode_small_video()}
    drivers = [asyncio.ensure_future(RoomDriver(base, i, args, until, media, counts).run())
               for i in rooms]
    done = asyncio.gather(*drivers)
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "stats":
            conn.send(counts.__dict__)
        else:
            break
    with contextlib.suppress(Exception):
        await asyncio.wait_for(done, 60)
    conn.send(counts.__dict__)


# ----------------------------------------------------------------------- orchestrator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, workdir: Path, args: argparse.Namespace) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.data_dir = workdir / "data"
        self.log = workdir / "server.log"
        env = dict(os.environ)
        if not args.teardown_gc:
            env["OPENTUTOR_TEARDOWN_GC"] = "0"  # the baseline: rtc/peer.py's collector off
        if not args.teardown_trim:
            env["OPENTUTOR_TEARDOWN_TRIM"] = "0"  # the baseline: no malloc_trim after it
        for pair in args.server_env:  # e.g. LD_PRELOAD=… to compare allocators
            name, _, value = pair.partition("=")
            env[name] = value
        if args.debug_objects:
            env["OPENTUTOR_DEBUG_OBJECTS"] = str(args.debug_objects)
        self.snapshots = workdir / "snapshots"
        if args.tracemalloc or args.debug_objects:
            # SIGUSR2: what holds closed peer connections (signaling/server/leaks.py),
            # and a tracemalloc snapshot when tracing.
            self.snapshots.mkdir()
            env["OPENTUTOR_DEBUG_SNAPSHOTS"] = str(self.snapshots)
        if args.tracemalloc:
            env["PYTHONTRACEMALLOC"] = str(args.tracemalloc)
        command = [
            sys.executable, "-m", "signaling.server.cli", "serve", "--host", "127.0.0.1",
            "--port", str(self.port), "--data-dir", str(self.data_dir),
            "--api-key", API_KEY, "--token-secret", SECRET, "--no-demo",
            "--ice-host", "127.0.0.1",
        ]
        if args.redis_url:
            command += ["--redis-url", args.redis_url]
        if args.database_url:
            command += ["--database-url", args.database_url]
        self.database_url = args.database_url
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                            env=env)
        wait_healthy(self.base, self.process, self.log, self.stop)

    def rss_mib(self) -> float:
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        with urllib.request.urlopen(self.base + "/metrics", timeout=30) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("#") or not line.strip():
                    continue
                name, _, value = line.rpartition(" ")
                if name.startswith("opentutor_debug_objects"):
                    name = "obj:" + name.split('type="', 1)[1].rsplit('"', 1)[0]
                elif name.startswith("opentutor_debug_malloc") or name.startswith(
                        "opentutor_debug_traced"):
                    name = name.split("{", 1)[0].removeprefix("opentutor_debug_")
                elif name.startswith("opentutor_gc_collections"):
                    name = "gc" + name.split('generation="', 1)[1][0]
                else:
                    name = name.split("{", 1)[0].removeprefix("opentutor_")
                out[name] = float(value)
        return out

    def journal_rows(self) -> int | None:
        tables = ("events", "transitions", "evidence")
        try:
            if self.database_url:
                import psycopg

                with psycopg.connect(self.database_url) as db:
                    counts = [db.execute(f"SELECT count(*) FROM {t}").fetchone() for t in tables]
                    return sum(int(c[0]) for c in counts if c is not None)
            path = self.data_dir / "journal.sqlite"
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
                return sum(int(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
                           for t in tables)
        except Exception:
            return None

    def leak_report(self) -> str | None:
        """Ask the server what holds the closed peer connections still in memory after a
        full collection (and, when tracing, for a tracemalloc snapshot too)."""
        path = self.snapshot("closed-pcs-*.txt")
        return None if path is None else path.read_text()

    def snapshot(self, pattern: str = "*.tracemalloc") -> Path | None:
        """Send SIGUSR2 and wait for the server's new file matching ``pattern`` (a
        tracemalloc snapshot by default); its path once written."""
        before = set(self.snapshots.glob(pattern))
        self.process.send_signal(signals.SIGUSR2)
        for _ in range(600):
            time.sleep(0.5)
            new = set(self.snapshots.glob(pattern)) - before
            if new:
                path = new.pop()
                size = -1
                while size != path.stat().st_size:  # written in one go, then closed
                    size = path.stat().st_size
                    time.sleep(1)
                return path
        return None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


COLUMNS = ("rss_mib", "heap_mib", "heap_free_mib", "traced_mib", "fds", "asyncio_tasks",
           "peer_connections", "peer_connections_in_memory",
           "people_present", "journal_rows", "sessions", "joins", "reconnects", "expected",
           "lost", "gc2", "gc_ms_max", "trim_ms_max", "load1")
HEADS = ("RSS MiB", "heap", "free", "traced", "fds", "tasks", "pcs", "pcs mem", "people",
         "journal", "sessions",
         "joins", "reconn", "events", "lost", "gc2", "gc ms", "trim ms", "load")


def table(samples: list[dict[str, Any]]) -> str:
    head = f"{'min':>5} " + " ".join(f"{h:>8}" for h in HEADS)
    lines = [head, "-" * len(head)]
    for s in samples:
        cells = []
        for c in COLUMNS:
            v = s.get(c)
            cells.append(f"{'—' if v is None else (f'{v:.1f}' if isinstance(v, float) else v):>8}")
        lines.append(f"{s['min']:>5.1f} " + " ".join(cells))
    return "\n".join(lines)


def print_growth(first: Path, last: Path, frames: int, top: int = 25) -> None:
    """The tracebacks whose live memory grew most between two snapshots."""
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__),
              tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
    old = tracemalloc.Snapshot.load(str(first)).filter_traces(ignore)
    new = tracemalloc.Snapshot.load(str(last)).filter_traces(ignore)
    total = sum(s.size for s in new.statistics("filename")) - sum(
        s.size for s in old.statistics("filename"))
    print(f"\ntracemalloc: traced memory grew {total / 2**20:+.1f} MiB between the snapshots; "
          f"most grown, by traceback ({frames} frames, innermost last):")
    for stat in new.compare_to(old, "traceback")[:top]:
        print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks "
              f"(now {stat.size / 1024:.1f} KiB)")
        for line in stat.traceback.format(limit=frames)[-2 * min(frames, 6):]:
            print("      " + line.strip())


def verdict(
    samples: list[dict[str, Any]], warmup_min: float, final: dict[str, Any],
    window_min: float = 5.0,
) -> dict[str, Any]:
    """RSS growth between two windows under load: the first ``window_min`` minutes after
    warm-up and the last ``window_min``, each its median sample. One sample swings with
    how long ago the teardown collection ran (closed connections wait up to 10 s for it)
    and with how many people happen to be connected; a median over a few minutes does
    not, and a leak still shows in it."""
    loaded = [s for s in samples if not s.get("idle")]
    after = [s for s in loaded if s["min"] >= warmup_min]
    if len(after) < 2:
        return {"rss_growth_pct": None, "note": "the run ended before the warm-up did"}
    first = [s for s in after if s["min"] < after[0]["min"] + window_min]
    last = [s for s in after if s["min"] > after[-1]["min"] - window_min]
    if len(after) >= 4:  # two windows that do not overlap, however short the run
        half = len(after) // 2
        first, last = first[:half], last[-half:]

    def median(window: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(s[key] for s in window))

    warm, end = median(first, "rss_mib"), median(last, "rss_mib")
    growth = 100 * (end - warm) / warm
    sessions = max(1, last[-1]["sessions"] - first[0]["sessions"])
    return {
        "rss_warm_mib": round(warm, 1),
        "rss_end_mib": round(end, 1),
        "rss_growth_pct": round(growth, 1),
        "windows_min": [[first[0]["min"], first[-1]["min"]], [last[0]["min"], last[-1]["min"]]],
        "pcs_open_warm": median(first, "peer_connections"),
        "pcs_open_end": median(last, "peer_connections"),
        "single_samples_growth_pct": round(
            100 * (after[-1]["rss_mib"] - after[0]["rss_mib"]) / after[0]["rss_mib"], 1),
        "kib_per_session": round(1024 * (end - warm) / sessions, 1),
        "rss_goal_met": growth < GOAL_RSS_PCT,
        "events_expected": final["expected"],
        "events_lost": final["lost"],
        "no_lost_events": final["lost"] == 0,
        "sessions": final["sessions"],
        "client_errors": final["errors"],
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    p.add_argument("--rooms", type=int, default=50)
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--warmup-minutes", type=float, default=5.0)
    p.add_argument("--window-minutes", type=float, default=5.0,
                   help="the verdict compares the median RSS of the first and the last "
                   "window this long under load")
    p.add_argument("--sample-s", type=float, default=30.0)
    p.add_argument("--session-s", type=float, default=150.0, help="mean session length")
    p.add_argument("--action-s", type=float, default=8.0, help="mean time between a "
                   "person's actions (chat, draw, leave and rejoin, reconnect)")
    p.add_argument("--workers", type=int, default=2, help="client processes")
    p.add_argument("--redis-url", default="")
    p.add_argument("--database-url", default="")
    p.add_argument("--debug-objects", type=int, default=0,
                   help="ask the server for its N most numerous object types (debug)")
    p.add_argument("--teardown-gc", action=argparse.BooleanOptionalAction, default=True,
                   help="--no-teardown-gc: the baseline, the server's full collection after "
                   "peer connection teardowns (rtc/peer.py) turned off")
    p.add_argument("--teardown-trim", action=argparse.BooleanOptionalAction, default=True,
                   help="--no-teardown-trim: the baseline, the server's malloc_trim(0) after "
                   "those collections (rtc/peer.py) turned off")
    p.add_argument("--tracemalloc", type=int, default=0, metavar="FRAMES",
                   help="trace the server's Python allocations (debug, slower) and print the "
                   "tracebacks that grew from warm-up to the end")
    p.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                   help="set in the server's environment only (repeatable)")
    p.add_argument("--json", default=None)
    return p.parse_args(argv)


async def main_async(args: argparse.Namespace) -> int:
    started = time.time()
    until = started + 60 * args.minutes
    print(f"soak: {args.rooms} rooms × {1 + LEARNERS} people, {args.minutes:g} min, "
          f"warm-up {args.warmup_minutes:g} min, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}", flush=True)
    loop = asyncio.get_running_loop()
    samples: list[dict[str, Any]] = []
    baseline_objects: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        server = Server(Path(tmp), args)
        ctx = multiprocessing.get_context("spawn")
        pipes: list[tuple[Any, Any]] = []
        try:
            for w in range(max(1, args.workers)):
                rooms = list(range(w, args.rooms, max(1, args.workers)))
                parent, child = ctx.Pipe()
                proc = ctx.Process(target=run_worker,
                                   args=(child, server.base, rooms, args, until), daemon=True)
                proc.start()
                pipes.append((proc, parent))

            async def ask(message: str) -> dict[str, Any]:
                total: dict[str, Any] = {}
                for _, conn in pipes:
                    conn.send(message)
                    part = await loop.run_in_executor(None, conn.recv)
                    for k, v in part.items():
                        total[k] = total.get(k, 0 if not isinstance(v, list) else []) + v
                return total

            def sample(counts: dict[str, Any], idle: bool = False) -> dict[str, Any]:
                m = server.metrics()
                s: dict[str, Any] = {
                    "min": round((time.time() - started) / 60, 2), "idle": idle,
                    "rss_mib": round(server.rss_mib(), 1), "fds": server.fds(),
                    "journal_rows": server.journal_rows(),
                    "load1": round(os.getloadavg()[0], 2),
                    **{k: int(m[k]) for k in ("asyncio_tasks", "peer_connections",
                                              "peer_connections_in_memory", "people_present",
                                              "rooms", "gc2", "gc_teardown_collections")
                       if k in m},
                    "gc_ms_max": round(1000 * m.get("gc_teardown_seconds_max", 0.0), 1),
                    "trim_ms_max": round(1000 * m.get("malloc_trim_seconds_max", 0.0), 1),
                    **{f"{k}_mib": round(m[f"{v}_bytes"] / 2**20, 1)
                       for k, v in (("heap", "malloc_in_use"), ("heap_free", "malloc_free"),
                                    ("traced", "traced")) if f"{v}_bytes" in m},
                    **{k: counts.get(k, 0) for k in ("sessions", "joins", "leaves",
                                                     "reconnects", "expected", "lost")},
                }
                objects = {k[4:]: v for k, v in m.items() if k.startswith("obj:")}
                if objects:
                    if not baseline_objects and s["min"] >= args.warmup_minutes:
                        baseline_objects.update(objects)
                    s["objects"] = objects
                return s

            next_at = time.time()
            snapshots: list[Path] = []
            while time.time() < until:
                next_at += args.sample_s
                await asyncio.sleep(max(0.0, next_at - time.time()))
                # Rooms start no session in their last 10 s: a sample then is not loaded.
                s = sample(await ask("stats"), idle=time.time() > until - 12)
                samples.append(s)
                print(table([s]).splitlines()[-1], flush=True)
                last_loaded = next_at + args.sample_s > until - 12
                if args.tracemalloc and not s["idle"] and (
                        (not snapshots and s["min"] >= args.warmup_minutes) or last_loaded):
                    path = await loop.run_in_executor(None, server.snapshot)
                    if path is not None:
                        snapshots.append(path)
            final = await ask("stop")
            for proc, _ in pipes:
                proc.join(timeout=30)
            await asyncio.sleep(15)  # let the last teardowns settle
            samples.append(sample(final, idle=True))
            if args.debug_objects and not args.tracemalloc:
                # Everyone left: nothing should hold a closed connection now.
                report = await loop.run_in_executor(None, server.leak_report)
                leak_lines = (report or "no report from the server").splitlines()
                print("\nafter everyone left, " + leak_lines[0])
                for line in leak_lines[1:12]:
                    print("  " + line[:400])
            if len(snapshots) >= 2:
                print_growth(snapshots[0], snapshots[-1], args.tracemalloc)
        finally:
            for proc, conn in pipes:
                if proc.is_alive():
                    proc.kill()
                conn.close()
            server.stop()
    print()
    print(table(samples))
    print("(last row: 15 s after every client left)")
    last_objects = next((s["objects"] for s in reversed(samples) if "objects" in s
                         and not s["idle"]), None)
    if baseline_objects and last_objects:
        grown = sorted(((last_objects.get(k, 0) - v, k) for k, v in baseline_objects.items()),
                       reverse=True)[:12]
        print("object types that grew after warm-up:",
              ", ".join(f"{k} +{int(d)}" for d, k in grown if d > 0))
    result = verdict(samples, args.warmup_minutes, final, args.window_minutes)
    print()
    print(f"verdict: RSS {result.get('rss_warm_mib')} → {result.get('rss_end_mib')} MiB "
          f"after warm-up (medians of minutes {result.get('windows_min')}; peer connections "
          f"open {result.get('pcs_open_warm')} → {result.get('pcs_open_end')}; first and last "
          f"single samples {result.get('single_samples_growth_pct')} %): "
          f"{result.get('rss_growth_pct')} % "
          f"({'meets' if result.get('rss_goal_met') else 'misses'} the < {GOAL_RSS_PCT:g} % goal), "
          f"{result.get('kib_per_session')} KiB per session; events lost "
          f"{final['lost']} of {final['expected']}; {final['sessions']} sessions, "
          f"{final['joins']} joins, {final['leaves']} leaves, {final['reconnects']} reconnects; "
          f"client errors {final['errors']}", flush=True)
    for e in final.get("error_samples", [])[:8]:
        print("  client error:", e)
    if args.json:
        Path(args.json).write_text(json.dumps(  # noqa: ASYNC240 (the run is over)
            {"args": vars(args), "samples": samples, "verdict": result,
             "final": final}, indent=1, ensure_ascii=False))
    return 0 if result.get("rss_goal_met") and final["lost"] == 0 else 1


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
