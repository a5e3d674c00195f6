"""Staff accounts' rules, over a :class:`~signaling.admin.base.StaffStore`: creating an
account, signing in (with throttling), the sign-in a cookie stands for, signing out,
and the audit log. The web side (cookie, CSRF header, status codes) is
``signaling.server.staff_api``; this module knows no HTTP.

- A sign-in is a random 256-bit token (the cookie); the store keeps its SHA-256 only.
  It ends after :data:`IDLE_S` unused and :data:`MAX_S` after it began, whichever
  comes first, and at sign-out.
- The CSRF token is an HMAC of the sign-in token: nothing more to store, and nobody
  without the cookie can compute it.
- Throttling counts failed sign-ins in the store (so it holds across nodes) over the
  last :data:`WINDOW_S`: :data:`MAX_FAILURES_PER_USER` for one username (since its last
  success), :data:`MAX_FAILURES_PER_ADDRESS` from one client address (higher: a school
  or a district office signs in from behind one address). Refused attempts are not
  counted, so the wait ends however often an attacker knocks.
- An unknown username, a wrong password and a disabled account are one answer, with
  the same cost (a dummy hash is verified), so usernames cannot be probed.
- Disabling an account or giving it a new password (``opentutor admin disable-user``,
  ``set-password``) ends its sign-ins at once: whoever held a cookie, perhaps the
  reason for the change, must not keep it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from signaling.admin import passwords
from signaling.admin.base import (
    StaffSession,
    StaffStore,
    StaffUser,
    UnknownUser,
    iso_ms,
    parse_ms,
)
from signaling.admin.scope import LEVELS, Scope

IDLE_S = 12 * 3600  # a sign-in unused this long ends
MAX_S = 7 * 24 * 3600  # and every sign-in ends this long after it began
TOUCH_EVERY_S = 60  # last use is written at most this often (one write per minute, not per call)
WINDOW_S = 15 * 60
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
LOGINS_KEPT_S = 24 * 3600  # sign-in attempts older than this are of no use to throttling
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
CODE = re.compile(r"[A-Za-z0-9._-]{1,64}")  # district codes and school ids
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
_CSRF_KEY = b"opentutor staff csrf v1"


class InvalidAccount(ValueError):
    """An account ``create_user`` refuses (the message says why)."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: StaffUser
    token: str  # the cookie's value
    csrf_token: str


@dataclass(frozen=True, slots=True)
class Throttled:
    retry_after_s: int


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_of(token: str) -> str:
    return hmac.new(token.encode(), _CSRF_KEY, hashlib.sha256).hexdigest()


def account_scope(level: str, district_code: str, school_id: str, who: str) -> Scope:
    """The scope of a new account, or :class:`InvalidAccount` naming what is wrong."""
    if level not in LEVELS:
        raise InvalidAccount(f"the level must be one of {', '.join(LEVELS)}, not {level!r}")
    for name, value in (("district code", district_code), ("school id", school_id)):
        if value and not CODE.fullmatch(value):
            raise InvalidAccount(f"the {name} {value!r} is not valid (letters, digits, . _ -)")
    if level == "city" and (district_code or school_id):
        raise InvalidAccount("a city account has no district code or school id")
    if level == "district" and school_id:
        raise InvalidAccount("a district account has no school id")
    try:
        return Scope(level, district_code, school_id, who=who)
    except ValueError as exc:
        raise InvalidAccount(str(exc)) from None


