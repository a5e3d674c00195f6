"""Several nodes, one Redis: each session's room runs on exactly one node.

LiveKit's pattern: this router *embeds* the local one. A room is still created
and owned by a :class:`~signaling.router.local.LocalRouter`; Redis only decides
*which node* may do so and tells the others where it went. A browser that reaches
another node is refused with ``moved`` and the owner's URL; REST calls are answered
by the owner. Media must terminate where the room is, so nothing is proxied.

What is in Redis (``opentutor:`` keys):

* ``room:<session>`` → the owner's node id, with a TTL (:data:`CLAIM_TTL_S`). Taken
  with ``SET NX`` by the first join; refreshed by the owner's heartbeat every
  :data:`BEAT_S`; deleted when the room ends. A node that dies (SIGKILL, power) stops
  refreshing, so its claims lapse within the TTL and the next join of each of its
  sessions, on any node, places the room again there. A live node's claim is never
  taken: only a key that is gone can be claimed.
* ``node:<id>`` → the node's URL (TTL as above), where ``moved`` sends browsers;
  ``alive`` (sorted set: node → when its last beat lapses) and ``load`` (hash: node
  → rooms it runs, and whether it drains), from which a draining node picks where
  new sessions go.
* ``epoch``, ``last_beat`` and ``fence``: the guard of the moment Redis comes back.
  A node cut off from Redis keeps its rooms running, but its claims may lapse. When
  Redis returns *after no node could reach it for a while* (``last_beat`` older than
  the TTL, and some node was alive) or *without its data* (``epoch`` is gone: a
  restart without persistence), claims are refused for :data:`SETTLE_S` (the
  ``fence``). In that window every node that still runs rooms beats at least once
  and claims them again (its heartbeat always may), so no other node can start a
  second copy of a session. Joins in the window get ``unavailable`` (retry).

Not covered: Redis reachable from some nodes but not from others (a partition). The
cut-off node keeps its rooms, its claims lapse, and a join through another node can
start a second copy; the cut-off node logs an error on its next beat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from signaling.router.base import Draining, PlacementUnavailable, RoomElsewhere
from signaling.router.local import LocalRouter
from signaling.session.room import Room

log = logging.getLogger(__name__)

PREFIX = "opentutor"
CLAIM_TTL_S = 5.0  # a dead node's claims lapse within this
BEAT_S = 1.0  # the heartbeat: refresh every claim this node holds
TIMEOUT_S = 2.0  # one Redis call (connect or answer); one immediate retry
# After Redis comes back empty or after everyone lost it: refuse claims this long, so
# that each node beats (BEAT_S, plus a call that may time out twice) before anyone else
# may claim a room it runs.
SETTLE_S = 5.0
# A room's owner whose last beat is older than this many beats is probably gone: a join
# is told to retry (its claim lapses soon) rather than sent to a node that may not answer.
SUSPECT_BEATS = 2.0
SUSPECT_S = SUSPECT_BEATS * BEAT_S
FORGET_S = 60.0  # a node silent this long leaves ``alive`` and ``load``

# What a Redis outage raises: a refused connection, a timeout, a reset socket.
_UNREACHABLE = (aioredis.RedisError, OSError, TimeoutError)

# Shared by both scripts. KEYS[1..4] = epoch, alive, last_beat, fence.
# ARGV[1] node id, ARGV[2] claim TTL ms, ARGV[3] settle ms, ARGV[4] gap ms, ARGV[5]
# forget ms, ARGV[6] a fresh epoch id. Returns now (Redis's clock, ms) and the fence.
_PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local me = ARGV[1]
local ttl = tonumber(ARGV[2])
local fence = tonumber(redis.call('GET', KEYS[4]) or '0')
local function raise_fence()
  fence = math.max(fence, now + tonumber(ARGV[3]))
  redis.call('SET', KEYS[4], fence)
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  -- Redis lost its data (or never had ours): nodes may be running rooms unclaimed.
  redis.call('SET', KEYS[1], ARGV[6])
  raise_fence()
else
  local last = tonumber(redis.call('GET', KEYS[3]) or '0')
  if now - last > tonumber(ARGV[4]) then
    -- Nobody reached Redis for a while: was another node alive before it?
    local others = redis.call('ZCARD', KEYS[2])
    if redis.call('ZSCORE', KEYS[2], me) then others = others - 1 end
    if others > 0 then raise_fence() end
  end
end
"""

# The heartbeat. KEYS[5] this node's URL key, KEYS[6] load, KEYS[7..] its rooms.
# ARGV[7] URL, ARGV[8] "rooms draining". Returns {fence - now, per room: 1 refreshed,
# 2 claimed again (its key was gone), 0 another node owns it}.
_BEAT = _PRELUDE + """
redis.call('SET', KEYS[3], now)
redis.call('ZADD', KEYS[2], now + ttl, me)
redis.call('SET', KEYS[5], ARGV[7], 'PX', ttl)
redis.call('HSET', KEYS[6], me, ARGV[8])
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[5]))
for _, node in ipairs(gone) do redis.call('HDEL', KEYS[6], node) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[5]))
local out = {math.max(0, fence - now)}
for i = 7, #KEYS do
  local owner = redis.call('GET', KEYS[i])
  if owner == me then
    redis.call('PEXPIRE', KEYS[i], ttl)
    out[#out + 1] = 1
  elseif not owner then
    redis.call('SET', KEYS[i], me, 'PX', ttl)
    out[#out + 1] = 2
  else
    out[#out + 1] = 0
  end
end
return out
"""

