"""A student on an impaired link, with real Chromiums (issue 13, item 6).

    python -m bench.network                       # every condition, adaptation on and off
    python -m bench.network --conditions cap150 --seconds 40 --modes on

Needs root and ``ip``/``tc`` (run it as ``./scripts/test`` runs the e2e tests, or on a
VM). Per condition and mode, in this process: a :class:`rtc.room.MediaRoom` (the
server's own forward path), a teacher Chromium on this host publishing its fake camera
and microphone, and a student Chromium started inside a network namespace of its own
(``ip netns exec``, :class:`Link`) whose only way out is a veth pair to this host. The
impairment is on that pair, both directions:

* ``cap300`` / ``cap150``: ``tbf`` at 300 / 150 kbit/s (a phone on a weak 3G/4G cell);
* ``outage5``: the student's interface down for 5 s (a lift, a tunnel).

"Video again" is the first level other than audio only after the impairment ends; on
Chromium's single-layer VP8 (no frame is marked non-reference) *reduced* forwards the
same frames as *full*, so video moves from there.

* ``loss5`` / ``loss10`` / ``loss20``: random loss each way, ``rtt300``: 150 ms each
  way. This kernel has no ``netem``, so those links are bridged through a third
  namespace where bench/netbridge.py copies frames between two veth pairs, dropping
  and delaying them.

A run: ``--warmup`` s unimpaired, ``--seconds`` s impaired, ``--recover`` s unimpaired
again. Modes: ``on`` (the product: rtc/quality.py) and ``off`` (``rtc.room.ADAPT``
false: every packet to everyone, the baseline). The student's ``getStats()`` every
second gives: audio packets received and the share of samples concealed, the share of
seconds in which video frames were decoded ("moving"), the browser's freeze count and
total freeze time; the server's ``quality`` events give the time to step down (from
the start of the impairment) and back up (from its end); the peer connection's state
at the end says whether the call survived. Credited vs connected: the student's
active time by the presence rule that pays (recorder/presence/tracker.py: transport up
and authenticated traffic within 5 s; signalling is not on the impaired link here, so
it counts as up) fed with what this media room observed, against the wall-clock time
from the student's first transport up to the end.

* ``switch`` / ``cut``: a network change, with the whole product instead
  (bench/network_switch.py: a server, a classroom, the real web client): the student's
  address moves (the browser's socket closes too), or only their UDP flows die (the
  socket lives), or their interface goes down for 5 s (``outage``, the whole product
  this time), ``--repeat`` times; the gap p50/p95 both ways, and credited (the
  server's record and the credits engine) vs connected.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, async_playwright

import rtc.room
from recorder.presence.tracker import Kind, PresenceTracker
from rtc.clock import SystemClock
from rtc.room import MediaRoom

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
TBF_BURST = "4kb"  # a few full-size packets: a cell's scheduler, not a deep bucket
TBF_LATENCY = "300ms"  # how long a packet may wait in the queue before it is dropped


def sh(*args: str, check: bool = True) -> None:
    subprocess.run(args, check=check, capture_output=True)


@dataclass
class Link:
    """A network namespace whose only link is a veth pair to this host: the student's
    phone. ``host_ip`` is this side's address (the server's candidate it reaches)."""

    ns: str
    host_if: str
    ns_if: str
    host_ip: str
    ns_ip: str
    chromium: Path = field(default_factory=Path)
    bridge: subprocess.Popen[bytes] | None = None  # bench/netbridge.py, when bridged

    @classmethod
    def create(cls, index: int = 0, *, bridged: bool = False) -> Link:
        """``bridged``: the veth pair goes through a third namespace where
        bench/netbridge.py copies frames across, losing and delaying them on demand
        (:meth:`impair`); else the host's end is the student's peer directly."""
        tag = f"{os.getpid() % 10000}{index}"
        subnet = 214 + index
        link = cls(
            ns=f"otq{tag}",
            host_if=f"otqh{tag}",
            ns_if=f"otqs{tag}",
            host_ip=f"10.{subnet}.0.1",
            ns_ip=f"10.{subnet}.0.2",
        )
        sh("ip", "netns", "add", link.ns)
        try:
            if bridged:
                link._bridge()
            else:
                sh("ip", "link", "add", link.host_if, "type", "veth", "peer", "name", link.ns_if)
                sh("ip", "link", "set", link.ns_if, "netns", link.ns)
            sh("ip", "addr", "add", f"{link.host_ip}/24", "dev", link.host_if)
            sh("ip", "link", "set", link.host_if, "up")
            inside = ("ip", "netns", "exec", link.ns)
            sh(*inside, "ip", "addr", "add", f"{link.ns_ip}/24", "dev", link.ns_if)
            sh(*inside, "ip", "link", "set", link.ns_if, "up")
            sh(*inside, "ip", "link", "set", "lo", "up")
            sh(*inside, "ip", "route", "add", "default", "via", link.host_ip)
            # Playwright talks to the browser over a pipe, so it can live in the namespace:
            # ``ip netns exec`` execs Chromium with the same file descriptors.
            chromium = shutil.which("chromium") or "/usr/bin/chromium"
            script = Path(tempfile.gettempdir()) / f"{link.ns}-chromium.sh"
            script.write_text(f'#!/bin/sh\nexec ip netns exec {link.ns} {chromium} "$@"\n')
            script.chmod(0o755)
            link.chromium = script
        except BaseException:
            link.close()
            raise
        return link

    def _bridge(self) -> None:
        """host_if ⇄ (otqb…: bh ⇄ netbridge ⇄ bs) ⇄ ns_if, one Ethernet segment."""
        nsb = self.ns + "b"
        bh, bs = self.ns + "bh", self.ns + "bs"
        sh("ip", "netns", "add", nsb)
        sh("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", bh)
        sh("ip", "link", "add", bs, "type", "veth", "peer", "name", self.ns_if)
        sh("ip", "link", "set", bh, "netns", nsb)
        sh("ip", "link", "set", bs, "netns", nsb)
        sh("ip", "link", "set", self.ns_if, "netns", self.ns)
        for dev in (bh, bs):
            sh("ip", "netns", "exec", nsb, "ip", "link", "set", dev, "up", "promisc", "on")
        # One wire frame per packet: a veth hands a packet socket TCP segments coalesced
        # up to 64 KiB (segmentation offload), which the bridge could not send on.
        sh("ip", "link", "set", self.host_if, "gso_max_segs", "1", check=False)
        sh("ip", "netns", "exec", self.ns, "ip", "link", "set", self.ns_if, "gso_max_segs", "1",
           check=False)
        self.bridge = subprocess.Popen(
            ["ip", "netns", "exec", nsb, sys.executable, "-m", "bench.netbridge", bh, bs],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            cwd=Path(__file__).resolve().parents[1],
        )

    def impair(self, loss: float = 0.0, delay_ms: float = 0.0, cut: int = 0) -> None:
        """Random loss (0…1, each direction) and one-way delay on a bridged link;
        ``cut`` 1: the UDP flows seen so far stop passing (new ones and TCP pass), 2: the
        TCP connections seen so far too (new ones pass)."""
        if self.bridge is None or self.bridge.stdin is None:
            raise RuntimeError("loss and delay need Link.create(bridged=True)")
        self.bridge.stdin.write(f"{loss} {delay_ms} {cut}\n".encode())
        self.bridge.stdin.flush()

    def _tc(self, inside: bool, *args: str) -> None:
        prefix = ("ip", "netns", "exec", self.ns) if inside else ()
        dev = self.ns_if if inside else self.host_if
        sh(*prefix, "tc", "qdisc", "del", "dev", dev, "root", check=False)
        if args:
            sh(*prefix, "tc", "qdisc", "add", "dev", dev, "root", *args)

    def cap(self, kbit: int | None) -> None:
        """``tbf`` at ``kbit`` both ways (``None``: no cap)."""
        tbf = ("tbf", "rate", f"{kbit}kbit", "burst", TBF_BURST, "latency", TBF_LATENCY)
        for inside in (False, True):
            self._tc(inside, *(tbf if kbit else ()))

    def up(self, on: bool) -> None:
        """The student's interface up or down (an outage; routes come back with it)."""
        inside = ("ip", "netns", "exec", self.ns)
        sh(*inside, "ip", "link", "set", self.ns_if, "up" if on else "down")
        if on:
            sh(*inside, "ip", "route", "replace", "default", "via", self.host_ip)

    def close(self) -> None:
        if self.bridge is not None:
            self.bridge.terminate()
            self.bridge.wait(timeout=10)
            sh("ip", "netns", "del", self.ns + "b", check=False)
        sh("ip", "link", "del", self.host_if, check=False)
        sh("ip", "netns", "del", self.ns, check=False)
        if self.chromium.name:
            self.chromium.unlink(missing_ok=True)


