"""Join storm: N learners join one lecture at once, over socket.io, against a real
``opentutor serve`` on loopback (no media: the signaling path alone).

    python -m bench.join_storm                       # 100 and 300 learners
    python -m bench.join_storm --learners 50,200 --tree ../old-checkout

Per N: wall time from the first connect to the last ``welcome``, joins per second,
server CPU seconds (user+sys of the server process) per join, and what each learner
received while everyone joined (events and bytes, welcome included): the cost that
grows with the square of the audience when every join is broadcast to everyone.

``--tree`` runs the server from another checkout (its own ``signaling`` package, found
by its layout), so that a change can be measured before and after in the same run;
the baseline printed for each N is the same storm against ``/healthz`` requests (one
HTTP round trip per learner), measured in the same run. No timing assertions in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
import psutil
import socketio

ROOT = Path(__file__).resolve().parent.parent
KEY, SECRET = "bench-key-join-storm-000000000000", "bench-secret-join-storm-0000000000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_module(tree: Path) -> str:
    return "signaling.server.cli" if (tree / "signaling/server/cli.py").exists() \
        else "signaling.cli"


def start(tree: Path, data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    args = [sys.executable, "-m", server_module(tree), "serve", "--host", "127.0.0.1",
            "--port", str(port), "--data-dir", str(data), "--api-key", KEY,
            "--token-secret", SECRET, "--no-demo", "--ice-host", "127.0.0.1"]
    if (tree / "signaling/server/web_assets.py").exists():
        args += ["--web-dir", str(ROOT / "web")]
    process = subprocess.Popen(args, cwd=tree, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start")


def lecture(learners: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "programme": "training", "form": "lecture", "title": "join storm",
        "scheduled_start": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scheduled_end": (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "people": [{"id": "t1", "name": "王老师", "role": "instructor"}]
        + [{"id": f"s{i}", "name": f"学员{i}", "role": "learner"} for i in range(learners)],
    }


async def storm(base: str, learners: int, server: psutil.Process) -> dict[str, float]:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/api/v1/sessions", json=lecture(learners),
                             headers={"Authorization": f"Bearer {KEY}"}) as r:
            created = await r.json()
        tokens = [parse_qs(urlparse(created["join_urls"][f"s{i}"]).query)["token"][0]
                  for i in range(learners)]
    received = [[0, 0] for _ in range(learners)]  # events, bytes
    clients: list[socketio.AsyncClient] = []
    welcomed = asyncio.Event()
    done = 0

    async def join(i: int) -> None:
        nonlocal done
        client = socketio.AsyncClient(reconnection=False)
        clients.append(client)

        @client.on("*")  # type: ignore[untyped-decorator]
        async def any_event(event: str, data: Any = None) -> None:
            nonlocal done
            received[i][0] += 1
            received[i][1] += len(json.dumps(data, ensure_ascii=False).encode())
            if event == "welcome":
                done += 1
                if done == learners:
                    welcomed.set()

        await client.connect(base, auth={"token": tokens[i]}, transports=["websocket"],
                             wait_timeout=60)

    cpu0 = server.cpu_times()
    started = time.perf_counter()
    await asyncio.gather(*(join(i) for i in range(learners)))
    await asyncio.wait_for(welcomed.wait(), 120)
    wall = time.perf_counter() - started
    cpu1 = server.cpu_times()
    await asyncio.sleep(0.5)  # late person broadcasts still count
    for client in clients:
        await client.disconnect()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return {
        "wall_s": wall, "joins_per_s": learners / wall, "cpu_ms_per_join": cpu / learners * 1e3,
        "events_per_learner": sum(e for e, _ in received) / learners,
        "kib_per_learner": sum(b for _, b in received) / learners / 1024,
    }


async def http_baseline(base: str, learners: int) -> float:
    """Joins-per-second's floor on this machine: one /healthz round trip per learner."""
    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()

        async def one() -> None:
            async with http.get(f"{base}/healthz") as r:
                await r.read()

        await asyncio.gather(*(one() for _ in range(learners)))
        return learners / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", default="100,300")
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout to run the server from")
    args = parser.parse_args()
    print(f"server from {args.tree.resolve()} ({server_module(args.tree)})")
    print(f"{'N':>5} {'joins/s':>8} {'healthz/s':>9} {'ratio':>6} {'CPU ms/join':>11} "
          f"{'events/learner':>14} {'KiB/learner':>11}")
    for n in [int(x) for x in args.learners.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            process = start(args.tree.resolve(), Path(tmp) / "data", port)
            try:
                base = f"http://127.0.0.1:{port}"
                result = asyncio.run(storm(base, n, psutil.Process(process.pid)))
                floor = asyncio.run(http_baseline(base, n))
            finally:
                process.terminate()
                process.wait(timeout=15)
        print(f"{n:>5} {result['joins_per_s']:>8.1f} {floor:>9.1f} "
              f"{floor / result['joins_per_s']:>6.1f} {result['cpu_ms_per_join']:>11.2f} "
              f"{result['events_per_learner']:>14.1f} {result['kib_per_learner']:>11.1f}")


if __name__ == "__main__":
    main()
