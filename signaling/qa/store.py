"""The Q&A centre's questions, answers and their media rows (component ``qa``).

Two back ends behind one interface, like the other components: ``qa.sqlite`` in the
data directory, or the PostgreSQL database of ``--database-url``; versioned migrations
run when it opens. Every change is one transaction that first reads what the pure
rules (:mod:`signaling.qa.rules`) decide on and then writes, so a bound (questions
open per student, answers per question) holds with concurrent requests and nodes:
on SQLite one writer at a time (``BEGIN IMMEDIATE``, and one transaction at a time in
this process), on PostgreSQL a transaction-scoped advisory lock on the student or the
question. A refusal raised by the decision rolls the transaction back: nothing changes.
The media files themselves are on disk (:mod:`signaling.qa.media`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any, Protocol

from recorder.database import Step, is_postgres_url
from recorder.small_postgres import SmallPostgres
from recorder.sqlite_thread import SqliteThread
from signaling.qa.rules import Answer, Question, Refused

COMPONENT = "qa"
SQLITE_FILE = "qa.sqlite"
_TABLES = """
CREATE TABLE qa_questions (
    question_id TEXT PRIMARY KEY, student_id TEXT NOT NULL, student_name TEXT NOT NULL,
    school TEXT NOT NULL, grade TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,
    posted_at DOUBLE PRECISION NOT NULL, state TEXT NOT NULL, solved_at DOUBLE PRECISION,
    accepted_answer TEXT, answers INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX qa_questions_live ON qa_questions(state, subject, posted_at);
CREATE INDEX qa_questions_by_student ON qa_questions(student_id, posted_at);
CREATE TABLE qa_answers (
    answer_id TEXT PRIMARY KEY, question_id TEXT NOT NULL, teacher_id TEXT NOT NULL,
    teacher_name TEXT NOT NULL, school TEXT NOT NULL, body TEXT NOT NULL,
    answered_at DOUBLE PRECISION NOT NULL, accepted_at DOUBLE PRECISION
);
CREATE INDEX qa_answers_by_question ON qa_answers(question_id, answered_at);
CREATE INDEX qa_answers_accepted ON qa_answers(teacher_id, accepted_at);
CREATE TABLE qa_media (
    media_id TEXT PRIMARY KEY, question_id TEXT NOT NULL, answer_id TEXT,
    kind TEXT NOT NULL, content_type TEXT NOT NULL, bytes BIGINT NOT NULL,
    position INTEGER NOT NULL
);
CREATE INDEX qa_media_by_question ON qa_media(question_id, position)
"""
SQLITE: tuple[Step, ...] = (Step(1, "the Q&A centre", _TABLES),)
POSTGRES: tuple[Step, ...] = (Step(1, "the Q&A centre", _TABLES),)
_Q = ("question_id, student_id, student_name, school, grade, subject, body, posted_at, "
      "state, solved_at, accepted_answer")
_A = "answer_id, question_id, teacher_id, teacher_name, school, body, answered_at, accepted_at"
_M = "media_id, question_id, answer_id, kind, content_type, bytes, position"


@dataclass(frozen=True)
class Media:
    id: str
    question: str
    answer: str | None  # None: the question's own
    kind: str  # photo | voice
    content_type: str
    bytes: int
    position: int


@dataclass(frozen=True)
class Thread:
    """A question with its answers (in the order given) and every file of them."""

    question: Question
    answers: tuple[Answer, ...]
    media: tuple[Media, ...]

    def media_of(self, answer: str | None) -> list[Media]:
        return [m for m in self.media if m.answer == answer]


class Tx(Protocol):
    async def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]: ...
    async def run(self, sql: str, params: tuple[Any, ...] = ()) -> None: ...


class QaStore(Protocol):
    schema_version: int

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def post(self, q: Question, media: Sequence[Media], since: float,
                   decide: Callable[[int], None]) -> None: ...
    async def thread(self, question_id: str) -> Thread | None: ...
    async def media(self, media_id: str) -> Media | None: ...
    async def answer(self, a: Answer, media: Sequence[Media],
                     decide: Callable[[Thread], None]) -> None: ...
    async def solve(self, question_id: str,
                    decide: Callable[[Thread], Question]) -> Question: ...
    async def live(self, subjects: Sequence[str], since: float,
                   limit: int) -> list[tuple[Question, int]]: ...
    async def mine(self, student: str, limit: int) -> list[tuple[Question, int]]: ...
    async def answered_by(self, teacher: str, limit: int) -> list[tuple[Question, int]]: ...
    async def accepted(self, teacher: str, start: float,
                       end: float) -> list[tuple[str, str, float, bool]]: ...


class _Ops:
    """The operations, written once over :class:`Tx`; each back end opens transactions."""

    def _begin(self, lock: str) -> AbstractAsyncContextManager[Tx]:
        raise NotImplementedError

    async def post(self, q: Question, media: Sequence[Media], since: float,
                   decide: Callable[[int], None]) -> None:
        async with self._begin(f"qa:s:{q.student}") as tx:
            found = await tx.rows(
                "SELECT COUNT(*) FROM qa_questions WHERE student_id=? AND state IN "
                "('open','answered') AND posted_at > ?", (q.student, since))
            decide(int(found[0][0]))
            await tx.run(f"INSERT INTO qa_questions ({_Q}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                         astuple(q))
            for m in media:
                await tx.run(f"INSERT INTO qa_media ({_M}) VALUES (?,?,?,?,?,?,?)", astuple(m))

    async def thread(self, question_id: str) -> Thread | None:
        async with self._begin("") as tx:
            return await _thread(tx, question_id)

    async def media(self, media_id: str) -> Media | None:
        async with self._begin("") as tx:
            rows = await tx.rows(f"SELECT {_M} FROM qa_media WHERE media_id=?", (media_id,))
        return Media(*rows[0]) if rows else None

    async def answer(self, a: Answer, media: Sequence[Media],
                     decide: Callable[[Thread], None]) -> None:
        async with self._begin(f"qa:q:{a.question}") as tx:
            found = await _thread(tx, a.question)
            if found is None:
                raise Refused("not_found", "no such question", "", 404)
            decide(found)
            await tx.run(f"INSERT INTO qa_answers ({_A}) VALUES (?,?,?,?,?,?,?,?)", astuple(a))
            for m in media:
                await tx.run(f"INSERT INTO qa_media ({_M}) VALUES (?,?,?,?,?,?,?)", astuple(m))
            await tx.run("UPDATE qa_questions SET answers = answers + 1, state = CASE WHEN "
                         "state = 'open' THEN 'answered' ELSE state END WHERE question_id=?",
                         (a.question,))

    async def solve(self, question_id: str, decide: Callable[[Thread], Question]) -> Question:
        async with self._begin(f"qa:q:{question_id}") as tx:
            found = await _thread(tx, question_id)
            if found is None:
                raise Refused("not_found", "no such question", "", 404)
            new = decide(found)
            await tx.run("UPDATE qa_questions SET state=?, solved_at=?, accepted_answer=? "
                         "WHERE question_id=?",
                         (new.state, new.solved_at, new.accepted, question_id))
            if new.accepted is not None:
                await tx.run("UPDATE qa_answers SET accepted_at=? WHERE answer_id=?",
                             (new.solved_at, new.accepted))
        return new

    async def live(self, subjects: Sequence[str], since: float,
                   limit: int) -> list[tuple[Question, int]]:
        if not subjects:
            return []
        marks = ",".join("?" * len(subjects))
        async with self._begin("") as tx:
            rows = await tx.rows(
                f"SELECT {_Q}, answers FROM qa_questions WHERE state IN ('open','answered') "
                f"AND subject IN ({marks}) AND posted_at > ? ORDER BY posted_at DESC LIMIT ?",
                (*subjects, since, limit))
        return [(Question(*r[:-1]), int(r[-1])) for r in rows]

    async def mine(self, student: str, limit: int) -> list[tuple[Question, int]]:
        async with self._begin("") as tx:
            rows = await tx.rows(f"SELECT {_Q}, answers FROM qa_questions WHERE student_id=? "
                                 "ORDER BY posted_at DESC LIMIT ?", (student, limit))
        return [(Question(*r[:-1]), int(r[-1])) for r in rows]

    async def answered_by(self, teacher: str, limit: int) -> list[tuple[Question, int]]:
        cols = ", ".join(f"q.{c}" for c in _Q.split(", "))
        async with self._begin("") as tx:
            rows = await tx.rows(
                f"SELECT {cols}, q.answers FROM qa_questions q JOIN qa_answers a ON "
                "a.question_id = q.question_id WHERE a.teacher_id=? "
                "ORDER BY a.answered_at DESC LIMIT ?", (teacher, limit))
        return [(Question(*r[:-1]), int(r[-1])) for r in rows]

    async def accepted(self, teacher: str, start: float,
                       end: float) -> list[tuple[str, str, float, bool]]:
        """(answer id, text, accepted at, has media) of ``teacher``'s answers accepted in
        ``[start, end)``, in the order accepted."""
        async with self._begin("") as tx:
            rows = await tx.rows(
                "SELECT a.answer_id, a.body, a.accepted_at, EXISTS (SELECT 1 FROM qa_media m "
                "WHERE m.answer_id = a.answer_id) FROM qa_answers a WHERE a.teacher_id=? "
                "AND a.accepted_at >= ? AND a.accepted_at < ? ORDER BY a.accepted_at, "
                "a.answer_id", (teacher, start, end))
        return [(str(r[0]), str(r[1]), float(r[2]), bool(r[3])) for r in rows]


async def _thread(tx: Tx, question_id: str) -> Thread | None:
    found = await tx.rows(f"SELECT {_Q} FROM qa_questions WHERE question_id=?", (question_id,))
    if not found:
        return None
    answers = await tx.rows(f"SELECT {_A} FROM qa_answers WHERE question_id=? "
                            "ORDER BY answered_at, answer_id", (question_id,))
    media = await tx.rows(f"SELECT {_M} FROM qa_media WHERE question_id=? "
                          "ORDER BY position, media_id", (question_id,))
    return Thread(Question(*found[0]), tuple(Answer(*a) for a in answers),
                  tuple(Media(*m) for m in media))


class _SqliteTx:
    def __init__(self, store: SqliteQa) -> None:
        self._store = store

    async def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        db = self._store.db
        return await self._store._run(lambda: db.execute(sql, params).fetchall())

    async def run(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        db = self._store.db
        await self._store._run(db.execute, sql, params)


class SqliteQa(_Ops, SqliteThread):
    NAME = "qa"
    COMPONENT = COMPONENT
    MIGRATIONS = SQLITE

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        # One transaction at a time: its statements run one by one on the thread.
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def _begin(self, lock: str) -> AsyncIterator[Tx]:
        async with self._lock:
            db = self.db
            await self._run(db.execute, "BEGIN IMMEDIATE" if lock else "BEGIN")
            try:
                yield _SqliteTx(self)
            except BaseException:
                await self._run(db.execute, "ROLLBACK")
                raise
            await self._run(db.execute, "COMMIT")


class _PgTx:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cursor = await self._conn.execute(sql.replace("?", "%s"), params)
        return list(await cursor.fetchall())

    async def run(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        await self._conn.execute(sql.replace("?", "%s"), params)


class PostgresQa(_Ops, SmallPostgres):
    def __init__(self, url: str) -> None:
        SmallPostgres.__init__(self, url, component=COMPONENT, steps=POSTGRES, name="qa",
                               max_size=4)

    @asynccontextmanager
    async def _begin(self, lock: str) -> AsyncIterator[Tx]:
        from recorder.postgres import pooled

        async with pooled(self._pool, self._url) as conn, conn.transaction():
            if lock:  # held to the transaction's end: one change per student/question
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (lock,))
            yield _PgTx(conn)


def open_qa(database_url: str, data_dir: Path) -> QaStore:
    """PostgreSQL for a ``postgresql://`` URL (its driver loaded only then), else SQLite."""
    if database_url and is_postgres_url(database_url):
        return PostgresQa(database_url)
    return SqliteQa(data_dir / SQLITE_FILE)