# ----------------------------------------------------------------------- the pages

NEGOTIATE = """
window.negotiate = async (pc) => {
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    if (pc.iceGatheringState === "complete") done();
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") done();
    });
  });
  const sdp = await window.offerToServer(pc.localDescription.sdp);
  await pc.setRemoteDescription({ type: "answer", sdp });
};
"""

PUBLISH = """async () => {
  const stream = await navigator.mediaDevices.getUserMedia(
    { audio: true, video: { width: 640, height: 480, frameRate: 30 } });
  const pc = new RTCPeerConnection();
  for (const track of stream.getTracks()) pc.addTrack(track, stream);
  await window.negotiate(pc);
  window.pc = pc;
}"""

SUBSCRIBE = """async () => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("audio", { direction: "recvonly" });
  pc.addTransceiver("video", { direction: "recvonly" });
  const stream = new MediaStream();
  pc.addEventListener("track", (e) => {
    stream.addTrack(e.track);
    const el = document.createElement(e.track.kind);
    el.srcObject = new MediaStream([e.track]);
    el.muted = false;
    document.body.append(el);
    el.play().catch(() => {});
  });
  await window.negotiate(pc);
  window.pc = pc;
}"""

STATS = """async () => {
  const out = { state: window.pc.connectionState, audio: null, video: null };
  (await window.pc.getStats()).forEach((s) => {
    if (s.type !== "inbound-rtp") return;
    if (s.kind === "audio") out.audio = {
      packets: s.packetsReceived || 0, lost: s.packetsLost || 0,
      samples: s.totalSamplesReceived || 0, concealed: s.concealedSamples || 0 };
    if (s.kind === "video") out.video = {
      decoded: s.framesDecoded || 0, freezes: s.freezeCount || 0,
      frozen: s.totalFreezesDuration || 0, keyframes: s.keyFramesDecoded || 0 };
  });
  return out;
}"""


