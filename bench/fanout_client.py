"""The benchmark's peers: a publisher and cheap subscribers, signalling like the browser.

Both speak the product's protocol (socket.io with the join token, ``offer`` with an
ack carrying the answer and the mid → stream map, a new offer on ``renegotiate``) and
run real aiortc peer connections restricted to 127.0.0.1.

A subscriber must cost far less than the server's per-packet work, or the benchmark
measures itself. aiortc's receive path (a queue hop and a task switch per datagram,
jitter buffer, depayloading, decoding) is bypassed once ICE and DTLS are up: the
datagram callback of the aioice socket unprotects SRTP and reads the RTP header in
place (:class:`StreamStats`). Like a browser, a subscriber sends receiver reports
(about once a second), NACKs for gaps in video and a PLI when a video frame is broken.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import socketio
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.rtp import RtcpReceiverInfo, RtcpRrPacket

from bench.fanout_media import PROBE, Encoded, PrecodedTrack, read_probe
from rtc.forward import dtls_transports, ice_connections
from rtc.ice import restrict_host_addresses, rtc_configuration

LOOPBACK = ["127.0.0.1"]
_HEADER = struct.Struct("!HII")


class Signal:
    """A socket.io client joined with a token; records ``renegotiate`` asks."""

    def __init__(self) -> None:
        self.welcome: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.renegotiations: asyncio.Queue[Any] = asyncio.Queue()
        self.notes: list[str] = []  # what ended it, if something did
        self.refused: Any = None
        self.sio = self._client()

    def _client(self) -> socketio.AsyncClient:
        sio = socketio.AsyncClient(reconnection=False)

        @sio.on("welcome")  # type: ignore[untyped-decorator]
        async def _welcome(data: Any) -> None:
            if not self.welcome.done():
                self.welcome.set_result(data)

        @sio.on("renegotiate")  # type: ignore[untyped-decorator]
        async def _renegotiate(data: Any) -> None:
            self.renegotiations.put_nowait(data)

        @sio.on("*")  # type: ignore[untyped-decorator]
        async def _other(event: str, data: Any = None) -> None:
            if event in ("ended", "replaced", "error"):
                self.notes.append(f"{event}: {data}")

        @sio.event  # type: ignore[untyped-decorator]
        async def connect_error(data: Any) -> None:
            self.refused = data.get("data") if isinstance(data, dict) else data

        @sio.event  # type: ignore[untyped-decorator]
        async def disconnect(reason: Any = None) -> None:
            self.notes.append(f"disconnected: {reason}")

        return sio

    async def join(self, base: str, token: str) -> Any:
        """Join, following ``moved`` (several nodes or ``serve --workers``: the room
        runs on another) at most twice, as the web client does."""
        url = base
        for attempt in range(3):
            self.refused = None
            try:
                await self.sio.connect(
                    url, auth={"token": token}, transports=["websocket"], wait_timeout=30
                )
                break
            except socketio.exceptions.ConnectionError:
                moved = self.refused if isinstance(self.refused, dict) else {}
                if moved.get("code") != "moved" or not moved.get("url") or attempt == 2:
                    raise
                url = str(moved["url"])
                self.sio = self._client()
        try:
            return await asyncio.wait_for(self.welcome, 30)
        except TimeoutError:
            raise TimeoutError(f"no welcome from {url} in 30 s: {self.notes}") from None

    async def offer(self, sdp: str) -> dict[str, Any]:
        ack: dict[str, Any] = await self.sio.call("offer", {"sdp": sdp}, timeout=60)
        if not ack.get("ok"):
            raise RuntimeError(f"offer refused: {ack}")
        return ack

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect()


async def negotiate(pc: RTCPeerConnection, signal: Signal) -> dict[str, Any]:
    offer = await pc.createOffer()
    restrict_host_addresses(pc, LOOPBACK)
    await pc.setLocalDescription(offer)
    ack = await signal.offer(pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=ack["sdp"], type="answer"))
    return ack


# -------------------------------------------------------------------------- publisher


class Publisher:
    """The instructor: sends the pre-encoded lecture, answers PLIs with keyframes."""

    def __init__(self, video: Encoded | None, audio: Encoded) -> None:
        self.signal = Signal()
        self.pc = RTCPeerConnection(rtc_configuration())
        self.tracks: list[PrecodedTrack] = []
        for media in (audio, video):
            if media is None:
                continue
            track = PrecodedTrack(media)
            sender = self.pc.addTrack(track)
            sender._send_keyframe = track.request_keyframe  # type: ignore[method-assign]
            self.tracks.append(track)
        self.connected = asyncio.Event()
        self.pc.on("connectionstatechange", self._state)

    def _state(self) -> None:
        if self.pc.connectionState == "connected":
            self.connected.set()

    async def start(self, base: str, token: str) -> None:
        await self.signal.join(base, token)
        await negotiate(self.pc, self.signal)
        await asyncio.wait_for(self.connected.wait(), 30)

    def track(self, kind: str) -> PrecodedTrack | None:
        return next((t for t in self.tracks if t.kind == kind), None)

    async def close(self) -> None:
        await self.pc.close()
        await self.signal.close()


# ------------------------------------------------------------------------ subscribers


def vp8_descriptor_size(payload: bytes) -> int:
    """Bytes of the VP8 payload descriptor at the start of an RTP payload (RFC 7741)."""
    b0 = payload[0]
    pos = 1
    if b0 & 0x80:
        x = payload[1]
        pos = 2
        if x & 0x80:
            pos += 2 if payload[pos] & 0x80 else 1
        if x & 0x40:
            pos += 1
        if x & 0x30:
            pos += 1
    return pos


def vp8_start_and_key(payload: bytes) -> tuple[bool, bool]:
    """(first packet of a frame, keyframe) from a VP8 RTP payload (RFC 7741)."""
    b0 = payload[0]
    if not b0 & 0x10 or b0 & 0x07:
        return False, False
    pos = vp8_descriptor_size(payload)
    return True, len(payload) > pos and not payload[pos] & 0x01


@dataclass
class StreamStats:
    """One received stream (audio or video) of one subscriber."""

    kind: str
    ssrc: int = 0
    packets: int = 0
    highest: int | None = None
    lost: int = 0
    rtx: int = 0
    nacks: int = 0
    plis: int = 0
    frames: int = 0  # complete frames
    broken: int = 0
    waiting_keyframe: bool = True
    first_keyframe: float | None = None
    last_pli: float = 0.0
    # frame records: (index or -1, send time or 0, arrival, complete, packets)
    records: list[tuple[int, float, float, bool, int]] = field(default_factory=list)
    _ts: int | None = None
    _first: int | None = None
    _count: int = 0
    _key: bool = False
    # The previous packet's last bytes in this frame: a probe the packetiser split over
    # the frame's last two packets is read across them.
    _tail: bytes = b""


class Subscriber:
    def __init__(self, name: str, *, slow: bool = False) -> None:
        self.name = name
        self.slow = slow
        self.signal: Signal | None = None
        self.pc: RTCPeerConnection | None = None
        self.offered_at = 0.0
        self.connected_at: float | None = None
        self.streams: dict[str, StreamStats] = {}
        self.phases: dict[str, float] = {}  # join steps, seconds
        self._by_pt: dict[int, tuple[StreamStats, bool]] = {}  # pt → (stream, is rtx)
        self._receivers: dict[str, RTCRtpReceiver] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def join(self, base: str, token: str) -> None:
        self.signal = Signal()
        started = time.monotonic()
        await self.signal.join(base, token)
        self.phases["welcome"] = time.monotonic() - started
        pc = self.pc = RTCPeerConnection(rtc_configuration())
        for kind in ("audio", "video"):
            pc.addTransceiver(kind, direction="recvonly")
        pc.on("connectionstatechange", self._state)
        self.offered_at = time.monotonic()
        await negotiate(pc, self.signal)
        self.phases["answer"] = time.monotonic() - self.offered_at
        self._map_payload_types()
        self._hook_sockets()
        self._tasks.append(asyncio.ensure_future(self._follow()))
        self._tasks.append(asyncio.ensure_future(self._reports()))

    def _state(self) -> None:
        if self.pc is not None and self.pc.connectionState == "connected":
            self.connected_at = self.connected_at or time.monotonic()

    async def _follow(self) -> None:
        """A new offer on every ``renegotiate``, as the browser does."""
        assert self.signal is not None and self.pc is not None
        while True:
            ask = await self.signal.renegotiations.get()
            have = {k: 0 for k in ("audio", "video")}
            for t in self.pc.getTransceivers():
                have[t.kind] += 1
            for kind in have:
                for _ in range(sum(1 for s in ask["streams"] if s["kind"] == kind) - have[kind]):
                    self.pc.addTransceiver(kind, direction="recvonly")
            await negotiate(self.pc, self.signal)
            self._map_payload_types()

    def _map_payload_types(self) -> None:
        assert self.pc is not None
        for t in self.pc.getTransceivers():
            stream = self.streams.setdefault(t.kind, StreamStats(t.kind))
            self._receivers[t.kind] = t.receiver
            for codec in t._codecs:
                rtx = codec.mimeType.lower().endswith("/rtx")
                self._by_pt[int(codec.payloadType or 0)] = (stream, rtx)

    def _hook_sockets(self) -> None:
        assert self.pc is not None
        dtls = dtls_transports(self.pc)[0]
        for connection in ice_connections(self.pc):
            for protocol in connection._protocols:
                if self.slow:
                    sock = protocol.transport.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
                original: Callable[[bytes, Any], None] = protocol.datagram_received

                def received(
                    data: bytes, addr: Any, _original: Callable[[bytes, Any], None] = original
                ) -> None:
                    b1 = data[1] if len(data) > 12 else 0
                    rx = dtls._rx_srtp
                    if 127 < data[0] < 192 and not 192 <= b1 <= 208 and rx is not None:
                        try:
                            plain = rx.unprotect(data)
                        except Exception:
                            return
                        self._rtp(plain, time.monotonic())
                    else:
                        _original(data, addr)

                protocol.datagram_received = received  # type: ignore[method-assign,assignment]

    def _rtp(self, data: bytes, now: float) -> None:
        found = self._by_pt.get(data[1] & 0x7F)
        if found is None:
            return
        stream, rtx = found
        seq, ts, ssrc = _HEADER.unpack_from(data, 2)
        marker = data[1] & 0x80
        pos = 12 + 4 * (data[0] & 0x0F)
        if data[0] & 0x10:
            pos += 4 + 4 * struct.unpack_from("!H", data, pos + 2)[0]
        end = len(data) - (data[-1] if data[0] & 0x20 else 0)
        payload = data[pos:end]
        if rtx:
            if len(payload) < 2:
                return
            stream.rtx += 1
            seq = struct.unpack_from("!H", payload)[0]
            payload = payload[2:]
        else:
            stream.ssrc = ssrc
        stream.packets += 1
        if stream.highest is None:
            stream.highest = seq
        else:
            gap = (seq - stream.highest) & 0xFFFF
            if 0 < gap < 0x8000:
                if gap > 1:
                    stream.lost += gap - 1
                    if stream.kind == "video":
                        lost = [(stream.highest + i) & 0xFFFF for i in range(1, min(gap, 64))]
                        self._send("nack", stream, lost)
                stream.highest = seq
        if stream.kind == "audio":
            probe = read_probe(payload)
            index, sent = probe if probe else (-1, 0.0)
            stream.frames += 1
            if stream.first_keyframe is None:
                stream.first_keyframe = now
            stream.records.append((index, sent, now, True, 1))
            return
        if ts != stream._ts:
            stream._ts, stream._first, stream._count, stream._key = ts, None, 0, False
            stream._tail = b""
        stream._count += 1
        if payload:
            start, key = vp8_start_and_key(payload)
            if start:
                stream._first, stream._key = seq, key
        if not marker:
            stream._tail = payload[-PROBE.size:]
            return
        first = stream._first
        complete = first is not None and (seq - first) & 0xFFFF == stream._count - 1
        if complete and stream._key:
            stream.waiting_keyframe = False
            if stream.first_keyframe is None:
                stream.first_keyframe = now
        if not complete:
            stream.broken += 1
            stream.waiting_keyframe = True
        complete = complete and not stream.waiting_keyframe
        if complete:
            stream.frames += 1
        elif now - stream.last_pli > 0.5:
            stream.last_pli = now
            self._send("pli", stream, [])
        probe = read_probe(payload) or (
            read_probe(stream._tail + payload[vp8_descriptor_size(payload):])
            if payload else None)
        index, sent = probe if probe else (-1, 0.0)
        stream.records.append((index, sent, now, complete, stream._count))

    def _send(self, what: str, stream: StreamStats, lost: list[int]) -> None:
        receiver = self._receivers.get(stream.kind)
        if receiver is None or not stream.ssrc:
            return
        if what == "nack":
            stream.nacks += 1
            coro = receiver._send_rtcp_nack(stream.ssrc, lost)
        else:
            stream.plis += 1
            coro = receiver._send_rtcp_pli(stream.ssrc)
        self._tasks.append(asyncio.ensure_future(coro))
        if len(self._tasks) > 64:
            self._tasks = [t for t in self._tasks if not t.done()]

    async def _reports(self) -> None:
        """Receiver reports about once a second (aiortc's own need its receive path)."""
        while True:
            await asyncio.sleep(1.0)
            if self.slow:  # the slow phone: its loop (and socket) stalls 30% of the time
                time.sleep(0.3)  # noqa: ASYNC251 (blocking on purpose)
            for kind, stream in self.streams.items():
                receiver = self._receivers.get(kind)
                rtcp_ssrc = getattr(receiver, "_RTCRtpReceiver__rtcp_ssrc", None)
                if receiver is None or rtcp_ssrc is None or not stream.ssrc:
                    continue
                report = RtcpReceiverInfo(
                    ssrc=stream.ssrc, fraction_lost=0, packets_lost=stream.lost,
                    highest_sequence=stream.highest or 0, jitter=0, lsr=0, dlsr=0,
                )
                await receiver._send_rtcp(RtcpRrPacket(ssrc=rtcp_ssrc, reports=[report]))

    def summary(
        self, t0: float, t1: float, expected: dict[str, tuple[int, int]]
    ) -> dict[str, Any]:
        """What happened between t0 and t1 (monotonic seconds), per kind. ``expected``:
        kind → the range of frame indices the publisher sent in that window."""
        out: dict[str, Any] = {
            "name": self.name,
            "slow": self.slow,
            "connected_s": None
            if self.connected_at is None
            else self.connected_at - self.offered_at,
        }
        for kind, s in self.streams.items():
            lo, hi = expected.get(kind, (0, -1))
            window = [r for r in s.records if t0 <= r[2] <= t1]
            probed = [r for r in s.records if r[3] and lo <= r[0] <= hi]
            out[kind] = {
                "probed": any(r[0] >= 0 for r in s.records),
                "delivered": len({r[0] for r in probed}),
                "latencies": [r[2] - r[1] for r in probed],
                "frames_in_window": sum(1 for r in window if r[3]),
                "packets_in_window": sum(r[4] for r in window),
                "first_keyframe_s": None
                if s.first_keyframe is None or self.connected_at is None
                else s.first_keyframe - self.connected_at,
                "lost": s.lost, "nacks": s.nacks, "plis": s.plis, "rtx": s.rtx,
                "broken": s.broken,
            }
        return out

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()
        if self.signal is not None:
            await self.signal.close()


# ---------------------------------------------------------------------------- worker


def run_worker(conn: Any, base: str, names_tokens: list[tuple[str, str]], slow: bool) -> None:
    """A worker process: joins its subscribers, then answers the orchestrator's
    ``("collect", t0, t1, expected)`` and ``("stop",)`` over a multiprocessing pipe."""
    asyncio.run(_worker(conn, base, names_tokens, slow))


async def _worker(conn: Any, base: str, names_tokens: list[tuple[str, str]], slow: bool) -> None:
    loop = asyncio.get_running_loop()
    subs = [Subscriber(name, slow=slow) for name, _ in names_tokens]
    gate = asyncio.Semaphore(8)  # joins in flight per worker: the server is busy forwarding

    async def join(sub: Subscriber, token: str) -> str | None:
        async with gate:
            try:
                await sub.join(base, token)
                return None
            except Exception as exc:
                return f"{sub.name}: {type(exc).__name__}: {exc}"

    errors = [e for e in await asyncio.gather(
        *(join(s, t) for s, (_, t) in zip(subs, names_tokens, strict=True))
    ) if e]
    phases = {k: sorted(s.phases.get(k, 0.0) for s in subs) for k in ("welcome", "answer")}
    conn.send(("joined", errors, {k: (v[len(v) // 2], v[-1]) for k, v in phases.items()}))
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command[0] == "status":  # ("status", kinds sent): who is receiving everything
            kinds = command[1]
            conn.send([
                s.connected_at is not None
                and all(k in s.streams and s.streams[k].first_keyframe is not None for k in kinds)
                for s in subs
            ])
        elif command[0] == "collect":
            _, t0, t1, expected = command
            conn.send([s.summary(t0, t1, expected) for s in subs])
        else:
            break
    for s in subs:
        with contextlib.suppress(Exception):
            await s.close()
    conn.send(("stopped",))
