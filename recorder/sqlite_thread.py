"""A SQLite database used from one worker thread of its own.

The event loop never waits on disk and SQLite never sees two writers from one
process. WAL keeps readers unblocked; ``synchronous=FULL`` makes every committed
transaction survive a crash (the data here is money and minors' records). The schema
is a list of versioned migrations (:mod:`recorder.database`), run when it opens.
Stdlib only.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from recorder.database import Step, upgrade_sqlite

T = TypeVar("T")


class SqliteThread:
    """Subclasses give ``MIGRATIONS`` (or a plain ``SCHEMA``) and a ``NAME`` (for the
    thread and error messages)."""

    SCHEMA = ""
    MIGRATIONS: tuple[Step, ...] = ()
    NAME = "sqlite"
    COMPONENT = ""  # its row in schema_version (default: NAME)

    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.NAME)
        self.schema_version = 0  # once open: the migration version reached

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the database thread and await its result."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on the database thread from any other thread, and wait for it."""
        return self._pool.submit(fn, *args, **kwargs).result()

    def _open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=5000")  # several processes may share the file
        try:
            if self.MIGRATIONS:
                self.schema_version = upgrade_sqlite(
                    db, self.COMPONENT or self.NAME, self.MIGRATIONS)
            else:
                db.executescript(self.SCHEMA)
        except BaseException:
            db.close()
            raise
        self._db = db

    async def open(self) -> None:
        await self._run(self._open)

    def open_sync(self) -> None:
        self.call(self._open)

    async def close(self) -> None:
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._pool.shutdown(wait=True)

    def close_sync(self) -> None:
        if self._db is not None:
            self.call(self._db.close)
            self._db = None
        self._pool.shutdown(wait=True)

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None, f"{self.NAME} is not open"
        return self._db

    def _tx(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Run ``statements`` in one transaction: all of them or none."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in statements:
                db.execute(sql, params)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
