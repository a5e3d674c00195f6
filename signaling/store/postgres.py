"""The session store in PostgreSQL (``--database-url postgresql://…``): what
:class:`signaling.store.sqlite.Store` keeps, shared by every node.

An asyncio pool of at most :data:`POOL_SIZE` connections (psycopg 3; why psycopg:
:mod:`recorder.postgres`). The transactions are where SQLite has them, with what
several writers on several machines need in addition:

- a new session: one transaction (its row and its people);
- an upload within its quota: a transaction-level advisory lock on (session, person)
  serialises the check and the insert across nodes (SQLite's ``BEGIN IMMEDIATE``
  does the same for processes sharing a file);
- a feedback form or report: ``ON CONFLICT DO NOTHING``, the first one stays;
- a mark or a recording choice: ``ON CONFLICT … DO UPDATE``, the latest replaces.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

import recorder.postgres as pg
from signaling.session.spec import Person, RecordingChoice, SessionSpec, StoredSession
from signaling.session.timefmt import iso, parse
from signaling.session.whiteboard import BoardOp
from signaling.store import migrations, session_query
from signaling.store.base import MARK_FIELDS, SUBMISSION_TABLES, AnalysisRow, analysis_sql
from signaling.store.session_query import SessionPage, SessionQuery

POOL_SIZE = 8  # connections per node; the event loop's queries are short


class PostgresStore:
    def __init__(self, url: str, *, pool_size: int = POOL_SIZE) -> None:
        self._url = url
        self._pool_size = pool_size
        self._pool: AsyncConnectionPool | None = None
        self.schema_version = 0

    async def open(self) -> None:
        # Migrations on a connection of their own, on a thread (psycopg's plain API).
        self.schema_version = await asyncio.to_thread(
            pg.upgrade_url, self._url, migrations.COMPONENT, migrations.POSTGRES)
        self._pool = await pg.open_pool(self._url, name="store", max_size=self._pool_size)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        assert self._pool is not None, "store is not open"
        async with pg.pooled(self._pool, self._url) as conn:
            yield conn

    async def _execute(self, sql: str, params: tuple[Any, ...]) -> int:
        """One statement in its own (autocommit) transaction; the rows it changed."""
        async with self._conn() as conn:
            cur = await conn.execute(sql, params)
            return cur.rowcount

    async def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        async with self._conn() as conn:
            cur = await conn.execute(sql, params)
            return await cur.fetchall()

    # -- sessions and their people

    async def create_session(self, session_id: str, spec: SessionSpec, created_at: str) -> None:
        async with self._conn() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO sessions VALUES (%s,%s,%s,%s,%s,%s,%s,%s,NULL,NULL)",
                (session_id, spec.programme, spec.form, spec.title, iso(spec.scheduled_start),
                 iso(spec.scheduled_end), spec.record, created_at),
            )
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO people (session_id, id, name, role, school, district, ord, "
                    "school_id, district_code) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                    [(session_id, p.id, p.name, p.role, p.school, p.district, i, p.school_id,
                      p.district_code) for i, p in enumerate(spec.people)],
                )

    async def session(self, session_id: str) -> StoredSession | None:
        async with self._conn() as conn:
            cur = await conn.execute(
                "SELECT id, programme, form, title, scheduled_start, scheduled_end, record, "
                "created_at, started_at, ended_at FROM sessions WHERE id=%s", (session_id,))
            row = await cur.fetchone()
            if row is None:
                return None
            cur = await conn.execute(
                "SELECT id, name, role, school, district, school_id, district_code "
                "FROM people WHERE session_id=%s ORDER BY ord", (session_id,))
            people = await cur.fetchall()
        spec = SessionSpec(
            programme=row[1], form=row[2], title=row[3], scheduled_start=parse(row[4]),
            scheduled_end=parse(row[5]), record=bool(row[6]),
            people=tuple(Person(*p) for p in people),
        )
        return StoredSession(row[0], spec, row[7], row[8], row[9])

    async def sessions_of(self, person_id: str) -> list[str]:
        rows = await self._rows(
            'SELECT session_id FROM people WHERE id=%s ORDER BY session_id COLLATE "C"',
            (person_id,))
        return [r[0] for r in rows]

    async def session_ids_between(self, lo: str, hi: str) -> list[str]:
        # COLLATE "C": ISO text compares as SQLite compares it, byte by byte,
        # whatever the database's locale.
        rows = await self._rows(
            'SELECT id FROM sessions WHERE COALESCE(started_at, scheduled_start) >= %s COLLATE "C"'
            ' AND COALESCE(started_at, scheduled_start) < %s COLLATE "C" ORDER BY id COLLATE "C"',
            (lo, hi))
        return [r[0] for r in rows]

    async def list_sessions(self, query: SessionQuery) -> SessionPage:
        # One connection, so the instructors are read right after their page.
        async with self._conn() as conn:
            sql, params = session_query.select_sql(query, session_query.POSTGRES)
            rows = await (await conn.execute(sql, params)).fetchall()
            ids = [r[0] for r in rows[: query.limit]]
            people: list[tuple[Any, ...]] = []
            if ids:
                sql, params = session_query.instructors_sql(ids, session_query.POSTGRES)
                people = await (await conn.execute(sql, params)).fetchall()
        return session_query.page_of(query, rows, people)

    async def count_sessions(self, query: SessionQuery) -> int:
        rows = await self._rows(*session_query.count_sql(query, session_query.POSTGRES))
        return int(rows[0][0])

    async def mark_started(self, session_id: str, at: str) -> None:
        await self._execute(
            "UPDATE sessions SET started_at=%s WHERE id=%s AND started_at IS NULL",
            (at, session_id))

    async def mark_ended(self, session_id: str, at: str) -> None:
        await self._execute(
            "UPDATE sessions SET ended_at=%s WHERE id=%s AND ended_at IS NULL", (at, session_id))

    # -- chat and the whiteboard log

    async def add_chat(self, session_id: str, message: dict[str, Any]) -> None:
        body = json.dumps(message, ensure_ascii=False)
        await self._execute("INSERT INTO chat (session_id, id, body) VALUES (%s,%s,%s)",
                            (session_id, message["id"], body))

    async def chat(self, session_id: str, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self._rows(
            "SELECT body FROM chat WHERE session_id=%s ORDER BY seq DESC LIMIT %s",
            (session_id, limit))
        return [json.loads(r[0]) for r in reversed(rows)]

    async def add_board_op(self, session_id: str, entry: BoardOp) -> None:
        await self._execute(
            "INSERT INTO board_ops VALUES (%s,%s,%s,%s,%s)",
            (session_id, entry.seq, entry.ts, entry.by, json.dumps(entry.op)))

    async def board_log(self, session_id: str) -> list[BoardOp]:
        rows = await self._rows(
            'SELECT seq, ts, "by", op FROM board_ops WHERE session_id=%s ORDER BY seq',
            (session_id,))
        return [BoardOp(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    # -- uploads

    async def upload_usage(self, session_id: str, person: str) -> tuple[int, int]:
        async with self._conn() as conn:
            return await _usage(conn, session_id, person)

    async def add_upload_within(
        self, upload_id: str, session_id: str, person: str, content_type: str, size: int,
        at: str, *, max_files: int, max_bytes: int, after_end: bool = False,
    ) -> str | None:
        async with self._conn() as conn, conn.transaction():
            # Held to the end of the transaction: one quota check at a time per person
            # (a hash collision only makes two people wait for each other, briefly).
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))",
                               (session_id, person))
            cur = await conn.execute("SELECT ended_at FROM sessions WHERE id=%s", (session_id,))
            ended = await cur.fetchone()
            files, used = await _usage(conn, session_id, person)
            if ended is not None and ended[0] is not None and not after_end:
                return "session_ended"
            if files + 1 > max_files or used + size > max_bytes:
                return "quota_exceeded"
            await conn.execute(
                "INSERT INTO uploads VALUES (%s,%s,%s,%s,%s,%s)",
                (upload_id, session_id, person, content_type, size, at))
            return None

    async def upload(self, upload_id: str) -> dict[str, Any] | None:
        rows = await self._rows(
            "SELECT session_id, person, content_type, bytes FROM uploads WHERE id=%s",
            (upload_id,))
        if not rows:
            return None
        keys = ("session_id", "person", "content_type", "bytes")
        return dict(zip(keys, rows[0], strict=True))

    # -- feedback forms and review reports, marks

    async def put_submission(
        self, table: str, session_id: str, person: str, at: str, body: dict[str, Any]
    ) -> bool:
        assert table in SUBMISSION_TABLES
        added = await self._execute(
            f"INSERT INTO {table} VALUES (%s,%s,%s,%s) ON CONFLICT DO NOTHING",
            (session_id, person, at, json.dumps(body, ensure_ascii=False)))
        return added == 1

    async def submissions(self, table: str, session_id: str) -> dict[str, dict[str, Any]]:
        assert table in SUBMISSION_TABLES
        rows = await self._rows(
            f"SELECT person, submitted_at, body FROM {table} WHERE session_id=%s",
            (session_id,))
        return {r[0]: {"submitted_at": r[1], **json.loads(r[2])} for r in rows}

    async def put_mark(self, session_id: str, learner: str, mark: dict[str, str]) -> None:
        await self._execute(
            "INSERT INTO marks VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (session_id, learner)"
            " DO UPDATE SET problem=excluded.problem, subject=excluded.subject, "
            'knowledge_point=excluded.knowledge_point, marked_at=excluded.marked_at, '
            '"by"=excluded."by"',
            (session_id, learner, *(mark[k] for k in MARK_FIELDS)))

    async def marks(self, session_id: str) -> dict[str, dict[str, str]]:
        rows = await self._rows(
            'SELECT learner, problem, subject, knowledge_point, marked_at, "by" FROM marks '
            'WHERE session_id=%s ORDER BY learner COLLATE "C"', (session_id,))
        return {r[0]: dict(zip(MARK_FIELDS, r[1:], strict=True)) for r in rows}

    async def analysis_rows(self, lo: str, hi: str, *, district_code: str = "",
                            school_id: str = "") -> list[AnalysisRow]:
        sql, params = analysis_sql(lo, hi, district_code, school_id, placeholder="%s",
                                   collate='COLLATE "C"')
        return [AnalysisRow(*r) for r in await self._rows(sql, params)]

    # -- the instructor's recording choice

    async def set_recording_choice(self, session_id: str, choice: RecordingChoice) -> None:
        await self._execute(
            'INSERT INTO recording_choice VALUES (%s,%s,%s,%s) ON CONFLICT (session_id) DO '
            'UPDATE SET record=excluded.record, "by"=excluded."by", at=excluded.at',
            (session_id, choice.on, choice.by, choice.at))

    async def recording_choice(self, session_id: str) -> RecordingChoice | None:
        rows = await self._rows(
            'SELECT record, "by", at FROM recording_choice WHERE session_id=%s', (session_id,))
        return RecordingChoice(bool(rows[0][0]), rows[0][1], rows[0][2]) if rows else None

    # -- observer visits (issue 16)
    async def observer_joined(self, session_id: str, staff: str, at: str) -> None:
        await self._execute(
            "INSERT INTO observers VALUES (%s,%s,%s,NULL) ON CONFLICT DO NOTHING",
            (session_id, staff, at))

    async def observer_left(self, session_id: str, staff: str, joined: str, at: str) -> None:
        await self._execute(
            "UPDATE observers SET left_at=%s WHERE session_id=%s AND staff=%s AND joined=%s "
            "AND left_at IS NULL", (at, session_id, staff, joined))

    async def observers_left(self, session_id: str, at: str) -> None:
        await self._execute(
            "UPDATE observers SET left_at=%s WHERE session_id=%s AND left_at IS NULL",
            (at, session_id))

    async def observers(self, session_id: str) -> list[dict[str, str | None]]:
        rows = await self._rows(
            'SELECT staff, joined, left_at FROM observers WHERE session_id=%s '
            'ORDER BY joined COLLATE "C", staff COLLATE "C"', (session_id,))
        return [{"staff": r[0], "joined": r[1], "left": r[2]} for r in rows]


async def _usage(conn: psycopg.AsyncConnection[Any], session_id: str,
                 person: str) -> tuple[int, int]:
    cur = await conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM uploads WHERE session_id=%s AND person=%s",
        (session_id, person))
    row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])
