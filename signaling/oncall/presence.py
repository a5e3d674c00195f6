"""Who is on duty, shared across nodes: one interface, two back ends (like the router).

:class:`MemoryPresence` for a single node; :class:`RedisPresence` when ``--redis-url``
is set, so a student on any node sees every teacher on duty. Each node publishes the
teachers connected to it; an entry lives in Redis for :data:`TTL_S` seconds and the
node refreshes it every :data:`REFRESH_S`, so a node that dies takes its teachers off
the list within seconds instead of leaving ghosts a student would call in vain.

Calls themselves are handled by the switchboard of the node the teacher is connected
to (the entry names it); see ``service`` for what that means across nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
TTL_S = 30
REFRESH_S = 10.0
_KEY = "opentutor:oncall:teacher:"


@dataclass(frozen=True)
class OnDuty:
    """A teacher as students see them: no id of the school, just names."""

    teacher: str
    name: str
    school: str
    district: str
    subjects: tuple[str, ...]
    grades: tuple[str, ...]
    rating: float | None
    state: str  # "on_duty" (free), "busy" (ringing or in a session)
    waiting: int
    node: str
    since: float

    def wire(self) -> dict[str, Any]:
        out = asdict(self)
        out["subjects"], out["grades"] = list(self.subjects), list(self.grades)
        return out

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> OnDuty:
        return cls(**{**data, "subjects": tuple(data["subjects"]),
                      "grades": tuple(data["grades"])})


class Presence(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def put(self, entry: OnDuty) -> None: ...
    async def remove(self, teacher: str) -> None: ...
    async def all(self) -> list[OnDuty]: ...


class MemoryPresence:
    def __init__(self) -> None:
        self._entries: dict[str, OnDuty] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def put(self, entry: OnDuty) -> None:
        self._entries[entry.teacher] = entry

    async def remove(self, teacher: str) -> None:
        self._entries.pop(teacher, None)

    async def all(self) -> list[OnDuty]:
        return list(self._entries.values())


class RedisPresence:
    """Entries in Redis with a TTL, refreshed by the node that holds the teacher.
    While Redis is away the list falls back to this node's own teachers (logged once)."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client
        self._mine = MemoryPresence()
        self._task: asyncio.Task[None] | None = None
        self._warned = False

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._refresh_loop())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for entry in await self._mine.all():
            await self.remove(entry.teacher)
        await self._redis.aclose()

    async def put(self, entry: OnDuty) -> None:
        await self._mine.put(entry)
        await self._write(entry)

    async def remove(self, teacher: str) -> None:
        await self._mine.remove(teacher)
        with contextlib.suppress(RedisError, OSError):
            await self._redis.delete(_KEY + teacher)

    async def all(self) -> list[OnDuty]:
        try:
            keys = [k async for k in self._redis.scan_iter(match=_KEY + "*", count=500)]
            values = await self._redis.mget(keys) if keys else []
            self._warned = False
        except (RedisError, OSError) as exc:
            self._warn(exc)
            return await self._mine.all()
        out = []
        for raw in values:
            if raw is None:  # expired between SCAN and MGET
                continue
            with contextlib.suppress(ValueError, TypeError, KeyError):
                out.append(OnDuty.from_wire(json.loads(raw)))
        return out

    async def _write(self, entry: OnDuty) -> None:
        try:
            await self._redis.set(_KEY + entry.teacher, json.dumps(entry.wire()), ex=TTL_S)
        except (RedisError, OSError) as exc:
            self._warn(exc)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_S)
            for entry in await self._mine.all():
                await self._write(entry)

    def _warn(self, exc: Exception) -> None:
        if not self._warned:
            log.warning("on-duty presence: Redis unavailable (%s): listing this node's "
                        "teachers only", exc)
            self._warned = True
