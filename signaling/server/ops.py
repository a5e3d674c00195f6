"""Operator signals: ``/readyz`` (can this node take sessions now, and if not, why) and
``/metrics`` (Prometheus text, per node). ``/healthz`` stays "the process answers".

Readiness checks what a session needs from this node: the database answers, the
presence journal's durable heartbeat is recent, Redis answers when rooms are placed
through it, the data directory has room for recordings, and the web client is
complete. Each check is reported with its figure, so a 503 says which one failed.
A draining node (``opentutor drain``) is not ready whatever its checks say:
``"state": "draining"`` (then ``"drained"``), with the rooms it still runs.

Metrics are read at scrape time from the rooms this node runs (no counters on the
forward path) through a collector of the app's own registry, so that two apps in one
process (the tests) never share a metric.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import os
import shutil
import signal
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from recorder.media.recording import STATS
from rtc import memory
from rtc.peer import COLLECTOR, PEER_CONNECTIONS
from signaling.server import drain as drain_mod
from signaling.server import leaks, web_assets
from signaling.server.access import viewer
from signaling.server.drain import DRAIN
from signaling.server.http_util import SERVICES, error
from signaling.server.services import Services
from signaling.server.web_assets import WEB_DIR

routes = web.RouteTableDef()

MIN_FREE_BYTES = 1 << 30  # below 1 GiB free, recordings would fail within the evening
JOURNAL_MAX_AGE_S = 10.0  # the heartbeat commits every second; ten missed is a failure
CHECK_TIMEOUT_S = 2.0
LAG_EVERY_S = 0.5
# Debugging memory growth only (bench/soak.py sets it): the N most numerous object
# types in the process, by a gc.get_objects() walk at each scrape (tens of ms at a few
# hundred MB, so never on by default), and glibc's heap: bytes in use, and free but kept.
DEBUG_OBJECTS = int(os.environ.get("OPENTUTOR_DEBUG_OBJECTS", "0") or 0)
# Debugging memory growth only: SIGUSR2 writes into this directory what holds the
# closed peer connections still in memory (signaling/server/leaks.py: a full collection
# and a referrer walk, seconds at a few hundred MB), and, with CPython's own
# PYTHONTRACEMALLOC=N (tracing from start-up), a tracemalloc snapshot (bench/soak.py
# --tracemalloc compares the warm-up's with the last one). Off (the default), nothing
# is installed.
DEBUG_SNAPSHOTS = os.environ.get("OPENTUTOR_DEBUG_SNAPSHOTS", "")

LOOP_LAG = web.AppKey("loop_lag", list)  # [seconds], the last measured event-loop lag
REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)


async def _check(name: str, probe: Any) -> tuple[str, dict[str, Any]]:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe(), CHECK_TIMEOUT_S)
    except Exception as exc:  # a failed check is a 503 with the reason, never a 500
        reason = str(exc) or type(exc).__name__
        return name, {"ok": False, "error": reason[:200]}
    ms = round((time.perf_counter() - started) * 1e3, 2)
    return name, {"ok": True, "ms": ms, **(detail or {})}


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    svc: Services = request.app[SERVICES]

    async def database() -> None:
        await svc.store.session("__readyz__")

    async def journal() -> dict[str, Any]:
        age = svc.clock.time() - svc.journal.last_durable
        if age > JOURNAL_MAX_AGE_S:
            raise RuntimeError(f"last durable heartbeat {age:.0f} s ago")
        return {"age_s": round(age, 3)}

    async def redis() -> dict[str, Any]:
        if not svc.config.redis_url:
            return {"configured": False}
        await svc.router.ping()
        return {"configured": True}

    async def disk() -> dict[str, Any]:
        free = shutil.disk_usage(svc.config.data_dir).free
        if free < MIN_FREE_BYTES:
            raise RuntimeError(f"{free >> 20} MiB free in the data directory")
        return {"free_mib": free >> 20}

    async def web_client() -> None:
        missing = web_assets.missing(request.app[WEB_DIR])
        if missing:
            raise RuntimeError("missing: " + ", ".join(missing))

    checks = dict(await asyncio.gather(
        _check("database", database), _check("journal", journal), _check("redis", redis),
        _check("disk", disk), _check("web", web_client),
    ))
    healthy = all(c["ok"] for c in checks.values())
    drain = request.app[DRAIN]
    ready = healthy and not drain.draining
    body: dict[str, Any] = {
        "ready": ready, "state": drain.state if drain.draining else (
            "ready" if ready else "not_ready"),
        "node": svc.config.node_id, "checks": checks,
    }
    if drain.draining:
        body["draining"] = drain.wire(request.app)
    return web.json_response(body, status=200 if ready else 503)


class _NodeCollector:
    """What this node runs, read when Prometheus scrapes."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    def collect(self) -> Iterator[Metric]:
        svc: Services = self._app[SERVICES]
        node = svc.config.node_id
        rooms = [r for sid in svc.router.running_ids() if (r := svc.router.running(sid))]

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            family = GaugeMetricFamily(name, doc, labels=["node"])
            family.add_metric([node], value)
            return family

        def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
            family = CounterMetricFamily(name, doc, labels=["node"])
            family.add_metric([node], value)
            return family

        yield gauge("opentutor_rooms", "Session rooms running on this node", len(rooms))
        yield gauge("opentutor_draining", "1 while this node drains (takes no new room)",
                    float(self._app[DRAIN].draining))
        yield gauge("opentutor_people_present", "People present in those rooms",
                    sum(len(r.present()) for r in rooms))
        publishers = subscribers = 0
        sent = dropped = frames_in = pli = 0
        for room in rooms:
            for person in room.media_snapshot().people.values():
                publishers += bool(person.published)
                subscribers += bool(person.subscriptions)
                for slot in person.slots.values():
                    sent += slot.frames_sent
                    dropped += slot.frames_dropped
                for source in person.sources.values():
                    frames_in += source.frames_in
                    pli += source.pli_sent
        yield gauge("opentutor_publishers", "People whose media is forwarded now", publishers)
        yield gauge("opentutor_subscribers", "People receiving at least one stream", subscribers)
        yield gauge("opentutor_frames_forwarded", "Frames sent to subscribers by running "
                    "rooms (resets when a room ends)", sent)
        yield gauge("opentutor_frames_dropped", "Frames dropped for subscribers behind "
                    "(resets when a room ends)", dropped)
        yield gauge("opentutor_frames_received", "Frames received from publishers "
                    "(resets when a room ends)", frames_in)
        yield gauge("opentutor_pli_sent", "Keyframe requests sent to publishers "
                    "(resets when a room ends)", pli)
        lag = self._app.get(LOOP_LAG, [0.0])[0]
        yield gauge("opentutor_event_loop_lag_seconds", "How late the event loop woke a "
                    f"{LAG_EVERY_S} s timer, last measured", lag)
        age = svc.clock.time() - svc.journal.last_durable
        yield gauge("opentutor_journal_lag_seconds", "Age of the presence journal's last "
                    "durable heartbeat", age if age != float("inf") else -1.0)
        for key in ("errors", "frames_written", "frames_dropped", "segments", "fsyncs"):
            yield counter(f"opentutor_recording_{key}", f"Recording writer: {key}",
                          float(STATS.get(key, 0)))
        yield from self._process(gauge)

    def _process(self, gauge: Any) -> Iterator[Metric]:
        """Process-level gauges for leak hunting: tasks, peer connections, the collector."""
        yield gauge("opentutor_asyncio_tasks", "asyncio tasks alive in this process",
                    len(asyncio.all_tasks()))
        pcs = list(PEER_CONNECTIONS)
        yield gauge("opentutor_peer_connections", "Server peer connections not closed",
                    sum(1 for pc in pcs if pc.connectionState != "closed"))
        yield gauge("opentutor_peer_connections_in_memory", "Server peer connections still "
                    "in memory, closed ones included (those wait for the garbage collector)",
                    len(pcs))
        collections_family = GaugeMetricFamily(
            "opentutor_gc_collections", "Garbage collections run, by generation",
            labels=["node", "generation"])
        for generation, stats in enumerate(gc.get_stats()):
            collections_family.add_metric(
                [self._app[SERVICES].config.node_id, str(generation)],
                float(stats["collections"]))
        yield collections_family
        yield gauge("opentutor_gc_teardown_collections", "Full collections run after peer "
                    "connections were torn down (rtc/peer.py)", COLLECTOR.runs)
        yield gauge("opentutor_gc_teardown_seconds_last", "How long the last of them "
                    "stopped the event loop", COLLECTOR.last_s)
        yield gauge("opentutor_gc_teardown_seconds_max", "The longest of them", COLLECTOR.max_s)
        yield gauge("opentutor_malloc_trims", "malloc_trim(0) calls after those collections "
                    "(glibc: free heap pages back to the system)", COLLECTOR.trims)
        yield gauge("opentutor_malloc_trim_seconds_last", "How long the last malloc_trim "
                    "stopped the event loop", COLLECTOR.trim_last_s)
        yield gauge("opentutor_malloc_trim_seconds_max", "The longest of them",
                    COLLECTOR.trim_max_s)
        if DEBUG_OBJECTS > 0:
            counts = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
            family = GaugeMetricFamily("opentutor_debug_objects", "Objects tracked by the "
                                       "garbage collector, by type (debug)", labels=["type"])
            for name, n in counts.most_common(DEBUG_OBJECTS):
                family.add_metric([name], float(n))
            yield family
            yield from _heap_gauges(gauge)


