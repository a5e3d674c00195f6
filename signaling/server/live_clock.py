"""The live clock of a session (``GET /api/v1/me/clock``): the credits engine's figures
on the live record, kept per session for :data:`FRESH_S` seconds.

Why a cache: every teacher's page polls, and one computation reads the presence
journal, the evidence rows and several store tables. Within a session every poller
gets the same figures, so one computation per session per :data:`FRESH_S` bounds the
cost whatever the number of pages; concurrent requests share the one in flight. An
entry is keyed by what would make it wrong at once: the session's end (the final
figures are wanted right away) and the policy and calendar versions in effect.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass

from aiohttp import web

from recorder.credits.clock import ClockFigures, clock_figures
from signaling.server.current_settings import calendar_of, policy_of, versions_of
from signaling.server.http_util import services
from signaling.server.session_record import session_record
from signaling.store.sqlite import StoredSession

FRESH_S = 15.0
MAX_ENTRIES = 4096  # sessions live on one node at once, with room to spare


@dataclass
class _Entry:
    key: tuple[object, ...]
    until: float
    task: asyncio.Task[ClockFigures]


# Per application (tests run several apps in one process); gone with the app.
_CACHES: weakref.WeakKeyDictionary[web.Application, dict[str, _Entry]] = (
    weakref.WeakKeyDictionary()
)


async def live_figures(request: web.Request, session: StoredSession) -> ClockFigures:
    """The engine's figures of ``session`` now, at most :data:`FRESH_S` old. Raises
    :class:`~recorder.credits.records.RecordError` when the record does not compute."""
    svc = services(request)
    now = svc.clock.time()
    programme = session.spec.programme
    versions = versions_of(request, programme)
    key = (session.ended_at, versions["policy_version"], versions["calendar_version"])
    cache = _CACHES.setdefault(request.app, {})
    entry = cache.get(session.id)
    if entry is None or entry.key != key or entry.until < now:
        if len(cache) >= MAX_ENTRIES:
            for sid in [s for s, e in cache.items() if e.until < now and e.task.done()]:
                del cache[sid]
            if len(cache) >= MAX_ENTRIES:  # all fresh: drop the oldest rather than grow
                del cache[min(cache, key=lambda s: cache[s].until)]
        policy, calendar = policy_of(request, programme), calendar_of(request)

        async def compute() -> ClockFigures:
            record = await session_record(svc, session)
            return clock_figures(record, policy, calendar, round(svc.clock.time() * 1e6),
                                 ended=session.ended_at is not None)

        entry = _Entry(key, now + FRESH_S, asyncio.ensure_future(compute()))
        cache[session.id] = entry
    try:
        # Shielded: one poller going away must not cancel the others' computation.
        return await asyncio.shield(entry.task)
    except Exception:
        if cache.get(session.id) is entry:
            del cache[session.id]  # an error is not kept: the next poll tries again
        raise
