"""Signed webhooks to the platform (LiveKit's habit): what happened, when, to whom.

Events: ``session.started``, ``session.ended``, ``participant.joined``,
``participant.left`` (from the rooms, as a room listener), ``recording.ready``,
``feedback.received`` and ``report.received`` (who and when; the text stays here).
Booking (issue 14, item 4; :mod:`signaling.booking`) sends ``booking.created``,
``booking.cancelled`` and ``booking.reminder`` (a person's join link before the start).
Each is one POST of a JSON body ``{"id", "event", "created_at", "session_id", "node",
"data"}`` to ``--webhook-url``, with ``X-Opentutor-Signature: t=<unix seconds>,v1=<hex
HMAC-SHA256 of "<t>.<body>">`` keyed with the webhook secret (``--webhook-secret``,
default: the platform API key), so the receiver can check who sent it and refuse
replays outside its tolerance (docs/webhooks.md has a receiver).

Delivery: one sender task, in order, retrying a failed delivery (network error or
non-2xx) after 1, 2, 4, 8, 16 s (``backoff_s`` × 2ⁿ), then putting it on the dead-letter
list (the last 1,000, with the attempts made; ``GET /api/v1/webhooks``, API key or
city staff). The queue is bounded
(10,000): past it the oldest undelivered event moves to the dead letters, and the log
says so. Nothing here ever blocks a room: rooms only enqueue.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
from typing import Any

import aiohttp

from recorder.presence.tracker import Kind
from rtc.clock import Clock
from signaling.session.events import Ended, Observed, RoomEvent, Started
from signaling.session.timefmt import iso_at

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Opentutor-Signature"
MAX_QUEUE = 10_000
MAX_DEAD = 1_000
ATTEMPTS = 6  # the first try and five retries
TIMEOUT_S = 10.0


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: bytes, header: str, body: bytes, *, now: float, tolerance_s: float = 300
) -> bool:
    """What a receiver does (see docs/webhooks.md): the signature is ours and recent."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)


class Webhooks:
    def __init__(self, url: str, secret: bytes, clock: Clock, *, node: str,
                 backoff_s: float = 1.0) -> None:
        self.url = url
        self._secret = secret
        self._clock = clock
        self._node = node
        self._backoff_s = backoff_s
        self._queue: collections.deque[dict[str, Any]] = collections.deque()
        self._wake = asyncio.Event()
        self.dead: collections.deque[dict[str, Any]] = collections.deque(maxlen=MAX_DEAD)
        self.delivered = 0
        self._task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None

    @property
    def queued(self) -> int:
        return len(self._queue)

    # -- producing (never blocks)

    def send(self, event: str, session_id: str, data: dict[str, Any]) -> None:
        if len(self._queue) >= MAX_QUEUE:
            dropped = self._queue.popleft()
            # Never tried to the end: moved out of the queue before its turn came.
            self.dead.append({**dropped, "error": "queue full", "attempts": 0,
                              "failed_at": iso_at(self._clock.time())})
            log.warning("webhooks: queue full, %s %s moved to dead letters",
                        dropped["event"], dropped["id"])
        self._queue.append({
            "id": "wh_" + secrets.token_urlsafe(12), "event": event,
            "created_at": iso_at(self._clock.time()), "session_id": session_id,
            "node": self._node, "data": data,
        })
        self._wake.set()

    def room_event(self, session_id: str, event: RoomEvent) -> None:
        """A room listener: joins, leaves and ends become webhooks."""
        if isinstance(event, Started):
            self.send("session.started", session_id, {})
        elif isinstance(event, Ended):
            self.send("session.ended", session_id, {})
        elif isinstance(event, Observed):
            if event.kind is Kind.SIGNAL_UP:
                self.send("participant.joined", session_id, {"person": event.person})
            elif event.kind is Kind.SIGNAL_DOWN:
                self.send("participant.left", session_id, {"person": event.person})

    # -- delivering

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S))
        self._task = asyncio.create_task(self._run(), name="webhooks")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._http is not None:
            await self._http.close()

    async def _run(self) -> None:
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            item = self._queue[0]
            error = ""
            for attempt in range(ATTEMPTS):
                error = await self._post(item)
                if not error:
                    self.delivered += 1
                    break
                if attempt + 1 < ATTEMPTS:
                    await self._clock.sleep(self._backoff_s * 2**attempt)
            else:
                self.dead.append({**item, "error": error, "attempts": ATTEMPTS,
                                  "failed_at": iso_at(self._clock.time())})
                log.warning("webhooks: %s %s not delivered after %d attempts: %s",
                            item["event"], item["id"], ATTEMPTS, error)
            if self._queue and self._queue[0] is item:
                self._queue.popleft()

    async def _post(self, item: dict[str, Any]) -> str:
        """Deliver once; the error in words, or ``""``."""
        assert self._http is not None
        body = json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json",
                   SIGNATURE_HEADER: signature(self._secret, int(self._clock.time()), body)}
        try:
            async with self._http.post(self.url, data=body, headers=headers) as answer:
                if 200 <= answer.status < 300:
                    return ""
                return f"HTTP {answer.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"[:200]
