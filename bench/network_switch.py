"""A phone that changes network, with the whole product (issue 13, item 4).

    python -m bench.network --conditions switch            # through bench/network.py
    python -m bench.network_switch --repeat 5              # this condition alone

Unlike the other conditions of bench/network.py (the media room alone, bare pages),
this one needs the product's own reconnect path, so it runs all of it: an ``opentutor
serve`` process on this host, a classroom session made over REST, the teacher's
Chromium here and the student's (a phone) inside a network namespace
(:class:`bench.network.Link`), both on the real web client. The teacher gives the
student the pen and draws a stroke. Then, ``--repeat`` times, the student's address
moves (``ip addr del`` + ``ip addr add`` of another address on the same link: Wi-Fi to
4G as the kernel sees it, the old address gone for good) and media is waited for.

The gap of one move is the longest pause, around it, between two polls (every
:data:`POLL_S`) that saw more video frames decoded in the student's page (the teacher's
picture, summed over the page's peer connections, old and new); the same for the
teacher's view of the student. After the moves the bench checks the student is the same
participant with the pen and the stroke, then ends the session and reads the server's
record (the student's active time, the presence rule that pays) and the credits engine's
counted minutes (``GET /api/v1/sessions/{id}/credits``) against wall-clock connected time.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from bench.network import CHROMIUM_FLAGS, Link, sh

POLL_S = 0.1  # how often the pages' counters are read: the gap's resolution
SETTLE_S = 20.0  # after a move, how long media may take to come back before it counts as lost
OUTAGE_S = 5.0  # "outage": the student's interface down this long, then up (a lift)
STEADY_S = 4.0  # media must keep moving this long after a move before the next one
API_KEY = "bench-api-key"
SKIP_DEVICE_CHECK = "localStorage.setItem('opentutor.devicecheck', 'off')"

# Every peer connection the page makes, kept so that its counters can be summed across
# a rebuild (the product makes a new one for a new network).
TRACK_PCS = """(() => {
  const Orig = window.RTCPeerConnection;
  window.__pcs = [];
  window.__last = new Map();
  class Tracked extends Orig {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  }
  window.RTCPeerConnection = Tracked;
  // What the page went through, with wall-clock times (ms): the phase, the peer
  // connection's state, to break a gap down.
  window.__trace = [];
  let was = "";
  setInterval(() => {
    const o = window.opentutor;
    if (!o) return;
    const s = o.state();
    const pc = window.__pcs[window.__pcs.length - 1];
    const now = `${s.phase} ${s.media.pc} ${navigator.onLine ? "on" : "off"}`
      + (pc ? ` ${pc.iceGatheringState}/${pc.signalingState}` : "");
    if (now !== was) { window.__trace.push([Date.now(), now]); was = now; }
  }, 20);
})();"""

# Frames decoded and audio packets received, summed over every peer connection (a closed
# one keeps what it had last).
COUNTERS = """async () => {
  let video = 0, audio = 0;
  for (const pc of window.__pcs || []) {
    let got = window.__last.get(pc) || { video: 0, audio: 0 };
    if (pc.connectionState !== "closed") {
      try {
        const now = { video: 0, audio: 0 };
        (await pc.getStats()).forEach((s) => {
          if (s.type !== "inbound-rtp") return;
          if (s.kind === "video") now.video += s.framesDecoded || 0;
          if (s.kind === "audio") now.audio += s.packetsReceived || 0;
        });
        got = now;
        window.__last.set(pc, got);
      } catch (e) { /* closed meanwhile */ }
    }
    video += got.video; audio += got.audio;
  }
  return { video, audio, pcs: (window.__pcs || []).length };
}"""


def classroom() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "programme": "tutoring",
        "form": "classroom",
        "title": "network switch bench",
        "scheduled_start": (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scheduled_end": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "record": False,
        "people": [
            {"id": "t1", "name": "王老师", "role": "instructor"},
            {"id": "s1", "name": "李同学", "role": "learner"},
        ],
    }


@dataclass
class Server:
    base: str  # as this host reaches it
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path}: {exc.code} {exc.read()[:500]!r}") from None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        port: int = s.getsockname()[1]
        return port


def bench_calendar(now: datetime) -> str:
    """A calendar in which ``now`` is 19:xx on a working day of a term: the tutoring
    policy counts a classroom's minutes only in its open hours (18:00-21:00 on working
    days), so the credits engine's figures say something whenever the bench runs. A
    time zone with the offset that makes it so (``Etc/GMT+5`` is UTC-5), the day a
    working day (a make-up one if it is a weekend), a term around it."""
    offset = (19 - now.hour) % 24
    offset = offset - 24 if offset > 14 else offset
    zone = "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    local = (now + timedelta(hours=offset)).date()
    workdays = f'["{local.isoformat()}"]' if local.weekday() >= 5 else "[]"
    return (
        f'timezone = "{zone}"\nholidays = []\nworkdays = {workdays}\n\n[[terms]]\n'
        f'name = "bench"\nstart = "{(local - timedelta(days=3)).isoformat()}"\n'
        f'end = "{(local + timedelta(days=3)).isoformat()}"\n'
    )


def start_server(link: Link, data_dir: Path) -> Server:
    """``opentutor serve`` on every address (the student reaches ``link.host_ip``),
    offering only that address as its ICE candidate (the teacher, here, reaches it too),
    waited for until healthy."""
    port = free_port()
    log = data_dir / "server.log"
    args = [
        sys.executable, "-m", "signaling.server.cli", "serve",
        "--host", "0.0.0.0", "--port", str(port), "--data-dir", str(data_dir / "data"),
        "--api-key", API_KEY, "--token-secret", secrets.token_hex(16), "--no-demo",
        "--ice-host", link.host_ip, "--calendar", str(data_dir / "calendar.toml"),
    ]  # fmt: skip
    (data_dir / "calendar.toml").write_text(bench_calendar(datetime.now(UTC)))
    with log.open("wb") as out:
        process = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[1]
        )
    s = Server(f"http://127.0.0.1:{port}", port, process, log)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(s.base + "/healthz", timeout=1):
                return s
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop_server(s)
                raise RuntimeError("server did not start:\n" + log.read_text()) from None
            time.sleep(0.2)


def stop_server(s: Server) -> None:
    s.process.terminate()
    try:
        s.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        s.process.kill()


@asynccontextmanager
async def server(link: Link, data_dir: Path) -> AsyncIterator[Server]:
    s = await asyncio.to_thread(start_server, link, data_dir)
    try:
        yield s
    finally:
        await asyncio.to_thread(stop_server, s)


def move(link: Link, to: str) -> None:
    """The student's address becomes ``to`` (same link, same gateway): the old one is
    gone, as after a switch from Wi-Fi to a mobile network."""
    inside = ("ip", "netns", "exec", link.ns)
    sh(*inside, "ip", "addr", "flush", "dev", link.ns_if)
    sh(*inside, "ip", "addr", "add", f"{to}/24", "dev", link.ns_if)
    sh(*inside, "ip", "route", "replace", "default", "via", link.host_ip)
    link.ns_ip = to


@dataclass
class Room:
    session_id: str
    teacher: Page
    student: Page
    server: Server
    joined_at: float = 0.0


async def state(page: Page, expr: str) -> Any:
    return await page.evaluate(f"() => {{ const s = window.opentutor.state(); return {expr}; }}")


async def context(browser: Browser, **options: Any) -> BrowserContext:
    ctx = await browser.new_context(**options)
    await ctx.add_init_script(SKIP_DEVICE_CHECK)
    await ctx.add_init_script(TRACK_PCS)
    return ctx


@asynccontextmanager
async def room(link: Link) -> AsyncIterator[Room]:
    """A live classroom: teacher here, student in ``link``'s namespace, video
    both ways, the student holding the pen and a stroke on the board."""
    with tempfile.TemporaryDirectory(prefix="otswitch") as tmp:
        async with server(link, Path(tmp)) as srv, async_playwright() as pw:
            origin = f"http://{link.host_ip}:{srv.port}"
            teacher_browser = await pw.chromium.launch(
                executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS
            )
            # Plain HTTP to a LAN address is not a secure context: getUserMedia needs one.
            student_browser = await pw.chromium.launch(
                executable_path=str(link.chromium),
                args=[*CHROMIUM_FLAGS, f"--unsafely-treat-insecure-origin-as-secure={origin}"],
            )
            try:
                created = srv.api("POST", "/api/v1/sessions", classroom())
                urls = created["join_urls"]
                t_ctx = await context(teacher_browser, viewport={"width": 1280, "height": 800})
                s_ctx = await context(
                    student_browser,
                    viewport={"width": 390, "height": 844},
                    is_mobile=True,
                    has_touch=True,
                )
                teacher, student = await t_ctx.new_page(), await s_ctx.new_page()
                t_url, s_url = urlparse(urls["t1"]), urlparse(urls["s1"])
                await teacher.goto(f"{srv.base}{t_url.path}?{t_url.query}")
                await student.goto(f"{origin}{s_url.path}?{s_url.query}")
                for page in (teacher, student):
                    await page.wait_for_selector(
                        '[data-testid="status"][data-state="live"]', timeout=60_000
                    )
                r = Room(created["session_id"], teacher, student, srv, time.time())
                await until_moving(student, "the student sees the teacher")
                await give_pen_and_draw(r)
                await until_moving(teacher, "the teacher sees the student")
                yield r
            finally:
                await student_browser.close()
                await teacher_browser.close()


async def until_moving(page: Page, what: str, bound: float = 60.0) -> None:
    deadline = time.monotonic() + bound
    first = (await page.evaluate(COUNTERS))["video"]
    while (await page.evaluate(COUNTERS))["video"] < first + 10:
        if time.monotonic() > deadline:
            raise RuntimeError(f"never: {what}")
        await asyncio.sleep(0.5)


async def give_pen_and_draw(r: Room) -> None:
    await r.teacher.click('[data-tab="people"]')
    await r.teacher.click('[data-testid="grant-pen"][data-person="s1"]')
    await r.student.wait_for_function("() => window.opentutor.state().caps.draw", timeout=30_000)
    # On the stage with the camera (asked, not imposed: the student accepts).
    await r.teacher.click('[data-testid="grant-stage"][data-person="s1"]')
    await r.student.wait_for_selector('[data-testid="stage-invite"]:not([hidden])', timeout=30_000)
    await r.student.locator('[data-testid="invite-camera"]').check()
    await r.student.locator('[data-testid="invite-accept"]').tap()
    await r.student.wait_for_function(
        "() => window.opentutor.state().media.local.video", timeout=30_000
    )
    canvas = r.teacher.locator('[data-testid="board-canvas"]')
    box = await canvas.bounding_box()
    if box is None:
        raise RuntimeError("the teacher's board is not shown")
    await r.teacher.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.3)
    await r.teacher.mouse.down()
    for i in range(1, 11):
        await r.teacher.mouse.move(
            box["x"] + box["width"] * (0.2 + i * 0.05), box["y"] + box["height"] * (0.3 + i * 0.02)
        )
    await r.teacher.mouse.up()
    await r.student.wait_for_function(
        "() => window.opentutor.state().board.strokes.length >= 1", timeout=30_000
    )


@dataclass
class Gap:
    student_s: float  # the student's view of the teacher
    teacher_s: float  # the teacher's view of the student
    pcs: int  # peer connections the student's page has made so far


@dataclass
class Trace:
    """When each page's decoded-frame count last grew."""

    times: dict[str, list[float]] = field(default_factory=lambda: {"student": [], "teacher": []})
    last: dict[str, int] = field(default_factory=lambda: {"student": 0, "teacher": 0})

    def gap(self, who: str, since: float) -> float:
        t = [x for x in self.times[who] if x >= since - 1.0]
        return max((b - a for a, b in itertools.pairwise(t)), default=float("inf"))


