"""Staff accounts (issue 16) against the real app, on SQLite and on PostgreSQL: sign-in,
the cookie and CSRF rules, throttling (also across two nodes), sign-out, the audit
log, what each scope may open, the ``opentutor admin`` command, and the sign-in
rules (expiry, throttling arithmetic) on a real store with a fake clock."""

from __future__ import annotations

import asyncio
import hashlib
import io
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from signaling.admin import accounts as rules
from signaling.admin.accounts import Accounts, SignedIn, Throttled
from signaling.admin.factory import open_staff_store
from signaling.server.http_util import SERVICES
from tests.conftest import free_port
from tests.support import API_KEY, ONE_TO_ONE, ServerHandle, start_app

LOGIN, LOGOUT, ME, AUDIT = (f"/api/v1/admin/{p}" for p in ("login", "logout", "me", "audit"))
PASSWORD = "长城-correct-horse-9"
TONGZHOU, MIYUN = "110112", "110118"


def session_in(district_code: str, school_id: str) -> dict[str, Any]:
    """A one-to-one whose teacher works at ``school_id`` in ``district_code``."""
    teacher, learner = ONE_TO_ONE["people"]
    name = {TONGZHOU: "通州", MIYUN: "密云"}[district_code]
    return {**ONE_TO_ONE, "people": [
        {**teacher, "district": name, "district_code": district_code, "school_id": school_id},
        {**learner, "district": "通州", "district_code": TONGZHOU, "school_id": "S1"},
    ]}


@pytest.fixture
async def staff_server(database_url: str, tmp_path: Path) -> AsyncIterator[ServerHandle]:
    handle = await start_app(tmp_path / "data", port=free_port(), database_url=database_url)
    accounts = handle.app[SERVICES].staff
    assert accounts is not None
    await accounts.create_user("city-office", PASSWORD, "city")
    await accounts.create_user("tz-office", PASSWORD, "district", TONGZHOU)
    await accounts.create_user("s7-office", PASSWORD, "school", MIYUN, "S7")
    try:
        yield handle
    finally:
        await handle.stop()


class Browser:
    """A browser of its own: a cookie jar (that takes cookies from 127.0.0.1)."""

    def __init__(self, server: ServerHandle) -> None:
        self.base = server.base
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""
        self.set_cookie = ""

    async def call(self, method: str, path: str, body: Any = None, *, csrf: str | None = None,
                   **kwargs: Any) -> tuple[int, Any]:
        headers = dict(kwargs.pop("headers", {}))
        if csrf is not None:
            headers["X-CSRF-Token"] = csrf
        if body is not None:
            kwargs["json"] = body
        async with self.http.request(method, self.base + path, headers=headers, **kwargs) as r:
            self.last = r
            if "Set-Cookie" in r.headers:
                self.set_cookie = r.headers["Set-Cookie"]
            text = await r.read()
            return r.status, (await r.json(content_type=None)) if text.strip() else None

    async def login(self, username: str, password: str = PASSWORD) -> tuple[int, Any]:
        status, body = await self.call("POST", LOGIN, {"username": username, "password": password})
        if status == 200:
            self.csrf = body["csrf_token"]
        return status, body

    def token(self) -> str:
        return next(c.value for c in self.http.cookie_jar if c.key == "ot_staff")

    async def close(self) -> None:
        await self.http.close()


@pytest.fixture
async def browsers(staff_server: ServerHandle) -> AsyncIterator[list[Browser]]:
    made = [Browser(staff_server) for _ in range(3)]
    try:
        yield made
    finally:
        for b in made:
            await b.close()


def staff_rows(server: ServerHandle, sql: str) -> list[tuple[Any, ...]]:
    """``sql`` run straight on the server's staff tables (committed); its rows."""
    if server.database_url:
        import psycopg

        with psycopg.connect(server.database_url) as conn:
            cur = conn.execute(sql.encode())
            return cur.fetchall() if cur.description is not None else []
    db = sqlite3.connect(server.data_dir / "staff.sqlite")
    try:
        rows = db.execute(sql).fetchall()
        db.commit()
        return rows
    finally:
        db.close()


# -- signing in and out