class Accounts:
    def __init__(self, store: StaffStore, now: Callable[[], float]) -> None:
        self.store = store
        self._now = now

    # -- accounts

    async def create_user(self, username: str, password: str, level: str,
                          district_code: str = "", school_id: str = "") -> StaffUser:
        """A new account; :class:`InvalidAccount`, :class:`passwords.WeakPassword` or
        :class:`signaling.admin.base.UserExists` if refused."""
        if not USERNAME.fullmatch(username):
            raise InvalidAccount("the username must be 1-64 letters, digits or . _ @ - "
                                 "and begin with a letter or digit")
        scope = account_scope(level, district_code, school_id, username)
        password_hash = await asyncio.to_thread(passwords.hash_password, password)
        user = StaffUser(username, password_hash, scope.level, district_code, school_id,
                         iso_ms(self._now()))
        await self.store.create_user(user)
        return user

    async def _existing(self, username: str) -> StaffUser:
        user = await self.store.user(username) if USERNAME.fullmatch(username) else None
        if user is None:
            raise UnknownUser(f"no staff user named {username!r}")
        return user

    async def set_disabled(self, username: str, disabled: bool) -> tuple[StaffUser, int]:
        """Disable or enable ``username``: (the account as it was, how many sign-ins
        ended). :class:`UnknownUser` if there is none."""
        user = await self._existing(username)
        await self.store.set_disabled(username, disabled)
        # Disabled first, sessions dropped second: a sign-in made in between is refused
        # by current() all the same (it checks ``disabled`` on every request).
        ended = await self.store.drop_sessions_of(username) if disabled else 0
        return user, ended

    async def set_password(self, username: str, password: str) -> int:
        """A new password for ``username`` (the rules of a new account's), and every
        sign-in of it ended; how many were. :class:`UnknownUser`,
        :class:`passwords.WeakPassword`."""
        await self._existing(username)
        password_hash = await asyncio.to_thread(passwords.hash_password, password)
        await self.store.set_password_hash(username, password_hash)
        return await self.store.drop_sessions_of(username)

    # -- signing in and out

    async def sign_in(self, username: str, password: str,
                      address: str) -> SignedIn | Throttled | None:
        """The new sign-in; :class:`Throttled` while too many attempts failed; ``None``
        for a wrong username or password (or a disabled account)."""
        now = self._now()
        # Counted and kept under at most 64 characters (a longer name cannot exist); the
        # account is looked up by the whole name.
        kept = username[:64]
        of_user, of_address = await self.store.failures_since(
            iso_ms(now - WINDOW_S), kept, address)
        waits = [_wait(times, limit, now) for times, limit in (
            (of_user, MAX_FAILURES_PER_USER), (of_address, MAX_FAILURES_PER_ADDRESS))]
        if any(w is not None for w in waits):
            return Throttled(max(w for w in waits if w is not None))
        user = await self.store.user(username) if USERNAME.fullmatch(username) else None
        matches = await asyncio.to_thread(
            passwords.verify, user.password_hash if user is not None else None, password)
        ok = matches and user is not None and not user.disabled
        await self.store.add_login(iso_ms(now), kept, address, ok)
        if not ok or user is None:
            return None
        if passwords.needs_rehash(user.password_hash):
            await self.store.set_password_hash(
                username, await asyncio.to_thread(partial(passwords.hash_password, password,
                                                          new=False)))
        token = secrets.token_urlsafe(32)
        at = iso_ms(now)
        await self.store.add_session(StaffSession(token_hash(token), username, at, at,
                                                  iso_ms(now + MAX_S)))
        # Upkeep where it costs nothing noticeable: forget ended sign-ins and old attempts.
        await self.store.drop_sessions_before(iso_ms(now - IDLE_S), at)
        await self.store.drop_logins_before(iso_ms(now - LOGINS_KEPT_S))
        return SignedIn(user, token, csrf_of(token))

    async def current(self, token: str) -> SignedIn | None:
        """The sign-in ``token`` stands for, if it is still valid (and its account is
        not disabled); its last use is updated."""
        if not TOKEN.fullmatch(token):
            return None
        key = token_hash(token)
        session = await self.store.session(key)
        if session is None:
            return None
        now = self._now()
        last_seen = parse_ms(session.last_seen)
        if now >= parse_ms(session.expires_at) or now >= last_seen + IDLE_S:
            await self.store.drop_session(key)
            return None
        user = await self.store.user(session.username)
        if user is None or user.disabled:
            return None
        if now - last_seen >= TOUCH_EVERY_S:
            await self.store.touch_session(key, iso_ms(now))
        return SignedIn(user, token, csrf_of(token))

    async def sign_out(self, token: str) -> None:
        if TOKEN.fullmatch(token):
            await self.store.drop_session(token_hash(token))

    # -- the audit log

    async def audit(self, who: str, action: str, target: str, detail: dict[str, Any]) -> int:
        return await self.store.append_audit(iso_ms(self._now()), who, action, target, detail)


def _wait(failures: list[str], limit: int, now: float) -> int | None:
    """Seconds until fewer than ``limit`` of ``failures`` (oldest first) are in the
    window, or ``None`` if they are already fewer."""
    if len(failures) < limit:
        return None
    # Once this one leaves the window, limit - 1 remain.
    leaves = parse_ms(failures[len(failures) - limit]) + WINDOW_S
    return max(1, math.ceil(leaves - now))
