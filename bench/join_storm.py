"""Join storm: a teacher is in a lecture, then N learners join it at once, over
socket.io, against a real ``opentutor serve`` on loopback (no media: the signaling
path alone).

    python -m bench.join_storm                # 100, 500 and 1,999 learners (+ the teacher)
    python -m bench.join_storm --learners 100,500 --tree /tmp/before --tree .

Per N and server tree:

- ``joins/s``: N over the wall time from the first connect to the last ``welcome``;
- ``settled``: seconds until the teacher has been told that all N are here (the old
  ``person`` events or the coalesced ``roster``), the whole storm as the room sees it;
- server CPU (user+sys of the server process) per join, until the wire went quiet;
- bytes: every socket.io packet each client received (the packet's text as sent, UTF-8;
  engine.io and websocket framing not counted), from the first learner's connect until
  nothing arrived for half a second. ``B/join`` is everything every client received
  (the teacher included) over N: what one more join costs the server to send;
  ``KiB/learner`` and ``teacher KiB`` split it by receiver, ``events/learner`` counts
  packets.

Learners count their packets without decoding them (only socket.io's own packets are
handed to the client library), so that this process, which runs every client, stays
cheaper than the server it measures. The teacher decodes everything.

``--tree`` (repeatable) runs the server from a checkout (its own ``signaling``
package, found by its layout): with two, each N runs against both, one after the
other, so that a change is measured before and after in the same run. The baseline
printed for each N is the same storm against ``/healthz`` requests (one HTTP round
trip per learner), measured in the same run. No timing assertions in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
import psutil
import socketio

ROOT = Path(__file__).resolve().parent.parent
KEY, SECRET = "bench-key-join-storm-000000000000", "bench-secret-join-storm-0000000000"
QUIET_S = 0.5  # nothing received for this long: the storm is over


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


@dataclass
class Tally:
    """What one client received: socket.io packets and their bytes."""

    events: int = 0
    bytes: int = 0
    counting: bool = True


def count_packets(client: socketio.AsyncClient, tally: Tally,
                  on_event: Callable[[str], bool]) -> None:
    """Count every socket.io packet ``client`` receives. ``on_event(name)`` says whether
    an event packet is handed on to the client library (decoded); socket.io's own
    packets (connect, acks, disconnect) always are."""
    handle: Callable[[Any], Awaitable[None]] = client._handle_eio_message

    async def message(data: Any) -> None:
        text = data if isinstance(data, str) else None
        if tally.counting:
            tally.bytes += len(text.encode()) if text is not None else len(data)
        if text is not None and text.startswith('2["'):
            if tally.counting:
                tally.events += 1
            if not on_event(text[3:text.find('"', 3)]):
                return
        await handle(data)

    client.eio.on("message", message)


@dataclass
class Teacher:
    """The teacher's view of who is here, from either protocol."""

    learners: int
    here: set[str] = field(default_factory=set)
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    def person(self, p: dict[str, Any]) -> None:
        if p.get("role") != "learner":
            return
        if p.get("present"):
            self.here.add(p["id"])
        else:
            self.here.discard(p["id"])
        if len(self.here) == self.learners:
            self.settled.set()

    def roster(self, data: dict[str, Any]) -> None:
        for p in data.get("added", []) + data.get("changed", []):
            self.person(p)
        for pid in data.get("removed", []):
            self.here.discard(pid)


