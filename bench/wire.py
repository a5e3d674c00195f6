"""The forward path's per-subscriber send, C against Python, in one run: what one
packet costs per subscriber from the numbering to the kernel (issue 15, item 1).

    python -m bench.wire                        # 50 subscribers, 4,000 packets, 3 rounds
    python -m bench.wire --subscribers 200 --profile aes128cm

N subscribers, each with its own UDP socket as each has its own ICE socket in the
server, and its own SRTP session; a sink process reads every socket (so that buffers
never fill and the kernel's loopback receive path runs as it does for a real
subscriber; it runs in the sender's system time either way). The stream is the fan-out
bench's shape: VP8 packets of 1,100 bytes, a keyframe every 90, ~6 packets per frame.

Rows, each the best of ``--rounds``, CPU time of this process (user + system, so the
``sendto`` syscall and the loopback delivery are in it) per packet and subscriber:

* ``send, python``: :class:`rtc.wire.PyLink` (struct header, pylibsrtp through cffi,
  ``socket.sendto``), what the server did before issue 15;
* ``send, C``: :class:`rtc._wire.Link` (rtc/_wire.c: one call, pylibsrtp's libsrtp
  called directly, ``sendto(2)``);
* ``path, python`` / ``path, C``: the whole per-packet path of :meth:`rtc.fanout.
  Source._on_rtp` (VP8 descriptor, packet cache, per subscriber the munger's numbering and
  keyframe gate, then the send) on each; ``path, C`` sends to every subscriber in one C
  call (``rtc._wire.forward_all``), ``path, C per slot`` calls the C send once per
  subscriber from Python's loop and numbering (the path before it);
* ``floor``: a bare ``socket.sendto`` of an already protected packet, the least any
  path must pay (the syscall and the loopback delivery).

Ratios printed are measured in the same run (machines differ ~3× per packet). Before
timing, the two sends are checked to write the same bytes (tests/rtc/test_wire.py does
so on recorded packet sequences).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import select
import socket
from collections.abc import Callable
from multiprocessing.connection import Connection

from aiortc.rtp import RtpPacket
from pylibsrtp import Policy

from bench.forward_path import packets
from rtc import fanout, rtp_munger, wire
from rtc.clock import SystemClock
from rtc.fanout import ForwardTrack, Source
from rtc.forward import RtpOut
from rtc.payloads import MEDIA

PROFILES = {
    "aes256gcm": (Policy.SRTP_PROFILE_AEAD_AES_256_GCM, 44),
    "aes128gcm": (Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 28),
    "aes128cm": (Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 30),
}
EXTENSION = b"\xbe\xde\x00\x01\x10\x31\x00\x00"


def sink(socks: list[socket.socket], done: Connection) -> None:
    """Read every socket until told to stop; report the datagrams read."""
    poller = select.epoll()
    for s in socks:
        s.setblocking(False)
        poller.register(s.fileno(), select.EPOLLIN)
    by_fd = {s.fileno(): s for s in socks}
    count = 0
    while not done.poll():
        for fd, _ in poller.poll(0.05):
            s = by_fd[fd]
            while True:
                try:
                    s.recv(2048)
                except BlockingIOError:
                    break
                count += 1
    done.send(count)


class Subscribers:
    def __init__(self, n: int, profile: int, key_size: int) -> None:
        self.profile = profile
        self.keys = [os.urandom(key_size) for _ in range(n)]
        self.out = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
        self.sinks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
        for o, s in zip(self.out, self.sinks, strict=True):
            o.bind(("127.0.0.1", 0))
            s.bind(("127.0.0.1", 0))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            o.setblocking(False)

    def links(self, c: bool) -> list[wire.Wire]:
        out: list[wire.Wire] = []
        for key, o, s in zip(self.keys, self.out, self.sinks, strict=True):
            if c:
                link = wire.native_link(wire.outbound_session(self.profile, key), o.fileno(),
                                        s.getsockname())
                assert link is not None, "rtc._wire is not built or is turned off"
                out.append(link)
            else:
                out.append(wire.PyLink(wire.outbound_session(self.profile, key).protect, o.sendto,
                                       s.getsockname()))
        return out


def cpu() -> float:
    """This process's user + system CPU seconds (getrusage: microseconds, where
    os.times() counts 10 ms ticks)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def send_run(links: list[wire.Wire], stream: list[RtpPacket]) -> tuple[float, int]:
    dropped = 0
    started = cpu()
    for p in stream:
        payload, seq, ts, b1 = p.payload, p.sequence_number, p.timestamp, 96 | (p.marker << 7)
        for n, link in enumerate(links):
            try:
                link.send(0x90, b1, seq, ts, 1000 + n, EXTENSION, payload)
            except BlockingIOError:
                dropped += 1
    return cpu() - started, dropped


