"""The micro-lessons store on both back ends (SQLite and a fresh PostgreSQL database):
the per-teacher bound in one transaction, states, search and order, viewers, served
ranges."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from signaling.microlessons.lessons import Lesson, Search
from signaling.microlessons.store import Viewer, open_lessons
from signaling.microlessons.watching import Served


def lesson(n: int, *, teacher: str = "t1", subject: str = "math", grade: str = "8",
           point: str = "一次函数") -> Lesson:
    return Lesson(f"ml_{n:012d}", teacher, "王老师", "S1", "sess", "rec", 0.0, 60.0,
                  f"第{n}课", subject, grade, point, "preparing", "",
                  f"2026-12-0{1 + n % 9}T10:00:00.000Z")


async def test_store(database_url: str, tmp_path: Path) -> None:
    store = open_lessons(database_url, tmp_path)
    await store.open()
    try:
        assert store.schema_version == 1
        # The bound: three at once for a teacher allowed two; exactly two get in.
        results = await asyncio.gather(*(store.add(lesson(i), 2) for i in range(3)))
        assert sorted(results) == [False, True, True]
        mine = await store.of_teacher("t1")
        assert len(mine) == 2 and all(x.state == "preparing" for x in mine)
        a, b = sorted(x.lesson_id for x in mine)
        await store.finish(a, state="ready", lead_s=1.5, duration_s=61.0, size=1234,
                           byte_index='{"points": []}')
        await store.finish(b, state="failed", error="export: boom")
        await store.finish(a, state="failed")  # only a preparing lesson finishes
        got = await store.get(a)
        assert got is not None and (got.state, got.lead_s, got.bytes) == ("ready", 1.5, 1234)
        assert await store.byte_index(a) == '{"points": []}'
        assert (await store.get(b)).state == "failed"  # type: ignore[union-attr]
        # Unpublished lessons free their place under the bound.
        await store.unpublish(b)
        assert await store.add(lesson(7), 2)
        assert await store.interrupted() == 1
        # Search: ready only, filters, a literal part of the knowledge point.
        assert await store.add(lesson(8, teacher="t2", subject="physics", grade="9",
                                      point="浮力_100%"), 5)
        c = lesson(8, teacher="t2").lesson_id
        await store.finish(c, state="ready", duration_s=30.0)
        found = await store.search(Search())
        assert [x.lesson_id for x in found] == [c, a]  # newest first
        assert [x.lesson_id for x in await store.search(Search(subject="math"))] == [a]
        assert [x.lesson_id for x in await store.search(Search(grade="9"))] == [c]
        assert [x.lesson_id for x in await store.search(Search(knowledge_point="_100%"))] == [c]
        percent = await store.search(Search(knowledge_point="%"))
        assert percent == [x for x in found if x.lesson_id == c]
        assert await store.search(Search(knowledge_point="二次")) == []
        # Viewers and served ranges; most watched counts distinct viewers.
        for person in ("s1", "s2"):
            await store.seen(Viewer(a, person, "李同学", "S7", "8", 100.0))
        await store.seen(Viewer(a, "s1", "again", "", "", 200.0))  # the first one stays
        await store.seen(Viewer(c, "s1", "李同学", "S7", "8", 300.0))
        ordered = await store.search(Search(order="most_watched"))
        assert [(x.lesson_id, x.views) for x in ordered] == [(a, 2), (c, 1)]
        assert (await store.search(Search(limit=1)))[0].lesson_id == c
        rows = [Served("r1", 100.0, 105.0, 0, 500), Served("r1", 105.5, 110.0, 500, 900)]
        for row in rows:
            await store.add_served(a, "s1", row)
        assert await store.served(a, "s1") == rows
        assert await store.served_count(a, "s1") == 2
        assert await store.served_count(a, "s2") == 0
        viewers = await store.viewers(a, 10)
        assert {v.viewer for v in viewers} == {"s1", "s2"}
        assert replace(next(v for v in viewers if v.viewer == "s1")).name == "李同学"
        assert len(await store.viewers(None, 2)) == 2
    finally:
        await store.close()
