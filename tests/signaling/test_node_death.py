"""A node killed with SIGKILL mid-session: its session is placed again on a live node
when its people reconnect with the same join links, the record's ``active`` intervals
stay right across the move, and the gap is measured.

Two ``opentutor serve`` processes share one data directory (SQLite in WAL mode; the
journal's rows carry their node) and one real redis-server; the teacher and the
student are real socket.io clients publishing aiortc audio and video. They reconnect
as our web client does behind a load balancer: the join link's node first, then
another node, retrying every half second on ``unavailable`` or a refused connection,
following ``moved``. The dead node's claim lapses within the claim TTL
(signaling/router/redis.py); until then the live node answers ``moved`` (to the dead
node) while the owner's silence could still be a late heartbeat, then ``unavailable``.

The dead node's intervals are closed by the *live* node's reading of the journal, at
the dead node's last durable heartbeat (``Journal.intervals`` trusts another node's
heartbeat for an interval it left open); nothing is written on its behalf.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import redis
import socketio

from signaling.router.redis import BEAT_S, CLAIM_TTL_S, SUSPECT_S, room_key
from tests.conftest import free_port
from tests.recording_support import Publisher, api, spawn
from tests.rtc.clients import Client
from tests.signaling.test_media_session import OverSocket, follow_renegotiations
from tests.signaling.test_redis_failure import RedisProcess
from tests.support import ONE_TO_ONE, Peer, token_of

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()


def ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def until(check: object, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out: {what}"
        await asyncio.sleep(0.05)


async def rejoin(
    nodes: list[str], token: str, name: str, since: float
) -> tuple[Publisher, list[tuple[str, float]]]:
    """Reconnect like the web client behind a load balancer; publish again once in.
    Returns the publisher and what each refused attempt answered, and when (seconds
    after ``since``, a monotonic time)."""
    answers: list[tuple[str, float]] = []
    url, turn = nodes[0], 0
    while True:
        peer = Peer(socketio.AsyncClient(reconnection=False))
        await peer.connect(url, token)
        if peer.sio.connected:
            break
        refused = peer.refused if isinstance(peer.refused, dict) else {}
        answers.append((str(refused.get("code", "unreachable")), time.monotonic() - since))
        if peer.sio.eio.http is not None:  # a refused client keeps its HTTP session open
            await peer.sio.eio.http.close()
        if refused.get("code") == "moved" and refused.get("url"):
            url = str(refused["url"])
            continue
        turn += 1
        url = nodes[turn % len(nodes)]  # the load balancer tries another node
        await asyncio.sleep(0.5)
    await peer.wait_for("welcome")
    client = Client(name, OverSocket(peer), audio=True, video=True)  # type: ignore[arg-type]
    await client.negotiate()
    return Publisher(peer, client, asyncio.create_task(follow_renegotiations(peer, client))), \
        answers


def first_frame(publisher: Publisher, person: str) -> float | None:
    """When ``publisher`` first decoded ``person``'s video (monotonic), if it did."""
    client = publisher.client
    assert client is not None
    if client.frames(person, "video") == 0:
        return None
    return client.received[client.mid_of(person, "video")].first_at


def journal_rows(data: Path, node: str) -> tuple[float, list[tuple[str, int]]]:
    """The node's last durable heartbeat and its last transition per person."""
    with sqlite3.connect(f"file:{data / 'journal.sqlite'}?mode=ro", uri=True) as db:
        (beat,) = db.execute("SELECT at FROM heartbeat WHERE node_id = ?", (node,)).fetchone()
        last = db.execute(
            "SELECT person, active FROM transitions WHERE id IN (SELECT MAX(id) FROM "
            "transitions WHERE node_id = ? GROUP BY person) ORDER BY person", (node,)
        ).fetchall()
    return float(beat), last