async def test_sign_in_me_and_sign_out(staff_server: ServerHandle,
                                       browsers: list[Browser]) -> None:
    browser = browsers[0]
    assert (await browser.call("GET", ME))[0] == 401
    status, body = await browser.login("tz-office")
    assert status == 200, body
    assert body["user"] == {"username": "tz-office", "level": "district",
                            "district_code": TONGZHOU, "school_id": ""}
    assert len(body["csrf_token"]) == 64 and browser.last.headers["Cache-Control"] == "no-store"
    attributes = [a.strip().lower() for a in browser.set_cookie.split(";")]
    assert attributes[0].startswith("ot_staff=")
    assert {"httponly", "samesite=strict", "path=/"} <= set(attributes)
    assert "secure" not in attributes  # plain http here; https adds it
    token = browser.token()
    assert len(token) == 43  # 256 random bits, URL-safe base64
    # The store keeps the token's SHA-256, never the token.
    stored = staff_rows(staff_server, "SELECT token_hash, username FROM staff_sessions")
    assert stored == [(hashlib.sha256(token.encode()).hexdigest(), "tz-office")]

    status, me = await browser.call("GET", ME)
    assert status == 200 and me == body

    # Signing out is an unsafe method made with the cookie: it needs the CSRF token.
    status, refused = await browser.call("POST", LOGOUT)
    assert status == 403 and refused["error"]["code"] == "csrf"
    assert (await browser.call("POST", LOGOUT, csrf="0" * 64))[0] == 403
    assert (await browser.call("GET", ME))[0] == 200  # still signed in
    status, _ = await browser.call("POST", LOGOUT, csrf=browser.csrf)
    assert status == 204
    assert staff_rows(staff_server, "SELECT COUNT(*) FROM staff_sessions") == [(0,)]
    assert (await browser.call("GET", ME))[0] == 401
    # The old cookie, replayed after sign-out, is nothing.
    replay = await browsers[1].call("GET", ME, headers={"Cookie": f"ot_staff={token}"})
    assert replay[0] == 401
    assert (await browsers[1].call("POST", LOGOUT))[0] == 204  # not signed in: nothing to do


async def test_a_wrong_password_and_an_unknown_name_get_one_answer(
    staff_server: ServerHandle, browsers: list[Browser]
) -> None:
    wrong = await browsers[0].login("tz-office", "not-the-password")
    unknown = await browsers[0].login("nobody-here", PASSWORD)
    assert wrong == unknown == (401, {"error": {"code": "unauthorized",
                                                "message": "wrong username or password"}})
    accounts = staff_server.app[SERVICES].staff
    assert accounts is not None
    active = await accounts.create_user("active", PASSWORD, "city")
    # A disabled account with the right password: the same answer.
    await accounts.store.create_user(replace(active, username="disabled", disabled=True))
    assert await browsers[0].login("disabled") == wrong
    # A name with more after the 64 characters a name may have is not that account.
    long_name = "a" * 64
    await accounts.create_user(long_name, PASSWORD, "city")
    assert await browsers[0].login(long_name + "b") == wrong
    assert (await browsers[0].login("active"))[0] == 200
    assert (await browsers[1].call("GET", ME))[0] == 401  # a cookie is one browser's


async def test_the_cookie_is_secure_behind_https(database_url: str, tmp_path: Path) -> None:
    handle = await start_app(tmp_path / "data", port=free_port(), database_url=database_url)
    svc = handle.app[SERVICES]
    svc.config = svc.config.__class__(**{**svc.config.__dict__,
                                         "public_url": "https://tutor.example.edu.cn"})
    assert svc.staff is not None
    await svc.staff.create_user("city-office", PASSWORD, "city")
    browser = Browser(handle)
    try:
        assert (await browser.login("city-office"))[0] == 200
        assert "secure" in [a.strip().lower() for a in browser.set_cookie.split(";")]
    finally:
        await browser.close()
        await handle.stop()


