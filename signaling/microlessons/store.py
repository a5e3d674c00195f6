"""Micro-lessons and what was served of them, stored (component ``microlessons``).

Two back ends behind :class:`LessonStore`, like the other components:
``microlessons.sqlite`` in the data directory, or the PostgreSQL database of
``--database-url``; versioned migrations run at start and by ``opentutor db upgrade``.

- ``microlessons``: one row per published lesson (its state: preparing, ready, failed,
  unpublished; an unpublished lesson's row stays for the views report).
- ``microlesson_viewers``: who was sent bytes of which lesson (name, school, grade
  from their pass), the first time: the "most watched" order counts these.
- ``microlesson_serves``: the byte ranges each response sent and when
  (:class:`signaling.microlessons.watching.Served`), the evidence of watching time.

Bounds: a teacher's lessons (not unpublished) are counted and the new one inserted in
one transaction (SQLite ``BEGIN IMMEDIATE``; PostgreSQL an advisory transaction lock
per teacher), so two publishes at once cannot pass the bound together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any, Protocol

from recorder.database import Step, is_postgres_url
from recorder.small_postgres import SmallPostgres
from recorder.sqlite_thread import SqliteThread
from signaling.microlessons.lessons import Lesson, Search
from signaling.microlessons.watching import Served

COMPONENT = "microlessons"
SQLITE_FILE = "microlessons.sqlite"
_TABLES = """
CREATE TABLE microlessons (
    lesson_id TEXT PRIMARY KEY, teacher_id TEXT NOT NULL, teacher_name TEXT NOT NULL,
    school TEXT NOT NULL, session_id TEXT NOT NULL, recording_id TEXT NOT NULL,
    start_s DOUBLE PRECISION NOT NULL, end_s DOUBLE PRECISION NOT NULL,
    title TEXT NOT NULL, subject TEXT NOT NULL, grade TEXT NOT NULL,
    knowledge_point TEXT NOT NULL, state TEXT NOT NULL, error TEXT NOT NULL,
    created_at TEXT NOT NULL, lead_s DOUBLE PRECISION NOT NULL DEFAULT 0,
    duration_s DOUBLE PRECISION NOT NULL DEFAULT 0, bytes BIGINT NOT NULL DEFAULT 0,
    byte_index TEXT NOT NULL DEFAULT ''
);
CREATE INDEX microlessons_by_teacher ON microlessons(teacher_id, created_at);
CREATE INDEX microlessons_by_state ON microlessons(state, created_at);
CREATE TABLE microlesson_viewers (
    lesson_id TEXT NOT NULL, viewer TEXT NOT NULL, name TEXT NOT NULL, school TEXT NOT NULL,
    grade TEXT NOT NULL, first_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (lesson_id, viewer)
);
CREATE TABLE microlesson_serves (
    lesson_id TEXT NOT NULL, viewer TEXT NOT NULL, serve_id TEXT NOT NULL,
    first_at DOUBLE PRECISION NOT NULL, last_at DOUBLE PRECISION NOT NULL,
    byte_start BIGINT NOT NULL, byte_end BIGINT NOT NULL
);
CREATE INDEX microlesson_serves_by_viewer ON microlesson_serves(lesson_id, viewer)
"""
SQLITE: tuple[Step, ...] = (Step(1, "micro-lessons, viewers, served ranges", _TABLES),)
POSTGRES: tuple[Step, ...] = (Step(1, "micro-lessons, viewers, served ranges", _TABLES),)

_LESSON = ("lesson_id, teacher_id, teacher_name, school, session_id, recording_id, start_s, "
           "end_s, title, subject, grade, knowledge_point, state, error, created_at, lead_s, "
           "duration_s, bytes")
_VIEWS = ("(SELECT COUNT(*) FROM microlesson_viewers v WHERE v.lesson_id = m.lesson_id)")
_SELECT = f"SELECT {', '.join('m.' + c for c in _LESSON.split(', '))}, {_VIEWS} " \
          "FROM microlessons m"
_SERVE = "serve_id, first_at, last_at, byte_start, byte_end"


@dataclass(frozen=True)
class Viewer:
    lesson_id: str
    viewer: str
    name: str
    school: str
    grade: str
    first_at: float


def _search_sql(q: Search, mark: str) -> tuple[str, list[Any]]:
    where, args = ["m.state = " + mark], ["ready"]
    for column, value in (("subject", q.subject), ("grade", q.grade)):
        if value is not None:
            where.append(f"m.{column} = {mark}")
            args.append(value)
    if q.knowledge_point is not None:
        # A part of the name, matched literally (no LIKE wildcards from the user).
        where.append(f"STRPOS(m.knowledge_point, {mark}) > 0" if mark == "%s"
                     else f"INSTR(m.knowledge_point, {mark}) > 0")
        args.append(q.knowledge_point)
    order = "views DESC, created_at DESC" if q.order == "most_watched" else "created_at DESC"
    columns = ", ".join("m." + c for c in _LESSON.split(", "))
    sql = (f"SELECT * FROM (SELECT {columns}, {_VIEWS} AS views FROM microlessons m "
           f"WHERE {' AND '.join(where)}) AS found ORDER BY {order}, lesson_id LIMIT {mark}")
    return sql, [*args, q.limit]


class LessonStore(Protocol):
    schema_version: int

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def add(self, lesson: Lesson, max_per_teacher: int) -> bool:
        """Insert unless the teacher already has ``max_per_teacher`` (not unpublished)."""
        ...
    async def finish(self, lesson_id: str, *, state: str, error: str = "", lead_s: float = 0,
                     duration_s: float = 0, size: int = 0, byte_index: str = "") -> None: ...
    async def interrupted(self) -> int:
        """Lessons a stopped server left preparing become failed; how many."""
        ...
    async def unpublish(self, lesson_id: str) -> None: ...
    async def get(self, lesson_id: str) -> Lesson | None: ...
    async def byte_index(self, lesson_id: str) -> str: ...
    async def search(self, q: Search) -> list[Lesson]: ...
    async def of_teacher(self, teacher_id: str) -> list[Lesson]: ...
    async def seen(self, v: Viewer) -> None: ...
    async def add_served(self, lesson_id: str, viewer: str, row: Served) -> None: ...
    async def served_count(self, lesson_id: str, viewer: str) -> int: ...
    async def served(self, lesson_id: str, viewer: str) -> list[Served]: ...
    async def viewers(self, lesson_id: str | None, limit: int) -> list[Viewer]: ...


def _lesson(row: Sequence[Any]) -> Lesson:
    values = dict(zip([*_LESSON.split(", "), "views"], row, strict=True))
    values["bytes"], values["views"] = int(values["bytes"]), int(values["views"])
    return Lesson(**values)


class SqliteLessons(SqliteThread):
    NAME = "microlessons"
    COMPONENT = COMPONENT
    MIGRATIONS = SQLITE

    async def add(self, lesson: Lesson, max_per_teacher: int) -> bool:
        def add() -> bool:
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                (n,) = db.execute("SELECT COUNT(*) FROM microlessons WHERE teacher_id = ? "
                                  "AND state != 'unpublished'", (lesson.teacher_id,)).fetchone()
                if n >= max_per_teacher:
                    db.execute("ROLLBACK")
                    return False
                db.execute(f"INSERT INTO microlessons ({_LESSON}) VALUES ({','.join('?' * 18)})",
                           astuple(lesson)[:18])
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return True

        return await self._run(add)

    async def finish(self, lesson_id: str, *, state: str, error: str = "", lead_s: float = 0,
                     duration_s: float = 0, size: int = 0, byte_index: str = "") -> None:
        await self._run(self._tx, [(
            "UPDATE microlessons SET state = ?, error = ?, lead_s = ?, duration_s = ?, "
            "bytes = ?, byte_index = ? WHERE lesson_id = ? AND state = 'preparing'",
            (state, error, lead_s, duration_s, size, byte_index, lesson_id))])

    async def interrupted(self) -> int:
        def run() -> int:
            cur = self.db.execute("UPDATE microlessons SET state = 'failed', "
                                  "error = 'interrupted' WHERE state = 'preparing'")
            return cur.rowcount

        return await self._run(run)

    async def unpublish(self, lesson_id: str) -> None:
        await self._run(self._tx, [("UPDATE microlessons SET state = 'unpublished', "
                                    "byte_index = '' WHERE lesson_id = ?", (lesson_id,))])

    async def get(self, lesson_id: str) -> Lesson | None:
        def get() -> Lesson | None:
            row = self.db.execute(f"{_SELECT} WHERE m.lesson_id = ?", (lesson_id,)).fetchone()
            return None if row is None else _lesson(row)

        return await self._run(get)

    async def byte_index(self, lesson_id: str) -> str:
        def get() -> str:
            row = self.db.execute("SELECT byte_index FROM microlessons WHERE lesson_id = ?",
                                  (lesson_id,)).fetchone()
            return "" if row is None else str(row[0])

        return await self._run(get)

    async def search(self, q: Search) -> list[Lesson]:
        sql, args = _search_sql(q, "?")
        return await self._run(lambda: [_lesson(r) for r in self.db.execute(sql, args)])

    async def of_teacher(self, teacher_id: str) -> list[Lesson]:
        sql = f"{_SELECT} WHERE m.teacher_id = ? ORDER BY m.created_at DESC LIMIT 500"
        return await self._run(lambda: [_lesson(r) for r in self.db.execute(sql, (teacher_id,))])

    async def seen(self, v: Viewer) -> None:
        await self._run(self._tx, [(
            "INSERT INTO microlesson_viewers (lesson_id, viewer, name, school, grade, first_at) "
            "VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING", astuple(v))])

    async def add_served(self, lesson_id: str, viewer: str, row: Served) -> None:
        await self._run(self._tx, [(
            f"INSERT INTO microlesson_serves (lesson_id, viewer, {_SERVE}) "
            "VALUES (?,?,?,?,?,?,?)", (lesson_id, viewer, *astuple(row)))])

    async def served_count(self, lesson_id: str, viewer: str) -> int:
        def count() -> int:
            (n,) = self.db.execute("SELECT COUNT(*) FROM microlesson_serves WHERE lesson_id = ? "
                                   "AND viewer = ?", (lesson_id, viewer)).fetchone()
            return int(n)

        return await self._run(count)

    async def served(self, lesson_id: str, viewer: str) -> list[Served]:
        sql = (f"SELECT {_SERVE} FROM microlesson_serves WHERE lesson_id = ? AND viewer = ? "
               "ORDER BY first_at")
        return await self._run(
            lambda: [Served(*r) for r in self.db.execute(sql, (lesson_id, viewer))])

    async def viewers(self, lesson_id: str | None, limit: int) -> list[Viewer]:
        where, args = ("WHERE lesson_id = ?", [lesson_id]) if lesson_id else ("", [])
        sql = (f"SELECT lesson_id, viewer, name, school, grade, first_at FROM "
               f"microlesson_viewers {where} ORDER BY first_at DESC LIMIT ?")
        return await self._run(lambda: [Viewer(*r) for r in self.db.execute(sql, (*args, limit))])


class PostgresLessons(SmallPostgres):
    """The same tables in PostgreSQL; a small pool."""

    def __init__(self, url: str) -> None:
        super().__init__(url, component=COMPONENT, steps=POSTGRES, name="microlessons",
                         max_size=4)

    async def _rows(self, sql: str, args: Sequence[Any]) -> list[Any]:
        from recorder.postgres import pooled

        async with pooled(self._pool, self._url) as conn:
            cursor = await conn.execute(sql, args)
            rows: list[Any] = await cursor.fetchall()
        return rows

    async def _exec(self, sql: str, args: Sequence[Any]) -> int:
        from recorder.postgres import pooled

        async with pooled(self._pool, self._url) as conn:
            cursor = await conn.execute(sql, args)
            return int(cursor.rowcount)

    async def add(self, lesson: Lesson, max_per_teacher: int) -> bool:
        from recorder.postgres import pooled

        async with pooled(self._pool, self._url) as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                               ("microlessons:" + lesson.teacher_id,))
            cursor = await conn.execute(
                "SELECT COUNT(*) FROM microlessons WHERE teacher_id = %s "
                "AND state != 'unpublished'", (lesson.teacher_id,))
            row = await cursor.fetchone()
            if row is not None and row[0] >= max_per_teacher:
                return False
            await conn.execute(
                f"INSERT INTO microlessons ({_LESSON}) VALUES ({','.join(['%s'] * 18)})",
                astuple(lesson)[:18])
        return True

    async def finish(self, lesson_id: str, *, state: str, error: str = "", lead_s: float = 0,
                     duration_s: float = 0, size: int = 0, byte_index: str = "") -> None:
        await self._exec(
            "UPDATE microlessons SET state = %s, error = %s, lead_s = %s, duration_s = %s, "
            "bytes = %s, byte_index = %s WHERE lesson_id = %s AND state = 'preparing'",
            (state, error, lead_s, duration_s, size, byte_index, lesson_id))

    async def interrupted(self) -> int:
        # Several nodes share the table: only this node's work could be interrupted, but
        # a lesson's maker is not written down; a restart of any node fails the ones
        # preparing, and their teachers publish again (rare; said in the docs).
        return await self._exec("UPDATE microlessons SET state = 'failed', "
                                "error = 'interrupted' WHERE state = 'preparing'", ())

    async def unpublish(self, lesson_id: str) -> None:
        await self._exec("UPDATE microlessons SET state = 'unpublished', byte_index = '' "
                         "WHERE lesson_id = %s", (lesson_id,))

    async def get(self, lesson_id: str) -> Lesson | None:
        rows = await self._rows(f"{_SELECT} WHERE m.lesson_id = %s", (lesson_id,))
        return _lesson(rows[0]) if rows else None

    async def byte_index(self, lesson_id: str) -> str:
        rows = await self._rows("SELECT byte_index FROM microlessons WHERE lesson_id = %s",
                                (lesson_id,))
        return str(rows[0][0]) if rows else ""

    async def search(self, q: Search) -> list[Lesson]:
        sql, args = _search_sql(q, "%s")
        return [_lesson(r) for r in await self._rows(sql, args)]

    async def of_teacher(self, teacher_id: str) -> list[Lesson]:
        sql = f"{_SELECT} WHERE m.teacher_id = %s ORDER BY m.created_at DESC LIMIT 500"
        return [_lesson(r) for r in await self._rows(sql, (teacher_id,))]

    async def seen(self, v: Viewer) -> None:
        await self._exec(
            "INSERT INTO microlesson_viewers (lesson_id, viewer, name, school, grade, first_at) "
            "VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING", astuple(v))

    async def add_served(self, lesson_id: str, viewer: str, row: Served) -> None:
        await self._exec(f"INSERT INTO microlesson_serves (lesson_id, viewer, {_SERVE}) "
                         "VALUES (%s,%s,%s,%s,%s,%s,%s)", (lesson_id, viewer, *astuple(row)))

    async def served_count(self, lesson_id: str, viewer: str) -> int:
        rows = await self._rows("SELECT COUNT(*) FROM microlesson_serves WHERE lesson_id = %s "
                                "AND viewer = %s", (lesson_id, viewer))
        return int(rows[0][0])

    async def served(self, lesson_id: str, viewer: str) -> list[Served]:
        rows = await self._rows(f"SELECT {_SERVE} FROM microlesson_serves WHERE lesson_id = %s "
                                "AND viewer = %s ORDER BY first_at", (lesson_id, viewer))
        return [Served(*r) for r in rows]

    async def viewers(self, lesson_id: str | None, limit: int) -> list[Viewer]:
        where, args = ("WHERE lesson_id = %s", [lesson_id]) if lesson_id else ("", [])
        rows = await self._rows(
            f"SELECT lesson_id, viewer, name, school, grade, first_at FROM "
            f"microlesson_viewers {where} ORDER BY first_at DESC LIMIT %s", (*args, limit))
        return [Viewer(*r) for r in rows]


def open_lessons(database_url: str, data_dir: Path) -> LessonStore:
    """PostgreSQL for a ``postgresql://`` URL (its driver loaded only then), else SQLite."""
    if database_url and is_postgres_url(database_url):
        return PostgresLessons(database_url)
    return SqliteLessons(data_dir / SQLITE_FILE)
