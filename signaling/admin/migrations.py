"""The staff schema (accounts, sign-in sessions, sign-in attempts, the audit log) as
versioned migrations per back end, run at start and by ``opentutor db upgrade``
(:mod:`recorder.database`). A released step is never edited; a change is a new step.

The audit log is append-only in the database itself, not only in the code: triggers
refuse UPDATE and DELETE on ``staff_audit``, so a bug or a stray script cannot
rewrite who did what.
"""

from __future__ import annotations

import sqlite3

from recorder.database import Step

COMPONENT = "staff"

_SQLITE_TABLES = """
CREATE TABLE staff_users (
    username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, level TEXT NOT NULL,
    district_code TEXT NOT NULL DEFAULT '', school_id TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE staff_sessions (
    token_hash TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES staff_users(username),
    created_at TEXT NOT NULL, last_seen TEXT NOT NULL, expires_at TEXT NOT NULL
);
CREATE INDEX staff_sessions_by_user ON staff_sessions(username);
CREATE TABLE staff_logins (
    at TEXT NOT NULL, username TEXT NOT NULL, address TEXT NOT NULL, ok INTEGER NOT NULL
);
CREATE INDEX staff_logins_by_user ON staff_logins(username, at);
CREATE INDEX staff_logins_by_address ON staff_logins(address, at);
CREATE TABLE staff_audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,    -- never reused, even after the last row
    at TEXT NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""


def _sqlite_append_only(db: sqlite3.Connection) -> None:
    # A trigger body holds ";", which the SQL splitter of the runner would cut.
    for verb in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER staff_audit_no_{verb.lower()} BEFORE {verb} ON staff_audit "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        )


SQLITE: tuple[Step, ...] = (
    Step(1, "staff users, sign-in sessions, sign-in attempts, audit log", sql=_SQLITE_TABLES),
    Step(2, "the audit log refuses UPDATE and DELETE", run=_sqlite_append_only),
)

_POSTGRES_FIRST = """
CREATE TABLE staff_users (
    username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, level TEXT NOT NULL,
    district_code TEXT NOT NULL DEFAULT '', school_id TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL, disabled BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE staff_sessions (
    token_hash TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES staff_users(username),
    created_at TEXT NOT NULL, last_seen TEXT NOT NULL, expires_at TEXT NOT NULL
);
CREATE INDEX staff_sessions_by_user ON staff_sessions(username);
CREATE TABLE staff_logins (
    at TEXT NOT NULL, username TEXT NOT NULL, address TEXT NOT NULL, ok BOOLEAN NOT NULL
);
CREATE INDEX staff_logins_by_user ON staff_logins(username, (at COLLATE "C"));
CREATE INDEX staff_logins_by_address ON staff_logins(address, (at COLLATE "C"));
CREATE TABLE staff_audit (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TEXT NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE FUNCTION staff_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END $$;
CREATE TRIGGER staff_audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON staff_audit
    FOR EACH STATEMENT EXECUTE FUNCTION staff_audit_append_only();
"""

POSTGRES: tuple[Step, ...] = (
    Step(1, "staff users, sign-in sessions, sign-in attempts, audit log (append-only)",
         sql=_POSTGRES_FIRST),
)