@pytest.mark.parametrize(("body", "content_type", "status"), [
    (b"not json", "application/json", 400),
    (b"[]", "application/json", 400),
    (b'"x"', "application/json", 400),
    (b"{}", "application/json", 400),
    (b'{"username": "city-office"}', "application/json", 400),
    (b'{"username": 7, "password": "x"}', "application/json", 400),
    (b'{"username": "city-office", "password": ["x"]}', "application/json", 400),
    (b'{"username": "\\ud800", "password": "xxxxxxxxxxxx"}', "application/json", 400),
    (b'{"username": "city-office", "password": "\\udfff"}', "application/json", 400),
    ('{"username": "%s", "password": "x"}' % ("u" * 300), "application/json", 400),
    (b'{"username": "a", "password": "x"}' + b" " * 10, "application/json", 401),
    (b"[" * 100 + b"]" * 100, "application/json", 400),
    (b"\xff\xfe", "application/json", 400),
    (b'{"username": "city-office", "password": "x"}', "text/plain", 415),
    (b'username=city-office&password=x', "application/x-www-form-urlencoded", 415),
])
async def test_malformed_sign_ins_are_4xx(staff_server: ServerHandle, body: bytes | str,
                                          content_type: str, status: int) -> None:
    async with staff_server.http.post(staff_server.base + LOGIN, data=body,
                                      headers={"Content-Type": content_type}) as r:
        answer = await r.json(content_type=None)
        assert r.status == status, answer
        assert set(answer["error"]) >= {"code", "message"}


async def test_a_huge_body_is_413(staff_server: ServerHandle) -> None:
    body = b'{"username": "x", "password": "' + b"p" * (2 * 1024 * 1024) + b'"}'
    async with staff_server.http.post(staff_server.base + LOGIN, data=body,
                                      headers={"Content-Type": "application/json"}) as r:
        assert r.status == 413


# -- throttling


async def test_five_failures_throttle_the_name_even_on_another_node(
    staff_server: ServerHandle, browsers: list[Browser], tmp_path: Path
) -> None:
    browser = browsers[0]
    for _ in range(rules.MAX_FAILURES_PER_USER):
        assert (await browser.login("tz-office", "wrong-password-1"))[0] == 401
    status, body = await browser.login("tz-office")  # even the right password now
    assert status == 429 and body["error"]["code"] == "throttled"
    wait = int(browser.last.headers["Retry-After"])
    assert 0 < wait <= rules.WINDOW_S
    assert browser.set_cookie == ""
    # Another account from the same address is not held up by this one.
    assert (await browser.login("city-office"))[0] == 200
    # A second node on the same database counts the same failures.
    other = await start_app(staff_server.data_dir, port=free_port(), node_id="n2",
                            database_url=staff_server.database_url)
    second = Browser(other)
    try:
        assert (await second.login("tz-office"))[0] == 429
    finally:
        await second.close()
        await other.stop()
    # The refused attempts were not counted, and not written to the audit log.
    failed = staff_rows(staff_server, "SELECT COUNT(*) FROM staff_logins WHERE "
                                      "username = 'tz-office'")
    assert failed == [(rules.MAX_FAILURES_PER_USER,)]


async def test_many_failures_from_one_address_throttle_every_name(
    staff_server: ServerHandle, browsers: list[Browser]
) -> None:
    browser = browsers[0]
    for i in range(rules.MAX_FAILURES_PER_ADDRESS):
        assert (await browser.login(f"guess-{i}", "wrong-password-1"))[0] == 401
    status, _ = await browser.login("city-office")
    assert status == 429 and int(browser.last.headers["Retry-After"]) > 0


# -- the audit log


