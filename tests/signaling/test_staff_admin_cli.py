"""Account upkeep from the command line (issue 16): ``opentutor admin disable-user``,
``enable-user`` and ``set-password`` run as real commands (a subprocess) against the
data of a real running app, on SQLite and on PostgreSQL. A disabled account cannot sign
in and its cookie stops working at once; a new password ends every sign-in and only the
new one signs in; each change is in the audit log as the command's, with the OS user."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from signaling.admin.base import AuditEntry
from signaling.admin.factory import open_staff_store
from signaling.server.http_util import SERVICES
from tests.conftest import free_port
from tests.signaling.test_staff import AUDIT, ME, PASSWORD, TONGZHOU, Browser
from tests.support import ServerHandle, start_app

NEW_PASSWORD = "通州-another-horse-7"


@pytest.fixture
async def upkeep_server(database_url: str, tmp_path: Path) -> AsyncIterator[ServerHandle]:
    handle = await start_app(tmp_path / "data", port=free_port(), database_url=database_url)
    accounts = handle.app[SERVICES].staff
    assert accounts is not None
    await accounts.create_user("city-office", PASSWORD, "city")
    await accounts.create_user("tz-office", PASSWORD, "district", TONGZHOU)
    try:
        yield handle
    finally:
        await handle.stop()


@pytest.fixture
async def browsers(upkeep_server: ServerHandle) -> AsyncIterator[list[Browser]]:
    made = [Browser(upkeep_server) for _ in range(3)]
    try:
        yield made
    finally:
        for b in made:
            await b.close()


async def admin(server: ServerHandle, *args: str, stdin: str = "") -> tuple[int, str, str]:
    """``opentutor admin ARGS`` on the server's database: (exit code, stdout, stderr)."""
    where = ["--data-dir", str(server.data_dir)]
    if server.database_url:
        where += ["--database-url", server.database_url]
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENTUTOR_ADMIN_PASSWORD", "OPENTUTOR_DATABASE_URL")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "signaling.server.cli", "admin", *args, *where, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def cli_audit(server: ServerHandle) -> list[AuditEntry]:
    """The audit log's entries written by the command, oldest first."""
    accounts = server.app[SERVICES].staff
    assert accounts is not None
    return [e for e in reversed(await accounts.store.audit(None, 100)) if e.who == "cli"]


async def test_disable_ends_sign_ins_and_refuses_new_ones_until_enabled(
    upkeep_server: ServerHandle, browsers: list[Browser]
) -> None:
    district, other_tab, city = browsers
    assert (await district.login("tz-office"))[0] == 200
    assert (await other_tab.login("tz-office"))[0] == 200
    assert (await city.login("city-office"))[0] == 200

    code, out, err = await admin(upkeep_server, "disable-user", "tz-office")
    assert code == 0, err
    assert out.strip() == "disabled account 'tz-office' (2 sign-in(s) ended)"
    # The old cookies stop working at once; the password no longer signs in.
    for tab in (district, other_tab):
        assert (await tab.call("GET", ME))[0] == 401
    status, body = await district.login("tz-office")
    assert status == 401 and body["error"]["message"] == "wrong username or password"
    assert (await city.call("GET", ME))[0] == 200  # another account is untouched
    listed = await admin(upkeep_server, "list-users")
    assert "tz-office\tdistrict\t110112\t\t" in listed[1] and listed[1].count("\tyes") == 1

    code, out, err = await admin(upkeep_server, "enable-user", "tz-office")
    assert (code, out.strip()) == (0, "enabled account 'tz-office'"), err
    assert (await district.login("tz-office"))[0] == 200
    assert (await district.call("GET", ME))[0] == 200

    # An unknown account is refused in words (exit 2), and nothing is written.
    for command in ("disable-user", "enable-user"):
        code, out, err = await admin(upkeep_server, command, "nobody")
        assert code == 2 and err.strip() == (
            f"opentutor admin {command}: no staff user named 'nobody'"), err
    code, _, err = await admin(upkeep_server, "disable-user", "bad name\n")
    assert code == 2 and "Traceback" not in err

    entries = await cli_audit(upkeep_server)
    assert [(e.action, e.target) for e in entries] == [
        ("user_disabled", "tz-office"), ("user_enabled", "tz-office")]
    assert entries[0].detail["sign_ins_ended"] == 2
    assert entries[0].detail["was_disabled"] is False
    assert entries[1].detail["was_disabled"] is True
    assert all(e.detail["os_user"] for e in entries)
    # The city office reads them in the console's audit log.
    status, page = await city.call("GET", AUDIT)
    assert status == 200
    assert {"user_disabled", "user_enabled"} <= {e["action"] for e in page["entries"]}