# A join. KEYS[5] the room key. ARGV[7] "1" to claim a free room, "0" only to look.
# Returns {'settling', ms left} | {'ours'} | {'claimed'} | {'free'} |
# {'elsewhere', owner, ms since the owner's last beat (-1: unknown)}.
_CLAIM = _PRELUDE + """
if now < fence then return {'settling', fence - now} end
local owner = redis.call('GET', KEYS[5])
if owner == me then
  redis.call('PEXPIRE', KEYS[5], ttl)
  return {'ours'}
end
if owner then
  local lapse = redis.call('ZSCORE', KEYS[2], owner)
  if not lapse then return {'elsewhere', owner, -1} end
  return {'elsewhere', owner, math.max(0, now - (tonumber(lapse) - ttl))}
end
if ARGV[7] ~= '1' then return {'free'} end
redis.call('SET', KEYS[5], me, 'PX', ttl)
return {'claimed'}
"""

# Readiness: the guard (which may raise the fence), then how long placement settles.
_FENCE = _PRELUDE + """
return math.max(0, fence - now)
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def key(name: str) -> str:
    return f"{PREFIX}:{name}"


def room_key(session_id: str) -> str:
    return key(f"room:{session_id}")


def node_key(node_id: str) -> str:
    return key(f"node:{node_id}")


_GUARD_KEYS = (key("epoch"), key("alive"), key("last_beat"), key("fence"))
LOAD_KEY = key("load")


def connect(url: str) -> aioredis.Redis:
    """The router's Redis client: every call fails within :data:`TIMEOUT_S` (one
    immediate retry, which a connection left over from before a Redis restart needs),
    so a join is refused at once while Redis is away instead of waiting out redis-py's
    default backoff."""
    return aioredis.Redis.from_url(
        url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S,
        retry=Retry(NoBackoff(), 1),
    )


@dataclass(frozen=True)
class NodeLoad:
    node_id: str
    rooms: int
    draining: bool


class RedisRouter:
    def __init__(
        self,
        local: LocalRouter,
        client: aioredis.Redis,
        *,
        node_id: str,
        node_url: str,
        ttl_s: float = CLAIM_TTL_S,
        beat_s: float = BEAT_S,
        settle_s: float = SETTLE_S,
    ) -> None:
        if not 0 < beat_s < ttl_s:
            raise ValueError(f"the heartbeat ({beat_s} s) must be shorter than the claim TTL")
        self._local = local
        self._redis = client
        self.node_id = node_id
        self.node_url = node_url
        self._ttl_ms = int(ttl_s * 1000)
        self._beat_s = beat_s
        self._suspect_ms = int(SUSPECT_BEATS * beat_s * 1000)
        self._guard_args: tuple[str | int, ...] = (
            node_id, self._ttl_ms, int(settle_s * 1000),
            int((ttl_s - beat_s / 2) * 1000),  # no beat for about a TTL: claims may have lapsed
            int(FORGET_S * 1000),
        )
        self._heartbeat: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """First beat; if placement is settling (Redis was empty), wait it out, so that
        the first joins of a node that just started are not refused."""
        settling_ms = await self._beat()
        self._heartbeat = asyncio.create_task(self._beat_forever(), name="router-heartbeat")
        if settling_ms > 0:
            log.warning("placement is settling (Redis had no placement data, or no node had "
                        "reached it for a while): new rooms are placed in %.1f s, once every "
                        "node has claimed its running rooms again", settling_ms / 1000)
            await asyncio.sleep(settling_ms / 1000)

    def _guard(self) -> tuple[str | int, ...]:
        return (*self._guard_args, secrets.token_hex(8))

    async def _beat(self) -> int:
        """Refresh this node and every claim it holds; claim again those whose key is
        gone. Returns how long placement stays settling (ms)."""
        running = self._local.running_ids()
        status = f"{len(running)} {int(self._local.draining)}"
        out = await self._redis.eval(
            _BEAT, 6 + len(running), *_GUARD_KEYS, node_key(self.node_id), LOAD_KEY,
            *(room_key(s) for s in running), *self._guard(), self.node_url, status,
        )
        settling_ms, kept = int(out[0]), out[1:]
        for session_id, result in zip(running, kept, strict=True):
            if result == 2:
                log.warning("room %s claimed again in Redis (its key was gone)", session_id)
            elif result == 0:
                # Another node took it while we could not reach Redis: two owners
                # now exist. Say so loudly; the operator must look.
                log.error("room %s is no longer owned by node %s", session_id, self.node_id)
        return settling_ms

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self._beat_s)
            try:
                await self._beat()
            except _UNREACHABLE as exc:  # Redis down: keep serving local rooms, retry
                log.warning("router heartbeat failed: %s", exc)

    def running(self, session_id: str) -> Room | None:
        return self._local.running(session_id)

    def running_ids(self) -> list[str]:
        return self._local.running_ids()

    @property
    def draining(self) -> bool:
        return self._local.draining

    def drain(self) -> None:
        self._local.drain()  # the next beat tells the other nodes

    async def wait_idle(self) -> None:
        await self._local.wait_idle()

    async def ping(self) -> None:
        """Raise while Redis is unreachable or placement is settling (not ready)."""
        left = int(await self._redis.eval(_FENCE, 4, *_GUARD_KEYS, *self._guard()))
        if left > 0:
            raise PlacementUnavailable(
                f"placement is settling after Redis lost its data or was away "
                f"({left / 1000:.1f} s left)")

    async def _owner(self, session_id: str) -> str | None:
        return _text(await self._redis.get(room_key(session_id)))

    async def owner_url(self, session_id: str) -> str | None:
        if self._local.running(session_id) is not None:
            return None
        try:
            owner = await self._owner(session_id)
            if owner is None or owner == self.node_id:
                return None
            return _text(await self._redis.get(node_key(owner)))
        except _UNREACHABLE as exc:
            raise PlacementUnavailable(f"Redis is unreachable: {exc}") from None

    async def loads(self) -> list[NodeLoad]:
        """The nodes alive now, with the rooms each runs and whether it drains."""
        now_s, _ = await self._redis.time()
        alive = await self._redis.zrangebyscore(key("alive"), now_s * 1000, "+inf")
        load = {_text(k): _text(v) for k, v in (await self._redis.hgetall(LOAD_KEY)).items()}
        out = []
        for raw in alive:
            node = _text(raw) if isinstance(raw, bytes | str) else str(raw)
            rooms, draining = (load.get(node) or "0 0").split()
            out.append(NodeLoad(node or "", int(rooms), draining == "1"))
        return out

    async def _elsewhere_for_new_room(self, session_id: str) -> RoomElsewhere:
        """A draining node's answer to a session not running anywhere: the node taking
        new rooms that runs the fewest; :class:`Draining` if there is none."""
        takers = sorted((n.rooms, n.node_id) for n in await self.loads()
                        if not n.draining and n.node_id != self.node_id)
        for _, node in takers:
            url = _text(await self._redis.get(node_key(node)))
            if url:
                return RoomElsewhere(session_id, url)
        raise Draining("this node is draining and no other node takes new sessions now")

    async def room(self, session_id: str) -> Room | None:
        room = self._local.running(session_id)
        if room is not None:
            return room
        claim = not self._local.draining
        try:
            out = await self._redis.eval(
                _CLAIM, 5, *_GUARD_KEYS, room_key(session_id), *self._guard(), int(claim))
            verdict = _text(out[0])
            if verdict == "settling":
                raise PlacementUnavailable(
                    f"placement is settling for {int(out[1]) / 1000:.1f} s more: every node "
                    "claims its running rooms again after Redis lost its data or was away")
            if verdict == "elsewhere":
                owner, age_ms = _text(out[1]), int(out[2])
                url = _text(await self._redis.get(node_key(owner or "")))
                if url is None or age_ms < 0 or age_ms > self._suspect_ms:
                    raise PlacementUnavailable(
                        f"session {session_id} was placed on node {owner}, not heard from "
                        f"for {age_ms / 1000:.1f} s: its claim lapses within "
                        f"{self._ttl_ms / 1000:.0f} s, then the session is placed again")
                raise RoomElsewhere(session_id, url)
            if verdict == "free":  # draining: send it to a node that takes new rooms
                raise await self._elsewhere_for_new_room(session_id)
        except _UNREACHABLE as exc:
            raise PlacementUnavailable(f"Redis is unreachable: {exc}") from None
        try:
            room = await self._local.room(session_id)
        except BaseException:
            await self._release(session_id)  # drain began meanwhile, or the store failed
            raise
        if room is None:
            await self._release(session_id)
        return room

    async def _release(self, session_id: str) -> None:
        try:
            await self._redis.eval(_RELEASE, 1, room_key(session_id), self.node_id)
        except _UNREACHABLE as exc:  # the key expires by itself
            log.warning("room %s: not released in Redis (%s)", session_id, exc)

    async def closed(self, session_id: str) -> None:
        await self._local.closed(session_id)
        await self._release(session_id)

    async def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        for session_id in self._local.running_ids():
            await self.closed(session_id)
        await self._local.close()
        with contextlib.suppress(*_UNREACHABLE):  # shutting down while Redis is away
            # Leaving cleanly: nothing of ours runs, so our silence raises no fence.
            await self._redis.delete(node_key(self.node_id))
            await self._redis.zrem(key("alive"), self.node_id)
            await self._redis.hdel(LOAD_KEY, self.node_id)
        await self._redis.aclose()
