"""Staff accounts as the server keeps them: one interface, two back ends.

:class:`signaling.admin.sqlite.SqliteStaffStore` (a file in the data directory, the
default) and :class:`signaling.admin.postgres.PostgresStaffStore` (``--database-url
postgresql://…``, shared by every node, so a sign-in, its throttling and the audit
log hold across nodes) keep the same rows:

- ``staff_users``: username, argon2 password hash, level, district code, school id,
  created at, disabled;
- ``staff_sessions``: a sign-in, by the SHA-256 of its random token (a stolen copy of
  the database holds no usable cookie), with its last use and its hard end;
- ``staff_logins``: sign-in attempts (ok or failed, username, client address), what
  throttling counts;
- ``staff_audit``: the append-only audit log (the database refuses UPDATE and DELETE).

Times are ISO-8601 UTC text with milliseconds (``2026-12-04T18:00:00.123Z``), so
they compare as text on both back ends. The rules (expiry, throttling, hashing) are
in :mod:`signaling.admin.accounts`; a store only keeps rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from signaling.admin.scope import Level, Scope


@dataclass(frozen=True, slots=True)
class StaffUser:
    username: str
    password_hash: str
    level: Level
    district_code: str
    school_id: str
    created_at: str
    disabled: bool = False

    @property
    def scope(self) -> Scope:
        return Scope(self.level, self.district_code, self.school_id, who=self.username)

    def public(self) -> dict[str, Any]:
        """What the console may show of the account (never the hash)."""
        return {"username": self.username, "level": self.level,
                "district_code": self.district_code, "school_id": self.school_id}


@dataclass(frozen=True, slots=True)
class StaffSession:
    token_hash: str
    username: str
    created_at: str
    last_seen: str
    expires_at: str  # the hard end (created + the longest a sign-in lasts)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int  # increasing: the audit cursor
    at: str
    who: str
    action: str
    target: str
    detail: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "who": self.who, "action": self.action,
                "target": self.target, "detail": self.detail}


class UserExists(ValueError):
    """``create_user`` with a username that is taken."""


class UnknownUser(LookupError):
    """An account to change (disable, enable, new password) that does not exist."""


class StaffStore(Protocol):
    # Once open: the migration version of the staff schema (``opentutor db upgrade``).
    schema_version: int

    async def open(self) -> None: ...
    async def close(self) -> None: ...

    # -- accounts
    async def create_user(self, user: StaffUser) -> None:
        """Add ``user``; :class:`UserExists` if the name is taken."""
        ...
    async def user(self, username: str) -> StaffUser | None: ...
    async def users(self) -> list[StaffUser]: ...
    async def set_password_hash(self, username: str, password_hash: str) -> None: ...
    async def set_disabled(self, username: str, disabled: bool) -> None: ...

    # -- sign-in sessions
    async def add_session(self, session: StaffSession) -> None: ...
    async def session(self, token_hash: str) -> StaffSession | None: ...
    async def touch_session(self, token_hash: str, at: str) -> None: ...
    async def drop_session(self, token_hash: str) -> None: ...
    async def drop_sessions_of(self, username: str) -> int:
        """Forget every sign-in of ``username``; how many there were."""
        ...
    async def drop_sessions_before(self, idle_before: str, now: str) -> None:
        """Forget sign-ins last used before ``idle_before`` or past their end at ``now``."""
        ...

    # -- sign-in attempts (throttling)
    async def add_login(self, at: str, username: str, address: str, ok: bool) -> None: ...
    async def failures_since(self, since: str, username: str, address: str
                             ) -> tuple[list[str], list[str]]:
        """The times of failed sign-ins after ``since``: of ``username`` after
        its last successful one, and from ``address``; each oldest first."""
        ...
    async def drop_logins_before(self, before: str) -> None: ...

    # -- the audit log (append-only)
    async def append_audit(self, at: str, who: str, action: str, target: str,
                           detail: dict[str, Any]) -> int: ...
    async def audit(self, before_seq: int | None, limit: int) -> list[AuditEntry]:
        """Entries newest first; with ``before_seq``, those older than it."""
        ...


def iso_ms(t: float) -> str:
    """``t`` (Unix seconds) as the stores' time text, to the millisecond."""
    moment = datetime.fromtimestamp(t, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_ms(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