async def test_a_killed_nodes_session_moves_to_a_live_node(
    tmp_path: Path, own_redis: RedisProcess
) -> None:
    data = tmp_path / "data"
    port_a, port_b = free_port(), free_port()
    a_base, b_base = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    nodes = ("--redis-url", own_redis.url)
    a = spawn(data, port_a, tmp_path / "a.log", *nodes, "--node-id", "death-a")
    b = spawn(data, port_b, tmp_path / "b.log", *nodes, "--node-id", "death-b")
    client = redis.Redis.from_url(own_redis.url)
    people: list[Publisher] = []
    try:
        status, created = await api(a_base, "POST", "/api/v1/sessions", ONE_TO_ONE)
        assert status == 201
        session = created["session_id"]
        tokens = {p: token_of(u) for p, u in created["join_urls"].items()}
        teacher = await Publisher.join(a_base, tokens["t1"], "t1")
        people.append(teacher)
        student = await Publisher.join(a_base, tokens["s1"], "s1")
        people.append(student)
        joined_at = time.time()
        assert client.get(room_key(session)) == b"death-a"

        def both_ways(t: Publisher, s: Publisher) -> bool:
            assert t.client is not None and s.client is not None
            return t.client.frames("s1", "video") > 20 and s.client.frames("t1", "video") > 20

        await until(lambda: both_ways(teacher, student), 30, "media both ways on a")
        await asyncio.sleep(2.0)  # a few durable heartbeats with both active

        killed_at, killed_mono = time.time(), time.monotonic()
        a.kill()  # SIGKILL: nothing is closed, released or flushed
        await asyncio.to_thread(a.wait, 10)
        await until(lambda: not teacher.peer.sio.connected and not student.peer.sio.connected,
                    10, "the clients see the node gone")
        for gone in (teacher, student):  # the browser drops its peer connection too
            await gone.close()
        people.clear()

        # Both reconnect with their own links (the link's node first), at the same time.
        (teacher, t_answers), (student, s_answers) = await asyncio.gather(
            rejoin([a_base, b_base], tokens["t1"], "t1", killed_mono),
            rejoin([a_base, b_base], tokens["s1"], "s1", killed_mono))
        people += [teacher, student]
        rejoined = time.monotonic() - killed_mono
        assert client.get(room_key(session)) == b"death-b"
        assert teacher.peer.sio.connection_url.startswith(b_base)
        await until(lambda: first_frame(teacher, "s1") is not None
                    and first_frame(student, "t1") is not None, 30, "media both ways on b")
        media_back = max(first_frame(teacher, "s1") or 0.0,
                         first_frame(student, "t1") or 0.0) - killed_mono
        answers = sorted(t_answers + s_answers, key=lambda a: a[1])
        print(f"\nSIGKILL of the room's node → rejoined on the other node after "
              f"{rejoined:.1f} s (claim TTL {CLAIM_TTL_S:.0f} s, heartbeat {BEAT_S:.0f} s), "
              f"video flowing both ways again after {media_back:.1f} s; refused attempts: "
              + ", ".join(f"{code} at {at:.1f} s" for code, at in answers))
        # The dead node's claim lapsed within its TTL; nothing waited for much longer.
        assert rejoined < CLAIM_TTL_S + 8.0, rejoined
        assert {code for code, _ in answers} <= {"unreachable", "unavailable", "moved"}
        # b sends people to a only while a's silence is short enough to be a late beat.
        assert all(at < SUSPECT_S + 1.0 for code, at in answers if code == "moved"), answers

        # The record, read from b: each person has a's interval, closed at a's last
        # durable heartbeat (which a never got to close itself), then b's.
        await until(lambda: both_ways(teacher, student), 30, "media both ways on b")
        await asyncio.sleep(2.0)
        last_beat_a, open_rows = journal_rows(data, "death-a")
        assert open_rows == [("s1", 1), ("t1", 1)]  # on disk a's intervals are still open
        assert killed_at - 2 * BEAT_S - 0.5 <= last_beat_a <= killed_at
        status, record = await api(b_base, "GET", f"/api/v1/sessions/{session}/record")
        assert status == 200
        for person in ("t1", "s1"):
            (a_start, a_end), (b_start, b_end) = [(ts(s), ts(e)) for s, e in
                                                  record["active"][person]]
            assert abs(a_end - last_beat_a) < 0.002  # milliseconds in the record
            assert joined_at - 10 <= a_start < a_end - 1.0  # media flowed on a for seconds
            assert killed_at < b_start <= killed_at + media_back + 1.0
            assert b_end > b_start
        print("gap in the record: " + ", ".join(
            f"{p} {ts(record['active'][p][1][0]) - ts(record['active'][p][0][1]):.1f} s"
            for p in ("t1", "s1")))
        # The same from the REST of either node (a is gone: b answers for it).
        status, live = await api(b_base, "GET", f"/api/v1/sessions/{session}")
        assert status == 200 and sorted(live["present"]) == ["s1", "t1"]

        # The session ends on b: a's intervals stay as they were, b's close.
        assert (await teacher.peer.call("end"))["ok"]
        ended = time.time()
        await student.peer.wait_for("ended")
        _, final = await api(b_base, "GET", f"/api/v1/sessions/{session}/record")
        for person in ("t1", "s1"):
            first, second = final["active"][person]
            assert first == record["active"][person][0]
            assert abs(ts(second[1]) - ended) < 1.5
        assert client.get(room_key(session)) is None  # b released it
    finally:
        for publisher in people:
            await publisher.close()
        client.close()
        for process in (a, b):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except Exception:
                    process.kill()