async def test_a_new_password_ends_sign_ins_and_replaces_the_old_one(
    upkeep_server: ServerHandle, browsers: list[Browser]
) -> None:
    district, other_tab, _ = browsers
    assert (await district.login("tz-office"))[0] == 200
    assert (await other_tab.login("tz-office"))[0] == 200

    # Refused as a new account's password would be: the old one still works.
    code, _, err = await admin(upkeep_server, "set-password", "tz-office", stdin="short\n")
    assert code == 2 and "at least 10 characters" in err
    code, _, err = await admin(upkeep_server, "set-password", "tz-office", stdin="")
    assert code == 2 and "at least 10 characters" in err  # no input is no password
    assert (await district.call("GET", ME))[0] == 200

    code, out, err = await admin(upkeep_server, "set-password", "tz-office",
                                 stdin=NEW_PASSWORD + "\n")
    assert code == 0, err
    assert out.strip() == "new password for 'tz-office' (2 sign-in(s) ended)"
    for tab in (district, other_tab):
        assert (await tab.call("GET", ME))[0] == 401
    assert (await district.login("tz-office", PASSWORD))[0] == 401
    assert (await district.login("tz-office", NEW_PASSWORD))[0] == 200
    assert (await district.call("GET", ME))[0] == 200

    code, _, err = await admin(upkeep_server, "set-password", "nobody",
                               stdin=NEW_PASSWORD + "\n")
    assert code == 2 and "no staff user named 'nobody'" in err

    entries = await cli_audit(upkeep_server)
    assert [(e.action, e.target) for e in entries] == [("password_set", "tz-office")]
    assert entries[0].detail["sign_ins_ended"] == 2 and entries[0].detail["os_user"]
    assert NEW_PASSWORD not in str(entries[0].detail)


def test_set_password_on_a_terminal_asks_twice_without_echo(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    from signaling.server import cli

    where = ["--data-dir", str(tmp_path)] + (
        ["--database-url", database_url] if database_url else [])
    monkeypatch.setenv("OPENTUTOR_ADMIN_PASSWORD", PASSWORD)
    assert cli.main(["admin", "create-user", "--username", "c", "--level", "city",
                     *where]) == 0
    monkeypatch.delenv("OPENTUTOR_ADMIN_PASSWORD")

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Tty())
    typed = iter([NEW_PASSWORD, NEW_PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    assert cli.main(["admin", "set-password", "c", *where]) == 2
    assert "differ" in capsys.readouterr().err
    typed = iter([NEW_PASSWORD, NEW_PASSWORD])
    assert cli.main(["admin", "set-password", "c", *where]) == 0

    async def signs_in(password: str) -> bool:
        from signaling.admin.accounts import Accounts, SignedIn

        store = open_staff_store(database_url, tmp_path)
        await store.open()
        try:
            accounts = Accounts(store, lambda: 1_900_000_000.0)
            return isinstance(await accounts.sign_in("c", password, "10.0.0.1"), SignedIn)
        finally:
            await store.close()

    assert asyncio.run(signs_in(NEW_PASSWORD)) and not asyncio.run(signs_in(PASSWORD))


# -- the sign-in's body in the OpenAPI document


async def test_the_login_body_has_a_json_schema(upkeep_server: ServerHandle) -> None:
    from signaling.admin.passwords import MAX_LENGTH
    from signaling.session.declarations import MAX_STAFF_PASSWORD

    assert MAX_STAFF_PASSWORD == MAX_LENGTH  # the declaration says what the hashing allows
    _, doc = await upkeep_server.api("GET", "/api/v1/openapi.json", key=None)
    post = doc["paths"]["/admin/login"]["post"]
    body = post["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/StaffLogin"}
    login = doc["components"]["schemas"]["StaffLogin"]
    assert login["required"] == ["username", "password"]
    assert login["properties"]["username"] == {"type": "string", "minLength": 1,
                                               "maxLength": 256}
    assert login["properties"]["password"] == {"type": "string", "minLength": 1,
                                               "maxLength": MAX_LENGTH}
    assert {"200", "400", "401", "413", "415", "429"} <= set(post["responses"])
