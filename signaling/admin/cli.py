"""``opentutor admin``: staff accounts from the command line, where the first account
has to come from (nobody can sign in to make it).

    opentutor admin create-user --username city-office --level city
    opentutor admin create-user --username tz-jiaowei --level district --district-code 110112
    opentutor admin create-user --username s1-office --level school --school-id S1 \\
        --district-code 110112
    opentutor admin list-users
    opentutor admin disable-user tz-jiaowei      # and its sign-ins end at once
    opentutor admin enable-user tz-jiaowei
    opentutor admin set-password tz-jiaowei      # and its sign-ins end at once

A password (create-user, set-password) is read from ``OPENTUTOR_ADMIN_PASSWORD`` if
set, else asked for twice without echo on a terminal, else read as the first line of
standard input (scripts). It needs at least 10 characters. Each change is written to
the audit log as ``who = "cli"`` with the operating-system user in its detail.
``--database-url`` (or ``OPENTUTOR_DATABASE_URL``) names PostgreSQL; without it the
accounts are in ``staff.sqlite`` in ``--data-dir``. Exit 0 on success; 2 with the
reason on stderr for refused input (a weak password, a taken or unknown username, a
level without its district or school); 1 when the database is unreachable or newer
than this opentutor.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from recorder.database import DatabaseUnavailable, SchemaTooNew, is_postgres_url, redacted
from signaling.admin.accounts import Accounts, InvalidAccount
from signaling.admin.base import StaffUser, UnknownUser, UserExists
from signaling.admin.factory import open_staff_store
from signaling.admin.passwords import WeakPassword, check_new
from signaling.admin.scope import LEVELS

PASSWORD_ENV = "OPENTUTOR_ADMIN_PASSWORD"
T = TypeVar("T")


class Refused(ValueError):
    """Input the command refuses (exit 2)."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    admin = commands.add_parser("admin", help="staff accounts (the programme offices' console)",
                                description="Staff accounts: create, list, disable, "
                                "enable them, set a new password.")
    sub = admin.add_subparsers(dest="admin_command", required=True, metavar="COMMAND")
    create = sub.add_parser(
        "create-user", help="create a staff account (password from stdin or "
        f"{PASSWORD_ENV})",
        description="Create a staff account. city sees everything; district sees its "
        "district's teachers and their sessions (--district-code); school its own "
        f"(--school-id). The password: {PASSWORD_ENV}, else asked without echo, else the "
        "first line of standard input; at least 10 characters.")
    create.add_argument("--username", required=True)
    create.add_argument("--level", required=True, choices=LEVELS)
    create.add_argument("--district-code", default="",
                        help="the district's code (district level; optional for a school)")
    create.add_argument("--school-id", default="", help="the school's id (school level)")
    _where(create)
    create.set_defaults(func=run_create_user)
    listing = sub.add_parser("list-users", help="list the staff accounts (never passwords)")
    _where(listing)
    listing.set_defaults(func=run_list_users)
    for name, func, help_text in (
        ("disable-user", run_disable_user,
         "disable an account: it cannot sign in, and its sign-ins end now"),
        ("enable-user", run_enable_user, "enable a disabled account again"),
        ("set-password", run_set_password,
         f"set a new password ({PASSWORD_ENV}, else asked twice without echo, else the "
         "first line of standard input); the account's sign-ins end now"),
    ):
        change = sub.add_parser(name, help=help_text, description=help_text[:1].upper()
                                + help_text[1:] + ".")
        change.add_argument("username", metavar="USER")
        _where(change)
        change.set_defaults(func=func)


def _where(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=os.environ.get("OPENTUTOR_DATABASE_URL", ""),
                        help="postgresql://… (default: OPENTUTOR_DATABASE_URL; none: SQLite)")
    parser.add_argument("--data-dir", default=os.environ.get("OPENTUTOR_DATA_DIR", "data"),
                        help="the SQLite files' folder (default: OPENTUTOR_DATA_DIR or ./data)")


