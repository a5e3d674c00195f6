"""The session store as the server uses it: one interface, two back ends.

:class:`signaling.store.sqlite.Store` (a file in the data directory, the default) and
:class:`signaling.store.postgres.PostgresStore` (``--database-url postgresql://…``,
shared by several nodes) keep the same data with the same guarantees:

- a new session is written in one transaction: all of it exists or none of it;
- ``add_upload_within`` checks the quota and writes the upload in one transaction,
  so concurrent uploads (from any process or node) cannot pass it together;
- ``put_submission``: the first feedback form or report of a person stays;
- ``put_mark``: a learner has at most one mark per session, the latest.

A PostgreSQL store whose database is away raises
:class:`recorder.database.DatabaseUnavailable` within seconds (REST: 503).
:func:`signaling.store.open_store` chooses the back end by URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from signaling.session.spec import RecordingChoice, SessionSpec, StoredSession
from signaling.session.whiteboard import BoardOp
from signaling.store.session_query import SessionPage, SessionQuery

SUBMISSION_TABLES = ("feedback", "reports")


class SessionStore(Protocol):
    """Every method the server calls on its store (the room needs a subset of them:
    :class:`signaling.session.room_deps.SessionStore`)."""

    # Once open: the migration version of the store's schema (``opentutor db upgrade``).
    schema_version: int

    async def open(self) -> None: ...
    async def close(self) -> None: ...

    # -- sessions and their people
    async def create_session(self, session_id: str, spec: SessionSpec, created_at: str) -> None:
        ...
    async def session(self, session_id: str) -> StoredSession | None: ...
    async def sessions_of(self, person_id: str) -> list[str]: ...
    async def session_ids_between(self, lo: str, hi: str) -> list[str]:
        """Sessions that started in ``[lo, hi)`` (ISO text), or were scheduled then and
        never started, in id order."""
        ...
    async def list_sessions(self, query: SessionQuery) -> SessionPage:
        """One page of the session list (issue 16), newest first; the filters, the
        scope and the cursor: :mod:`signaling.store.session_query`."""
        ...
    async def count_sessions(self, query: SessionQuery) -> int:
        """How many sessions ``query`` matches over all pages (its cursor ignored)."""
        ...
    async def mark_started(self, session_id: str, at: str) -> None: ...
    async def mark_ended(self, session_id: str, at: str) -> None: ...

    # -- chat and the whiteboard log
    async def add_chat(self, session_id: str, message: dict[str, Any]) -> None: ...
    async def chat(self, session_id: str, limit: int = 100) -> list[dict[str, Any]]: ...
    async def add_board_op(self, session_id: str, entry: BoardOp) -> None: ...
    async def board_log(self, session_id: str) -> list[BoardOp]: ...

    # -- uploads
    async def upload_usage(self, session_id: str, person: str) -> tuple[int, int]: ...
    async def add_upload_within(
        self, upload_id: str, session_id: str, person: str, content_type: str, size: int,
        at: str, *, max_files: int, max_bytes: int, after_end: bool = False,
    ) -> str | None: ...
    async def upload(self, upload_id: str) -> dict[str, Any] | None: ...

    # -- feedback forms and review reports (first wins), the teacher's marks (latest wins)
    async def put_submission(
        self, table: str, session_id: str, person: str, at: str, body: dict[str, Any]
    ) -> bool: ...
    async def submissions(self, table: str, session_id: str) -> dict[str, dict[str, Any]]: ...
    async def put_mark(self, session_id: str, learner: str, mark: dict[str, str]) -> None: ...
    async def marks(self, session_id: str) -> dict[str, dict[str, str]]: ...
    async def analysis_rows(self, lo: str, hi: str, *, district_code: str = "",
                            school_id: str = "") -> list[AnalysisRow]:
        """The analysis report's input (issue 16): one row per learner of each tutoring
        session that started (or was scheduled to) in ``[lo, hi)`` (ISO text), with the
        teacher's mark of them if any. ``district_code`` / ``school_id`` (the viewer's
        scope and the report's filters) keep only learners of that district / school:
        the report is about a place's students, wherever their teacher works."""
        ...

    # -- the instructor's recording choice
    async def set_recording_choice(self, session_id: str, choice: RecordingChoice) -> None: ...
    async def recording_choice(self, session_id: str) -> RecordingChoice | None: ...

    # -- observer visits (issue 16): who watched a live session read-only, and when.
    # Apart from people and presence on purpose: a visit is never anybody's attendance.
    async def observer_joined(self, session_id: str, staff: str, at: str) -> None:
        """A visit of ``staff`` began at ``at`` (ISO; with ``staff`` its key)."""
        ...

    async def observer_left(self, session_id: str, staff: str, joined: str, at: str) -> None:
        """The visit of ``staff`` that began at ``joined`` ended at ``at`` (once)."""
        ...

    async def observers_left(self, session_id: str, at: str) -> None:
        """Every visit of the session still open ends at ``at`` (its end; also one a
        stopped node left open)."""
        ...

    async def observers(self, session_id: str) -> list[dict[str, str | None]]:
        """The visits, oldest first: ``{"staff", "joined", "left"}`` (``left`` None: open)."""
        ...


MARK_FIELDS = ("problem", "subject", "knowledge_point", "marked_at", "by")


@dataclass(frozen=True, slots=True)
class AnalysisRow:
    """A learner of a tutoring session and their mark (``None`` when unmarked); the
    instructor is the session's one instructor (both tutoring forms have exactly one)."""

    session_id: str
    form: str
    start: str  # ISO UTC text: started_at, or scheduled_start if it never started
    teacher: str
    teacher_district_code: str
    teacher_school_id: str
    learner: str
    learner_district_code: str
    learner_district: str
    learner_school_id: str
    learner_school: str
    subject: str | None
    knowledge_point: str | None
    problem: str | None


def analysis_sql(lo: str, hi: str, district_code: str, school_id: str, *,
                 placeholder: str, collate: str) -> tuple[str, tuple[str, ...]]:
    """The one query of :meth:`SessionStore.analysis_rows`, for either back end
    (``placeholder`` ``?`` or ``%s``; ``collate`` '' or ``COLLATE "C"`` so ISO text
    compares byte by byte on PostgreSQL as on SQLite). Walks ``sessions_by_start``;
    people and marks are reached by their primary keys."""
    q = placeholder
    start = "COALESCE(s.started_at, s.scheduled_start)"
    where = ["s.programme = 'tutoring'", f"{start} >= {q} {collate}",
             f"{start} < {q} {collate}"]
    params: list[str] = [lo, hi]
    if district_code:
        where.append(f"l.district_code = {q}")
        params.append(district_code)
    if school_id:
        where.append(f"l.school_id = {q}")
        params.append(school_id)
    sql = (
        f"SELECT s.id, s.form, {start}, i.id, i.district_code, i.school_id, l.id, "
        "l.district_code, l.district, l.school_id, l.school, m.subject, m.knowledge_point, "
        "m.problem FROM sessions s "
        "JOIN people i ON i.session_id = s.id AND i.role = 'instructor' "
        "JOIN people l ON l.session_id = s.id AND l.role = 'learner' "
        "LEFT JOIN marks m ON m.session_id = s.id AND m.learner = l.id "
        f"WHERE {' AND '.join(where)}"
    )
    return sql, tuple(params)
