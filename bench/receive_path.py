"""A publisher packet's receive work after SRTP, in a real aiortc ``RTCRtpReceiver``:
our hook (:meth:`rtc.fanout.Source._on_rtp`, one subscriber slot, its send stubbed)
then aiortc's ``_handle_rtp_packet`` (bitrate estimator, statistics, NACK generator)
with and without the frame making (depayloading, jitter buffer, decoder queue) that
:func:`rtc.forward.hook_rtp` now runs only while a tap (the recorder) takes frames, and
with a tap attached.

    python -m bench.receive_path                  # 20,000 VP8 packets, 5 rounds each
    valgrind --tool=callgrind python -m bench.receive_path --only frames --rounds 1
        # instructions: repeatable whatever else the machine does

No sockets, no SRTP, no event loop turn: each packet's coroutine is stepped to its end
on the spot (it never waits; RTCP it would send is counted, not sent), so the figure is
the Python work per packet. ``frames`` is the baseline measured in the same run, and
the ratio of the two is what compares across machines. No timing assertions live in
tests.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from aiortc import RTCPeerConnection, rate
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpDecodingParameters,
    RTCRtpReceiveParameters,
)
from aiortc.rtcrtpreceiver import RemoteStreamTrack
from aiortc.rtp import RtpPacket

from bench.forward_path import _Out, packets
from rtc import forward
from rtc.clock import SystemClock
from rtc.fanout import ForwardTrack, Source

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
MODES = ("frames", "stock", "packets", "tapped")


class _Tap:
    def frame(self, person: str, kind: str, codec: str, packet: Any, key: bool) -> None:
        pass


async def run(mode: str, stream: list[RtpPacket]) -> float:
    """Seconds for ``stream`` through a fresh receiver, in ``mode`` (see below)."""
    pc = RTCPeerConnection()  # no offer, no gathering: nothing touches the network
    receiver: Any = pc.addTransceiver("video", direction="recvonly").receiver
    receiver._track = RemoteStreamTrack(kind="video")
    params = RTCRtpReceiveParameters(
        codecs=[VP8], encodings=[RTCRtpDecodingParameters(ssrc=0xABCD, payloadType=96)])
    source = Source("t1", "video", SystemClock(), lambda s, up: None)
    source.set_forwarding(True)
    source.bind(receiver)
    await receiver.receive(params)
    receiver._set_rtcp_ssrc(1234)
    sent = 0

    async def count(packet: Any) -> None:
        nonlocal sent
        sent += 1

    receiver._send_rtcp = count
    slot = ForwardTrack("video")
    slot.out = _Out(1000)  # type: ignore[assignment]
    slot.attach(source)
    # "frames": as before, frames made of every packet though no tap takes them (the
    # benches' OPENTUTOR_ALWAYS_FRAMES) and aiortc's own estimator; "stock": no frames,
    # aiortc's estimator; "packets": now; "tapped": now, a recorder's tap attached.
    forward.ALWAYS_FRAMES = mode == "frames"
    if mode == "tapped":
        source.taps = (_Tap(),)
    if mode in ("frames", "stock"):  # aiortc's own bitrate estimator, as before
        receiver._RTCRtpReceiver__remote_bitrate_estimator = rate.RemoteBitrateEstimator()
    handle = receiver._handle_rtp_packet
    started = time.perf_counter()
    for n, packet in enumerate(stream):
        # 30 fps, a frame's 6 packets sent and received together (abs-send-time: 6.18
        # fixed-point seconds), as a browser's paced video arrives.
        frame_ms = 1000 + (n // 6) * 33
        packet.extensions.abs_send_time = (frame_ms * 262 + n % 6) & 0xFFFFFF
        coro = handle(packet, frame_ms + 20)
        try:
            coro.send(None)
        except StopIteration:
            pass
        else:  # it waited: never expected here
            coro.close()
            raise RuntimeError("a packet's handling waited")
    elapsed = time.perf_counter() - started
    await receiver.stop()
    await pc.close()
    return elapsed


async def main_async(args: argparse.Namespace) -> None:
    stream = packets(args.packets)
    modes = (args.only,) if args.only else MODES
    best = {mode: float("inf") for mode in modes}
    for _ in range(args.rounds):
        for mode in modes:  # interleaved: the machine's drift hits both alike
            best[mode] = min(best[mode], await run(mode, stream))
    if args.only:
        return
    per = {mode: best[mode] / args.packets * 1e6 for mode in modes}
    print(f"{args.packets} VP8 packets through a real RTCRtpReceiver, best of {args.rounds}:")
    print(f"  frames made of every packet, aiortc's estimator (before) {per['frames']:6.2f} µs")
    print(f"  no frames, aiortc's estimator                           {per['stock']:6.2f} µs")
    print(f"  no frames, rtc.bitrate's estimator (now)                {per['packets']:6.2f} µs")
    print(f"  now, with a recorder's tap attached (frames handed on) {per['tapped']:6.2f} µs")
    print(f"  ratios: before / now {per['frames'] / per['packets']:.2f}×; frames "
          f"{per['frames'] / per['stock']:.2f}×, estimator {per['stock'] / per['packets']:.2f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packets", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=MODES,
                        help="run one side only (for instruction counts under callgrind)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