async def test_the_audit_log(staff_server: ServerHandle, browsers: list[Browser]) -> None:
    city, district = browsers[0], browsers[1]
    assert (await district.login("tz-office", "wrong-password-1"))[0] == 401
    assert (await district.login("tz-office"))[0] == 200
    assert (await district.call("POST", LOGOUT, csrf=district.csrf))[0] == 204
    assert (await district.login("tz-office"))[0] == 200
    status, refused = await district.call("GET", AUDIT)
    assert status == 403 and refused["error"]["code"] == "forbidden"  # city only
    assert (await city.call("GET", AUDIT))[0] == 401
    assert (await city.login("city-office"))[0] == 200

    status, page = await city.call("GET", AUDIT)
    assert status == 200, page
    actions = [(e["who"], e["action"], e["target"]) for e in page["entries"]]
    assert actions == [  # newest first
        ("city-office", "sign_in", "city-office"),
        ("tz-office", "sign_in", "tz-office"),
        ("tz-office", "sign_out", "tz-office"),
        ("tz-office", "sign_in", "tz-office"),
        ("", "sign_in_failed", "tz-office"),
    ]
    assert page["next_cursor"] is None
    assert all(e["detail"]["address"] == "127.0.0.1" for e in page["entries"])
    assert all(e["at"].endswith("Z") for e in page["entries"])
    seqs = [e["seq"] for e in page["entries"]]
    assert seqs == sorted(seqs, reverse=True)

    # Pages of two, by cursor, add up to the same list.
    walked: list[int] = []
    cursor = ""
    while True:
        status, page = await city.call("GET", f"{AUDIT}?limit=2&cursor={cursor}")
        assert status == 200
        walked += [e["seq"] for e in page["entries"]]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert walked == seqs  # reading the log writes nothing to it
    # The platform's API key is the city too.
    status, page = await city.call("GET", AUDIT, headers={"Authorization": f"Bearer {API_KEY}"})
    assert status == 200 and page["entries"]
    for query in ("limit=0", "limit=501", "limit=x", "limit=²", "cursor=-1", "cursor=a",
                  "cursor=" + "9" * 40):
        status, body = await city.call("GET", f"{AUDIT}?{query}")
        assert status == 400, (query, body)


async def test_the_audit_log_is_append_only(staff_server: ServerHandle,
                                            browsers: list[Browser]) -> None:
    assert (await browsers[0].login("city-office"))[0] == 200
    for sql in ("UPDATE staff_audit SET who = 'someone else'", "DELETE FROM staff_audit"):
        with pytest.raises(Exception, match="append-only"):
            staff_rows(staff_server, sql)
    assert staff_rows(staff_server, "SELECT who FROM staff_audit") == [("city-office",)]


# -- scopes


async def test_each_scope_opens_its_own_sessions_only(
    staff_server: ServerHandle, browsers: list[Browser]
) -> None:
    tongzhou, _ = await staff_server.create(session_in(TONGZHOU, "S1"))
    miyun, tokens = await staff_server.create(session_in(MIYUN, "S7"))
    city, district, school = browsers
    for browser, name in ((city, "city-office"), (district, "tz-office"),
                          (school, "s7-office")):
        assert (await browser.login(name))[0] == 200
    sees = {city: {tongzhou, miyun}, district: {tongzhou}, school: {miyun}}
    for browser, mine in sees.items():
        for session_id in (tongzhou, miyun):
            for tail in ("", "/record", "/credits", "/evidence", "/timeline", "/recordings"):
                path = f"/api/v1/sessions/{session_id}{tail}"
                async with browser.http.get(browser.base + path) as r:
                    expected = 200 if session_id in mine else 404  # 404: no leak that it exists
                    assert r.status == expected, (path, r.status, await r.text())
    # Nobody signed in: 401 as before; a participant on the office's views: 403 as before.
    anonymous = staff_server
    assert (await anonymous.api("GET", f"/api/v1/sessions/{miyun}/record", key=None))[0] == 401
    status, _ = await anonymous.api("GET", f"/api/v1/sessions/{miyun}/evidence",
                                    token=tokens["s1"])
    assert status == 403
    # The API key still opens everything, and POST stays on the API key alone.
    assert (await anonymous.api("GET", f"/api/v1/sessions/{tongzhou}"))[0] == 200
    status, _ = await city.call("POST", f"/api/v1/sessions/{tongzhou}/end", csrf=city.csrf)
    assert status == 401
    # An unknown session is the same 404 for everyone.
    async with district.http.get(district.base + "/api/v1/sessions/s_nope/record") as r:
        assert r.status == 404


async def test_a_sign_in_ends_with_its_account(staff_server: ServerHandle,
                                               browsers: list[Browser]) -> None:
    tongzhou, _ = await staff_server.create(session_in(TONGZHOU, "S1"))
    district = browsers[1]
    assert (await district.login("tz-office"))[0] == 200
    path = f"/api/v1/sessions/{tongzhou}/record"
    assert (await district.call("GET", path))[0] == 200
    staff_rows_sql = "UPDATE staff_users SET disabled = {} WHERE username = 'tz-office'"
    staff_rows(staff_server, staff_rows_sql.format(
        "TRUE" if staff_server.database_url else "1"))
    status, body = await district.call("GET", path)
    assert status == 401 and "sign in again" in body["error"]["message"]


