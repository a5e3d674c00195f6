"""The forward path's own per-packet work, without sockets or encryption: what one
publisher packet costs for N subscriber slots in :meth:`rtc.fanout.Source._on_rtp`
(payload-type check, VP8 descriptor, packet cache, and per slot the munger: numbering,
keyframe gate).

    python -m bench.forward_path                  # 50 slots, 20,000 packets, 5 rounds
    python -m bench.forward_path --slots 200
    python -m bench.forward_path --level reduced  # every slot at a quality level (rtc/quality.py)
    valgrind --tool=callgrind python -m bench.forward_path --only forward --rounds 1
        # instructions: repeatable whatever else the machine does; subtract a
        # --packets 1 run for the per-packet figure

The slots' ``send`` (header, SRTP, socket: :mod:`rtc.wire`) is stubbed (a counter), so
the figure is the Python work that any change to numbering or gating adds or saves;
``bench.wire`` measures the send itself, ``bench.fanout`` the whole server. As baseline,
the same run times the bare loop that only calls each slot's send (the least a per-slot
rewrite must do), and the ratio of the two is what compares across machines.
No timing assertions live in tests.
"""

from __future__ import annotations

import argparse
import time

from aiortc.rtp import RtpPacket

from rtc.clock import SystemClock
from rtc.fanout import ForwardTrack, Source
from rtc.payloads import MEDIA
from rtc.quality import Level


class _Out:
    """An RtpOut without a transport: same fields, a no-op send."""

    def __init__(self, ssrc: int) -> None:
        self.ssrc, self.pt, self.rtx_ssrc, self.rtx_pt = ssrc, 96, ssrc + 1, 97
        self.extension = b"\xbe\xde\x00\x01\x10\x30\x00\x00"
        self.b0 = 0x90
        self.pt_marker = (96, 96 | 0x80, 96, 96 | 0x80)
        self.red_pt = None
        self.sent = 0
        self.rtx_seq = 0

    def send(
        self, b0: int, b1: int, seq: int, ts: int, ssrc: int, ext: bytes, payload: bytes, /
    ) -> None:
        self.sent += 1


def packets(count: int) -> list[RtpPacket]:
    """A VP8 stream: a keyframe every 90 packets, ~6 packets per frame, 1,100 bytes."""
    out = []
    for n in range(count):
        start = n % 6 == 0
        key = n % 90 == 0
        descriptor = bytes((0x90 if start else 0x80, 0x80, 0x80 | (n >> 8 & 0x7F), n & 0xFF))
        tag = b"\x00" if key else b"\x01"
        packet = RtpPacket(payload_type=96, sequence_number=n & 0xFFFF,
                           timestamp=(n // 6) * 3000, ssrc=0xABCD, marker=int(n % 6 == 5))
        packet.payload = descriptor + tag + bytes(1100)
        out.append(packet)
    return out


def forward_run(slots: int, stream: list[RtpPacket], level: Level = Level.FULL) -> float:
    source = Source("t1", "video", SystemClock(), lambda s, up: None)
    source.forwarding = True
    source._payload_types = {96: MEDIA}
    for n in range(slots):
        track = ForwardTrack("video")
        track.out = _Out(1000 + n)  # type: ignore[assignment]
        track.attach(source)
        track.set_level(level)
    epoch = source._epoch
    started = time.perf_counter()
    for packet in stream:
        source._on_rtp(epoch, packet)
    return time.perf_counter() - started


def baseline_run(slots: int, stream: list[RtpPacket]) -> float:
    outs = [_Out(1000 + n) for n in range(slots)]
    started = time.perf_counter()
    for packet in stream:
        payload, seq, ts = packet.payload, packet.sequence_number, packet.timestamp
        for out in outs:
            out.send(out.b0, 96, seq, ts, out.ssrc, out.extension, payload)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slots", type=int, default=50)
    parser.add_argument("--packets", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--level", choices=[lv.wire for lv in Level], default="full",
                        help="every slot at this quality level (rtc/quality.py)")
    parser.add_argument("--only", choices=("forward", "baseline"),
                        help="run one side only (for instruction counts under callgrind)")
    args = parser.parse_args()
    stream = packets(args.packets)
    level = next(lv for lv in Level if lv.wire == args.level)
    if args.only:
        for _ in range(args.rounds):
            if args.only == "forward":
                forward_run(args.slots, stream, level)
            else:
                baseline_run(args.slots, stream)
        return
    per = args.slots * args.packets
    best_fwd = min(forward_run(args.slots, stream, level) for _ in range(args.rounds))
    best_base = min(baseline_run(args.slots, stream) for _ in range(args.rounds))
    fwd_ns, base_ns = best_fwd / per * 1e9, best_base / per * 1e9
    print(f"{args.slots} slots at {args.level} × {args.packets} packets, best of {args.rounds}:")
    print(f"  forward path   {fwd_ns:7.0f} ns per packet per slot")
    print(f"  baseline (pack + stubbed send) {base_ns:7.0f} ns")
    print(f"  ratio forward / baseline: {fwd_ns / base_ns:.2f}")


if __name__ == "__main__":
    main()
