"""Debugging memory growth only: what keeps closed peer connections in memory.

A closed ``RTCPeerConnection`` that is still in memory after a full collection is held by
something alive. :func:`report` walks ``gc.get_referrers`` back from a few of them to
whatever holds them (a module, a running task, an object moved out of the collector's
reach by ``gc.freeze()``) and prints each path, so the soak's "peer connections in
memory" can be explained rather than guessed at. Seconds at a few hundred MB, and it
stops the event loop meanwhile: never on by default (``signaling/server/ops.py`` runs it
on SIGUSR2 when ``OPENTUTOR_DEBUG_SNAPSHOTS`` names a directory).
"""

from __future__ import annotations

import asyncio
import gc
import sys
import types
from collections import deque
from typing import Any

from aiortc import RTCPeerConnection

MAX_DEPTH = 14
MAX_PATHS = 6


def closed_peer_connections() -> list[RTCPeerConnection]:
    gc.collect()
    return [o for o in gc.get_objects()
            if isinstance(o, RTCPeerConnection) and o.connectionState == "closed"]


def _label(obj: Any) -> str:
    if isinstance(obj, types.FrameType):
        return f"frame {obj.f_code.co_qualname}:{obj.f_lineno}"
    if isinstance(obj, types.FunctionType):
        return f"function {obj.__qualname__}"
    if isinstance(obj, types.MethodType):
        return f"bound method {obj.__func__.__qualname__}"
    if isinstance(obj, types.CoroutineType):
        return f"coroutine {obj.__qualname__}"
    if isinstance(obj, asyncio.Task):
        return f"task {obj.get_name()} ({obj.get_coro()!r:.80})"
    if isinstance(obj, dict):
        return f"dict({len(obj)})"
    if isinstance(obj, (list, tuple, set, deque)):
        return f"{type(obj).__name__}({len(obj)})"
    return type(obj).__module__ + "." + type(obj).__qualname__


def _edge(holder: Any, held: Any) -> str:
    """How ``holder`` refers to ``held``, as far as it can be told."""
    if isinstance(holder, dict):
        for key, value in holder.items():
            if value is held:
                return f"[{key!r:.60}]"
            if key is held:
                return "(a key)"
    if isinstance(holder, (list, tuple)):
        for i, value in enumerate(holder):
            if value is held:
                return f"[{i}]"
    if isinstance(holder, types.CellType):
        return ".cell_contents"
    if getattr(holder, "__dict__", None) is held:
        return ".__dict__"
    return ""


def _ours(obj: Any) -> bool:
    """This module's own frames (they hold the targets as locals)."""
    return isinstance(obj, types.FrameType) and obj.f_code.co_filename == __file__


def _is_root(obj: Any, tracked: set[int], modules: set[int], tasks: set[int]) -> str | None:
    if id(obj) in modules:
        return "module globals"
    if id(obj) in tasks:
        return "a running task"
    if id(obj) not in tracked and gc.is_tracked(obj):
        # Tracked yet not listed: moved to the permanent generation by gc.freeze().
        # (Containers the collector does not track at all are walked through.)
        return "frozen at start-up (lives as long as the process)"
    return None


def paths_to(target: Any, skip: set[int]) -> list[str]:
    """Up to MAX_PATHS descriptions of how ``target`` is reached from a root. Containers
    made here are skipped by id, and no tuple is made per step (it would refer back)."""
    tracked = {id(o) for o in gc.get_objects()}  # frozen objects are not listed
    modules = {id(m.__dict__) for m in list(sys.modules.values()) if m is not None}
    tasks = {id(t) for t in asyncio.all_tasks()}
    held: dict[int, Any] = {}  # id(holder) → what it holds, on the way to the target
    seen: dict[int, Any] = {id(target): target}
    depth: dict[int, int] = {id(target): 0}
    queue: deque[Any] = deque([target])
    skip = skip | {id(tracked), id(modules), id(tasks), id(held), id(seen), id(depth),
                   id(queue)}
    found: list[str] = []
    while queue and len(found) < MAX_PATHS:
        obj = queue.popleft()
        root = _is_root(obj, tracked, modules, tasks) if obj is not target else None
        if root is not None or depth[id(obj)] >= MAX_DEPTH:
            found.append(_describe(obj, held, root or f"(depth {MAX_DEPTH} reached)"))
            continue
        referrers = gc.get_referrers(obj)
        for holder in referrers:
            if id(holder) in skip or id(holder) in seen or holder is referrers or _ours(holder):
                continue
            seen[id(holder)] = holder
            held[id(holder)] = obj
            depth[id(holder)] = depth[id(obj)] + 1
            queue.append(holder)
        if not referrers and obj is not target:
            found.append(_describe(obj, held, "held only from C (no tracked referrer)"))
        del referrers
    return found


def _describe(end: Any, held: dict[int, Any], root: str) -> str:
    steps = []
    obj: Any = end
    while obj is not None:
        inner = held.get(id(obj))
        steps.append(_label(obj) + (_edge(obj, inner) if inner is not None else ""))
        obj = inner
    return f"{root}: " + " -> ".join(steps)


def report(limit: int = 3) -> str:
    closed = closed_peer_connections()
    alive = sum(1 for o in gc.get_objects() if isinstance(o, RTCPeerConnection))
    lines = [f"peer connections in memory after a full collection: {alive}, "
             f"of which closed: {len(closed)}"]
    skip = {id(closed)}
    for i in range(min(limit, len(closed))):
        pc = closed[i]
        lines.append(f"\n{pc!r}:")
        lines.extend("  " + p for p in paths_to(pc, skip))
    del closed
    return "\n".join(lines) + "\n"