# -- the command


def _cli(args: list[str], database_url: str, data_dir: Path) -> list[str]:
    full = ["admin", *args, "--data-dir", str(data_dir)]
    return full + (["--database-url", database_url] if database_url else [])


def test_create_user_and_list_users(database_url: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from signaling.server import cli

    data = tmp_path / "data"
    monkeypatch.setenv("OPENTUTOR_ADMIN_PASSWORD", PASSWORD)
    args = ["create-user", "--username", "tz-office", "--level", "district",
            "--district-code", TONGZHOU]
    assert cli.main(_cli(args, database_url, data)) == 0
    assert "created district account 'tz-office'" in capsys.readouterr().out
    # Again: the name is taken.
    assert cli.main(_cli(args, database_url, data)) == 2
    assert "exists" in capsys.readouterr().err
    # From standard input (a script), not a terminal.
    monkeypatch.delenv("OPENTUTOR_ADMIN_PASSWORD")
    monkeypatch.setattr("sys.stdin", io.StringIO("another-long-password\n"))
    assert cli.main(_cli(["create-user", "--username", "s7", "--level", "school",
                          "--school-id", "S7"], database_url, data)) == 0
    capsys.readouterr()
    refusals = [
        (["--username", "weak", "--level", "city"], "short-pw\n", "at least 10 characters"),
        (["--username", "tz2", "--level", "district"], PASSWORD, "needs a district code"),
        (["--username", "s2", "--level", "school"], PASSWORD, "needs a school id"),
        (["--username", "c2", "--level", "city", "--school-id", "S1"], PASSWORD,
         "no district code or school id"),
        (["--username", "bad name", "--level", "city"], PASSWORD, "username"),
    ]
    for extra, password, message in refusals:
        monkeypatch.setattr("sys.stdin", io.StringIO(password))
        assert cli.main(_cli(["create-user", *extra], database_url, data)) == 2, extra
        err = capsys.readouterr().err
        assert err.startswith("opentutor admin create-user: ") and message in err, err
    assert cli.main(_cli(["list-users"], database_url, data)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t")[:4] == ["username", "level", "district_code", "school_id"]
    assert [line.split("\t")[:4] for line in lines[1:]] == [
        ["s7", "school", "", "S7"], ["tz-office", "district", TONGZHOU, ""]]

    async def stored() -> tuple[list[str], list[tuple[str, str, str]]]:
        store = open_staff_store(database_url, data)
        await store.open()
        try:
            users = await store.users()
            return ([u.password_hash for u in users],
                    [(e.who, e.action, e.target) for e in await store.audit(None, 10)])
        finally:
            await store.close()

    hashes, audit = asyncio.run(stored())
    for h in hashes:  # argon2id, salted, never the password
        assert h.startswith("$argon2id$v=19$") and PASSWORD not in h
    assert len(set(hashes)) == 2
    assert audit == [("cli", "user_created", "s7"), ("cli", "user_created", "tz-office")]
    if not database_url:
        assert (data / "staff.sqlite").stat().st_mode & 0o077 == 0  # private


def test_a_terminal_asks_twice_without_echo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from signaling.server import cli

    monkeypatch.delenv("OPENTUTOR_ADMIN_PASSWORD", raising=False)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Tty())
    typed = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    assert cli.main(_cli(["create-user", "--username", "c", "--level", "city"], "",
                         tmp_path)) == 2
    assert "differ" in capsys.readouterr().err
    typed = iter([PASSWORD, PASSWORD])
    assert cli.main(_cli(["create-user", "--username", "c", "--level", "city"], "",
                         tmp_path)) == 0


# -- the rules, on a real store with a fake clock


@pytest.fixture
async def clocked(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Accounts, list[float]]]:
    now = [1_900_000_000.0]
    store = open_staff_store(database_url, tmp_path)
    await store.open()
    accounts = Accounts(store, lambda: now[0])
    await accounts.create_user("city-office", PASSWORD, "city")
    try:
        yield accounts, now
    finally:
        await store.close()


