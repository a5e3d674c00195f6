"""PostgreSQL, shared by the session store, the recordings index and (next) the
presence journal when ``--database-url postgresql://…`` is given.

The driver is psycopg 3, not asyncpg: one library gives both an asyncio connection
pool (the session store, on the event loop) and plain synchronous connections and
pools that a thread can keep (the recorders write index rows from their writer
threads; the journal's durability design commits each heartbeat on a writer thread
of its own). COPY and server-side prepared statements are there when a hot path needs
them; it is the maintained successor of psycopg2, with binary wheels (no compiler,
no libpq to install).

A database that is down must not hang anyone: connections are made with a connect
timeout and TCP keepalives, a statement that runs longer than
:data:`STATEMENT_TIMEOUT_MS` is cancelled, and waiting for a pooled connection ends
after :data:`POOL_TIMEOUT_S`. Each of these (and a connection lost mid-way) reaches
the caller as :class:`recorder.database.DatabaseUnavailable`, with the URL's password
left out.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from recorder.database import (
    DatabaseUnavailable,
    SchemaTooNew,
    Step,
    check_steps,
    now_text,
    redacted,
    too_new,
)

CONNECT_TIMEOUT_S = 3  # libpq's connect_timeout (whole seconds, at least 2)
POOL_TIMEOUT_S = 5.0  # waiting for a pooled connection (or for the first, at open)
STATEMENT_TIMEOUT_MS = 15_000  # no request waits on one statement longer than this
# Reconnect attempts of a pool whose database went away stop after this long; the
# next use then tries again, so a database back after a long outage is used again.
RECONNECT_TIMEOUT_S = 60.0

# One migrator at a time, across every node that starts at once: a transaction-level
# advisory lock (a fixed key, 'otdb' in ASCII) taken before each step.
MIGRATION_LOCK = 0x6F746462

VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY, "
    "version INTEGER NOT NULL, upgraded_at TEXT NOT NULL)"
)


def conninfo(url: str, *, name: str, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS) -> str:
    """``url`` with this program's defaults added where the URL does not set them: a
    connect timeout, TCP keepalives, the statement timeout and an application name
    (what ``pg_stat_activity`` shows)."""
    try:
        given = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise ValueError(f"not a PostgreSQL URL: {redacted(url)}: {exc}") from None
    defaults: dict[str, Any] = {
        "connect_timeout": CONNECT_TIMEOUT_S,
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "application_name": f"opentutor {name}",
    }
    extra = {k: v for k, v in defaults.items() if k not in given}
    options = str(given.get("options") or "")
    if "statement_timeout" not in options:
        extra["options"] = f"{options} -c statement_timeout={statement_timeout_ms}".strip()
    return make_conninfo(url, **extra)


def unavailable(url: str, exc: BaseException) -> DatabaseUnavailable:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DatabaseUnavailable(f"PostgreSQL at {redacted(url)} is unavailable: {detail}")


# Lost or refused connections, timeouts and a full pool (PoolTimeout is one) are
# OperationalError; using a connection that was closed under us is InterfaceError.
GONE = (psycopg.OperationalError, psycopg.InterfaceError)


def connect(url: str, *, name: str, autocommit: bool = True,
            statement_timeout_ms: int = STATEMENT_TIMEOUT_MS) -> psycopg.Connection[Any]:
    """A plain connection, for a thread that keeps its own (or a command)."""
    try:
        return psycopg.connect(conninfo(url, name=name,
                                        statement_timeout_ms=statement_timeout_ms),
                               autocommit=autocommit)
    except GONE as exc:
        raise unavailable(url, exc) from exc


async def open_pool(url: str, *, name: str, max_size: int) -> AsyncConnectionPool:
    """An open asyncio pool of at most ``max_size`` autocommit connections (a
    transaction is ``async with conn.transaction()``); each connection is checked as
    it is handed out, so one broken by a database restart is replaced, not used."""
    pool = AsyncConnectionPool(
        conninfo(url, name=name), min_size=1, max_size=max_size, open=False,
        kwargs={"autocommit": True}, check=AsyncConnectionPool.check_connection,
        timeout=POOL_TIMEOUT_S, reconnect_timeout=RECONNECT_TIMEOUT_S, name=name,
    )
    try:
        await pool.open(wait=True, timeout=POOL_TIMEOUT_S)
    except GONE as exc:
        await pool.close()
        raise unavailable(url, exc) from exc
    return pool


def open_sync_pool(url: str, *, name: str, max_size: int) -> ConnectionPool:
    """The same, for threads: psycopg's thread-safe pool."""
    pool = ConnectionPool(
        conninfo(url, name=name), min_size=1, max_size=max_size, open=False,
        kwargs={"autocommit": True}, check=ConnectionPool.check_connection,
        timeout=POOL_TIMEOUT_S, reconnect_timeout=RECONNECT_TIMEOUT_S, name=name,
    )
    try:
        pool.open(wait=True, timeout=POOL_TIMEOUT_S)
    except GONE as exc:
        pool.close()
        raise unavailable(url, exc) from exc
    return pool


@contextlib.asynccontextmanager
async def pooled(
    pool: AsyncConnectionPool, url: str
) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A connection of ``pool``; the database's absence raised as DatabaseUnavailable."""
    try:
        async with pool.connection() as conn:
            yield conn
    except GONE as exc:
        raise unavailable(url, exc) from exc


@contextlib.contextmanager
def pooled_sync(pool: ConnectionPool, url: str) -> Iterator[psycopg.Connection[Any]]:
    try:
        with pool.connection() as conn:
            yield conn
    except GONE as exc:
        raise unavailable(url, exc) from exc


# -- migrations


def version(conn: psycopg.Connection[Any], component: str) -> int:
    """How far ``component`` is (0: not there at all)."""
    found = conn.execute("SELECT to_regclass('schema_version')").fetchone()
    if found is None or found[0] is None:
        return 0
    row = conn.execute(
        "SELECT version FROM schema_version WHERE component=%s", (component,)
    ).fetchone()
    return int(row[0]) if row is not None else 0


def upgrade(conn: psycopg.Connection[Any], component: str, steps: Sequence[Step]) -> int:
    """Bring ``component`` to the last of ``steps`` on ``conn`` (autocommit); returns the
    version reached. Each step is one transaction (PostgreSQL's DDL is transactional)
    under :data:`MIGRATION_LOCK`, so nodes starting together run each step once."""
    target = check_steps(steps)
    current = version(conn, component)
    if current > target:
        raise SchemaTooNew(too_new(component, current, target))
    for step in steps[current:]:
        assert step.run is None, "PostgreSQL steps are SQL"
        with conn.transaction():
            conn.execute("SET LOCAL statement_timeout = 0")  # a migration may be long
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(VERSION_TABLE)
            if version(conn, component) >= step.version:
                continue  # another node ran it while this one waited for the lock
            conn.execute(step.sql.encode())  # several statements: the simple protocol
            conn.execute(
                "INSERT INTO schema_version VALUES (%s, %s, %s) ON CONFLICT (component) "
                "DO UPDATE SET version=excluded.version, upgraded_at=excluded.upgraded_at",
                (component, step.version, now_text()),
            )
    return target


def upgrade_url(url: str, component: str, steps: Sequence[Step]) -> int:
    """:func:`upgrade` on a connection of its own (at start, and ``opentutor db upgrade``)."""
    with connect(url, name="migrations") as conn:
        try:
            return upgrade(conn, component, steps)
        except GONE as exc:
            raise unavailable(url, exc) from exc
