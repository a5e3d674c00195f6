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

from signaling.router.base import RoomElsewhere
from signaling.router.local import LocalRouter
from signaling.session.room import Room

log = logging.getLogger(__name__)

PREFIX = "opentutor"
# Refresh the TTL of a key only while it is still ours (compare-and-expire).
_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
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
            if not kept:
                # Another node took it while we could not reach Redis: two owners
                # now exist. Say so loudly; the operator must look.
                log.error("room %s is no longer owned by node %s", session_id, self.node_id)

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            try:
                await self._beat()
            except Exception:  # Redis down: keep serving local rooms, retry
                log.exception("router heartbeat failed")

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
        owner = await self._owner(session_id)
        if owner is None or owner == self.node_id:
            return None
        return _text(await self._redis.get(node_key(owner)))

    async def room(self, session_id: str) -> Room | None:
        room = self._local.running(session_id)
        if room is not None:
            return room
        claimed = await self._redis.set(
            room_key(session_id), self.node_id, nx=True, px=self._ttl_ms
        )
        if not claimed:
            owner = await self._owner(session_id)
            if owner != self.node_id:
                raise RoomElsewhere(session_id, await self.owner_url(session_id))
        room = await self._local.room(session_id)
        if room is None:
            await self._release(session_id)
        return room

    async def _release(self, session_id: str) -> None:
        await self._redis.eval(_RELEASE, 1, room_key(session_id), self.node_id)

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
        await self._redis.delete(node_key(self.node_id))
        await self._redis.aclose()
