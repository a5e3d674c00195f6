"""Staff accounts in PostgreSQL (``--database-url postgresql://…``): the rows of
:class:`signaling.admin.base.StaffStore`, shared by every node, so a sign-in made on
one node is valid on all of them and throttling counts attempts made on any. Schema
:data:`signaling.admin.migrations.POSTGRES`; text compares ``COLLATE "C"`` as SQLite
compares it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

import recorder.postgres as pg
from signaling.admin import migrations
from signaling.admin.base import AuditEntry, StaffSession, StaffUser, UserExists

POOL_SIZE = 4  # staff traffic is light: sign-ins and the console's reads
_USER = "username, password_hash, level, district_code, school_id, created_at, disabled"
_SESSION = "token_hash, username, created_at, last_seen, expires_at"


def _user(row: tuple[Any, ...]) -> StaffUser:
    return StaffUser(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]))


class PostgresStaffStore:
    def __init__(self, url: str, *, pool_size: int = POOL_SIZE) -> None:
        self._url = url
        self._pool_size = pool_size
        self._pool: AsyncConnectionPool | None = None
        self.schema_version = 0

    async def open(self) -> None:
        self.schema_version = await asyncio.to_thread(
            pg.upgrade_url, self._url, migrations.COMPONENT, migrations.POSTGRES)
        self._pool = await pg.open_pool(self._url, name="staff", max_size=self._pool_size)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        assert self._pool is not None, "staff store is not open"
        async with pg.pooled(self._pool, self._url) as conn:
            yield conn

    async def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        async with self._conn() as conn:
            cur = await conn.execute(sql.encode(), params)
            return await cur.fetchall()

    async def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        async with self._conn() as conn:
            await conn.execute(sql.encode(), params)

    # -- accounts

    async def create_user(self, user: StaffUser) -> None:
        try:
            await self._write(
                f"INSERT INTO staff_users ({_USER}) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                (user.username, user.password_hash, user.level, user.district_code,
                 user.school_id, user.created_at, user.disabled))
        except psycopg.errors.UniqueViolation as exc:
            raise UserExists(f"a staff user named {user.username!r} exists") from exc

    async def user(self, username: str) -> StaffUser | None:
        rows = await self._rows(f"SELECT {_USER} FROM staff_users WHERE username=%s",
                                (username,))
        return _user(rows[0]) if rows else None

    async def users(self) -> list[StaffUser]:
        rows = await self._rows(
            f'SELECT {_USER} FROM staff_users ORDER BY username COLLATE "C"', ())
        return [_user(r) for r in rows]

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        await self._write("UPDATE staff_users SET password_hash=%s WHERE username=%s",
                          (password_hash, username))

    async def set_disabled(self, username: str, disabled: bool) -> None:
        await self._write("UPDATE staff_users SET disabled=%s WHERE username=%s",
                          (disabled, username))

    # -- sign-in sessions

    async def add_session(self, session: StaffSession) -> None:
        await self._write(
            f"INSERT INTO staff_sessions ({_SESSION}) VALUES (%s,%s,%s,%s,%s)",
            (session.token_hash, session.username, session.created_at, session.last_seen,
             session.expires_at))

    async def session(self, token_hash: str) -> StaffSession | None:
        rows = await self._rows(
            f"SELECT {_SESSION} FROM staff_sessions WHERE token_hash=%s", (token_hash,))
        return StaffSession(*rows[0]) if rows else None

    async def touch_session(self, token_hash: str, at: str) -> None:
        await self._write("UPDATE staff_sessions SET last_seen=%s WHERE token_hash=%s",
                          (at, token_hash))

    async def drop_session(self, token_hash: str) -> None:
        await self._write("DELETE FROM staff_sessions WHERE token_hash=%s", (token_hash,))

    async def drop_sessions_of(self, username: str) -> int:
        async with self._conn() as conn:
            cur = await conn.execute(b"DELETE FROM staff_sessions WHERE username=%s",
                                     (username,))
            return cur.rowcount

    async def drop_sessions_before(self, idle_before: str, now: str) -> None:
        await self._write(
            'DELETE FROM staff_sessions WHERE last_seen < %s COLLATE "C" '
            'OR expires_at <= %s COLLATE "C"', (idle_before, now))

    # -- sign-in attempts

    async def add_login(self, at: str, username: str, address: str, ok: bool) -> None:
        await self._write("INSERT INTO staff_logins (at, username, address, ok) "
                          "VALUES (%s,%s,%s,%s)", (at, username, address, ok))

    async def failures_since(self, since: str, username: str, address: str
                             ) -> tuple[list[str], list[str]]:
        of_user = await self._rows(
            'SELECT at FROM staff_logins WHERE username=%s AND NOT ok AND at > %s COLLATE "C" '
            'AND at > COALESCE((SELECT MAX(at COLLATE "C") FROM staff_logins '
            'WHERE username=%s AND ok), \'\') COLLATE "C" ORDER BY at COLLATE "C" LIMIT 1000',
            (username, since, username))
        of_address = await self._rows(
            'SELECT at FROM staff_logins WHERE address=%s AND NOT ok AND at > %s COLLATE "C" '
            'ORDER BY at COLLATE "C" LIMIT 1000', (address, since))
        return [r[0] for r in of_user], [r[0] for r in of_address]

    async def drop_logins_before(self, before: str) -> None:
        await self._write('DELETE FROM staff_logins WHERE at < %s COLLATE "C"', (before,))

    # -- the audit log

    async def append_audit(self, at: str, who: str, action: str, target: str,
                           detail: dict[str, Any]) -> int:
        rows = await self._rows(
            "INSERT INTO staff_audit (at, who, action, target, detail) "
            "VALUES (%s,%s,%s,%s,%s) RETURNING seq",
            (at, who, action, target, json.dumps(detail, ensure_ascii=False, sort_keys=True)))
        return int(rows[0][0])

    async def audit(self, before_seq: int | None, limit: int) -> list[AuditEntry]:
        rows = await self._rows(
            "SELECT seq, at, who, action, target, detail FROM staff_audit WHERE seq < %s "
            "ORDER BY seq DESC LIMIT %s",
            (before_seq if before_seq is not None else 2**62, limit))
        return [AuditEntry(int(r[0]), r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]