async def switch_once(r: Room, link: Link, to: str, how: str, settle_s: float = SETTLE_S) -> Gap:
    """Move the student's address (``how`` "move") or cut their UDP flows ("cut"), and
    wait for video both ways, then for it to stay."""
    trace = Trace()
    pages = {"student": r.student, "teacher": r.teacher}

    async def poll() -> dict[str, Any]:
        out = {}
        for who, page in pages.items():
            c = await page.evaluate(COUNTERS)
            if c["video"] > trace.last[who]:
                trace.last[who] = c["video"]
                trace.times[who].append(time.monotonic())
            out[who] = c
        return out

    for _ in range(10):  # a second of the steady state before
        await poll()
        await asyncio.sleep(POLL_S)
    moved_at = time.monotonic()
    if how in ("cut", "cutall"):
        link.impair(cut=2 if how == "cutall" else 1)
    elif how == "outage":
        link.up(False)
        while time.monotonic() - moved_at < OUTAGE_S:  # polled: the pause is measured
            await poll()
            await asyncio.sleep(POLL_S)
        link.up(True)
    else:
        move(link, to)
    while True:
        await poll()
        now = time.monotonic()
        back = all(trace.times[w] and trace.times[w][-1] > moved_at + 0.5 for w in pages)
        if back and all(trace.gap(w, moved_at) < now - trace.times[w][-1] + STEADY_S
                        for w in pages) and now - moved_at > STEADY_S:
            recent = [x for x in trace.times["student"] if x > now - STEADY_S]
            if len(recent) > STEADY_S / POLL_S / 3:
                break
        if now - moved_at > settle_s + STEADY_S:
            break
        await asyncio.sleep(POLL_S)
    counters = await r.student.evaluate(COUNTERS)
    trace_ms = await r.student.evaluate("() => window.__trace.splice(0)")
    wall = time.time() - (time.monotonic() - moved_at)
    steps = [f"{(at / 1000 - wall):+.2f} {what}" for at, what in trace_ms if at / 1000 > wall - 1]
    print("    student page: " + "; ".join(steps), flush=True)
    return Gap(trace.gap("student", moved_at), trace.gap("teacher", moved_at), counters["pcs"])


