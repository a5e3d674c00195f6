"""Durable session data in SQLite: sessions and people, chat, whiteboard log,
uploads, feedback, review reports and the tutoring teacher's marks.

One connection, used from one worker thread, so the event loop never waits on
disk and SQLite never sees two writers. A new session is written in a single
transaction: either all of it exists or none of it does. The interface and its
guarantees: :class:`signaling.store.base.SessionStore`; the schema:
:data:`signaling.store.migrations.SQLITE`.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from recorder.sqlite_thread import SqliteThread
from signaling.session.spec import Person, RecordingChoice, SessionSpec, StoredSession
from signaling.session.timefmt import iso, parse
from signaling.session.whiteboard import BoardOp
from signaling.store import migrations, session_query
from signaling.store.base import MARK_FIELDS, SUBMISSION_TABLES, AnalysisRow, analysis_sql
from signaling.store.session_query import SessionPage, SessionQuery

# The session data it keeps is the session layer's (signaling.session.spec).
__all__ = ["RecordingChoice", "Store", "StoredSession"]


class Store(SqliteThread):
    MIGRATIONS = migrations.SQLITE
    NAME = "store"

    async def create_session(self, session_id: str, spec: SessionSpec, created_at: str) -> None:
        statements: list[tuple[str, tuple[Any, ...]]] = [
            (
                "INSERT INTO sessions VALUES (?,?,?,?,?,?,?,?,NULL,NULL)",
                (
                    session_id,
                    spec.programme,
                    spec.form,
                    spec.title,
                    iso(spec.scheduled_start),
                    iso(spec.scheduled_end),
                    int(spec.record),
                    created_at,
                ),
            )
        ]
        statements += [
            (
                "INSERT INTO people (session_id, id, name, role, school, district, ord, "
                "school_id, district_code) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    session_id, p.id, p.name, p.role, p.school, p.district, i,
                    p.school_id, p.district_code,
                ),
            )
            for i, p in enumerate(spec.people)
        ]
        await self._run(self._tx, statements)

    async def session(self, session_id: str) -> StoredSession | None:
        def _get() -> StoredSession | None:
            row = self.db.execute("SELECT * FROM sessions WHERE id=?", (session_id,)).fetchone()
            if row is None:
                return None
            people = self.db.execute(
                "SELECT id, name, role, school, district, school_id, district_code "
                "FROM people WHERE session_id=? ORDER BY ord",
                (session_id,),
            ).fetchall()
            spec = SessionSpec(
                programme=row[1],
                form=row[2],
                title=row[3],
                scheduled_start=parse(row[4]),
                scheduled_end=parse(row[5]),
                record=bool(row[6]),
                people=tuple(Person(*p) for p in people),
            )
            return StoredSession(row[0], spec, row[7], row[8], row[9])

        result: StoredSession | None = await self._run(_get)
        return result

    async def sessions_of(self, person_id: str) -> list[str]:
        def _get() -> list[str]:
            rows = self.db.execute(
                "SELECT session_id FROM people WHERE id=? ORDER BY session_id", (person_id,)
            )
            return [r[0] for r in rows]

        result: list[str] = await self._run(_get)
        return result

    async def session_ids_between(self, lo: str, hi: str) -> list[str]:
        def _get() -> list[str]:
            rows = self.db.execute(
                "SELECT id FROM sessions WHERE COALESCE(started_at, scheduled_start) >= ? "
                "AND COALESCE(started_at, scheduled_start) < ? ORDER BY id",
                (lo, hi),
            )
            return [r[0] for r in rows]

        result: list[str] = await self._run(_get)
        return result

    async def list_sessions(self, query: SessionQuery) -> SessionPage:
        def _get() -> SessionPage:
            sql, params = session_query.select_sql(query, session_query.SQLITE)
            rows = self.db.execute(sql, params).fetchall()
            ids = [r[0] for r in rows[: query.limit]]
            people: list[tuple[Any, ...]] = []
            if ids:
                sql, params = session_query.instructors_sql(ids, session_query.SQLITE)
                people = self.db.execute(sql, params).fetchall()
            return session_query.page_of(query, rows, people)

        result: SessionPage = await self._run(_get)
        return result

    async def count_sessions(self, query: SessionQuery) -> int:
        def _get() -> int:
            sql, params = session_query.count_sql(query, session_query.SQLITE)
            return int(self.db.execute(sql, params).fetchone()[0])

        result: int = await self._run(_get)
        return result

    async def mark_started(self, session_id: str, at: str) -> None:
        await self._run(
            self._tx,
            [
                (
                    "UPDATE sessions SET started_at=? WHERE id=? AND started_at IS NULL",
                    (at, session_id),
                )
            ],
        )

    async def mark_ended(self, session_id: str, at: str) -> None:
        await self._run(
            self._tx,
            [("UPDATE sessions SET ended_at=? WHERE id=? AND ended_at IS NULL", (at, session_id))],
        )

    async def add_chat(self, session_id: str, message: dict[str, Any]) -> None:
        body = json.dumps(message, ensure_ascii=False)
        await self._run(
            self._tx, [("INSERT INTO chat VALUES (?,?,?)", (session_id, message["id"], body))]
        )

    async def chat(self, session_id: str, limit: int = 100) -> list[dict[str, Any]]:
        def _get() -> list[dict[str, Any]]:
            rows = self.db.execute(
                "SELECT body FROM chat WHERE session_id=? ORDER BY rowid DESC LIMIT ?",
                (session_id, limit),
            ).fetchall()
            return [json.loads(r[0]) for r in reversed(rows)]

        result: list[dict[str, Any]] = await self._run(_get)
        return result

    async def add_board_op(self, session_id: str, entry: BoardOp) -> None:
        params = (session_id, entry.seq, entry.ts, entry.by, json.dumps(entry.op))
        await self._run(self._tx, [("INSERT INTO board_ops VALUES (?,?,?,?,?)", params)])

    async def board_log(self, session_id: str) -> list[BoardOp]:
        def _get() -> list[BoardOp]:
            rows = self.db.execute(
                "SELECT seq, ts, by, op FROM board_ops WHERE session_id=? ORDER BY seq",
                (session_id,),
            )
            return [BoardOp(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

        result: list[BoardOp] = await self._run(_get)
        return result

    async def upload_usage(self, session_id: str, person: str) -> tuple[int, int]:
        """How many pictures, and how many bytes, ``person`` uploaded in this session."""

        def _get() -> tuple[int, int]:
            return self._upload_usage(session_id, person)

        result: tuple[int, int] = await self._run(_get)
        return result

    def _upload_usage(self, session_id: str, person: str) -> tuple[int, int]:
        row = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM uploads WHERE session_id=? AND person=?",
            (session_id, person),
        ).fetchone()
        return int(row[0]), int(row[1])

    async def add_upload_within(
        self,
        upload_id: str,
        session_id: str,
        person: str,
        content_type: str,
        size: int,
        at: str,
        *,
        max_files: int,
        max_bytes: int,
        after_end: bool = False,
    ) -> str | None:
        """Store an upload unless it takes ``person`` past ``max_files``/``max_bytes`` in
        this session (``"quota_exceeded"``) or the session has ended and ``after_end`` is
        false (``"session_ended"``). Checked and written in one write transaction, so
        concurrent uploads (or processes) cannot together pass the quota."""

        def _put() -> str | None:
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                ended = db.execute(
                    "SELECT ended_at FROM sessions WHERE id=?", (session_id,)
                ).fetchone()
                files, used = self._upload_usage(session_id, person)
                if ended is not None and ended[0] is not None and not after_end:
                    refused: str | None = "session_ended"
                elif files + 1 > max_files or used + size > max_bytes:
                    refused = "quota_exceeded"
                else:
                    refused = None
                    db.execute(
                        "INSERT INTO uploads VALUES (?,?,?,?,?,?)",
                        (upload_id, session_id, person, content_type, size, at),
                    )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return refused

        result: str | None = await self._run(_put)
        return result

    async def upload(self, upload_id: str) -> dict[str, Any] | None:
        def _get() -> dict[str, Any] | None:
            row = self.db.execute(
                "SELECT session_id, person, content_type, bytes FROM uploads WHERE id=?",
                (upload_id,),
            ).fetchone()
            if row is None:
                return None
            keys = ("session_id", "person", "content_type", "bytes")
            return dict(zip(keys, row, strict=True))

        result: dict[str, Any] | None = await self._run(_get)
        return result

    async def put_submission(
        self, table: str, session_id: str, person: str, at: str, body: dict[str, Any]
    ) -> bool:
        """Store a feedback form or review report; False if one was already there."""
        assert table in SUBMISSION_TABLES

        def _put() -> bool:
            try:
                self._tx(
                    [
                        (
                            f"INSERT INTO {table} VALUES (?,?,?,?)",
                            (session_id, person, at, json.dumps(body, ensure_ascii=False)),
                        )
                    ]
                )
            except sqlite3.IntegrityError:
                return False
            return True

        result: bool = await self._run(_put)
        return result

    async def submissions(self, table: str, session_id: str) -> dict[str, dict[str, Any]]:
        assert table in SUBMISSION_TABLES

        def _get() -> dict[str, dict[str, Any]]:
            rows = self.db.execute(
                f"SELECT person, submitted_at, body FROM {table} WHERE session_id=?",
                (session_id,),
            )
            return {r[0]: {"submitted_at": r[1], **json.loads(r[2])} for r in rows}

        result: dict[str, dict[str, Any]] = await self._run(_get)
        return result

    # -- the tutoring teacher's marks: one per learner per session, the latest wins
    async def put_mark(
        self, session_id: str, learner: str, mark: dict[str, str]
    ) -> None:
        """Store the mark of ``learner`` (``problem``, ``subject``, ``knowledge_point``,
        ``marked_at``, ``by``), replacing an earlier one: the table holds at most one
        row per learner of a session."""
        values = tuple(mark[k] for k in MARK_FIELDS)
        await self._run(self._tx, [(
            "INSERT INTO marks VALUES (?,?,?,?,?,?,?) ON CONFLICT(session_id, learner) DO "
            "UPDATE SET problem=excluded.problem, subject=excluded.subject, "
            "knowledge_point=excluded.knowledge_point, marked_at=excluded.marked_at, "
            "by=excluded.by",
            (session_id, learner, *values),
        )])

    async def marks(self, session_id: str) -> dict[str, dict[str, str]]:
        """Learner → their mark, as the session record states it."""
        def _get() -> dict[str, dict[str, str]]:
            rows = self.db.execute(
                "SELECT learner, problem, subject, knowledge_point, marked_at, by FROM marks "
                "WHERE session_id=? ORDER BY learner",
                (session_id,),
            )
            return {r[0]: dict(zip(MARK_FIELDS, r[1:], strict=True)) for r in rows}

        result: dict[str, dict[str, str]] = await self._run(_get)
        return result

    async def analysis_rows(self, lo: str, hi: str, *, district_code: str = "",
                            school_id: str = "") -> list[AnalysisRow]:
        sql, params = analysis_sql(lo, hi, district_code, school_id, placeholder="?",
                                   collate="")

        def _get() -> list[AnalysisRow]:
            return [AnalysisRow(*r) for r in self.db.execute(sql, params)]

        result: list[AnalysisRow] = await self._run(_get)
        return result

    # -- the instructor's recording choice (durable before it is announced)
    async def set_recording_choice(self, session_id: str, choice: RecordingChoice) -> None:
        await self._run(self._tx, [(
            "INSERT INTO recording_choice VALUES (?,?,?,?) ON CONFLICT(session_id) DO UPDATE"
            " SET record=excluded.record, by=excluded.by, at=excluded.at",
            (session_id, int(choice.on), choice.by, choice.at),
        )])

    async def recording_choice(self, session_id: str) -> RecordingChoice | None:
        """The last choice, or ``None`` if no instructor chose (``spec.record`` holds)."""
        def _get() -> RecordingChoice | None:
            row = self.db.execute(
                "SELECT record, by, at FROM recording_choice WHERE session_id=?", (session_id,)
            ).fetchone()
            return RecordingChoice(bool(row[0]), row[1], row[2]) if row is not None else None

        result: RecordingChoice | None = await self._run(_get)
        return result

    # -- observer visits (issue 16)
    async def observer_joined(self, session_id: str, staff: str, at: str) -> None:
        await self._run(self._tx, [(
            "INSERT INTO observers VALUES (?,?,?,NULL) ON CONFLICT DO NOTHING",
            (session_id, staff, at),
        )])

    async def observer_left(self, session_id: str, staff: str, joined: str, at: str) -> None:
        await self._run(self._tx, [(
            "UPDATE observers SET left_at=? WHERE session_id=? AND staff=? AND joined=? "
            "AND left_at IS NULL",
            (at, session_id, staff, joined),
        )])

    async def observers_left(self, session_id: str, at: str) -> None:
        await self._run(self._tx, [(
            "UPDATE observers SET left_at=? WHERE session_id=? AND left_at IS NULL",
            (at, session_id),
        )])

    async def observers(self, session_id: str) -> list[dict[str, str | None]]:
        def _get() -> list[dict[str, str | None]]:
            rows = self.db.execute(
                "SELECT staff, joined, left_at FROM observers WHERE session_id=? "
                "ORDER BY joined, staff", (session_id,))
            return [{"staff": r[0], "joined": r[1], "left": r[2]} for r in rows]

        result: list[dict[str, str | None]] = await self._run(_get)
        return result
