"""Staff passwords: argon2id hashes (the argon2-cffi library's defaults: RFC 9106's
low-memory choice, 64 MiB, 3 passes), in the self-describing PHC text
``$argon2id$v=19$m=…,t=…,p=…$salt$hash``, so stronger settings later re-hash a
password at its next sign-in without a migration.

Hashing takes tens of milliseconds of CPU on purpose: callers on the event loop run
these functions on a worker thread."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10  # the shortest password accepted for a new account
MAX_LENGTH = 1024  # longer input is refused before hashing (no work on a huge body)

_HASHER = PasswordHasher()
# Verified when a username is unknown, so that a wrong name and a wrong password take
# the same time and an attacker cannot learn which usernames exist.
_DUMMY = _HASHER.hash("not a password of anyone: equal timing for unknown names")


class WeakPassword(ValueError):
    """A new password the policy refuses (the message says why)."""


def check_new(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password may have at most {MAX_LENGTH} characters")
    if password.strip() != password or not password.strip():
        raise WeakPassword("the password may not begin or end with spaces")


def hash_password(password: str, *, new: bool = True) -> str:
    """The hash of ``password``; a ``new`` one must pass :func:`check_new` (a re-hash of
    a password that signed in is not judged again by a policy it may predate)."""
    if new:
        check_new(password)
    return _HASHER.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (``None``: an unknown user, checked
    against a dummy hash for the same time, and never a match)."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker settings than today's."""
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False