def path_run(
    links: list[wire.Wire], stream: list[RtpPacket], batch: bool
) -> tuple[float, int]:
    """``batch``: every slot in one C call (rtc._wire.forward_all); otherwise Python's
    loop calls each slot's forward (and its send)."""
    from rtc import _wire  # built: main() checked

    # What Source._on_rtp calls (rtc/fanout.py imports it from rtc/wire.py at import).
    fanout.__dict__["forward_all"] = _wire.forward_all if batch else rtp_munger.forward_all
    source = Source("t1", "video", SystemClock(), lambda s, up: None)
    source.forwarding = True
    source._payload_types = {96: MEDIA}
    tracks = []
    for n, link in enumerate(links):
        track = ForwardTrack("video")
        track.out = RtpOut(ssrc=1000 + n, pt=96, rtx_ssrc=2000 + n, rtx_pt=97,
                           extension=EXTENSION, link=link)
        track.attach(source)
        tracks.append(track)
    epoch = source._epoch
    started = cpu()
    for packet in stream:
        source._on_rtp(epoch, packet)
    spent = cpu() - started
    return spent, sum(t.frames_dropped for t in tracks)


def floor_run(subs: Subscribers, stream: list[RtpPacket]) -> tuple[float, int]:
    ready = [(o.sendto, s.getsockname()) for o, s in zip(subs.out, subs.sinks, strict=True)]
    data = bytes(12) + EXTENSION + stream[0].payload + bytes(16)
    dropped = 0
    started = cpu()
    for _ in stream:
        for sendto, addr in ready:
            try:
                sendto(data, addr)
            except BlockingIOError:
                dropped += 1
    return cpu() - started, dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--packets", type=int, default=4_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", choices=list(PROFILES), default="aes256gcm",
                        help="SRTP profile (aiortc prefers AES-256-GCM; Chromium accepts it)")
    args = parser.parse_args()
    if not wire.native_built():
        raise SystemExit("rtc._wire is not built: install gcc and python3-dev, then "
                         "pip install -e . again")
    profile, key_size = PROFILES[args.profile]
    subs = Subscribers(args.subscribers, profile, key_size)
    # The same bytes from both, before anything is timed.
    py, c = subs.links(False)[0], subs.links(True)[0]
    for p in packets(50):
        fields = (0x90, 96, p.sequence_number, p.timestamp, 1000, EXTENSION, p.payload)
        assert py.protect(*fields) == c.protect(*fields), "C and Python differ"
    stream = packets(args.packets)
    here, there = multiprocessing.Pipe()
    reader = multiprocessing.Process(target=sink, args=(subs.sinks, there), daemon=True)
    reader.start()
    runs: dict[str, Callable[[], tuple[float, int]]] = {
        "floor (sendto only)": lambda: floor_run(subs, stream),
        "send, python": lambda: send_run(subs.links(False), stream),
        "send, C": lambda: send_run(subs.links(True), stream),
        "path, python": lambda: path_run(subs.links(False), stream, batch=False),
        "path, C per slot": lambda: path_run(subs.links(True), stream, batch=False),
        "path, C": lambda: path_run(subs.links(True), stream, batch=True),
    }
    per = args.subscribers * args.packets
    best: dict[str, float] = {}
    drops: dict[str, int] = {}
    for _ in range(args.rounds):
        for name, run in runs.items():
            spent, dropped = run()
            if name not in best or spent < best[name]:
                best[name], drops[name] = spent, dropped
    here.send("stop")
    received = here.recv()
    reader.join(5)
    load = os.getloadavg()
    print(f"{args.subscribers} subscribers × {args.packets} packets of "
          f"{len(stream[0].payload)} B, {args.profile}, best of {args.rounds}; "
          f"{os.cpu_count()} cores, load {load[0]:.2f}; sink read {received} datagrams")
    us: dict[str, float] = {}
    for name, spent in best.items():
        us[name] = spent / per * 1e6
        print(f"  {name:<20} {us[name]:6.2f} µs CPU per packet per subscriber"
              f"   ({drops[name]} dropped)")
    print(f"  send: python / C = {us['send, python'] / us['send, C']:.2f}×;"
          f" path: python / C = {us['path, python'] / us['path, C']:.2f}×;"
          f" path: C per slot / C = {us['path, C per slot'] / us['path, C']:.2f}×;"
          f" path C / floor = {us['path, C'] / us['floor (sendto only)']:.2f}×")
    print("  (issue 15's goal is <= 4 µs of server CPU per forwarded packet for the whole "
          "server: bench.fanout; this is the part a packet costs per subscriber here)")


if __name__ == "__main__":
    main()
