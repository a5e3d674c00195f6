"""Several lectures at once, for the fan-out bench against ``serve --workers W``.

A lecture is one room and a room runs in one server process, so one lecture loads one
core whatever W is. To use W workers the bench runs L lectures side by side, each
created through the REST API with its own publisher (an instructor, in the bench's
process: a publisher packetises a pre-encoded loop, far cheaper than what the server
does for its subscribers) and N/L of the N subscribers. Each publisher joins in turn at
the server's shared port, as a browser would: that first join places the room (the
router's least-loaded rule between the workers), the lecture's subscribers follow it
there (``moved``). With ``pin`` lecture *i*'s publisher joins at worker *i* mod W's own
port instead, so the rooms spread evenly whatever the kernel's ``SO_REUSEPORT`` hash
did: the router keeps a new room on the worker the join reached until that one runs two
rooms more than another, so with L = W = 2 the kernel alone decides whether both
lectures land on one worker.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from bench.fanout_client import Publisher
from bench.fanout_media import Encoded
from bench.fanout_server import API_KEY, Server
from bench.harness import create_session


@dataclass
class Lecture:
    index: int
    session_id: str
    learners: list[tuple[str, str]]  # (person id, join token): s0, s1, … in order
    subscribers: int  # the ordinary ones; a throttled one, if any, is the last learner
    publisher: Publisher
    worker: int | None = None  # the server worker its room runs on, once known

    def window(self, t0: float, t1: float) -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
        """Per kind, the range of frame indices this lecture's publisher sent between t0
        and t1 (monotonic seconds), and how many: each publisher numbers its own."""
        expected: dict[str, tuple[int, int]] = {}
        sent: dict[str, int] = {}
        for track in self.publisher.tracks:
            idx = [i for i, s in enumerate(track.sent) if t0 <= s <= t1]
            expected[track.kind] = (idx[0], idx[-1]) if idx else (0, -1)
            sent[track.kind] = len(idx)
        return expected, sent


@dataclass
class Group:
    """The subscribers of one worker process: all from one lecture, so that one frame
    range (that lecture's publisher's) tells the process what it should have got."""

    tokens: list[tuple[str, str]]
    slow: bool
    lecture: int


def split(n: int, parts: int) -> list[int]:
    """``n`` as evenly as possible over ``parts`` (the first ones get the remainder)."""
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts)]


def lecture_body(learners: int, index: int = 0) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "programme": "training",
        "form": "lecture",
        "title": "fan-out benchmark" + (f" {index + 1}" if index else ""),
        "scheduled_start": (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scheduled_end": (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "record": False,
        "people": [{"id": "t1", "name": "讲师", "role": "instructor"}]
        + [{"id": f"s{i}", "name": f"学员{i}", "role": "learner"} for i in range(learners)],
    }


async def create_lecture(base: str, learners: int, index: int = 0) -> tuple[str, dict[str, str]]:
    """The session's id, and each person's join token."""
    async with aiohttp.ClientSession() as http:
        return await create_session(http, base, API_KEY, lecture_body(learners, index))


async def open_lectures(
    server: Server, subscribers: int, lectures: int, *, slow: bool, media: dict[str, Any],
    pin: bool = False,
) -> list[Lecture]:
    """Create ``lectures`` lectures sharing ``subscribers`` (plus one throttled learner in
    the first when ``slow``) and start their publishers one after another, so that each
    placement sees the rooms placed before it. On failure the started ones are closed."""
    video: Encoded | None = media.get("video")
    out: list[Lecture] = []
    try:
        for i, n in enumerate(split(subscribers, lectures)):
            sid, tokens = await create_lecture(server.base, n + (1 if slow and i == 0 else 0), i)
            learners = sorted(((p, t) for p, t in tokens.items() if p != "t1"),
                              key=lambda item: int(item[0][1:]))
            lecture = Lecture(i, sid, learners, n, Publisher(video, media["audio"]))
            out.append(lecture)
            pinned = pin and server.workers > 1
            await lecture.publisher.start(
                server.worker_base(i % server.workers) if pinned else server.base, tokens["t1"])
        for lecture, worker in zip(
            out, await server.placement([lec.session_id for lec in out]), strict=True
        ):
            lecture.worker = worker
    except BaseException:
        await close_lectures(out)
        raise
    return out


def subscriber_groups(lectures: list[Lecture], per_process: int) -> list[Group]:
    """Each lecture's ordinary subscribers over ceil(n / per_process) worker processes,
    then each throttled one in a process of its own."""
    groups: list[Group] = []
    for lec in lectures:
        normal = lec.learners[: lec.subscribers]
        n = max(1, math.ceil(len(normal) / per_process))
        groups += [Group(normal[w::n], False, lec.index) for w in range(n)]
    for lec in lectures:
        if len(lec.learners) > lec.subscribers:
            groups.append(Group(lec.learners[lec.subscribers:], True, lec.index))
    return groups


async def close_lectures(lectures: list[Lecture]) -> None:
    for lec in lectures:
        with contextlib.suppress(Exception):
            await lec.publisher.close()
