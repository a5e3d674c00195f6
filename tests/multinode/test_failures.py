"""Failures on namespaced nodes (tests/multinode/topology.py), each node its own
"machine" sharing one Redis and one PostgreSQL:

* SIGKILL of the node running a session: its people reconnect with the same links
  (the link's node first, as the browser does) and land on the live node; the record's
  ``active`` intervals are right across the move.
* A partition: the node running a session loses its network to Redis and PostgreSQL
  while its people still reach it. What must happen (signaling/router/redis.py): the
  room goes on for the people in it while the node may still hold it; the node turns
  not-ready; before any other node may take the room over it gives the room up (its
  people are disconnected); they rejoin on the live node; once healed, the cut-off node
  does not claim the room back and sends joins there (``moved``); and at no moment does
  the session run on two nodes (both nodes' ``opentutor_rooms`` watched every 50 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Iterator

import aiohttp
import pytest
import redis
import socketio

from signaling.router.redis import last_key, room_key
from tests.conftest import create_database
from tests.multinode.topology import Node, Topology
from tests.recording_support import Publisher, api
from tests.signaling.test_node_death import first_frame, rejoin, ts, until
from tests.support import ONE_TO_ONE, Peer, token_of

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def pair(net: Topology, request: pytest.FixtureRequest,
         client_media: None) -> Iterator[tuple[Node, Node, redis.Redis]]:
    """Two fresh nodes of this test's own (a database and a Redis database of their own)."""
    db = 3 if "kill" in request.node.name else 4
    prefix = "kill" if db == 3 else "part"
    a, b = net.start_nodes([f"{prefix}-a", f"{prefix}-b"],
                           database_url=create_database(net.postgres_url), redis_db=db)
    client = redis.Redis.from_url(net.redis_url.rsplit("/", 1)[0] + f"/{db}")
    try:
        yield a, b, client
    finally:
        client.close()
        for node in (a, b):
            node.stop()


def both_ways(t: Publisher, s: Publisher) -> bool:
    assert t.client is not None and s.client is not None
    return t.client.frames("s1", "video") > 20 and s.client.frames("t1", "video") > 20


async def test_kill_the_rooms_node(pair: tuple[Node, Node, redis.Redis]) -> None:
    a, b, client = pair
    people: list[Publisher] = []
    try:
        status, created = await api(b.base, "POST", "/api/v1/sessions", ONE_TO_ONE)
        assert status == 201
        session = created["session_id"]
        tokens = {p: token_of(u) for p, u in created["join_urls"].items()}
        teacher = await Publisher.join(a.base, tokens["t1"], "t1")
        student = await Publisher.join(a.base, tokens["s1"], "s1")
        people += [teacher, student]
        assert client.get(room_key(session)) == b"kill-a"
        await until(lambda: both_ways(teacher, student), 30, "media both ways on a")
        await asyncio.sleep(2.0)  # durable heartbeats with both active

        killed_at, killed_mono = time.time(), time.monotonic()
        await asyncio.to_thread(a.kill)
        await until(lambda: not teacher.peer.sio.connected and not student.peer.sio.connected,
                    30, "the clients see the node gone")
        for gone in people:
            await gone.close()
        people.clear()
        (teacher, t_answers), (student, s_answers) = await asyncio.gather(
            rejoin([a.base, b.base], tokens["t1"], "t1", killed_mono),
            rejoin([a.base, b.base], tokens["s1"], "s1", killed_mono))
        people += [teacher, student]
        for rejoined in (teacher, student):
            assert rejoined.peer.sio.connection_url.startswith(b.base)
        assert client.get(room_key(session)) == b"kill-b"
        await until(lambda: first_frame(teacher, "s1") is not None
                    and first_frame(student, "t1") is not None, 30, "media both ways on b")
        back = max(first_frame(teacher, "s1") or 0, first_frame(student, "t1") or 0)
        print(f"\nSIGKILL (namespaced nodes): back on {b.node_id} with video after "
              f"{back - killed_mono:.1f} s; refused: "
              f"{sorted(c for c, _ in t_answers + s_answers)}")
        assert {c for c, _ in t_answers + s_answers} <= {"unreachable", "unavailable", "moved"}

        assert (await teacher.peer.call("end"))["ok"]
        ended = time.time()
        await student.peer.wait_for("ended")
        status, record = await api(b.base, "GET", f"/api/v1/sessions/{session}/record")
        assert status == 200
        for person in ("t1", "s1"):
            (a_start, a_end), (b_start, b_end) = [(ts(s), ts(e)) for s, e in
                                                  record["active"][person]]
            # a's interval closed at its last durable heartbeat, before the kill; b's
            # from the rejoin to the end: no overlap, nothing counted twice.
            assert a_start < a_end <= killed_at < b_start < b_end <= ended + 1.0
            assert a_end > killed_at - 3.0  # a's heartbeats were durable up to the kill
        assert client.get(room_key(session)) is None and client.get(last_key(session)) is None
    finally:
        for publisher in people:
            await publisher.close()