async def page_for(browser: Browser, room: MediaRoom, person: str) -> Page:
    page = await browser.new_page()
    # A secure context (getUserMedia), served by Playwright itself: no HTTP server.
    await page.route("http://localhost/", lambda route: route.fulfill(body="<!doctype html>"))
    await page.goto("http://localhost/")

    async def offer(sdp: str) -> str:
        return (await room.offer(person, sdp)).sdp

    await page.expose_function("offerToServer", offer)
    await page.add_script_tag(content=NEGOTIATE)
    return page


@dataclass
class Call:
    """A teacher publishing to a student through ``room``; the student on ``link``."""

    room: MediaRoom
    events: Any  # tests.rtc.clients.Events or Recorder: has ``log``
    teacher: Page
    student: Page
    link: Link

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.student.evaluate(STATS)
        return result

    def levels(self) -> list[tuple[float, str, str]]:
        """(monotonic time, level, reason) of each ``quality`` event about the student."""
        return [(at, a[1], a[2]) for at, name, a in self.events.log if name == "quality"]


class Recorder:
    """A MediaEvents that keeps ``(monotonic time, name, args)`` of what matters here."""

    def __init__(self) -> None:
        self.log: list[tuple[float, str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            if name != "sample":
                self.log.append((time.monotonic(), name, args))

        return record


@asynccontextmanager
async def call(events: Any | None = None, link: Link | None = None) -> AsyncIterator[Call]:
    """A connected call (audio and video flowing to the student) on a fresh link."""
    owned = link is None
    link = link or Link.create()
    events = events if events is not None else Recorder()
    room = MediaRoom(events, clock=SystemClock())
    try:
        async with async_playwright() as pw:
            teacher_browser = await pw.chromium.launch(
                executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS
            )
            student_browser = await pw.chromium.launch(
                executable_path=str(link.chromium), args=CHROMIUM_FLAGS
            )
            try:
                room.set_publish("T", frozenset({"audio", "video"}))
                teacher = await page_for(teacher_browser, room, "T")
                await teacher.evaluate(PUBLISH)
                student = await page_for(student_browser, room, "S")
                await student.evaluate(SUBSCRIBE)
                c = Call(room, events, teacher, student, link)
                deadline = time.monotonic() + 20
                while True:
                    s = await c.stats()
                    if s["video"] and s["video"]["decoded"] > 10 and s["audio"]:
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the student never got media: {s}")
                    await asyncio.sleep(0.5)
                yield c
            finally:
                await student_browser.close()
                await teacher_browser.close()
    finally:
        await room.close()
        if owned:
            link.close()


# ----------------------------------------------------------------------- the bench


@dataclass(frozen=True)
class Condition:
    name: str
    cap_kbit: int | None = None
    outage_s: float | None = None
    loss: float = 0.0  # each direction (bench/netbridge.py)
    delay_ms: float = 0.0  # one way

    @property
    def bridged(self) -> bool:
        return bool(self.loss or self.delay_ms)


CONDITIONS = {
    "cap300": Condition("300 kbit/s cap", cap_kbit=300),
    "cap150": Condition("150 kbit/s cap", cap_kbit=150),
    "outage5": Condition("5 s outage", outage_s=5.0),
    "loss5": Condition("5 % loss", loss=0.05),
    "loss10": Condition("10 % loss", loss=0.10),
    "loss20": Condition("20 % loss", loss=0.20),
    "rtt300": Condition("300 ms RTT", delay_ms=150.0),
}
SWITCHES = {  # bench/network_switch.py: the whole product
    "switch": ("network switch (address moves)", "move"),
    "cut": ("media path cut (UDP flows die, socket lives)", "cut"),
    "cutall": ("every flow cut (the socket dies silently too)", "cutall"),
    "outage": ("5 s outage (interface down: the socket closes too)", "outage"),
}


@dataclass
class Row:
    condition: str
    mode: str
    audio_packets: int = 0
    concealed: float = 0.0
    moving_impaired: float = 0.0
    moving_after: float = 0.0
    freezes: int = 0
    frozen_s: float = 0.0
    down_s: float | None = None
    audio_only_s: float | None = None  # from the start of the impairment
    video_s: float | None = None  # after the impairment ended, video sent again
    full_s: float | None = None
    end_state: str = ""
    active_s: float = 0.0  # the presence rule's active time of the student
    connected_s: float = 0.0  # wall clock, the call's start to its end


async def run_condition(cond: Condition, adapt: bool, args: argparse.Namespace) -> Row:
    rtc.room.ADAPT = adapt
    row = Row(cond.name, "on" if adapt else "off")
    link = Link.create(bridged=cond.bridged)
    try:
        return await _run(cond, link, row, args)
    finally:
        link.close()


def active_seconds(log: list[tuple[float, str, tuple[Any, ...]]], person: str,
                   start: float, end: float) -> float:
    """``person``'s active time in [start, end) by the presence rule, from a
    :class:`Recorder`'s log (signalling taken as up throughout: not on this link)."""
    tracker = PresenceTracker()
    tracker.observe(start, person, Kind.SIGNAL_UP)
    since: float | None = None
    total = 0.0
    for at, name, args in log:
        if not args or args[0] != person or not start <= at < end:
            continue
        if name == "transport":
            kind = Kind.TRANSPORT_UP if args[1] else Kind.TRANSPORT_DOWN
        elif name == "traffic":
            kind = Kind.TRAFFIC
        else:
            continue
        for t in tracker.observe(at, person, kind):
            if t.active:
                since = t.at
            elif since is not None:
                total += t.at - since
                since = None
    for t in tracker.end(end):
        if not t.active and since is not None:
            total += t.at - since
            since = None
    return total


async def _run(cond: Condition, link: Link, row: Row, args: argparse.Namespace) -> Row:
    started = time.monotonic()
    async with call(link=link) as c:
        await asyncio.sleep(args.warmup)
        first = await c.stats()
        impaired_from = time.monotonic()
        if cond.cap_kbit:
            c.link.cap(cond.cap_kbit)
        if cond.bridged:
            c.link.impair(cond.loss, cond.delay_ms)
        moving: list[bool] = []
        last = first
        impaired_for = cond.outage_s or args.seconds
        if cond.outage_s:
            c.link.up(False)
        while time.monotonic() - impaired_from < impaired_for:
            await asyncio.sleep(1)
            now = await c.stats()
            moving.append(bool(now["video"]) and now["video"]["decoded"] > last["video"]["decoded"])
            last = now
        lifted_at = time.monotonic()
        c.link.cap(None)
        if cond.bridged:
            c.link.impair()
        if cond.outage_s:
            c.link.up(True)
        row.moving_impaired = sum(moving) / max(1, len(moving))
        moving = []
        while time.monotonic() - lifted_at < args.recover:
            await asyncio.sleep(1)
            now = await c.stats()
            moving.append(bool(now["video"]) and now["video"]["decoded"] > last["video"]["decoded"])
            last = now
        row.moving_after = sum(moving) / max(1, len(moving))
        a0, a1 = first["audio"], last["audio"]
        row.audio_packets = a1["packets"] - a0["packets"]
        samples = max(1, a1["samples"] - a0["samples"])
        row.concealed = (a1["concealed"] - a0["concealed"]) / samples
        row.freezes = last["video"]["freezes"] - first["video"]["freezes"]
        row.frozen_s = last["video"]["frozen"] - first["video"]["frozen"]
        row.end_state = last["state"]
        ended = time.monotonic()
        up = [at for at, name, a in c.events.log if name == "transport" and a == ("S", True)]
        joined = up[0] if up else started
        row.connected_s = ended - joined
        row.active_s = active_seconds(c.events.log, "S", joined, ended)
        for at, level, _ in c.levels():
            if row.down_s is None and level != "full" and at >= impaired_from:
                row.down_s = at - impaired_from
            if row.audio_only_s is None and level == "audio_only" and at >= impaired_from:
                row.audio_only_s = at - impaired_from
            if row.video_s is None and level != "audio_only" and at >= lifted_at:
                row.video_s = at - lifted_at
            if row.full_s is None and level == "full" and at >= lifted_at:
                row.full_s = at - lifted_at
    return row


def table(rows: list[Row]) -> str:
    def opt(v: float | None) -> str:
        return "—" if v is None else f"{v:.1f}"

    lines = [
        "| condition | adaptation | audio packets | concealed | video moving (impaired / after) "
        "| freezes (count, s) | stepped down after s | audio only after s | video again after s "
        "| full after s "
        "| PC at end | credited / connected s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.condition} | {r.mode} | {r.audio_packets} | {r.concealed:.1%} "
            f"| {r.moving_impaired:.0%} / {r.moving_after:.0%} | {r.freezes}, {r.frozen_s:.1f} "
            f"| {opt(r.down_s)} | {opt(r.audio_only_s)} | {opt(r.video_s)} | {opt(r.full_s)} "
            f"| {r.end_state} "
            f"| {r.active_s:.0f} / {r.connected_s:.0f} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.network", description=__doc__.split("\n")[0])
    every = [*CONDITIONS, *SWITCHES]
    p.add_argument("--conditions", default=",".join(every), help="of " + ",".join(every))
    p.add_argument("--modes", default="on,off", help="on (rtc/quality.py), off (baseline)")
    p.add_argument("--seconds", type=float, default=35.0, help="impaired, per condition")
    p.add_argument("--warmup", type=float, default=5.0)
    p.add_argument("--recover", type=float, default=30.0, help="unimpaired after")
    p.add_argument("--repeat", type=int, default=5, help="network changes per switch/cut run")
    p.add_argument("--hold", type=float, default=0.0, help="switch/cut: seconds before each")
    return p.parse_args(argv)


async def run_switches(keys: list[str], repeat: int, hold_s: float = 0.0) -> str:
    """The network-change conditions (bench/network_switch.py), as their own table."""
    from bench.network_switch import SwitchResult, run_switch  # it builds on this module

    lines = [
        "| condition | changes | gap p50 / p95 s (student sees teacher) | gap p50 / p95 s "
        "(teacher sees student) | same participant, pen, board | listed as gone "
        "| credited / connected s | engine: effective / student min |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for key in keys:
        name, how = SWITCHES[key]
        print(f"… {key}", flush=True)
        r = await run_switch(max(1, min(repeat, 20)), how, hold_s=hold_s)
        s = [g.student_s for g in r.gaps]
        t = [g.teacher_s for g in r.gaps]
        pct = SwitchResult.pct
        lines.append(
            f"| {name} | {len(r.gaps)} | {pct(s, 0.5):.1f} / {pct(s, 0.95):.1f} "
            f"| {pct(t, 0.5):.1f} / {pct(t, 0.95):.1f} "
            f"| {'yes' if r.same_participant else 'NO'}, {'yes' if r.pen else 'NO'}, "
            f"{r.strokes} stroke | {r.roster_blips} | {r.active_s:.0f} / {r.connected_s:.0f} "
            f"| {r.effective_minutes} / {r.counted_minutes} |"
        )
        print(lines[-1], flush=True)
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> int:
    if os.geteuid() != 0 or shutil.which("tc") is None:
        print("bench.network needs root and tc (iproute2)", file=sys.stderr)
        return 2
    rows = []
    keys = args.conditions.split(",")
    switches = [k for k in keys if k in SWITCHES]
    for key in (k for k in keys if k not in SWITCHES):
        for mode in args.modes.split(","):
            print(f"… {key} adaptation {mode}", flush=True)
            rows.append(await run_condition(CONDITIONS[key], mode == "on", args))
            print(table(rows[-1:]).split("\n", 2)[2], flush=True)
    switched = await run_switches(switches, args.repeat, args.hold) if switches else ""
    if rows:
        print(table(rows))
    if switched:
        print(switched)
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
