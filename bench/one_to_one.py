"""One-to-one benchmark: K concurrent 一对一 sessions (two people each, both publishing
audio and video), a real server, loopback only.

    python -m bench.one_to_one                           # 5 and 10 sessions, Redis + PostgreSQL
    python -m bench.one_to_one --sessions 5,10,20 --seconds 20
    python -m bench.one_to_one --no-backends --modes forward   # SQLite, one node, no Redis
    python -m bench.one_to_one --modes forward,python --sessions 10,20 --server-workers 2

Each run starts ``opentutor serve`` (``--ice-host 127.0.0.1``) as its own process and
creates K ``tutoring`` / ``one_to_one`` sessions through the REST API. Every session's
teacher and learner join with their join tokens over socket.io, as browsers do, and
each publishes a phone's call (``sendonly`` audio and video, as the web client adds
them) and receives the other's (``recvonly`` slots, a new offer on ``renegotiate``).
The media is encoded once at start-up and looped (:class:`bench.fanout_media.
PrecodedTrack`): 320×240 VP8 at 15 fps (~300 kbit/s on the wire, a keyframe every 3 s)
and 20 ms Opus. Receivers do not decode: they read the RTP headers and the per-frame
probe in place, send receiver reports, NACKs and PLIs (:class:`bench.fanout_client.
Subscriber`). The clients run in ``--workers`` processes on the same 2-core machine as
the server: only the **server's** CPU (user+sys of its process, from /proc) is the
figure, and K stays modest so that the clients do not starve it (the run reports the
workers' CPU and whether everyone got ≥ 99.5 % of the frames).

Modes, each in a server process of its own, in the same run:

- ``forward``: the product's path (``rtc/forward.py``), the per-subscriber send in C
  (``rtc/_wire.c``) where it was built.
- ``python``: the same with the pure-Python send (``OPENTUTOR_NATIVE=0``).
- ``per-slot``: the C send called per slot from Python's loop and numbering
  (``OPENTUTOR_FORWARD_ALL=0``), not ``rtc._wire.forward_all``.
- ``queued``: the same with SRTP received through aioice's queue and the DTLS
  transport's task, as aiortc does (``OPENTUTOR_EAGER_RECEIVE=0``), not on the
  datagram's own call (:func:`rtc.forward.receive_eagerly`).
- ``framed``: the same with every publisher packet also depayloaded and put through
  aiortc's jitter buffer into frames, as before frames were made only for the recorder
  (``OPENTUTOR_ALWAYS_FRAMES=1``, :func:`rtc.forward.hook_rtp`).
- ``reencode``: the baseline, aiortc's stock ``MediaRelay`` with one encoder per
  receiving person (``OPENTUTOR_MEDIA_MODE=reencode``, benchmark only), at its own
  small K (``--reencode-sessions``).

Per run: the idle server's CPU for ``--idle-seconds`` before any session exists (the
node's fixed cost: journal heartbeat, Redis heartbeat), then, with every session
flowing, over ``--seconds``: server CPU (cores), per session, **sessions per fully used
core** (K / server cores, gross: the idle cost included), frames delivered, latency
(publisher send → receiver arrival, one monotonic clock) p50/p95, server RSS.

With ``--backends`` (default, when ``redis-server`` and PostgreSQL's ``initdb`` are
installed) the server runs as a node of a several-node deployment: a throw-away
``redis-server`` and PostgreSQL cluster on free loopback ports (PostgreSQL runs as the
``postgres`` user when this runs as root), ``--redis-url`` and ``--database-url``. Over
the same window it reports Redis commands per second (``INFO commandstats``: the
scripts the node sent, ``EVAL``, and every command, those the scripts ran included; the
benchmark's own ``INFO``/``HELLO`` left out) and PostgreSQL's commits, rows
inserted/updated and WAL bytes per second (``pg_stat_database``,
``pg_current_wal_lsn()``), idle and with K sessions, and from their difference per room
and per participant-minute; and the journal's rows at the end, with their mean size.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import psutil
from aiortc import RTCPeerConnection

from bench.fanout import DELIVERED_MIN, free_port, machine_model, pct
from bench.fanout_client import Signal, Subscriber, negotiate
from bench.fanout_media import Encoded, PrecodedTrack, encode_audio
from bench.harness import ProcessTree, cpu_seconds, create_session, encode_vp8, vp8_encoder
from rtc.ice import rtc_configuration

API_KEY = "bench-api-key-one-to-one"
SECRET = "bench-token-secret-one-to-one"
WIDTH, HEIGHT, FPS = 320, 240, 15
VIDEO_BITRATE = 220_000  # libvpx overshoots on the noisy "face": ~300 kbit/s on the wire
GOP = 45  # a keyframe every 3 s


# ------------------------------------------------------------------------------ media


def encode_phone_video(seconds: int = 6) -> Encoded:
    """A phone's camera: 320×240 at 15 fps, a moving, noisy "face" on a wall."""
    codec = vp8_encoder(WIDTH, HEIGHT, FPS, VIDEO_BITRATE, GOP)
    rng = np.random.default_rng(2)
    wall = np.full((HEIGHT * 3 // 2, WIDTH), 150, np.uint8)
    wall[:, ::16] = 120

    def planes() -> Iterator[Any]:
        for i in range(seconds * FPS):
            plane = wall.copy()
            x = 100 + int(20 * math.sin(i / 7))
            plane[60:180, x:x + 100] = rng.integers(60, 200, (120, 100), dtype=np.uint8)
            yield plane

    out, keys = encode_vp8(codec, planes())
    return Encoded("video", out, keys, 90000, 90000 // FPS, 1 / FPS)


# ---------------------------------------------------------------------- participants


class Participant(Subscriber):
    """One person of a one-to-one: publishes audio and video (``sendonly``, as the web
    client does) and receives the other's through ``recvonly`` slots, counted in place
    like a lecture's subscriber."""

    def __init__(self, name: str, media: list[Encoded]) -> None:
        super().__init__(name)
        self.tracks = [PrecodedTrack(m) for m in media]

    async def join(self, base: str, token: str) -> None:
        self.signal = Signal()
        started = time.monotonic()
        await self.signal.join(base, token)
        self.phases["welcome"] = time.monotonic() - started
        pc = self.pc = RTCPeerConnection(rtc_configuration())
        for track in self.tracks:
            transceiver = pc.addTransceiver(track, direction="sendonly")
            transceiver.sender._send_keyframe = track.request_keyframe  # type: ignore[method-assign]
        for kind in ("audio", "video"):  # the slots come last: their receivers send RTCP
            pc.addTransceiver(kind, direction="recvonly")
        pc.on("connectionstatechange", self._state)
        self.offered_at = time.monotonic()
        await negotiate(pc, self.signal)
        self.phases["answer"] = time.monotonic() - self.offered_at
        self._map_payload_types()
        self._hook_sockets()
        self._tasks.append(asyncio.ensure_future(self._follow()))
        self._tasks.append(asyncio.ensure_future(self._reports()))

    def sent_range(self, t0: float, t1: float) -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
        """Per kind: the indices of the frames this person sent between t0 and t1."""
        ranges: dict[str, tuple[int, int]] = {}
        counts: dict[str, int] = {}
        for track in self.tracks:
            idx = [i for i, s in enumerate(track.sent) if t0 <= s <= t1]
            ranges[track.kind] = (idx[0], idx[-1]) if idx else (0, -1)
            counts[track.kind] = len(idx)
        return ranges, counts

    def receiving(self) -> bool:
        return self.connected_at is not None and all(
            k in self.streams and self.streams[k].first_keyframe is not None
            for k in ("audio", "video")
        )


def run_worker(conn: Any, base: str, pairs: list[tuple[str, str]], media: list[Encoded]) -> None:
    """A worker process: joins the two people of each of its sessions, then answers
    ``("status",)``, ``("collect", t0, t1)`` and ``("stop",)`` over a pipe."""
    asyncio.run(_worker(conn, base, pairs, media))


async def _worker(conn: Any, base: str, pairs: list[tuple[str, str]], media: list[Encoded]) -> None:
    loop = asyncio.get_running_loop()
    people = [(Participant(f"{i}:t", media), Participant(f"{i}:s", media))
              for i in range(len(pairs))]
    gate = asyncio.Semaphore(4)

    async def join(p: Participant, token: str) -> str | None:
        async with gate:
            try:
                await p.join(base, token)
                return None
            except Exception as exc:
                frames = traceback.extract_tb(exc.__traceback__)
                where = next((f for f in reversed(frames) if "/bench/" in f.filename), frames[-1])
                return (f"{p.name}: {type(exc).__name__}: {exc} (at {Path(where.filename).name}:"
                        f"{where.lineno} {where.name})")

    jobs = [join(p, tok) for (a, b), toks in zip(people, pairs, strict=True)
            for p, tok in ((a, toks[0]), (b, toks[1]))]
    errors = [e for e in await asyncio.gather(*jobs) if e]
    conn.send(("joined", errors))
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command[0] == "status":
            conn.send([p.receiving() for pair in people for p in pair])
        elif command[0] == "collect":
            _, t0, t1 = command
            out = []
            for a, b in people:
                for me, other in ((a, b), (b, a)):
                    expected, sent = other.sent_range(t0, t1)
                    out.append({"summary": me.summary(t0, t1, expected), "sent": sent,
                                "pc": me.pc.connectionState if me.pc else "none"})
            conn.send(out)
        else:
            break
    for pair in people:
        for p in pair:
            with contextlib.suppress(Exception):
                await p.close()
            for track in p.tracks:
                track.stop()
    conn.send(("stopped",))


# ------------------------------------------------------------------------- back ends


class Backends:
    """A throw-away ``redis-server`` and PostgreSQL cluster on free loopback ports."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.redis_port = free_port()
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        bindir = postgres_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL (initdb, postgres) is not installed")
        pg = folder / "pg"
        pg.mkdir()
        prefix = as_server_user(pg)
        data = pg / "data"
        subprocess.run(
            [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "opentutor",
             "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
            cwd=pg, check=True, capture_output=True,
        )
        self.pg_port = free_port()
        self.pg_log = (pg / "server.log").open("wb")
        # fsync on, synchronous_commit on (the journal refuses to run without it).
        self.postgres = subprocess.Popen(
            [*prefix, str(bindir / "postgres"), "-D", str(data), "-k", str(pg),
             "-p", str(self.pg_port), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=on",
             "-c", "max_connections=200", "-c", "shared_buffers=64MB"],
            cwd=pg, stdout=self.pg_log, stderr=subprocess.STDOUT,
        )
        self.admin_url = f"postgresql://opentutor@127.0.0.1:{self.pg_port}/postgres"
        self.version = ""

    async def ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.admin_url, connect_timeout=2)
                cur = await conn.execute("SHOW server_version")
                row = await cur.fetchone()
                self.version = str(row[0]) if row else "?"
                await conn.close()
                break
            except psycopg.OperationalError:
                if self.postgres.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("postgres did not start") from None
                await asyncio.sleep(0.2)

    async def fresh(self, name: str) -> str:
        """An empty database and an empty Redis for one run: the database's URL."""
        import psycopg
        import redis.asyncio as aioredis

        conn = await psycopg.AsyncConnection.connect(self.admin_url, autocommit=True)
        await conn.execute(f"CREATE DATABASE {name} TEMPLATE template0")
        await conn.close()
        client = aioredis.Redis.from_url(self.redis_url)
        await client.flushall()
        await client.aclose()
        return self.admin_url.rsplit("/", 1)[0] + "/" + name

    def stop(self) -> None:
        for proc in (self.redis, self.postgres):
            proc.send_signal(2)  # SIGINT: PostgreSQL's fast shutdown
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.pg_log.close()


def postgres_bindir() -> Path | None:
    """initdb and postgres: ``pg_config --bindir``, Debian's newest
    /usr/lib/postgresql/*/bin (off PATH), or PATH."""
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if found.returncode == 0:
            candidates.append(Path(found.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb") or "").parent)
    return next((c for c in candidates if (c / "initdb").is_file()
                 and (c / "postgres").is_file()), None)


def as_server_user(folder: Path) -> list[str]:
    """initdb and postgres refuse to run as root: then run them as ``postgres``."""
    if os.geteuid() != 0:
        return []
    import pwd

    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            user = pwd.getpwnam(name)
            os.chown(folder, user.pw_uid, user.pw_gid)
            os.chmod(folder.parent, 0o755)
            return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                    "--clear-groups", "--"]
    raise RuntimeError("running as root, and no postgres or nobody user for PostgreSQL")


@dataclass
class Counters:
    """Redis and PostgreSQL activity counters at one moment."""

    at: float
    redis_scripts: int = 0  # EVAL/EVALSHA: what the node sent
    redis_all: int = 0  # every command run, those inside scripts included (not ours)
    pg_commits: int = 0
    pg_inserted: int = 0
    pg_updated: int = 0
    pg_wal: int = 0
    redis_by_command: dict[str, int] = field(default_factory=dict)


async def counters(redis_url: str, db_url: str) -> Counters:
    import psycopg
    import redis.asyncio as aioredis

    c = Counters(time.monotonic())
    client = aioredis.Redis.from_url(redis_url)
    commands = await client.info("commandstats")
    c.redis_by_command = {k[8:]: int(v["calls"]) for k, v in commands.items()
                          if k.startswith("cmdstat_")}
    ours = ("info", "hello", "flushall", "client|setinfo")
    c.redis_all = sum(n for k, n in c.redis_by_command.items() if k not in ours)
    c.redis_scripts = sum(n for k, n in c.redis_by_command.items() if k.startswith("eval"))
    await client.aclose()
    conn = await psycopg.AsyncConnection.connect(db_url, autocommit=True)
    cur = await conn.execute(
        "SELECT xact_commit, tup_inserted, tup_updated, "
        "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint "
        "FROM pg_stat_database WHERE datname = current_database()")
    row = await cur.fetchone()
    await conn.close()
    if row:
        c.pg_commits, c.pg_inserted, c.pg_updated, c.pg_wal = (int(x) for x in row)
    return c


def rates(a: Counters, b: Counters) -> dict[str, Any]:
    wall = b.at - a.at
    by_command = {k: round((n - a.redis_by_command.get(k, 0)) / wall, 2)
                  for k, n in b.redis_by_command.items() if n > a.redis_by_command.get(k, 0)}
    return {
        "redis_by_command_per_s": by_command,
        "redis_scripts_per_s": round((b.redis_scripts - a.redis_scripts) / wall, 2),
        "redis_all_per_s": round((b.redis_all - a.redis_all) / wall, 1),
        "pg_commits_per_s": round((b.pg_commits - a.pg_commits) / wall, 2),
        "pg_inserted_per_s": round((b.pg_inserted - a.pg_inserted) / wall, 1),
        "pg_updated_per_s": round((b.pg_updated - a.pg_updated) / wall, 1),
        "pg_wal_bytes_per_s": round((b.pg_wal - a.pg_wal) / wall),
    }


async def row_sizes(db_url: str) -> dict[str, Any]:
    """Rows of the journal's tables now, and their mean size on the heap (bytes, the
    tuple as stored, without the indexes and page overhead)."""
    import psycopg

    conn = await psycopg.AsyncConnection.connect(db_url, autocommit=True)
    out: dict[str, Any] = {}
    for table in ("events", "transitions", "evidence"):
        cur = await conn.execute(
            f"SELECT count(*), coalesce(avg(pg_column_size(t.*)), 0) FROM {table} t")
        row = await cur.fetchone()
        if row:
            out[table] = {"rows": int(row[0]), "mean_row_bytes": round(float(row[1]))}
    await conn.close()
    return out


# --------------------------------------------------------------------------- the runs


@dataclass
class Run:
    mode: str
    sessions: int
    values: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# The product's path with one of its pieces switched back, for ratios in the same run:
# "python", rtc/wire.py's pure-Python send, not the C one; "queued", SRTP through aioice's
# queue and the DTLS transport's task, not on the datagram's call (rtc.forward.
# receive_eagerly); "framed", frames made of every packet, not only for the recorder.
# "per-slot": the C send called per slot from Python's loop and numbering, not forward_all.
FORWARD_LIKE = {"forward": "forward", "python": "forward", "queued": "forward",
                "framed": "forward", "per-slot": "forward"}
MODE_ENV = {"python": {"OPENTUTOR_NATIVE": "0"}, "queued": {"OPENTUTOR_EAGER_RECEIVE": "0"},
            "per-slot": {"OPENTUTOR_FORWARD_ALL": "0"},
            "framed": {"OPENTUTOR_ALWAYS_FRAMES": "1"}}


GOAL_SESSIONS_PER_CORE = 300  # issue 15


class Server(ProcessTree):
    def __init__(self, mode: str, workdir: Path, redis_url: str, db_url: str,
                 workers: int = 1) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"server-{mode}-{self.port}.log"
        env = dict(os.environ, OPENTUTOR_MEDIA_MODE=FORWARD_LIKE.get(mode, mode))
        env.update(MODE_ENV.get(mode, {}))
        args = [
            sys.executable, "-m", "signaling.server.cli", "serve", "--host", "127.0.0.1",
            "--port", str(self.port), "--data-dir", str(workdir / f"data-{self.port}"),
            "--api-key", API_KEY, "--token-secret", SECRET, "--no-demo",
            "--ice-host", "127.0.0.1", "--log-format", "text",
        ]
        if redis_url:
            args += ["--redis-url", redis_url, "--node-id", f"bench-{self.port}",
                     "--public-url", self.base]
        if db_url:
            args += ["--database-url", db_url]
        if workers > 1:  # serve --workers: the figure is every worker's CPU together
            args += ["--workers", str(workers)]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.ps = psutil.Process(self.process.pid)
        self.workers = workers

    async def ready(self) -> None:
        """Until the shared port and, with --server-workers, every worker's own port
        (PORT+1+i) answer: the shared one answers once worker 0 listens, and the
        supervisor starts the others one after another (~2 s each here), so the idle
        window would count their start-up, and a session created before they listen
        goes to worker 0."""
        deadline = time.monotonic() + 60
        ports = [self.port]
        if self.workers > 1:
            ports += [self.port + 1 + i for i in range(self.workers)]
        async with aiohttp.ClientSession() as http:
            while ports:
                try:
                    async with http.get(f"http://127.0.0.1:{ports[0]}/healthz",
                                        timeout=aiohttp.ClientTimeout(1)):
                        ports.pop(0)
                except (OSError, aiohttp.ClientError, TimeoutError):
                    if self.process.poll() is not None or time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError("server did not start:\n"
                                           + self.log.read_text()[-3000:]) from None
                    await asyncio.sleep(0.2)


def session_body(i: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "programme": "tutoring", "form": "one_to_one", "title": f"一对一 bench {i}",
        "scheduled_start": (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scheduled_end": (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "record": False,
        "people": [{"id": "t1", "name": "王老师", "role": "instructor"},
                   {"id": "s1", "name": "李同学", "role": "learner"}],
    }


async def create_sessions(base: str, k: int) -> list[tuple[str, str]]:
    """K one-to-ones: (the teacher's token, the student's)."""
    out: list[tuple[str, str]] = []
    async with aiohttp.ClientSession() as http:
        for i in range(k):
            _, tokens = await create_session(http, base, API_KEY, session_body(i))
            out.append((tokens["t1"], tokens["s1"]))
    return out


class Workers:
    def __init__(
        self, base: str, groups: list[list[tuple[str, str]]], media: list[Encoded]
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.items: list[tuple[Any, Any]] = []
        for pairs in groups:
            parent, child = ctx.Pipe()
            p = ctx.Process(target=run_worker, args=(child, base, pairs, media), daemon=True)
            p.start()
            self.items.append((p, parent))

    @property
    def pids(self) -> list[int]:
        return [int(p.pid) for p, _ in self.items]

    async def ask(self, message: tuple[Any, ...], wait: float = 60) -> list[Any]:
        loop = asyncio.get_running_loop()
        for _, conn in self.items:
            conn.send(message)
        return [await asyncio.wait_for(loop.run_in_executor(None, conn.recv), wait)
                for _, conn in self.items]

    async def joined(self, wait: float) -> list[str]:
        loop = asyncio.get_running_loop()
        errors: list[str] = []
        for _, conn in self.items:
            _, errs = await asyncio.wait_for(loop.run_in_executor(None, conn.recv), wait)
            errors += errs
        return errors

    def cpu(self) -> float:
        return cpu_seconds(self.pids)

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.ask(("stop",), wait=30)
        for p, conn in self.items:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
            conn.close()


async def one_run(run: Run, args: argparse.Namespace, workdir: Path, media: list[Encoded],
                  backends: Backends | None) -> None:
    redis_url = db_url = ""
    if backends is not None:
        redis_url = backends.redis_url
        db_url = await backends.fresh(f"o2o_{run.mode}_{run.sessions}_{os.getpid()}")
    server = Server(run.mode, workdir, redis_url, db_url, args.server_workers)
    workers: Workers | None = None
    v = run.values
    try:
        await server.ready()
        # The node's fixed cost, before any session: journal and Redis heartbeats.
        await asyncio.sleep(1.0)
        c0 = await counters(redis_url, db_url) if backends else None
        cpu0, t0 = server.cpu(), time.monotonic()
        await asyncio.sleep(args.idle_seconds)
        cpu1, t1 = server.cpu(), time.monotonic()
        c1 = await counters(redis_url, db_url) if backends else None
        v["idle_cores"] = round((cpu1 - cpu0) / (t1 - t0), 4)
        rss_idle = server.rss_mib()  # memory per session: the growth from here
        if c0 and c1:
            v["idle_backends"] = rates(c0, c1)
        pairs = await create_sessions(server.base, run.sessions)
        n = max(1, min(args.workers, run.sessions))
        join_start = time.monotonic()
        workers = Workers(server.base, [pairs[w::n] for w in range(n)], media)
        errors = await workers.joined(wait=60 + 5 * run.sessions)
        if errors:
            run.notes.append(f"{len(errors)} joins failed, e.g. {errors[0]}")
        deadline = time.monotonic() + 30 + run.sessions
        states: list[bool] = []
        while time.monotonic() < deadline:
            states = [s for group in await workers.ask(("status",)) for s in group]
            if all(states):
                break
            await asyncio.sleep(0.5)
        else:
            run.notes.append(f"only {sum(states)}/{len(states)} people receiving audio and "
                             "video before the window")
        v["join_s"] = round(time.monotonic() - join_start, 1)
        await asyncio.sleep(args.warmup)
        load0 = os.getloadavg()[0]
        sys0 = psutil.cpu_times()
        c0 = await counters(redis_url, db_url) if backends else None
        wcpu0, cpu0, t0 = workers.cpu(), server.cpu(), time.monotonic()
        await asyncio.sleep(args.seconds)
        cpu1, t1, wcpu1 = server.cpu(), time.monotonic(), workers.cpu()
        c1 = await counters(redis_url, db_url) if backends else None
        sys1 = psutil.cpu_times()
        load1 = os.getloadavg()[0]
        rss = server.rss_mib()
        await asyncio.sleep(0.5)  # the window's last frames
        wall = t1 - t0
        got = [x for group in await workers.ask(("collect", t0, t1)) for x in group]
        summarise(run, got)
        cores = (cpu1 - cpu0) / wall
        v.update(
            server_cpu_cores=round(cores, 3),
            cores_per_session=round(cores / run.sessions, 4),
            marginal_cores_per_session=round(max(0.0, cores - v["idle_cores"]) / run.sessions, 4),
            workers_cpu_cores=round((wcpu1 - wcpu0) / wall, 2),
            server_rss_mib=round(rss, 1),
            # Two people's peer connections, slots, sources and journal state each.
            rss_per_session_mib=round((rss - rss_idle) / run.sessions, 2),
            load_avg=[round(load0, 2), round(load1, 2)],
            machine_cores={
                k: round((getattr(sys1, k) - getattr(sys0, k)) / wall, 2)
                for k in ("user", "nice", "system", "softirq", "steal", "idle")
                if hasattr(sys1, k)
            },
        )
        valid = v["delivered_ratio"] >= DELIVERED_MIN and cores > 0
        v["valid"] = valid
        v["sessions_per_core"] = round(run.sessions / cores, 1) if valid else None
        if not valid:
            run.notes.append(f"delivered {v['delivered_ratio']:.2%} < {DELIVERED_MIN:.1%}: no "
                             f"per-core figure (workers {v['workers_cpu_cores']} cores, machine "
                             f"idle {v['machine_cores'].get('idle')} cores)")
        if c0 and c1:
            busy = rates(c0, c1)
            v["backends"] = busy
            idle = v["idle_backends"]
            people = 2 * run.sessions
            v["per_room"] = {
                "redis_all_per_s": round((busy["redis_all_per_s"] - idle["redis_all_per_s"])
                                         / run.sessions, 2),
                "redis_scripts_per_s": round((busy["redis_scripts_per_s"]
                                              - idle["redis_scripts_per_s"]) / run.sessions, 3),
            }
            v["per_participant_minute"] = {
                k: round((busy[k] - idle[k]) * 60 / people, 1)
                for k in ("pg_inserted_per_s", "pg_updated_per_s", "pg_wal_bytes_per_s")
            }
            v["pg_rows"] = await row_sizes(db_url)
    finally:
        if workers is not None:
            await workers.stop()
        server.stop()


def summarise(run: Run, got: list[dict[str, Any]]) -> None:
    want = have = packets = 0
    latencies: list[float] = []
    states: dict[str, int] = {}
    for item in got:
        s, sent = item["summary"], item["sent"]
        states[item["pc"]] = states.get(item["pc"], 0) + 1
        for kind, count in sent.items():
            k = s.get(kind)
            want += count
            if k is None:
                continue
            have += k["delivered"] if k["probed"] else min(k["frames_in_window"], count)
            latencies += k["latencies"]
            packets += k["packets_in_window"]
    run.values.update(
        delivered_ratio=round(have / want, 5) if want else 0.0,
        latency_ms_p50=round(1000 * (pct(latencies, 0.5) or 0), 1) if latencies else None,
        latency_ms_p95=round(1000 * (pct(latencies, 0.95) or 0), 1) if latencies else None,
        packets_received=packets,
        peer_states=states,
    )


def table(runs: list[Run]) -> str:
    head = (f"{'K':>4} {'mode':<9} {'idle':>6} {'cores':>6} {'c/sess':>7} {'deliv':>8} "
            f"{'p50 ms':>7} {'p95 ms':>7} {'RSS MiB':>8} {'MiB/ses':>7} {'workers':>7} "
            f"{'load':>10} "
            f"{'sess/core':>9}")
    lines = [head, "-" * len(head)]

    def f(x: Any, spec: str) -> str:
        return "—" if x is None else format(x, spec)

    for r in runs:
        v = r.values
        if "server_cpu_cores" not in v:
            lines.append(f"{r.sessions:>4} {r.mode:<9} failed: {'; '.join(r.notes)}")
            continue
        lines.append(
            f"{r.sessions:>4} {r.mode:<9} {v['idle_cores']:>6.3f} {v['server_cpu_cores']:>6.3f} "
            f"{v['cores_per_session']:>7.4f} {v['delivered_ratio']:>8.2%} "
            f"{f(v['latency_ms_p50'], '.1f'):>7} {f(v['latency_ms_p95'], '.1f'):>7} "
            f"{v['server_rss_mib']:>8.0f} {v['rss_per_session_mib']:>7.2f} "
            f"{v['workers_cpu_cores']:>7.2f} {v['load_avg'][0]:>4.1f}→{v['load_avg'][1]:<4.1f} "
            f"{f(v['sessions_per_core'], '.1f'):>9}")
        for note in r.notes:
            lines.append(f"{'':>6}note: {note}")
        if "backends" in v:
            b, i = v["backends"], v["idle_backends"]
            lines.append(
                f"{'':>6}redis scripts/s {i['redis_scripts_per_s']}→{b['redis_scripts_per_s']}, "
                f"commands/s {i['redis_all_per_s']}→{b['redis_all_per_s']}; "
                f"per room {v['per_room']}")
            lines.append(
                f"{'':>6}postgres commits/s {i['pg_commits_per_s']}→{b['pg_commits_per_s']}, "
                f"ins/s {i['pg_inserted_per_s']}→{b['pg_inserted_per_s']}, "
                f"upd/s {i['pg_updated_per_s']}→{b['pg_updated_per_s']}, "
                f"WAL B/s {i['pg_wal_bytes_per_s']}→{b['pg_wal_bytes_per_s']}")
            lines.append(f"{'':>6}per participant-minute {v['per_participant_minute']}; "
                         f"journal rows at the end {v['pg_rows']}")
            lines.append(f"{'':>6}redis per command/s, busy: {b['redis_by_command_per_s']}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.one_to_one",
                                description=(__doc__ or "").split("\n")[0])
    p.add_argument("--sessions", default="5,10", help="K list for forward mode")
    p.add_argument("--reencode-sessions", default="1", help="K list for the baseline")
    p.add_argument("--modes", default="forward,reencode")
    p.add_argument("--seconds", type=float, default=15.0, help="measurement window")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--idle-seconds", type=float, default=5.0,
                   help="the idle server's window, before any session")
    p.add_argument("--workers", type=int, default=2, help="client processes")
    p.add_argument("--server-workers", type=int, default=1,
                   help="serve --workers N: N server processes (the figure sums them)")
    p.add_argument("--backends", action=argparse.BooleanOptionalAction, default=None,
                   help="a throw-away Redis and PostgreSQL (default: when installed)")
    p.add_argument("--json", default=None)
    return p.parse_args(argv)


async def main_async(args: argparse.Namespace) -> int:
    started = time.monotonic()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    plan: list[Run] = []
    for mode in modes:
        ks = args.sessions if mode in FORWARD_LIKE else args.reencode_sessions
        plan += [Run(mode, int(k)) for k in ks.split(",") if k.strip()]
    media = [encode_audio(), encode_phone_video()]
    if args.backends is None:
        args.backends = bool(shutil.which("redis-server")) and postgres_bindir() is not None
    cpu = machine_model()
    print(f"machine: {os.cpu_count()} cores, {cpu}; load {os.getloadavg()}; per person: "
          f"VP8 {WIDTH}x{HEIGHT} {FPS} fps "
          + ", ".join(f"{m.kind} {m.bitrate / 1000:.0f} kbit/s" for m in media)
          + " each way (payload, before RTP/SRTP/UDP headers); "
          + ("Redis + PostgreSQL" if args.backends else "SQLite, no Redis"), flush=True)
    backends: Backends | None = None
    with tempfile.TemporaryDirectory(prefix="one-to-one-") as tmp:
        try:
            if args.backends:
                backends = Backends(Path(tmp))
                await backends.ready()
                print(f"PostgreSQL {backends.version}, redis-server on :{backends.redis_port}",
                      flush=True)
            for run in plan:
                print(f"… {run.mode} K={run.sessions}", flush=True)
                try:
                    await one_run(run, args, Path(tmp), media, backends)
                except Exception as exc:  # one failed run must not lose the others
                    run.notes.append(f"run failed: {type(exc).__name__}: {exc}")
                print(table([run]).split("\n", 2)[2], flush=True)
        finally:
            if backends is not None:
                backends.stop()
    print()
    print(table(plan))
    best: dict[str, float | None] = {}
    for mode in (*FORWARD_LIKE, "reencode"):
        valid = [r for r in plan if r.mode == mode and r.values.get("valid")]
        top = max(valid, key=lambda r: r.sessions, default=None)
        best[mode] = None if top is None else top.values["sessions_per_core"]
    fwd, base = best.get("forward"), best.get("reencode")
    ratio = round(fwd / base, 1) if fwd and base else None
    print(f"\nconcurrent one-to-one sessions per fully used server core (largest valid K): "
          f"{best}; forward/reencode = {ratio}")
    fwd_best = best.get("forward")
    print(f"issue 15's goal (≥ {GOAL_SESSIONS_PER_CORE} concurrent one-to-one A/V sessions per "
          f"core): {'met' if fwd_best and fwd_best >= GOAL_SESSIONS_PER_CORE else 'not met'}"
          + (f": {fwd_best} ({GOAL_SESSIONS_PER_CORE / fwd_best:.1f}× short)" if fwd_best and
             fwd_best < GOAL_SESSIONS_PER_CORE else f": {fwd_best}"))
    for other in ("python", "queued", "framed"):
        per_k = {r.sessions: r.values["sessions_per_core"] for r in plan
                 if r.mode == other and r.values.get("valid")}
        pairs = [(r.sessions, r.values["sessions_per_core"] / per_k[r.sessions]) for r in plan
                 if r.mode == "forward" and r.values.get("valid") and r.sessions in per_k]
        if pairs:
            print(f"forward/{other} (sessions per core, same K): "
                  + ", ".join(f"K={k}: {q:.2f}×" for k, q in pairs))
    marginal = [r.values["marginal_cores_per_session"] for r in plan
                if r.mode == "forward" and r.values.get("valid")]
    if marginal:
        print(f"forward, marginal (idle node subtracted): {statistics.mean(marginal):.4f} cores "
              f"per session = {1 / max(1e-9, statistics.mean(marginal)):.0f} sessions per core")
    print(f"total {time.monotonic() - started:.0f} s; load now {os.getloadavg()}")
    if args.json:
        result = {
            "machine": {"cores": os.cpu_count(), "cpu": cpu,
                        "date": datetime.now(UTC).isoformat()},
            "stream": {m.kind: round(m.bitrate) for m in media},
            "runs": [{"mode": r.mode, "sessions": r.sessions, **r.values, "notes": r.notes}
                     for r in plan],
            "sessions_per_core": best, "ratio": ratio,
        }
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False))  # noqa: ASYNC240
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
