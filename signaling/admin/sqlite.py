"""Staff accounts in SQLite (``staff.sqlite`` in the data directory, the default): the
rows of :class:`signaling.admin.base.StaffStore` on a thread of their own
(:class:`recorder.sqlite_thread.SqliteThread`), schema
:data:`signaling.admin.migrations.SQLITE`."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from recorder.sqlite_thread import SqliteThread
from signaling.admin import migrations
from signaling.admin.base import AuditEntry, StaffSession, StaffUser, UserExists

_USER = "username, password_hash, level, district_code, school_id, created_at, disabled"
_SESSION = "token_hash, username, created_at, last_seen, expires_at"


def _user(row: tuple[Any, ...]) -> StaffUser:
    return StaffUser(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]))


class SqliteStaffStore(SqliteThread):
    MIGRATIONS = migrations.SQLITE
    NAME = "staff"
    COMPONENT = migrations.COMPONENT

    async def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        def get() -> list[tuple[Any, ...]]:
            return self.db.execute(sql, params).fetchall()

        return await self._run(get)

    async def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        await self._run(self._tx, [(sql, params)])

    # -- accounts

    async def create_user(self, user: StaffUser) -> None:
        try:
            await self._write(
                f"INSERT INTO staff_users ({_USER}) VALUES (?,?,?,?,?,?,?)",
                (user.username, user.password_hash, user.level, user.district_code,
                 user.school_id, user.created_at, int(user.disabled)))
        except sqlite3.IntegrityError as exc:
            raise UserExists(f"a staff user named {user.username!r} exists") from exc

    async def user(self, username: str) -> StaffUser | None:
        rows = await self._fetch(f"SELECT {_USER} FROM staff_users WHERE username=?",
                                 (username,))
        return _user(rows[0]) if rows else None

    async def users(self) -> list[StaffUser]:
        rows = await self._fetch(f"SELECT {_USER} FROM staff_users ORDER BY username", ())
        return [_user(r) for r in rows]

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        await self._write("UPDATE staff_users SET password_hash=? WHERE username=?",
                          (password_hash, username))

    async def set_disabled(self, username: str, disabled: bool) -> None:
        await self._write("UPDATE staff_users SET disabled=? WHERE username=?",
                          (int(disabled), username))

    # -- sign-in sessions

    async def add_session(self, session: StaffSession) -> None:
        await self._write(
            f"INSERT INTO staff_sessions ({_SESSION}) VALUES (?,?,?,?,?)",
            (session.token_hash, session.username, session.created_at, session.last_seen,
             session.expires_at))

    async def session(self, token_hash: str) -> StaffSession | None:
        rows = await self._fetch(
            f"SELECT {_SESSION} FROM staff_sessions WHERE token_hash=?", (token_hash,))
        return StaffSession(*rows[0]) if rows else None

    async def touch_session(self, token_hash: str, at: str) -> None:
        await self._write("UPDATE staff_sessions SET last_seen=? WHERE token_hash=?",
                          (at, token_hash))

    async def drop_session(self, token_hash: str) -> None:
        await self._write("DELETE FROM staff_sessions WHERE token_hash=?", (token_hash,))

    async def drop_sessions_of(self, username: str) -> int:
        def drop() -> int:
            cur = self.db.execute("DELETE FROM staff_sessions WHERE username=?", (username,))
            return cur.rowcount

        return await self._run(drop)

    async def drop_sessions_before(self, idle_before: str, now: str) -> None:
        await self._write("DELETE FROM staff_sessions WHERE last_seen < ? OR expires_at <= ?",
                          (idle_before, now))

    # -- sign-in attempts

    async def add_login(self, at: str, username: str, address: str, ok: bool) -> None:
        await self._write("INSERT INTO staff_logins (at, username, address, ok) "
                          "VALUES (?,?,?,?)", (at, username, address, int(ok)))

    async def failures_since(self, since: str, username: str, address: str
                             ) -> tuple[list[str], list[str]]:
        def get() -> tuple[list[str], list[str]]:
            of_user = self.db.execute(
                "SELECT at FROM staff_logins WHERE username=? AND ok=0 AND at > ? AND at > "
                "COALESCE((SELECT MAX(at) FROM staff_logins WHERE username=? AND ok=1), '') "
                "ORDER BY at LIMIT 1000", (username, since, username)).fetchall()
            of_address = self.db.execute(
                "SELECT at FROM staff_logins WHERE address=? AND ok=0 AND at > ? "
                "ORDER BY at LIMIT 1000", (address, since)).fetchall()
            return [r[0] for r in of_user], [r[0] for r in of_address]

        return await self._run(get)

    async def drop_logins_before(self, before: str) -> None:
        await self._write("DELETE FROM staff_logins WHERE at < ?", (before,))

    # -- the audit log

    async def append_audit(self, at: str, who: str, action: str, target: str,
                           detail: dict[str, Any]) -> int:
        def add() -> int:
            cur = self.db.execute(
                "INSERT INTO staff_audit (at, who, action, target, detail) VALUES (?,?,?,?,?)",
                (at, who, action, target, json.dumps(detail, ensure_ascii=False,
                                                     sort_keys=True)))
            return int(cur.lastrowid or 0)

        return await self._run(add)

    async def audit(self, before_seq: int | None, limit: int) -> list[AuditEntry]:
        rows = await self._fetch(
            "SELECT seq, at, who, action, target, detail FROM staff_audit WHERE seq < ? "
            "ORDER BY seq DESC LIMIT ?",
            (before_seq if before_seq is not None else 2**62, limit))
        return [AuditEntry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]
