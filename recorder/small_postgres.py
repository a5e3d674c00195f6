"""A component's PostgreSQL back end with a small pool, shared by the stores of rare
writes (reviews, certificates, settings versions, on-demand calls). Its own module, not
:mod:`recorder.database`, because it opens through :mod:`recorder.postgres`, which itself
builds on :mod:`recorder.database`: the pure database helpers stay a leaf."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from recorder.database import Step


class SmallPostgres:
    """A component's PostgreSQL back end with a small pool: migrated to ``steps`` and
    opened on :meth:`open`, closed on :meth:`close`. The stores of rare writes (reviews,
    certificates, settings versions, on-demand calls) share this rather than each
    writing it out. psycopg is imported only on opening, so an embedded (SQLite)
    deployment never loads it."""

    def __init__(self, url: str, *, component: str, steps: Sequence[Step], name: str,
                 max_size: int = 2) -> None:
        self._url = url
        self._pool: Any = None  # psycopg's AsyncConnectionPool once open
        self._component, self._steps, self._name = component, steps, name
        self._max_size = max_size
        self.schema_version = 0

    async def open(self) -> None:
        import asyncio

        from recorder.postgres import open_pool, upgrade_url

        self.schema_version = await asyncio.to_thread(
            upgrade_url, self._url, self._component, self._steps)
        self._pool = await open_pool(self._url, name=self._name, max_size=self._max_size)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