@dataclass
class SwitchResult:
    gaps: list[Gap]
    same_participant: bool
    pen: bool
    strokes: int
    roster_blips: int  # roster deltas the teacher saw with the student gone
    active_s: float  # the server's record: the student's active time
    connected_s: float  # wall clock from the student's welcome to the end
    effective_minutes: int | None  # the credits engine's, for the session
    counted_minutes: int | None  # the credits engine's, for the student
    notes: list[str] = field(default_factory=list)

    @staticmethod
    def pct(values: list[float], q: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def seconds(spans: list[list[str]]) -> float:
    def ts(text: str) -> float:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    return sum(ts(b) - ts(a) for a, b in spans)


async def run_switch(
    repeat: int, how: str = "move", index: int = 6, settle_s: float = SETTLE_S,
    hold_s: float = 0.0,
) -> SwitchResult:
    """``how``: "move" (the address changes: the browser closes its sockets too),
    "cut" (only the media path dies: bench/netbridge.py forgets the UDP flows),
    "cutall" (the TCP connections too: the socket dies silently) or
    "outage" (the interface down for OUTAGE_S: the browser closes its sockets too)."""
    link = Link.create(index, bridged=how in ("cut", "cutall"))
    addresses = [link.ns_ip, link.ns_ip.rsplit(".", 1)[0] + ".3"]
    try:
        async with room(link) as r:
            await r.teacher.evaluate(
                """() => { window.__gone = 0; const seen = () => {
                     const s = window.opentutor.state();
                     const p = s.people.find((x) => x.id === "s1");
                     if (p && p.present === false) window.__gone += 1; };
                   setInterval(seen, 50); }"""
            )
            me = await state(r.student, "s.me.id")
            gaps = []
            for i in range(repeat):
                await asyncio.sleep(hold_s)  # a longer session: the engine counts minutes
                gaps.append(await switch_once(r, link, addresses[(i + 1) % 2], how, settle_s))
                print(
                    f"  move {i + 1}: student sees teacher after {gaps[-1].student_s:.1f} s, "
                    f"teacher sees student after {gaps[-1].teacher_s:.1f} s "
                    f"(peer connections so far {gaps[-1].pcs})",
                    flush=True,
                )
            result = SwitchResult(
                gaps=gaps,
                same_participant=await state(r.student, "s.me.id") == me,
                pen=bool(await state(r.student, "s.caps.draw")),
                strokes=int(await state(r.student, "s.board.strokes.length")),
                roster_blips=int(await r.teacher.evaluate("() => window.__gone")),
                active_s=0.0,
                connected_s=time.time() - r.joined_at,
                effective_minutes=None,
                counted_minutes=None,
            )
            r.server.api("POST", f"/api/v1/sessions/{r.session_id}/end")
            record = r.server.api("GET", f"/api/v1/sessions/{r.session_id}/record")
            result.active_s = seconds(record["active"].get("s1", []))
            credits = r.server.api("GET", f"/api/v1/sessions/{r.session_id}/credits")
            result.effective_minutes, result.counted_minutes = counted_minutes(credits, "s1")
            return result
    finally:
        link.close()


def counted_minutes(credits: dict[str, Any], person: str) -> tuple[int | None, int | None]:
    """The credits engine's figures: the session's effective minutes (both sides
    present, the evidence rules met) and the minutes it counts for ``person`` (after the
    form's minimum and maximum)."""
    people = credits.get("people") or {}
    mine = people.get(person) if isinstance(people, dict) else None
    minutes = mine.get("minutes") if isinstance(mine, dict) else None
    effective = credits.get("effective_minutes")
    return (
        int(effective) if isinstance(effective, int | float) else None,
        int(minutes) if isinstance(minutes, int | float) else None,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.network_switch")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--how", choices=("move", "cut", "cutall", "outage"), default="move",
                   help="move: the address changes; cut: only the UDP (media) flows die; "
                   "cutall: every flow, TCP too; outage: the interface down for 5 s")
    p.add_argument("--settle", type=float, default=SETTLE_S, help="longest wait for media, s")
    p.add_argument("--index", type=int, default=6, help="the link's subnet: 10.(214+N).0.0/24")
    p.add_argument("--hold", type=float, default=0.0, help="seconds before each change")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("bench.network_switch needs root (network namespaces)", file=sys.stderr)
        return 2
    r = asyncio.run(
        run_switch(max(1, min(args.repeat, 20)), args.how, args.index, args.settle, args.hold)
    )
    s = [g.student_s for g in r.gaps]
    t = [g.teacher_s for g in r.gaps]
    print(
        f"gap p50/p95: student {r.pct(s, 0.5):.1f}/{r.pct(s, 0.95):.1f} s, teacher "
        f"{r.pct(t, 0.5):.1f}/{r.pct(t, 0.95):.1f} s; same participant {r.same_participant}, "
        f"pen {r.pen}, strokes {r.strokes}, roster blips {r.roster_blips}; active "
        f"{r.active_s:.0f} s of {r.connected_s:.0f} s connected; credits engine: effective "
        f"{r.effective_minutes} min, counted for the student {r.counted_minutes} min"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
