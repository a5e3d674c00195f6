"""A user-space Ethernet bridge that loses and delays frames (``netem`` without ``netem``).

    ip netns exec BRIDGE python -m bench.netbridge IF_A IF_B

Run inside a namespace holding two interfaces (each one end of a veth pair: one pair to
the student's namespace, one to the host); every frame read on one is written to the
other, unless dropped (``loss``, independently per frame and direction) or after a delay
(``delay_ms`` each way, so the round trip grows by twice that; frames keep their order).
The settings come on stdin, one line ``LOSS DELAY_MS [CUT]`` at a time (``0 0``: a
plain bridge), so :class:`bench.network.Link` can change them mid-run without a gap.
``CUT`` 1 forgets every UDP flow seen so far: from then on their datagrams are dropped
while new flows (other ports) and TCP pass, as when a NAT loses its UDP mappings or a
handover keeps TCP but not the media path (issue 13, item 4: the socket lives, ICE
dies); ``CUT`` 2 forgets the TCP connections too (a NAT that lost every mapping: the
socket dies without either end being told); ``CUT`` 0 lets them through again.
Raw ``AF_PACKET`` sockets, one asyncio reader each; frames this process sent are seen
again as outgoing and skipped. IPv4 only: a UDP checksum is zeroed on the way
(:func:`no_udp_checksum`), a TCP one computed (:func:`tcp_checksum`).
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
        self.flows: set[tuple[bytes, bytes]] = set()  # UDP flows seen, as endpoint pairs
        self.tcp: set[tuple[bytes, bytes]] = set()  # TCP connections seen, likewise
        self.cut: frozenset[tuple[bytes, bytes]] = frozenset()  # the flows that no longer pass

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
            flow = udp_flow(frame)
            seen = self.flows
            if flow is None:
                flow, seen = udp_flow(frame, proto=6), self.tcp
            if flow is not None:
                if flow in self.cut:
                    self.dropped += 1
                    continue
                seen.add(flow)
            self.passed += 1
            frame = tcp_checksum(no_udp_checksum(frame))
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


def _ipv4_payload(frame: bytes, proto: int) -> int | None:
    """Where the IPv4 payload of ``proto`` starts in an Ethernet frame (None: another)."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != proto:
        return None
    return 14 + (frame[14] & 0x0F) * 4


def udp_flow(frame: bytes, proto: int = 17) -> tuple[bytes, bytes] | None:
    """The UDP flow (TCP connection: ``proto`` 6) of a frame as its two endpoints
    (address + port), in a fixed order so both directions are one flow; None when not
    IPv4 of that protocol."""
    at = _ipv4_payload(frame, proto)
    if at is None or len(frame) < at + 4:
        return None
    a, b = frame[26:30] + frame[at : at + 2], frame[30:34] + frame[at + 2 : at + 4]
    return (a, b) if a <= b else (b, a)


def tcp_checksum(frame: bytes) -> bytes:
    """An IPv4 TCP frame with its checksum computed. A veth leaves it to offload (only
    the pseudo-header's sum is in the field), and unlike UDP's, TCP's cannot be zero."""
    at = _ipv4_payload(frame, 6)
    if at is None:
        return frame
    end = 14 + int.from_bytes(frame[16:18], "big")  # the IP total length: no Ethernet padding
    segment = bytearray(frame[at:end])
    if len(segment) < 20:
        return frame
    segment[16:18] = b"\x00\x00"
    pseudo = frame[26:34] + b"\x00\x06" + len(segment).to_bytes(2, "big")
    data = pseudo + bytes(segment) + (b"\x00" if len(segment) % 2 else b"")
    total = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    checksum = (~total & 0xFFFF) or 0xFFFF
    return frame[: at + 16] + checksum.to_bytes(2, "big") + frame[at + 18 :]


async def main(a: str, b: str) -> None:
    loop = asyncio.get_running_loop()
    bridge = Bridge(a, b)
    bridge.start(loop)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        try:
            loss, delay_ms, *rest = (float(x) for x in line.split())
        except ValueError:
            continue
        bridge.loss, bridge.delay = min(max(loss, 0.0), 1.0), max(delay_ms, 0.0) / 1000
        cut = int(rest[0]) if rest else 0
        forgotten = bridge.flows | (bridge.tcp if cut >= 2 else set())
        bridge.cut = frozenset(forgotten) if cut else frozenset()
        print(f"loss {bridge.loss} delay {delay_ms} ms cut {len(bridge.cut)} flows", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
