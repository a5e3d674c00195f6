"""Several nodes, one Redis: each session's room runs on exactly one node.

LiveKit's pattern: this router *embeds* the local one. A room is still created
and owned by a :class:`~signaling.router.local.LocalRouter`; Redis only decides
*which node* may do so (``SET NX`` with a TTL, refreshed by a heartbeat) and
tells the others where it went. A browser that reaches another node is refused
with ``moved`` and the owner's URL; REST calls are redirected there. Media must
terminate where the room is, so nothing is proxied.

Today this spreads sessions over several processes sharing one data directory
(one process per core on one machine). Across machines, the store and journal
would also have to be shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis

from signaling.router.base import PlacementUnavailable, RoomElsewhere
from signaling.router.local import LocalRouter
from signaling.session.room import Room

log = logging.getLogger(__name__)

PREFIX = "opentutor"
# Refresh the TTL of a key while it is ours (compare-and-expire); claim it again if it
# is gone (Redis restarted empty, or the key expired while Redis was unreachable), so
# that no other node can start a second copy of a room that runs here. 0: another node
# owns it now.
_REFRESH = """
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if not owner then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
"""
# What a Redis outage raises: a refused connection, a timeout, a reset socket.
_UNREACHABLE = (aioredis.RedisError, OSError, TimeoutError)
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def room_key(session_id: str) -> str:
    return f"{PREFIX}:room:{session_id}"


def node_key(node_id: str) -> str:
    return f"{PREFIX}:node:{node_id}"


class RedisRouter:
    def __init__(
        self,
        local: LocalRouter,
        client: aioredis.Redis,
        *,
        node_id: str,
        node_url: str,
        ttl_s: float = 10.0,
    ) -> None:
        self._local = local
        self._redis = client
        self.node_id = node_id
        self.node_url = node_url
        self._ttl_ms = int(ttl_s * 1000)
        self._heartbeat: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._beat()
        self._heartbeat = asyncio.create_task(self._beat_forever(), name="router-heartbeat")

    async def _beat(self) -> None:
        await self._redis.set(node_key(self.node_id), self.node_url, px=self._ttl_ms)
        for session_id in self._local.running_ids():
            kept = await self._redis.eval(
                _REFRESH, 1, room_key(session_id), self.node_id, self._ttl_ms
            )
            if kept == 2:
                log.warning("room %s claimed again in Redis (its key was gone)", session_id)
            if not kept:
                # Another node took it while we could not reach Redis: two owners
                # now exist. Say so loudly; the operator must look.
                log.error("room %s is no longer owned by node %s", session_id, self.node_id)

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            try:
                await self._beat()
            except _UNREACHABLE as exc:  # Redis down: keep serving local rooms, retry
                log.warning("router heartbeat failed: %s", exc)

    def running(self, session_id: str) -> Room | None:
        return self._local.running(session_id)

    def running_ids(self) -> list[str]:
        return self._local.running_ids()

    async def ping(self) -> None:
        await self._redis.ping()

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

    async def room(self, session_id: str) -> Room | None:
        room = self._local.running(session_id)
        if room is not None:
            return room
        try:
            claimed = await self._redis.set(
                room_key(session_id), self.node_id, nx=True, px=self._ttl_ms
            )
            owner = None if claimed else await self._owner(session_id)
            elsewhere = None if claimed or owner == self.node_id else \
                await self.owner_url(session_id)
        except _UNREACHABLE as exc:
            raise PlacementUnavailable(f"Redis is unreachable: {exc}") from None
        if not claimed and owner != self.node_id:
            raise RoomElsewhere(session_id, elsewhere)
        room = await self._local.room(session_id)
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
            await self._redis.delete(node_key(self.node_id))
        await self._redis.aclose()