class RoomsWatch:
    """Every 50 ms, how many rooms each node runs (its /metrics); a session under test
    alone on these nodes, so two nodes at 1 at once is the session on two nodes."""

    def __init__(self, *nodes: Node) -> None:
        self.nodes = nodes
        self.both: list[float] = []
        self.samples = 0
        self.task = asyncio.create_task(self._watch())

    async def rooms(self, http: aiohttp.ClientSession, node: Node) -> int:
        try:
            async with http.get(node.base + "/metrics") as r:
                text = await r.text()
        except (aiohttp.ClientError, TimeoutError):
            return 0  # not answering: nobody's room runs there either
        found = re.search(r'^opentutor_rooms\{node="[^"]*"\} (\S+)$', text, re.M)
        return int(float(found.group(1))) if found else 0

    async def _watch(self) -> None:
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                counts = await asyncio.gather(*(self.rooms(http, n) for n in self.nodes))
                self.samples += 1
                if sum(1 for c in counts if c > 0) > 1:
                    self.both.append(time.time())
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def ready(node: Node) -> int:
    timeout = aiohttp.ClientTimeout(total=8)
    async with aiohttp.ClientSession(timeout=timeout) as http, \
            http.get(node.base + "/readyz") as r:
        return r.status


async def test_partition_of_the_rooms_node(
    net: Topology, pair: tuple[Node, Node, redis.Redis]
) -> None:
    a, b, client = pair
    people: list[Publisher] = []
    watch = RoomsWatch(a, b)
    cut = False
    try:
        status, created = await api(b.base, "POST", "/api/v1/sessions", ONE_TO_ONE)
        session = created["session_id"]
        tokens = {p: token_of(u) for p, u in created["join_urls"].items()}
        teacher = await Publisher.join(a.base, tokens["t1"], "t1")
        student = await Publisher.join(a.base, tokens["s1"], "s1")
        people += [teacher, student]
        await until(lambda: both_ways(teacher, student), 30, "media both ways on a")
        await asyncio.sleep(2.0)

        net.cut(a)
        cut, cut_at, cut_mono = True, time.time(), time.monotonic()
        # The people in the room go on seeing each other meanwhile (the node may still
        # hold it; what needs the database, a chat line, waits for it).
        assert teacher.client is not None
        frames = teacher.client.frames("s1", "video")
        await until(lambda: teacher.client is not None
                    and teacher.client.frames("s1", "video") > frames + 10, 3, "video goes on")
        assert await ready(a) == 503  # not ready: neither Redis nor the database answers
        # It gives the room up before another node may take it: its people are cut off.
        await until(lambda: not teacher.peer.sio.connected and not student.peer.sio.connected,
                    30, "the cut-off node gives its room up")
        gave_up = time.monotonic() - cut_mono
        assert a.logged("giving up")
        for gone in people:
            await gone.close()
        people.clear()
        (teacher, t_answers), (student, s_answers) = await asyncio.gather(
            rejoin([a.base, b.base], tokens["t1"], "t1", cut_mono),
            rejoin([a.base, b.base], tokens["s1"], "s1", cut_mono))
        people += [teacher, student]
        for rejoined in (teacher, student):
            assert rejoined.peer.sio.connection_url.startswith(b.base)
        assert client.get(room_key(session)) == b"part-b"
        await until(lambda: first_frame(teacher, "s1") is not None
                    and first_frame(student, "t1") is not None, 30, "media both ways on b")
        print(f"\npartition: {a.node_id} gave its room up after {gave_up:.1f} s; people back "
              f"on {b.node_id} after {time.monotonic() - cut_mono:.1f} s; refused: "
              f"{sorted(c for c, _ in t_answers + s_answers)}")

        # Healed: ready again, and it does not claim back what b runs now.
        net.heal(a)
        cut = False
        deadline = time.monotonic() + 30
        while await ready(a) != 200:
            assert time.monotonic() < deadline, "ready again after the partition"
            await asyncio.sleep(0.3)
        await asyncio.sleep(3.0)  # a few of a's beats
        assert client.get(room_key(session)) == b"part-b"
        late = Peer(socketio.AsyncClient(reconnection=False))
        await late.connect(a.base, tokens["s1"])
        assert late.refused == {"code": "moved", "message": "this session runs on another node",
                                "url": b.base}
        if late.sio.eio.http is not None:
            await late.sio.eio.http.close()

        assert (await teacher.peer.call("end"))["ok"]
        await student.peer.wait_for("ended")
        await watch.stop()
        print(f"rooms watched {watch.samples} times on both nodes")
        assert watch.samples > 20 and watch.both == [], "the session ran on two nodes"
        status, record = await api(a.base, "GET", f"/api/v1/sessions/{session}/record")
        assert status == 200
        for person in ("t1", "s1"):
            (a_start, a_end), (b_start, b_end) = [(ts(s), ts(e)) for s, e in
                                                  record["active"][person]]
            assert a_start < cut_at - 1.0 < a_end <= b_start < b_end
    finally:
        await watch.stop()
        if cut:
            net.heal(a)
        for publisher in people:
            await publisher.close()
