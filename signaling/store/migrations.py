"""The session store's schema, as versioned migrations per back end
(:mod:`recorder.database` runs them, at start and by ``opentutor db upgrade``).

Both back ends keep the same tables and the same text: times stay ISO-8601 UTC text
(``…Z``) as the session layer writes them, so a range query compares the same
strings on either; JSON bodies stay text, so a chat message reads back exactly as
written. Differences, all of them: PostgreSQL has ``BOOLEAN`` where SQLite has 0/1,
an identity column (``chat.seq``) where SQLite orders by its implicit ``rowid``, and
its queries compare and sort text ``COLLATE "C"`` (bytes, as SQLite does), whatever
the database's locale.

A new column or table is a new step at the end of each tuple; a step once released
is never edited.
"""

from __future__ import annotations

from recorder.database import Step, sqlite_add_columns

COMPONENT = "store"

# Step 1 is the layout of the first release, in ``IF NOT EXISTS`` form: on a
# database made before versioning (no schema_version table) it creates only what is
# missing; step 2 is the columns added since, which a database of the last
# unversioned layout already has and an older one gets with their default.
_SQLITE_FIRST = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, programme TEXT NOT NULL, form TEXT NOT NULL, title TEXT NOT NULL,
    scheduled_start TEXT NOT NULL, scheduled_end TEXT NOT NULL, record INTEGER NOT NULL,
    created_at TEXT NOT NULL, started_at TEXT, ended_at TEXT
);
CREATE TABLE IF NOT EXISTS people (
    session_id TEXT NOT NULL REFERENCES sessions(id), id TEXT NOT NULL, name TEXT NOT NULL,
    role TEXT NOT NULL, school TEXT NOT NULL, district TEXT NOT NULL, ord INTEGER NOT NULL,
    PRIMARY KEY (session_id, id)
);
CREATE INDEX IF NOT EXISTS people_by_person ON people(id);
CREATE TABLE IF NOT EXISTS chat (
    session_id TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (session_id, id)
);
CREATE TABLE IF NOT EXISTS board_ops (
    session_id TEXT NOT NULL, seq INTEGER NOT NULL, ts TEXT NOT NULL, by TEXT NOT NULL,
    op TEXT NOT NULL, PRIMARY KEY (session_id, seq)
);
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY, session_id TEXT NOT NULL, person TEXT NOT NULL,
    content_type TEXT NOT NULL, bytes INTEGER NOT NULL, created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS uploads_by_person ON uploads(session_id, person);