def _heap_gauges(gauge: Any) -> Iterator[Metric]:
    """glibc's heap and CPython's tracemalloc, for telling apart memory in use (a leak)
    from memory freed but kept (fragmentation) (debug: mallinfo2 walks the free lists)."""
    heap = memory.mallinfo()
    if heap is not None:
        yield gauge("opentutor_debug_malloc_in_use_bytes", "malloc: bytes allocated",
                    heap["in_use"])
        yield gauge("opentutor_debug_malloc_free_bytes", "malloc: bytes free in its heap",
                    heap["free"])
        yield gauge("opentutor_debug_malloc_mmap_bytes", "malloc: bytes in mmap'd chunks",
                    heap["mmap"])
    if tracemalloc.is_tracing():
        yield gauge("opentutor_debug_traced_bytes", "tracemalloc: bytes Python allocated",
                    tracemalloc.get_traced_memory()[0])


@routes.get("/api/v1/webhooks")
async def webhooks_state(request: web.Request) -> web.Response:
    """Delivery state of the webhooks: queued, delivered, and the dead letters. For the
    platform (API key) and the city office's staff (the console's System page): the
    letters name sessions of every district, so a district or school is refused 403."""
    scope = await viewer(request)
    if isinstance(scope, web.Response):
        return scope
    if scope.level != "city":
        return error(403, "forbidden", "the webhook delivery state is for the city office")
    hooks = request.app[SERVICES].webhooks
    if hooks is None:
        return web.json_response({"configured": False})
    return web.json_response({
        "configured": True, "url": hooks.url, "queued": hooks.queued,
        "delivered": hooks.delivered, "dead": list(hooks.dead),
    })


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})


