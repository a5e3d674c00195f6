"""A user-space Ethernet bridge that loses and delays frames (``netem`` without ``netem``).

    ip netns exec BRIDGE python -m bench.netbridge IF_A IF_B

Run inside a namespace holding two interfaces (each one end of a veth pair: one pair to
the student's namespace, one to the host); every frame read on one is written to the
other, unless dropped (``loss``, independently per frame and direction) or after a delay
(``delay_ms`` each way, so the round trip grows by twice that; frames keep their order).
The settings come on stdin, one line ``LOSS DELAY_MS`` at a time (``0 0``: a plain
bridge), so :class:`bench.network.Link` can change them mid-run without a gap.
Raw ``AF_PACKET`` sockets, one asyncio reader each; frames this process sent are seen
again as outgoing and skipped. IPv4 only for UDP (its checksum is zeroed on the way:
:func:`no_udp_checksum`); TCP is copied as is and may be dropped by the receiver.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import sys

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


class Bridge:
    def __init__(self, a: str, b: str, rng: random.Random | None = None) -> None:
        self.loss = 0.0
        self.delay = 0.0
        self.rng = rng or random.Random()
        self.socks: dict[str, socket.socket] = {}
        for name in (a, b):
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            s.bind((name, 0))
            s.setblocking(False)
            self.socks[name] = s
        self.a, self.b = a, b
        self.passed = self.dropped = 0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        sa, sb = self.socks[self.a], self.socks[self.b]
        loop.add_reader(sa.fileno(), self._pump, loop, sa, sb)
        loop.add_reader(sb.fileno(), self._pump, loop, sb, sa)

    def _pump(
        self, loop: asyncio.AbstractEventLoop, src: socket.socket, dst: socket.socket
    ) -> None:
        while True:
            try:
                frame, addr = src.recvfrom(65535)
            except BlockingIOError:
                return
            if addr[2] == PACKET_OUTGOING:
                continue  # what we wrote on this interface
            if self.loss and self.rng.random() < self.loss:
                self.dropped += 1
                continue
            self.passed += 1
            frame = no_udp_checksum(frame)
            if self.delay:
                loop.call_later(self.delay, self._send, dst, frame)
            else:
                self._send(dst, frame)

    @staticmethod
    def _send(dst: socket.socket, frame: bytes) -> None:
        # The interface is down (an outage) or its queue is full: a loss.
        with contextlib.suppress(OSError):
            dst.send(frame)


def no_udp_checksum(frame: bytes) -> bytes:
    """An IPv4 UDP frame with its checksum field zeroed ("none", RFC 768). A veth hands
    packet sockets frames whose checksum the sender left for offload to fill in; sent
    on as they are, the receiver drops them. Zero is valid for UDP over IPv4 (all
    WebRTC media here); other frames pass unchanged."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return frame
    at = 14 + (frame[14] & 0x0F) * 4 + 6
    return frame[:at] + b"\x00\x00" + frame[at + 2 :]


async def main(a: str, b: str) -> None:
    loop = asyncio.get_running_loop()
    bridge = Bridge(a, b)
    bridge.start(loop)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        try:
            loss, delay_ms = (float(x) for x in line.split())
        except ValueError:
            continue
        bridge.loss, bridge.delay = min(max(loss, 0.0), 1.0), max(delay_ms, 0.0) / 1000
        print(f"loss {bridge.loss} delay {delay_ms} ms", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