CREATE TABLE IF NOT EXISTS feedback (
    session_id TEXT NOT NULL, person TEXT NOT NULL, submitted_at TEXT NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (session_id, person)
);
CREATE TABLE IF NOT EXISTS reports (
    session_id TEXT NOT NULL, person TEXT NOT NULL, submitted_at TEXT NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (session_id, person)
);
CREATE TABLE IF NOT EXISTS marks (    -- tutoring: the teacher's latest mark of each learner
    session_id TEXT NOT NULL, learner TEXT NOT NULL, problem TEXT NOT NULL,
    subject TEXT NOT NULL, knowledge_point TEXT NOT NULL, marked_at TEXT NOT NULL,
    by TEXT NOT NULL, PRIMARY KEY (session_id, learner)
);
CREATE TABLE IF NOT EXISTS recording_choice (   -- the instructor's last record on/off
    session_id TEXT PRIMARY KEY, record INTEGER NOT NULL, by TEXT NOT NULL, at TEXT NOT NULL
);
"""

# Issue 16: who watched a live session read-only. A table of its own, apart from people
# and presence, so that a visit can never count as anybody's attendance or pay.
_OBSERVERS = """
CREATE TABLE IF NOT EXISTS observers (
    session_id TEXT NOT NULL, staff TEXT NOT NULL, joined TEXT NOT NULL, left_at TEXT,
    PRIMARY KEY (session_id, staff, joined)
);
"""

SQLITE: tuple[Step, ...] = (
    Step(1, "sessions, people, chat, board log, uploads, submissions, marks, recording "
         "choice", sql=_SQLITE_FIRST),
    Step(2, "people: school_id and district_code", run=sqlite_add_columns(
        ("people", "school_id", "TEXT NOT NULL DEFAULT ''"),
        ("people", "district_code", "TEXT NOT NULL DEFAULT ''"),
    )),
    Step(3, "sessions by start, for the supervision window",
         sql="CREATE INDEX IF NOT EXISTS sessions_by_start "
             "ON sessions(COALESCE(started_at, scheduled_start))"),
    # The session list (issue 16) pages newest first on (start, id): one index walk
    # per page instead of sorting every session that matches.
    Step(4, "sessions by start and id, for the session list",
         sql="CREATE INDEX IF NOT EXISTS sessions_by_start_id "
             "ON sessions(COALESCE(started_at, scheduled_start), id)"),
    Step(5, "observer visits (a supervisor watching read-only)", sql=_OBSERVERS),
)

# PostgreSQL has no history before versioning: its first step is today's layout.
_POSTGRES_FIRST = """
CREATE TABLE sessions (
    id TEXT PRIMARY KEY, programme TEXT NOT NULL, form TEXT NOT NULL, title TEXT NOT NULL,
    scheduled_start TEXT NOT NULL, scheduled_end TEXT NOT NULL, record BOOLEAN NOT NULL,
    created_at TEXT NOT NULL, started_at TEXT, ended_at TEXT
);
CREATE INDEX sessions_by_start ON sessions ((COALESCE(started_at, scheduled_start)) COLLATE "C");
CREATE TABLE people (
    session_id TEXT NOT NULL REFERENCES sessions(id), id TEXT NOT NULL, name TEXT NOT NULL,
    role TEXT NOT NULL, school TEXT NOT NULL, district TEXT NOT NULL, ord INTEGER NOT NULL,
    school_id TEXT NOT NULL DEFAULT '', district_code TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (session_id, id)
);
CREATE INDEX people_by_person ON people(id);
CREATE TABLE chat (
    session_id TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
    seq BIGINT GENERATED ALWAYS AS IDENTITY,    -- the order messages were stored in
    PRIMARY KEY (session_id, id)
);
CREATE INDEX chat_in_order ON chat(session_id, seq);
CREATE TABLE board_ops (
    session_id TEXT NOT NULL, seq BIGINT NOT NULL, ts TEXT NOT NULL, "by" TEXT NOT NULL,
    op TEXT NOT NULL, PRIMARY KEY (session_id, seq)
);
CREATE TABLE uploads (
    id TEXT PRIMARY KEY, session_id TEXT NOT NULL, person TEXT NOT NULL,
    content_type TEXT NOT NULL, bytes BIGINT NOT NULL, created_at TEXT NOT NULL
);
CREATE INDEX uploads_by_person ON uploads(session_id, person);
CREATE TABLE feedback (
    session_id TEXT NOT NULL, person TEXT NOT NULL, submitted_at TEXT NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (session_id, person)
);
CREATE TABLE reports (
    session_id TEXT NOT NULL, person TEXT NOT NULL, submitted_at TEXT NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (session_id, person)
);
CREATE TABLE marks (
    session_id TEXT NOT NULL, learner TEXT NOT NULL, problem TEXT NOT NULL,
    subject TEXT NOT NULL, knowledge_point TEXT NOT NULL, marked_at TEXT NOT NULL,
    "by" TEXT NOT NULL, PRIMARY KEY (session_id, learner)
);
CREATE TABLE recording_choice (
    session_id TEXT PRIMARY KEY, record BOOLEAN NOT NULL, "by" TEXT NOT NULL, at TEXT NOT NULL
);
"""

POSTGRES: tuple[Step, ...] = (
    Step(1, "the store's tables", sql=_POSTGRES_FIRST),
    Step(2, "sessions by start and id, for the session list",
         sql='CREATE INDEX IF NOT EXISTS sessions_by_start_id ON sessions '
             '((COALESCE(started_at, scheduled_start)) COLLATE "C", id COLLATE "C")'),
    Step(3, "observer visits (a supervisor watching read-only)", sql=_OBSERVERS),
)
