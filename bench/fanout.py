"""Lecture fan-out benchmark: one publisher, N subscribers, a real server, loopback only.

    python -m bench.fanout --json out.json --plot out.png
    python -m bench.fanout --subscribers 10,50 --modes forward --duration 10
    python -m bench.fanout --audio-only

Each run starts ``opentutor serve`` (``--ice-host 127.0.0.1``) as its own process,
creates a lecture through the REST API, and joins everyone with their join tokens over
socket.io, as browsers do. The publisher (the instructor, in this process) loops a
pre-encoded 640×480 VP8 ~600 kbit/s + Opus stream (:mod:`bench.fanout_media`);
subscribers (learners) run in worker processes and do not decode
(:mod:`bench.fanout_client`). Modes, each in its own server process of the same run:

- ``forward``: the product's path (``rtc/forward.py``), each packet's per-subscriber
  header, SRTP and send in C (``rtc/_wire.c``) where it was built.
- ``python``: the same path with the pure-Python send (``OPENTUTOR_NATIVE=0``): the
  ratio of the two is what the C piece buys (issue 15).
- ``reencode``: the baseline, aiortc's stock MediaRelay and one encoder per subscriber
  (the server runs with ``OPENTUTOR_MEDIA_MODE=reencode``, a benchmark-only switch). It
  costs one VP8 encode per frame per subscriber, so it runs at its own, small N list
  (``--reencode-subscribers``); beyond about 6 subscribers it only measures a server
  that has collapsed on 2 cores.

Per run: server CPU (user+sys of the server process only, over the measurement
window), RTP packets per second that reached subscribers, CPU µs per such packet,
frames delivered / frames sent (from the per-frame probe), added latency (publisher
send → subscriber arrival, ``time.monotonic()``, one clock on the host) p50/p95, time
from a subscriber's ICE+DTLS "connected" to its first complete keyframe (p95), server
RSS. Headline: subscribers per fully used server core (N / server cores) per mode, and
their ratio. A run whose subscribers got < 99.5 % of the frames reports no such
figure, and says why (load generator busy, drops at which socket).

With ``--slow`` (default on) one extra run adds a throttled subscriber (a worker whose
loop stalls 300 ms of every second, with a 32 KiB socket buffer) to the forward mode
at ``--slow-n`` subscribers, and reports how it and the others fared.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from bench.fanout_client import Publisher, run_worker
from bench.fanout_media import encode_audio, encode_video
from bench.harness import cpu_seconds, wait_healthy
from rtc import wire

API_KEY = "bench-api-key"
SECRET = "bench-token-secret"
PER_WORKER = 50  # subscribers per worker process
DELIVERED_MIN = 0.995


@dataclass
class Run:
    mode: str
    subscribers: int
    slow: bool = False
    values: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def udp_drops(pids: list[int]) -> dict[str, int]:
    """Datagrams the kernel dropped so far at each of these processes' UDP sockets
    (full receive buffers), by socket inode."""
    inodes: set[str] = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    drops: dict[str, int] = {}
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if len(cols) > 12 and cols[9] in inodes:
                    drops[cols[9]] = int(cols[-1])
    return drops


def dropped(before: dict[str, int], after: dict[str, int]) -> int:
    return sum(n - before.get(inode, 0) for inode, n in after.items())


def machine_model() -> str:
    with open("/proc/cpuinfo") as f:
        return next((ln.split(":", 1)[1].strip() for ln in f if "model name" in ln), "?")


def lecture_body(learners: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "programme": "training",
        "form": "lecture",
        "title": "fan-out benchmark",
        "scheduled_start": (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scheduled_end": (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "record": False,
        "people": [{"id": "t1", "name": "讲师", "role": "instructor"}]
        + [{"id": f"s{i}", "name": f"学员{i}", "role": "learner"} for i in range(learners)],
    }


class Server:
    def __init__(self, mode: str, workdir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"server-{mode}-{self.port}.log"
        # "python": the forward path with rtc/wire.py's pure-Python send instead of the C one.
        if mode == "python":
            env = dict(os.environ, OPENTUTOR_MEDIA_MODE="forward", OPENTUTOR_NATIVE="0")
        else:
            env = dict(os.environ, OPENTUTOR_MEDIA_MODE=mode)
        args = [
            sys.executable, "-m", "signaling.server.cli", "serve", "--host", "127.0.0.1",
            "--port", str(self.port), "--data-dir", str(workdir / f"data-{self.port}"),
            "--api-key", API_KEY, "--token-secret", SECRET, "--no-demo",
            "--ice-host", "127.0.0.1",
        ]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.ps = psutil.Process(self.process.pid)
        wait_healthy(self.base, self.process, self.log, self.stop)

    def cpu(self) -> float:
        t = self.ps.cpu_times()
        return float(t.user + t.system)

    def rss_mib(self) -> float:
        return float(self.ps.memory_info().rss) / 2**20

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def create_lecture(base: str, learners: int) -> dict[str, str]:
    async with aiohttp.ClientSession() as http, http.post(
        base + "/api/v1/sessions",
        json=lecture_body(learners),
        headers={"Authorization": f"Bearer {API_KEY}"},
    ) as r:
        created = await r.json()
        if r.status != 201:
            raise RuntimeError(f"session not created: {r.status} {created}")
    return {pid: url.split("token=", 1)[1] for pid, url in created["join_urls"].items()}


class Workers:
    """Subscriber worker processes and the pipes to them."""

    def __init__(self, base: str, groups: list[tuple[list[tuple[str, str]], bool]]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.items: list[tuple[Any, Any, bool]] = []
        self.phases: list[dict[str, tuple[float, float]]] = []  # per worker: (median, max)
        for tokens, slow in groups:
            parent, child = ctx.Pipe()
            p = ctx.Process(target=run_worker, args=(child, base, tokens, slow), daemon=True)
            p.start()
            self.items.append((p, parent, slow))

    @property
    def pids(self) -> list[int]:
        return [int(p.pid) for p, _, _ in self.items]

    async def ask(self, message: tuple[Any, ...], wait: float = 60) -> list[Any]:
        loop = asyncio.get_running_loop()
        for _, conn, _ in self.items:
            conn.send(message)
        return [
            await asyncio.wait_for(loop.run_in_executor(None, conn.recv), wait)
            for _, conn, _ in self.items
        ]

    async def joined(self, wait: float) -> list[str]:
        loop = asyncio.get_running_loop()
        errors: list[str] = []
        for _, conn, _ in self.items:
            _, errs, phases = await asyncio.wait_for(
                loop.run_in_executor(None, conn.recv), wait
            )
            errors += errs
            self.phases.append(phases)
        return errors

    def cpu(self) -> float:
        return cpu_seconds(self.pids)

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.ask(("stop",), wait=30)
        for p, conn, _ in self.items:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
            conn.close()


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


async def one_run(run: Run, args: argparse.Namespace, workdir: Path, media: dict[str, Any]) -> None:
    server = Server(run.mode, workdir)
    workers: Workers | None = None
    publisher = Publisher(media.get("video"), media["audio"])
    try:
        rss0 = server.rss_mib()
        tokens = await create_lecture(server.base, run.subscribers + (1 if run.slow else 0))
        await publisher.start(server.base, tokens["t1"])
        learners = [(pid, tok) for pid, tok in tokens.items() if pid != "t1"]
        learners.sort(key=lambda item: int(item[0][1:]))
        groups: list[tuple[list[tuple[str, str]], bool]] = []
        normal = learners[: run.subscribers]
        workers_n = max(1, math.ceil(len(normal) / PER_WORKER))
        for w in range(workers_n):
            groups.append((normal[w::workers_n], False))
        if run.slow:
            groups.append((learners[run.subscribers:], True))
        join_start = time.monotonic()
        workers = Workers(server.base, groups)
        errors = await workers.joined(wait=60 + run.subscribers)
        if errors:
            run.notes.append(f"{len(errors)} joins failed, e.g. {errors[0]}")
        # Wait until every subscriber is connected and has its first keyframe.
        deadline = time.monotonic() + 20 + run.subscribers * 0.05
        while time.monotonic() < deadline:
            kinds = [t.kind for t in publisher.tracks]
            states = [s for group in await workers.ask(("status", kinds)) for s in group]
            if all(states):
                break
            await asyncio.sleep(0.5)
        else:
            ready = sum(1 for s in states if s)
            run.notes.append(f"only {ready}/{len(states)} subscribers receiving before the window")
        run.values["join_s"] = round(time.monotonic() - join_start, 1)
        await asyncio.sleep(args.warmup)
        load0 = os.getloadavg()[0]
        drops0 = udp_drops([server.process.pid]), udp_drops(workers.pids)
        sys0 = psutil.cpu_times()
        wcpu0, cpu0, t0 = workers.cpu(), server.cpu(), time.monotonic()
        await asyncio.sleep(args.duration)
        cpu1, t1, wcpu1 = server.cpu(), time.monotonic(), workers.cpu()
        sys1 = psutil.cpu_times()
        drops1 = udp_drops([server.process.pid]), udp_drops(workers.pids)
        rss1 = server.rss_mib()
        await asyncio.sleep(0.5)  # let the window's last frames arrive
        expected: dict[str, tuple[int, int]] = {}
        sent_counts: dict[str, int] = {}
        for track in publisher.tracks:
            idx = [i for i, s in enumerate(track.sent) if t0 <= s <= t1]
            expected[track.kind] = (idx[0], idx[-1]) if idx else (0, -1)
            sent_counts[track.kind] = len(idx)
        summaries = [s for group in await workers.ask(("collect", t0, t1, expected)) for s in group]
        summarise(run, summaries, expected, sent_counts, t1 - t0)
        wall = t1 - t0
        run.values.update(
            server_cpu_cores=round((cpu1 - cpu0) / wall, 3),
            workers_cpu_cores=round((wcpu1 - wcpu0) / wall, 2),
            server_rss_mib=round(rss1, 1),
            rss_per_subscriber_mib=round((rss1 - rss0) / max(1, len(summaries)), 3),
            server_udp_drops=dropped(drops0[0], drops1[0]),
            subscriber_udp_drops=dropped(drops0[1], drops1[1]),
            load_avg=round(load0, 2),
            # The whole machine over the window, in cores: other people's work ("nice":
            # test runs at lower priority), softirq (loopback delivery the kernel did
            # outside any process), steal (the hypervisor gave our vCPUs to others).
            machine_cores={
                k: round((getattr(sys1, k) - getattr(sys0, k)) / (t1 - t0), 2)
                for k in ("user", "nice", "system", "softirq", "steal", "idle")
                if hasattr(sys1, k)
            },
            publisher_keyframe_requests=sum(t.keyframe_requests for t in publisher.tracks),
            publisher_state=[publisher.pc.connectionState, *publisher.signal.notes],
            publisher_frames=sent_counts,
            join_phases_s=workers.phases,
        )
        if publisher.pc.connectionState != "connected":
            run.notes.append(
                f"the publisher's connection is {publisher.pc.connectionState}: its ICE agent"
                " gave up (no STUN consent answer within 0.5 s, 6 times in a row: the server"
                " fell seconds behind, the machine could not carry this N)"
            )
        packets = run.values["packets_forwarded_per_s"]
        run.values["cpu_us_per_packet"] = (
            round(run.values["server_cpu_cores"] * 1e6 / packets, 1) if packets else None
        )
        judge(run, workers_n)
    finally:
        if workers is not None:
            await workers.stop()
        with contextlib.suppress(Exception):
            await publisher.close()
        server.stop()


def summarise(
    run: Run,
    summaries: list[dict[str, Any]],
    expected: dict[str, tuple[int, int]],
    sent: dict[str, int],
    wall: float,
) -> None:
    normal = [s for s in summaries if not s["slow"]]
    slow = [s for s in summaries if s["slow"]]

    def delivered(s: dict[str, Any]) -> float:
        got = want = 0
        for kind, count in sent.items():
            k = s.get(kind)
            if k is None:
                continue
            want += count
            got += k["delivered"] if k["probed"] else min(k["frames_in_window"], count)
        return got / want if want else 0.0

    ratios = [delivered(s) for s in normal]
    latencies = [x for s in normal for k in sent if k in s for x in s[k]["latencies"]]
    firsts = [
        s["video" if "video" in sent else "audio"]["first_keyframe_s"] for s in normal
    ]
    packets = sum(s[k]["packets_in_window"] for s in summaries for k in sent if k in s)
    run.values.update(
        packets_forwarded_per_s=round(packets / wall),
        delivered_ratio=round(statistics.mean(ratios), 5) if ratios else 0.0,
        delivered_min=round(min(ratios), 5) if ratios else 0.0,
        latency_ms_p50=None if not latencies else round(1000 * (pct(latencies, 0.5) or 0), 2),
        latency_ms_p95=None if not latencies else round(1000 * (pct(latencies, 0.95) or 0), 2),
        first_keyframe_s_p95=None
        if None in firsts or not firsts
        else round(pct([float(f) for f in firsts], 0.95) or 0, 3),
        never_keyframe=sum(1 for f in firsts if f is None),
        nacks=sum(s[k]["nacks"] for s in normal for k in sent if k in s),
        plis=sum(s[k]["plis"] for s in normal for k in sent if k in s),
    )
    for kind in sent:
        lat = sorted(x for s in normal if kind in s for x in s[kind]["latencies"])
        if lat:
            run.values[f"latency_ms_{kind}"] = [
                round(1000 * (pct(lat, q) or 0), 1) for q in (0.5, 0.95, 0.99, 1.0)
            ]
    if os.environ.get("FANOUT_DUMP"):
        Path(os.environ["FANOUT_DUMP"]).write_text(json.dumps(summaries))
    if not latencies:
        run.notes.append("latency not measured: no probe arrived (re-encoding replaces payloads)")
    if slow:
        s = slow[0]
        v = s.get("video") or s["audio"]
        run.values["slow_subscriber"] = {
            "delivered_ratio": round(delivered(s), 4),
            "lost_packets": sum(s[k]["lost"] for k in sent if k in s),
            "nacks": v["nacks"], "plis": v["plis"], "rtx_received": v["rtx"],
            "broken_frames": v["broken"],
        }


def judge(run: Run, workers_n: int) -> None:
    v = run.values
    ok = v["delivered_ratio"] >= DELIVERED_MIN
    v["valid"] = ok
    cores = v["server_cpu_cores"]
    v["subscribers_per_core"] = round(run.subscribers / cores, 1) if ok and cores > 0 else None
    if not ok:
        why = []
        if v["workers_cpu_cores"] > 0.9 * workers_n:
            why.append(f"subscriber workers busy ({v['workers_cpu_cores']} cores)")
        if v["subscriber_udp_drops"]:
            why.append(f"{v['subscriber_udp_drops']} datagrams dropped at subscriber sockets")
        if v["server_udp_drops"]:
            why.append(f"{v['server_udp_drops']} datagrams dropped at server sockets")
        if cores > 1.7:
            why.append(f"server saturated ({cores} cores)")
        idle = v.get("machine_cores", {}).get("idle")
        if idle is not None and idle < 0.3:
            why.append(f"machine saturated (idle {idle} of {os.cpu_count()} cores)")
        p50 = v.get("latency_ms_p50")
        if p50 is not None and p50 > 1000:
            why.append(f"the server fell {p50 / 1000:.1f} s behind (a backlog at its ingress)")
        run.notes.append(
            f"delivered {v['delivered_ratio']:.2%} < 99.5%: no per-core figure"
            + (" — " + "; ".join(why) if why else "")
        )


def table(runs: list[Run]) -> str:
    head = (
        f"{'N':>5} {'mode':<9} {'cores':>6} {'pkt/s':>7} {'µs/pkt':>7} {'deliv':>8} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'kf p95 s':>8} {'RSS MiB':>8} {'subs/core':>9}"
    )
    lines = [head, "-" * len(head)]

    def f(x: Any, spec: str) -> str:
        return "—" if x is None else format(x, spec)

    for r in runs:
        v = r.values
        if not v.get("server_cpu_cores") and "delivered_ratio" not in v:
            lines.append(f"{r.subscribers:>5} {r.mode:<9} failed: {'; '.join(r.notes)}")
            continue
        lines.append(
            f"{r.subscribers:>5}{'+1' if r.slow else '  '}{r.mode:<8}"
            f"{v['server_cpu_cores']:>6.2f} {v['packets_forwarded_per_s']:>7} "
            f"{f(v['cpu_us_per_packet'], '.1f'):>7} {v['delivered_ratio']:>8.2%} "
            f"{f(v['latency_ms_p50'], '.1f'):>7} {f(v['latency_ms_p95'], '.1f'):>7} "
            f"{f(v['first_keyframe_s_p95'], '.2f'):>8} {v['server_rss_mib']:>8.0f} "
            f"{f(v['subscribers_per_core'], '.0f'):>9}"
        )
        for note in r.notes:
            lines.append(f"{'':>7}note: {note}")
    return "\n".join(lines)


def headline(runs: list[Run]) -> dict[str, Any]:
    """Subscribers per fully used core: from the largest valid run of each mode."""
    per_core: dict[str, float | None] = {}
    for mode in ("forward", "python", "reencode"):
        valid = [r for r in runs if r.mode == mode and not r.slow and r.values.get("valid")]
        best = max(valid, key=lambda r: r.subscribers, default=None)
        per_core[mode] = None if best is None else best.values["subscribers_per_core"]
    f, r, p = per_core.get("forward"), per_core.get("reencode"), per_core.get("python")
    return {"subscribers_per_core": per_core, "ratio": round(f / r, 1) if f and r else None,
            "native_ratio": round(f / p, 2) if f and p else None}


def plot(runs: list[Run], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for mode, style, color in (("forward", "o-", "C0"), ("reencode", "s--", "C1")):
        done = sorted(
            (r.subscribers, r.values["server_cpu_cores"], bool(r.values.get("valid")))
            for r in runs
            if r.mode == mode and not r.slow and "server_cpu_cores" in r.values
        )
        valid = [p for p in done if p[2]]
        if valid:
            ax.plot([p[0] for p in valid], [p[1] for p in valid], style, color=color,
                    label=f"{mode}")
        behind = [p for p in done if not p[2]]
        if behind:
            ax.plot([p[0] for p in behind], [p[1] for p in behind], "x", color=color,
                    label=f"{mode}: subscribers fell behind (not a valid figure)")
    ax.axhline(2.0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("subscribers (audio + video)")
    ax.set_ylabel("server CPU (cores)")
    ax.set_title("opentutor lecture fan-out: server CPU vs subscribers (2-core machine)")
    ax.set_xscale("log")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__.split("\n")[0])
    # 200 does not fit one 2-core machine that also runs the subscribers (they cost more
    # per packet than the server): the run says so. 150 fits only when the machine is quiet.
    p.add_argument("--subscribers", default="10,50,100,150", help="N list for forward mode")
    p.add_argument("--reencode-subscribers", default="2,4", help="N list for the baseline")
    p.add_argument("--modes", default="forward,reencode")
    p.add_argument("--duration", type=float, default=15.0, help="measurement window, seconds")
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--audio-only", action="store_true")
    p.add_argument("--slow", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--slow-n", type=int, default=50)
    p.add_argument("--json", default=None)
    p.add_argument("--plot", default=None)
    return p.parse_args(argv)


async def main_async(args: argparse.Namespace) -> int:
    started = time.monotonic()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    plan: list[Run] = []
    for mode in modes:
        ns = args.subscribers if mode in ("forward", "python") else args.reencode_subscribers
        plan += [Run(mode, int(n)) for n in ns.split(",") if n.strip()]
    if args.slow and "forward" in modes:
        plan.append(Run("forward", args.slow_n, slow=True))
    media: dict[str, Any] = {"audio": encode_audio()}
    if not args.audio_only:
        media["video"] = encode_video()
    cpu = machine_model()
    print(
        f"machine: {os.cpu_count()} cores, {cpu}; load {os.getloadavg()}; "
        f"C send (rtc._wire) {'built' if wire.native_built() else 'NOT built'}; "
        f"stream: {'audio only' if args.audio_only else 'VP8 640x480 30 fps'} "
        + ", ".join(f"{k} {m.bitrate / 1000:.0f} kbit/s" for k, m in media.items()),
        flush=True,
    )
    keep = os.environ.get("FANOUT_KEEP")  # a directory: keep the servers' logs there
    with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
        if keep:
            tmp = keep
            Path(tmp).mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240
        for run in plan:
            print(f"… {run.mode} N={run.subscribers}{' +slow' if run.slow else ''}", flush=True)
            try:
                await one_run(run, args, Path(tmp), media)
            except Exception as exc:  # one failed run must not lose the others
                run.notes.append(f"run failed: {type(exc).__name__}: {exc}")
            print(table([run]).splitlines()[-1 - len(run.notes)], flush=True)
    print()
    print(table(plan))
    head = headline(plan)
    print()
    print(f"subscribers per fully used server core: {head['subscribers_per_core']}; "
          f"forward/reencode = {head['ratio']}; forward (C send) / python send = "
          f"{head['native_ratio']}")
    for run in plan:
        if run.slow and "slow_subscriber" in run.values:
            print(f"slow subscriber (N={run.subscribers}+1): {run.values['slow_subscriber']}; "
                  f"others delivered {run.values['delivered_ratio']:.2%}, "
                  f"p95 {run.values['latency_ms_p95']} ms")
    print(f"total {time.monotonic() - started:.0f} s; load now {os.getloadavg()}")
    result = {
        "machine": {"cores": os.cpu_count(), "cpu": cpu, "date": datetime.now(UTC).isoformat()},
        "stream": {k: round(m.bitrate) for k, m in media.items()},
        "runs": [
            {"mode": r.mode, "subscribers": r.subscribers, "slow": r.slow, **r.values,
             "notes": r.notes}
            for r in plan
        ],
        **head,
    }
    if args.json:
        Path(args.json).write_text(  # noqa: ASYNC240 (the run is over)
            json.dumps(result, indent=2, ensure_ascii=False)
        )
    if args.plot:
        plot(plan, args.plot)
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
