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

* ``last:<session>`` → "node url" of the node that claimed the room last (long TTL,
  refreshed by its beats, deleted with the claim when the room ends). A lapsed claim is
  not enough to take a room over: see below.

A partition (Redis reachable from some nodes but not from another): from inside, the
cut-off node cannot tell it from Redis being down for everyone (where its rooms must go
on), and from outside its silence looks like a death (where its rooms must move). The
shared presence journal (PostgreSQL, or the shared data directory's SQLite) is the
second witness: every node commits a durable heartbeat to it each second.

* Taking over: a join that finds a room's claim lapsed while ``last:`` names another
  node reads that node's durable heartbeat. Older than :data:`HANDOVER_S`: the node is
  dead or cut off from both, the room is claimed here. Within :data:`SUSPECT_S`: it is
  alive and only Redis is out of its reach, so the join is sent there (``moved``, to
  the URL in ``last:``), where the room still runs. In between: ``unavailable``.
* Giving up: a node whose Redis lease (its last successful beat's send time plus the
  claim TTL, less one beat) *and* durable heartbeat (:data:`HANDOVER_S`, less one beat)
  have both run out stops its rooms (people are disconnected and rejoin wherever the
  session is placed next) one beat before any other node may claim them. Its heartbeat
  never claims again a room whose ``last:`` names another node; a beat that finds its
  room owned by another gives that room up too.

So a session never runs on two nodes, as long as the nodes' clocks agree within a beat
(NTP): the durable heartbeat's time is the writer's clock, read by another node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
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
# A lapsed claim's node must also have missed its durable heartbeat (the shared journal)
# this long before another node takes its room: it may only be cut off from Redis.
HANDOVER_S = CLAIM_TTL_S
LAST_TTL_S = 24 * 3600.0  # ``last:``: outlives any partition worth riding out

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

# The heartbeat. KEYS[5] this node's URL key, KEYS[6] load, KEYS[7..] its rooms, each
# room key followed by its ``last:`` key. ARGV[7] URL, ARGV[8] "rooms draining", ARGV[9]
# ``last:``'s TTL (ms). Returns {fence - now, per room: 1 refreshed, 2 claimed again
# (its key was gone), 0 another node owns it or took it meanwhile}.
_BEAT = _PRELUDE + """
redis.call('SET', KEYS[3], now)
redis.call('ZADD', KEYS[2], now + ttl, me)
redis.call('SET', KEYS[5], ARGV[7], 'PX', ttl)
redis.call('HSET', KEYS[6], me, ARGV[8])
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[5]))
for _, node in ipairs(gone) do redis.call('HDEL', KEYS[6], node) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[5]))
local out = {math.max(0, fence - now)}
local mine = me .. ' ' .. ARGV[7]
for i = 7, #KEYS, 2 do
  local owner = redis.call('GET', KEYS[i])
  local last = redis.call('GET', KEYS[i + 1])
  local taken = last and string.match(last, '^(%S+)') ~= me
  if owner == me then
    redis.call('PEXPIRE', KEYS[i], ttl)
    redis.call('SET', KEYS[i + 1], mine, 'PX', ARGV[9])
    out[#out + 1] = 1
  elseif not owner and not taken then
    redis.call('SET', KEYS[i], me, 'PX', ttl)
    redis.call('SET', KEYS[i + 1], mine, 'PX', ARGV[9])
    out[#out + 1] = 2
  else
    -- Another node runs it, or ran it since (and maybe ended it): never claim it back.
    out[#out + 1] = 0
  end
end
return out
"""

# A join. KEYS[5] the room key, KEYS[6] its ``last:`` key. ARGV[7] "1" to claim a free
# room, "0" only to look; ARGV[8] this node's URL; ARGV[9] ``last:``'s TTL (ms); ARGV[10]
# a last owner the caller found gone ("": none). Returns {'settling', ms left} |
# {'ours'} | {'claimed'} | {'free'} | {'orphan', "node url" of the last owner} |
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
local last = redis.call('GET', KEYS[6])
if last then
  local node = string.match(last, '^(%S+)')
  if node ~= me and node ~= ARGV[10] then return {'orphan', last} end
end
redis.call('SET', KEYS[5], me, 'PX', ttl)
redis.call('SET', KEYS[6], me .. ' ' .. ARGV[8], 'PX', ARGV[9])
return {'claimed'}
"""

# Readiness: the guard (which may raise the fence), then how long placement settles.
_FENCE = _PRELUDE + """
return math.max(0, fence - now)
"""

# KEYS[1] the room key, KEYS[2] its ``last:`` key; ARGV[1] this node.
_RELEASE = """
local last = redis.call('GET', KEYS[2])
if last and string.match(last, '^(%S+)') == ARGV[1] then redis.call('DEL', KEYS[2]) end
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


def last_key(session_id: str) -> str:
    return key(f"last:{session_id}")


def node_key(node_id: str) -> str:
    return key(f"node:{node_id}")


EPOCH_KEY = key("epoch")  # gone = Redis lost our data (see the module's docstring)
_GUARD_KEYS = (EPOCH_KEY, key("alive"), key("last_beat"), key("fence"))
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
        handover_s: float = HANDOVER_S,
        durable_age: Callable[[], float] | None = None,
        beat_age: Callable[[str], Awaitable[float | None]] | None = None,
        step_down: Callable[[str], Awaitable[None]] | None = None,
        place_least_loaded: bool = False,
    ) -> None:
        """``durable_age``: seconds since this node's last durable heartbeat in the
        shared journal; ``beat_age``: the same for another node (``None``: never seen
        there); ``step_down``: disconnect the people of a room this node gives up. Without
        the first two, a lapsed claim is taken over at once and a node cut off from Redis
        keeps its rooms (a single Redis outage is ridden out either way)."""
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
        self._watchdog: asyncio.Task[None] | None = None
        self._handover_s = handover_s
        self._durable_age = durable_age
        self._beat_age = beat_age
        self._step_down = step_down
        self._least_loaded = place_least_loaded
        # Until when (monotonic) no other node can have claimed a room of ours: the last
        # successful beat's *send* time (Redis refreshed the claims later than that) plus
        # the TTL, less one beat for the clocks' drift and the time giving up takes.
        self._lease_until = -math.inf
        self._last_ms = int(LAST_TTL_S * 1000)

    async def start(self) -> None:
        """First beat; if placement is settling (Redis was empty), wait it out, so that
        the first joins of a node that just started are not refused."""
        settling_ms = await self._beat()
        self._heartbeat = asyncio.create_task(self._beat_forever(), name="router-heartbeat")
        if self._durable_age is not None:
            self._watchdog = asyncio.create_task(self._watch_lease(), name="router-lease")
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
        sent = time.monotonic()
        out = await self._redis.eval(
            _BEAT, 6 + 2 * len(running), *_GUARD_KEYS, node_key(self.node_id), LOAD_KEY,
            *(k for s in running for k in (room_key(s), last_key(s))), *self._guard(),
            self.node_url, status, self._last_ms,
        )
        self._lease_until = sent + (self._ttl_ms / 1000) - self._beat_s
        settling_ms, kept = int(out[0]), out[1:]
        for session_id, result in zip(running, kept, strict=True):
            if result == 2:
                log.warning("room %s claimed again in Redis (its key was gone)", session_id)
            elif result == 0:
                # Another node took it (or took it and ended it) while we could not
                # reach Redis: ours must stop, people rejoin where it runs now.
                log.error("room %s is owned by another node since: giving it up", session_id)
                await self._give_up(session_id)
        return settling_ms

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self._beat_s)
            try:
                await self._beat()
            except _UNREACHABLE as exc:  # Redis down: keep serving local rooms, retry
                log.warning("router heartbeat failed: %s", exc)

    async def _watch_lease(self) -> None:
        """Give every room up once neither Redis nor the shared journal has heard from
        this node for long enough that another node may take its rooms over (a beat
        that fails can take two Redis timeouts: this looks four times a beat)."""
        assert self._durable_age is not None
        margin = self._beat_s
        while True:
            await asyncio.sleep(self._beat_s / 4)
            running = self._local.running_ids()
            if not running or time.monotonic() < self._lease_until:
                continue
            age = self._durable_age()
            if age < self._handover_s - margin:
                continue  # only Redis is out of reach: other nodes send people here
            log.error("cut off from Redis and the journal (durable heartbeat %.1f s ago): "
                      "giving up %d room(s) before another node may take them over",
                      age, len(running))
            await asyncio.gather(*(self._give_up(s) for s in running))

    async def _give_up(self, session_id: str) -> None:
        """Stop our copy of a room without ending the session: its people are
        disconnected and rejoin with the same links wherever it is placed next."""
        if self._local.running(session_id) is None:
            return
        if self._step_down is not None:
            try:
                await self._step_down(session_id)
            except Exception:
                log.exception("room %s: disconnecting its people failed", session_id)
        await self._local.closed(session_id)

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

    async def peers(self) -> dict[str, str]:
        try:
            now_s, _ = await self._redis.time()
            alive = await self._redis.zrangebyscore(key("alive"), now_s * 1000, "+inf")
            names = (_text(raw) if isinstance(raw, bytes | str) else None for raw in alive)
            others = [n for n in names if n and n != self.node_id]
            urls = await self._redis.mget([node_key(n) for n in others]) if others else []
        except _UNREACHABLE as exc:
            raise PlacementUnavailable(f"Redis is unreachable: {exc}") from None
        # A node whose URL key lapsed (it stopped beating) is not asked.
        return {n: u for n, u in zip(others, (_text(u) for u in urls), strict=True) if u}

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

    async def _send_to_a_less_loaded_node(self, session_id: str) -> None:
        """Workers of one machine (``serve --workers``): a room no node runs yet goes to
        the live node running the fewest, by raising :class:`RoomElsewhere` (moved), when
        that node runs at least two fewer than this one. Both counts come from the one
        load table in Redis (every node's heartbeat), not this node's own live count: two
        nodes reading the same table never send a join to each other, where a fresh
        count against a second-old one did (a join bounced until the browser gave up)."""
        if await self._owner(session_id) is not None:
            return  # placed: the claim below says where
        loads = await self.loads()
        mine = next((n.rooms for n in loads if n.node_id == self.node_id), 0)
        if mine < 2:
            return
        lighter = sorted((n.rooms, n.node_id) for n in loads
                         if not n.draining and n.node_id != self.node_id and n.rooms + 2 <= mine)
        for _, node in lighter:
            url = _text(await self._redis.get(node_key(node)))
            if url:
                raise RoomElsewhere(session_id, url)

    async def room(self, session_id: str) -> Room | None:
        room = self._local.running(session_id)
        if room is not None:
            return room
        claim = not self._local.draining
        try:
            if claim and self._least_loaded:
                await self._send_to_a_less_loaded_node(session_id)
            out = await self._redis.eval(
                _CLAIM, 6, *_GUARD_KEYS, room_key(session_id), last_key(session_id),
                *self._guard(), int(claim), self.node_url, self._last_ms, "")
            verdict = _text(out[0])
            if verdict == "orphan":
                gone = await self._judge_last_owner(session_id, _text(out[1]) or "")
                out = await self._redis.eval(
                    _CLAIM, 6, *_GUARD_KEYS, room_key(session_id), last_key(session_id),
                    *self._guard(), int(claim), self.node_url, self._last_ms, gone)
                verdict = _text(out[0])
                if verdict == "orphan":  # claimed and lapsed again meanwhile: next time
                    raise PlacementUnavailable(f"session {session_id} is changing nodes")
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
        elif self._least_loaded:
            # Placement by load reads this table: publish the new count now, not at the
            # next heartbeat, so that a burst of joins (18:00) spreads at once.
            with contextlib.suppress(*_UNREACHABLE):
                await self._redis.hset(LOAD_KEY, self.node_id, f"{len(self._local.running_ids())}"
                                       f" {int(self._local.draining)}")
        return room

    async def _judge_last_owner(self, session_id: str, last: str) -> str:
        """The room's claim lapsed, and ``last`` ("node url") ran it last. Returns that
        node if it is gone (its durable heartbeat is older than the hand-over time, or
        there is no shared journal to tell); else refuses the join: ``moved`` there while
        it beats, ``unavailable`` while its silence is still short."""
        node, _, url = last.partition(" ")
        age = await self._beat_age(node) if self._beat_age is not None else None
        if age is None or age > self._handover_s:
            return node
        if age <= self._suspect_ms / 1000 and url:
            # Alive, but cut off from Redis: the room still runs there.
            raise RoomElsewhere(session_id, url)
        raise PlacementUnavailable(
            f"session {session_id} ran on node {node}, whose claim lapsed but whose durable "
            f"heartbeat is {age:.1f} s old: it is placed again once that passes "
            f"{self._handover_s:.0f} s")

    async def _release(self, session_id: str) -> None:
        try:
            await self._redis.eval(_RELEASE, 2, room_key(session_id), last_key(session_id),
                                   self.node_id)
        except _UNREACHABLE as exc:  # the key expires by itself
            log.warning("room %s: not released in Redis (%s)", session_id, exc)

    async def closed(self, session_id: str) -> None:
        await self._local.closed(session_id)
        await self._release(session_id)

    async def close(self) -> None:
        for task in (self._heartbeat, self._watchdog):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for session_id in self._local.running_ids():
            await self.closed(session_id)
        await self._local.close()
        with contextlib.suppress(*_UNREACHABLE):  # shutting down while Redis is away
            # Leaving cleanly: nothing of ours runs, so our silence raises no fence.
            await self._redis.delete(node_key(self.node_id))
            await self._redis.zrem(key("alive"), self.node_id)
            await self._redis.hdel(LOAD_KEY, self.node_id)
        await self._redis.aclose()
