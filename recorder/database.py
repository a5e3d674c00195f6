"""What the two database back ends share, standard library only: the error a caller
sees when the database cannot be reached, which back end a URL names, and the
versioned schema migrations.

SQLite (a file per component in the data directory, no server to install) is the
default; ``--database-url postgresql://…`` puts the store and the recordings index in
PostgreSQL (:mod:`recorder.postgres`), so several machines share them.

Migrations: each component (``store``, ``recordings``, later ``journal``) has an
ordered tuple of :class:`Step` per back end, numbered from 1 without holes. A table
``schema_version (component, version, upgraded_at)`` says how far a database is; the
steps above it run in order at start (and by ``opentutor db upgrade``), each in a
transaction of its own with its version row, so a crash between steps leaves a
database at a known version. A database newer than the code is refused rather than
written with an older layout.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

POSTGRES_SCHEMES = ("postgresql", "postgres")


class DatabaseUnavailable(RuntimeError):
    """The database did not answer in time (down, unreachable, or every connection
    busy). Retryable: REST answers 503 with ``Retry-After``, a join is refused with
    ``unavailable``."""


class SchemaTooNew(RuntimeError):
    """The database was upgraded by a newer opentutor than this one."""


@dataclass(frozen=True)
class Step:
    """One migration: SQL (several statements allowed), or for SQLite a function of
    the connection where SQL alone cannot say it (``ADD COLUMN`` has no ``IF NOT
    EXISTS`` there)."""

    version: int
    what: str
    sql: str = ""
    run: Callable[[sqlite3.Connection], None] | None = None


def check_steps(steps: Sequence[Step]) -> int:
    """The version ``steps`` lead to; they must be numbered 1, 2, … in order."""
    for expected, step in enumerate(steps, start=1):
        if step.version != expected:
            raise ValueError(f"migration {step.what!r} is numbered {step.version}, not {expected}")
    return len(steps)


def is_postgres_url(url: str) -> bool:
    return urlsplit(url).scheme.lower() in POSTGRES_SCHEMES


def redacted(url: str) -> str:
    """``url`` with its password replaced by ``***``, for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:***@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def too_new(component: str, version: int, target: int) -> str:
    return (f"the {component} database is at schema version {version}, newer than this "
            f"opentutor knows ({target}): upgrade opentutor")


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- SQLite


SQLITE_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY, "
    "version INTEGER NOT NULL, upgraded_at TEXT NOT NULL)"
)


def sqlite_version(db: sqlite3.Connection, component: str) -> int:
    have = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'"
    ).fetchone()
    if have is None:
        return 0
    row = db.execute(
        "SELECT version FROM schema_version WHERE component=?", (component,)
    ).fetchone()
    return int(row[0]) if row is not None else 0


def upgrade_sqlite(db: sqlite3.Connection, component: str, steps: Sequence[Step]) -> int:
    """Bring ``component`` of ``db`` (autocommit mode) to the last of ``steps``;
    returns the version reached. Several processes may share the file: each step
    runs under ``BEGIN IMMEDIATE`` and re-reads the version first, so it runs once."""
    target = check_steps(steps)
    current = sqlite_version(db, component)
    if current > target:
        raise SchemaTooNew(too_new(component, current, target))
    for step in steps[current:]:  # nothing to write when it is up to date
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(SQLITE_VERSION_TABLE)
            if sqlite_version(db, component) < step.version:
                if step.run is not None:
                    step.run(db)
                for statement in _statements(step.sql):
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_version VALUES (?,?,?) ON CONFLICT(component) DO "
                    "UPDATE SET version=excluded.version, upgraded_at=excluded.upgraded_at",
                    (component, step.version, now_text()),
                )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    return target


def _statements(sql: str) -> list[str]:
    """``sql`` cut into statements (``executescript`` would commit the transaction).
    Comments go first; the schemas here hold no ``--`` or ``;`` inside a literal."""
    bare = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [s.strip() for s in bare.split(";") if s.strip()]


def sqlite_add_columns(
    *columns: tuple[str, str, str],
) -> Callable[[sqlite3.Connection], None]:
    """A step that adds (table, column, declaration) where missing: a database made
    before the column existed gets it with its default; one made after already has it."""

    def run(db: sqlite3.Connection) -> None:
        for table, column, declaration in columns:
            have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    return run