async def test_a_sign_in_ends_idle_or_at_its_longest(
    clocked: tuple[Accounts, list[float]]
) -> None:
    accounts, now = clocked
    idle = await accounts.sign_in("city-office", PASSWORD, "10.0.0.1")
    assert isinstance(idle, SignedIn)
    now[0] += rules.IDLE_S - 1
    assert await accounts.current(idle.token) is not None  # used: the idle clock restarts
    now[0] += rules.IDLE_S - 1
    assert await accounts.current(idle.token) is not None
    now[0] += rules.IDLE_S
    assert await accounts.current(idle.token) is None

    busy = await accounts.sign_in("city-office", PASSWORD, "10.0.0.1")
    assert isinstance(busy, SignedIn)
    began = now[0]
    while now[0] + 3600 < began + rules.MAX_S:
        now[0] += 3600
        assert await accounts.current(busy.token) is not None
    now[0] = began + rules.MAX_S
    assert await accounts.current(busy.token) is None  # however busy, 7 days at most
    assert await accounts.current("x" * 43) is None and await accounts.current("") is None


async def test_throttling_counts_a_window_and_restarts_after_a_success(
    clocked: tuple[Accounts, list[float]]
) -> None:
    accounts, now = clocked
    for _ in range(rules.MAX_FAILURES_PER_USER - 1):
        assert await accounts.sign_in("city-office", "wrong-password", "10.0.0.1") is None
        now[0] += 60
    # A success wipes the name's slate (the address keeps its count).
    assert isinstance(await accounts.sign_in("city-office", PASSWORD, "10.0.0.2"), SignedIn)
    now[0] += 1
    for _ in range(rules.MAX_FAILURES_PER_USER):
        assert await accounts.sign_in("city-office", "wrong-password", "10.0.0.3") is None
        now[0] += 10
    throttled = await accounts.sign_in("city-office", PASSWORD, "10.0.0.4")
    # The oldest of the five leaves the window 50 s after the fifth plus the window.
    assert throttled == Throttled(rules.WINDOW_S - 50)
    now[0] += rules.WINDOW_S - 50
    assert isinstance(await accounts.sign_in("city-office", PASSWORD, "10.0.0.4"), SignedIn)


# -- the document


async def test_described_in_openapi(staff_server: ServerHandle) -> None:
    _, doc = await staff_server.api("GET", "/api/v1/openapi.json", key=None)
    assert doc["components"]["securitySchemes"]["staffCookie"]["name"] == "ot_staff"
    paths = doc["paths"]
    assert set(paths["/admin/login"]["post"]["responses"]) >= {"200", "401", "429"}
    assert paths["/admin/login"]["post"]["security"] == []
    assert "/admin/logout" in paths and "/admin/me" in paths and "/admin/audit" in paths
    for tail in ("", "/record", "/credits", "/evidence", "/timeline", "/recordings"):
        get = paths["/sessions/{id}" + tail]["get"]
        assert {"staffCookie": []} in get["security"], tail
    # Every /api/v1/admin route is described.
    routes = {r.resource.canonical.removeprefix("/api/v1") for r in staff_server.app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith("/api/v1/admin/")}
    assert routes == {"/admin/login", "/admin/logout", "/admin/me", "/admin/audit"}
    assert routes <= set(paths)


async def test_a_weaker_hash_is_replaced_at_sign_in(clocked: tuple[Accounts, list[float]]) -> None:
    from argon2 import PasswordHasher

    accounts, _ = clocked
    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(" old pw ")
    user = await accounts.store.user("city-office")
    assert user is not None
    # An account from before today's policy and settings (short, spaces around it).
    await accounts.store.create_user(replace(user, username="old", password_hash=old))
    assert isinstance(await accounts.sign_in("old", " old pw ", "10.0.0.1"), SignedIn)
    renewed = await accounts.store.user("old")
    assert renewed is not None and renewed.password_hash != old
    assert renewed.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert isinstance(await accounts.sign_in("old", " old pw ", "10.0.0.1"), SignedIn)
