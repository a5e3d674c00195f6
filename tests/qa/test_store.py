"""The Q&A store on both back ends (SQLite and a real PostgreSQL): threads round-trip,
the bounds hold under concurrent requests, a refusal leaves nothing, migrations rerun."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import pytest

from signaling.qa import rules
from signaling.qa.rules import Answer, QaPolicy, Question, Refused
from signaling.qa.store import Media, QaStore, Thread, open_qa

P = QaPolicy(max_open_per_student=3, max_answers_per_question=2)
T0 = 1_790_000_000.0


@pytest.fixture
async def store(database_url: str, tmp_path: Path) -> AsyncIterator[QaStore]:
    s = open_qa(database_url, tmp_path)
    await s.open()
    assert s.schema_version == 1
    yield s
    await s.close()


def q(qid: str, student: str = "s1", at: float = T0, subject: str = "math") -> Question:
    return Question(qid, student, "小明", "一中", "8", subject, "三角形全等怎么证？", at, "open")


def a(aid: str, qid: str, teacher: str, at: float = T0 + 60) -> Answer:
    return Answer(aid, qid, teacher, f"{teacher}老师", "二中", "先找对应边。", at)


async def test_a_thread_round_trips(store: QaStore) -> None:
    photo = Media("m_" + "p" * 24, "q1", None, "photo", "image/png", 120, 0)
    await store.post(q("q1"), [photo], T0 - 7 * 86_400, lambda n: rules.may_post(n, P))
    voice = Media("m_" + "v" * 24, "q1", "a1", "voice", "audio/webm", 3000, 0)

    def allowed(t: Thread) -> None:
        rules.may_answer(t.question, t.answers, "t1", ("math",), ("8",), P, T0 + 60)

    await store.answer(a("a1", "q1", "t1"), [voice], allowed)
    t = await store.thread("q1")
    assert t is not None
    assert t.question.state == "answered" and t.answers[0].text == "先找对应边。"
    assert t.media_of(None) == [photo] and t.media_of("a1") == [voice]
    assert await store.media(voice.id) == voice and await store.media("m_nope") is None
    assert [(x.id, n) for x, n in await store.live(["math"], T0 - 1, 10)] == [("q1", 1)]
    assert await store.live(["physics"], T0 - 1, 10) == []
    assert [x.id for x, _ in await store.answered_by("t1", 10)] == ["q1"]

    solved = await store.solve("q1", lambda t: rules.solve(t.question, t.answers, "s1", "a1",
                                                           P, T0 + 120))
    assert solved.state == "solved"
    assert await store.live(["math"], T0 - 1, 10) == []
    assert [x.state for x, _ in await store.mine("s1", 10)] == ["solved"]
    assert await store.accepted("t1", T0, T0 + 200) == [("a1", "先找对应边。", T0 + 120, True)]
    assert await store.accepted("t1", T0 + 121, T0 + 200) == []


async def test_questions_waiting_per_student_hold_when_posted_at_once(store: QaStore) -> None:
    posts = [store.post(q(f"q{i}"), [], T0 - 1, lambda n: rules.may_post(n, P))
             for i in range(8)]
    results = await asyncio.gather(*posts, return_exceptions=True)
    refused = [r for r in results if isinstance(r, Refused)]
    assert len(refused) == 8 - P.max_open_per_student
    assert {r.code for r in refused} == {"too_many_open"}
    assert len(await store.mine("s1", 50)) == P.max_open_per_student
    # Another student is not held back; one closed by age no longer counts.
    await store.post(q("other", student="s2"), [], T0 - 1, lambda n: rules.may_post(n, P))
    await store.post(q("later", at=T0 + 8 * 86_400), [], T0 + 86_400,
                     lambda n: rules.may_post(n, P))


async def test_answers_per_question_hold_when_answered_at_once(store: QaStore) -> None:
    await store.post(q("q1"), [], T0 - 1, lambda n: rules.may_post(n, P))

    def answer_as(teacher: str) -> Awaitable[None]:
        def decide(t: Thread) -> None:
            rules.may_answer(t.question, t.answers, teacher, ("math",), (), P, T0 + 60)
        return store.answer(a(f"a-{teacher}", "q1", teacher),
                            [Media(f"m_{teacher:x<24}", "q1", f"a-{teacher}", "photo",
                                   "image/png", 10, 0)], decide)

    results = await asyncio.gather(*(answer_as(f"t{i}") for i in range(6)),
                                   return_exceptions=True)
    assert sorted(r.code for r in results if isinstance(r, Refused)) == ["enough_answers"] * 4
    t = await store.thread("q1")
    assert t is not None and len(t.answers) == 2 and len(t.media) == 2  # nothing else kept
    assert [n for _, n in await store.live(["math"], T0 - 1, 10)] == [2]


async def test_a_refused_change_leaves_nothing(store: QaStore) -> None:
    await store.post(q("q1"), [], T0 - 1, lambda n: rules.may_post(n, P))
    with pytest.raises(Refused):
        await store.solve("q1", lambda t: rules.solve(t.question, t.answers, "intruder", None,
                                                      P, T0 + 5))
    with pytest.raises(Refused) as missing:
        await store.solve("nope", lambda t: t.question)
    assert missing.value.status == 404
    t = await store.thread("q1")
    assert t is not None and t.question.state == "open"


async def test_reopening_runs_no_migration_twice(database_url: str, tmp_path: Path) -> None:
    for _ in range(2):
        s = open_qa(database_url, tmp_path)
        await s.open()
        assert s.schema_version == 1
        await s.close()