def read_password() -> str:
    """The new account's password (see the module's docstring for where from)."""
    given = os.environ.get(PASSWORD_ENV)
    if given is not None:
        return given
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        check_new(first)  # say it now, not after the second typing
        if getpass.getpass("Password again: ") != first:
            raise Refused("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def run_create_user(args: argparse.Namespace) -> int:
    def create(accounts: Accounts) -> StaffUser:
        password = read_password()
        return asyncio.run(_create(accounts, args, password))

    return _with_accounts(args, "create-user", create, lambda user: print(
        f"created {user.level} account {user.username!r}", flush=True))


async def _create(accounts: Accounts, args: argparse.Namespace, password: str) -> StaffUser:
    await accounts.store.open()
    try:
        user = await accounts.create_user(args.username, password, args.level,
                                          args.district_code, args.school_id)
        await accounts.audit("cli", "user_created", user.username, {
            **user.public(), "os_user": _os_user()})
        return user
    finally:
        await accounts.store.close()


def run_disable_user(args: argparse.Namespace) -> int:
    return _set_disabled(args, True)


def run_enable_user(args: argparse.Namespace) -> int:
    return _set_disabled(args, False)


def _set_disabled(args: argparse.Namespace, disabled: bool) -> int:
    async def change(accounts: Accounts) -> int:
        await accounts.store.open()
        try:
            before, ended = await accounts.set_disabled(args.username, disabled)
            await accounts.audit("cli", "user_disabled" if disabled else "user_enabled",
                                 before.username, {"was_disabled": before.disabled,
                                                   "sign_ins_ended": ended,
                                                   "os_user": _os_user()})
            return ended
        finally:
            await accounts.store.close()

    name, word = ("disable-user", "disabled") if disabled else ("enable-user", "enabled")
    return _with_accounts(args, name, lambda a: asyncio.run(change(a)), lambda ended: print(
        f"{word} account {args.username!r}" + (f" ({ended} sign-in(s) ended)" if disabled
                                                 else ""), flush=True))


def run_set_password(args: argparse.Namespace) -> int:
    async def change(accounts: Accounts, password: str) -> int:
        await accounts.store.open()
        try:
            ended = await accounts.set_password(args.username, password)
            await accounts.audit("cli", "password_set", args.username, {
                "sign_ins_ended": ended, "os_user": _os_user()})
            return ended
        finally:
            await accounts.store.close()

    def work(accounts: Accounts) -> int:
        password = read_password()
        return asyncio.run(change(accounts, password))

    return _with_accounts(args, "set-password", work, lambda ended: print(
        f"new password for {args.username!r} ({ended} sign-in(s) ended)", flush=True))


def run_list_users(args: argparse.Namespace) -> int:
    async def users(accounts: Accounts) -> list[StaffUser]:
        await accounts.store.open()
        try:
            return await accounts.store.users()
        finally:
            await accounts.store.close()

    def show(found: list[StaffUser]) -> None:
        print("username\tlevel\tdistrict_code\tschool_id\tcreated_at\tdisabled")
        for u in found:
            print(f"{u.username}\t{u.level}\t{u.district_code}\t{u.school_id}\t{u.created_at}"
                  f"\t{'yes' if u.disabled else 'no'}")

    return _with_accounts(args, "list-users", lambda a: asyncio.run(users(a)), show)


def _with_accounts(args: argparse.Namespace, name: str, work: Callable[[Accounts], T],
                   done: Callable[[T], None]) -> int:
    """Run ``work`` on the accounts of ``args``' database, then ``done`` with its result;
    refusals and an unreachable database become an exit code and a line on stderr."""
    umask = os.umask(0o077)  # as `opentutor serve`: the SQLite file holds password hashes
    try:
        result = work(_store_of(args))
    except (Refused, InvalidAccount, WeakPassword, UserExists, UnknownUser) as exc:
        print(f"opentutor admin {name}: {exc}", file=sys.stderr)
        return 2
    except (DatabaseUnavailable, SchemaTooNew, OSError) as exc:
        print(f"opentutor admin {name}: {exc}", file=sys.stderr)
        return 1
    except (EOFError, KeyboardInterrupt):
        print(f"opentutor admin {name}: no password given", file=sys.stderr)
        return 2
    finally:
        os.umask(umask)
    done(result)
    return 0


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return str(os.getuid())


def _store_of(args: argparse.Namespace) -> Accounts:
    url = args.database_url
    if url and not is_postgres_url(url):
        raise Refused(f"--database-url: not a postgresql:// URL: {redacted(url)}")
    data_dir = Path(args.data_dir)
    if not url:
        data_dir.mkdir(parents=True, exist_ok=True)
    return Accounts(open_staff_store(url, data_dir), time.time)