def install(app: web.Application) -> None:
    """Routes, the app's own metrics registry, the event-loop lag probe, and draining
    (``POST /api/v1/node/drain``, :mod:`signaling.server.drain`)."""
    drain_mod.install(app)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_NodeCollector(app))
    app[REGISTRY] = registry
    app[LOOP_LAG] = [0.0]
    app.add_routes(routes)
    app.cleanup_ctx.append(_lag_probe)


async def _lag_probe(app: web.Application) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    lag: list[float] = app[LOOP_LAG]

    async def probe() -> None:
        while True:
            planned = loop.time() + LAG_EVERY_S
            await asyncio.sleep(LAG_EVERY_S)
            lag[0] = max(0.0, loop.time() - planned)

    task = asyncio.create_task(probe(), name="event-loop-lag")
    snapshots = bool(DEBUG_SNAPSHOTS)
    if snapshots:
        loop.add_signal_handler(signal.SIGUSR2, _dump_snapshot)
    yield
    if snapshots:
        loop.remove_signal_handler(signal.SIGUSR2)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _dump_snapshot() -> None:
    """SIGUSR2 (debug): write what holds closed peer connections (signaling/server/
    leaks.py), and a tracemalloc snapshot if tracing (seconds at a few hundred MB)."""
    stamp = f"{time.time():.0f}"
    (Path(DEBUG_SNAPSHOTS) / f"closed-pcs-{stamp}.txt").write_text(leaks.report())
    if tracemalloc.is_tracing():
        path = Path(DEBUG_SNAPSHOTS) / f"snapshot-{stamp}.tracemalloc"
        tracemalloc.take_snapshot().dump(str(path))