async def storm(base: str, learners: int, server: psutil.Process) -> dict[str, float]:
    async with aiohttp.ClientSession() as http, http.post(
        f"{base}/api/v1/sessions", json=lecture(learners),
        headers={"Authorization": f"Bearer {KEY}"},
    ) as r:
        created = await r.json()
        if r.status != 201:  # e.g. more than 2,000 people: 1,999 learners and the teacher
            raise RuntimeError(f"the lecture was not created: {created}")
    tokens = {pid: parse_qs(urlparse(url).query)["token"][0]
              for pid, url in created["join_urls"].items()}
    patience = 120 + learners * 0.5  # the old server needs minutes for 2,000
    clients: list[socketio.AsyncClient] = []

    # The teacher is there first, as in a lecture; its own arrival is not the storm's.
    teacher_tally, view = Tally(counting=False), Teacher(learners)
    teacher = socketio.AsyncClient(reconnection=False)
    clients.append(teacher)
    count_packets(teacher, teacher_tally, lambda name: True)
    teacher.on("person", view.person)
    teacher.on("roster", view.roster)
    welcomed_teacher = asyncio.Event()
    teacher.on("welcome", lambda data: welcomed_teacher.set())
    await teacher.connect(base, auth={"token": tokens["t1"]}, transports=["websocket"],
                          wait_timeout=60)
    await asyncio.wait_for(welcomed_teacher.wait(), 60)
    await asyncio.sleep(1.0)  # its own roster, if any, is not the storm's
    teacher_tally.counting = True

    tallies = [Tally() for _ in range(learners)]
    welcomed = asyncio.Event()
    done = 0

    async def join(i: int) -> None:
        client = socketio.AsyncClient(reconnection=False)
        clients.append(client)

        def on_event(name: str) -> bool:
            nonlocal done
            if name == "welcome":
                done += 1
                if done == learners:
                    welcomed.set()
            return False  # counted, not decoded

        count_packets(client, tallies[i], on_event)
        await client.connect(base, auth={"token": tokens[f"s{i}"]}, transports=["websocket"],
                             wait_timeout=patience)

    def received() -> int:
        return teacher_tally.bytes + sum(t.bytes for t in tallies)

    cpu0 = server.cpu_times()
    started = time.perf_counter()
    await asyncio.gather(*(join(i) for i in range(learners)))
    await asyncio.wait_for(welcomed.wait(), patience)
    wall = time.perf_counter() - started
    await asyncio.wait_for(view.settled.wait(), patience)
    settled = time.perf_counter() - started
    last = -1
    while (now := received()) != last:  # until nothing more arrives
        last = now
        await asyncio.sleep(QUIET_S)
    cpu1 = server.cpu_times()
    for tally in (teacher_tally, *tallies):
        tally.counting = False  # the leaving that follows is not the storm's
    for client in clients:
        await client.disconnect()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return {
        "wall_s": wall, "joins_per_s": learners / wall, "settled_s": settled,
        "cpu_ms_per_join": cpu / learners * 1e3,
        "events_per_learner": sum(t.events for t in tallies) / learners,
        "kib_per_learner": sum(t.bytes for t in tallies) / learners / 1024,
        "teacher_kib": teacher_tally.bytes / 1024,
        "bytes_per_join": received() / learners,
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


def label(tree: Path) -> str:
    """A tree's name in the table: its commit, and whether it has changes."""
    try:
        commit = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(tree), "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return tree.name
    return f"{commit}{'+' if dirty else ''}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # A session holds at most 2,000 people: 1,999 learners and their teacher.
    parser.add_argument("--learners", default="100,500,1999")
    parser.add_argument("--tree", type=Path, action="append",
                        help="checkout to run the server from (repeat: before, after)")
    args = parser.parse_args()
    trees = [t.resolve() for t in (args.tree or [ROOT])]
    for tree in trees:
        print(f"server {label(tree)} from {tree} ({server_module(tree)})")
    print(f"{'server':>9} {'N':>5} {'joins/s':>8} {'settled s':>9} {'healthz/s':>9} "
          f"{'CPU ms/join':>11} {'events/learner':>14} {'KiB/learner':>11} "
          f"{'teacher KiB':>11} {'B/join':>9}")
    for n in [int(x) for x in args.learners.split(",")]:
        for tree in trees:
            with tempfile.TemporaryDirectory() as tmp:
                port = free_port()
                process = start(tree, Path(tmp) / "data", port)
                try:
                    base = f"http://127.0.0.1:{port}"
                    result = asyncio.run(storm(base, n, psutil.Process(process.pid)))
                    floor = asyncio.run(http_baseline(base, n))
                finally:
                    process.terminate()
                    process.wait(timeout=15)
            print(f"{label(tree):>9} {n:>5} {result['joins_per_s']:>8.1f} "
                  f"{result['settled_s']:>9.1f} {floor:>9.1f} "
                  f"{result['cpu_ms_per_join']:>11.2f} {result['events_per_learner']:>14.1f} "
                  f"{result['kib_per_learner']:>11.1f} {result['teacher_kib']:>11.1f} "
                  f"{result['bytes_per_join']:>9,.0f}", flush=True)


if __name__ == "__main__":
    main()
