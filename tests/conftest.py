"""Fixtures shared by every test layer: free ports, a real Redis server process, a
throw-away PostgreSQL cluster, and the real opentutor app on a loopback port with
real socket.io clients."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import hypothesis  # noqa: F401  (see below)
import pytest
from playwright.async_api import TimeoutError as PlaywrightTimeout

from tests.support import ServerHandle, start_app
from tests.turn_support import TurnServer, run_coturn

# hypothesis is imported here, early, on purpose: its pytest plugin otherwise imports it
# at the terminal summary, deep in pluggy's stack, where CPython 3.11.7's AST validator
# can raise "SystemError: AST constructor recursion depth mismatch" (fixed in 3.11.8,
# gh-106905) while pytest rewrites its asserts, and the run aborts after all passed.


# The suite runs on two workers (scripts/test: pytest-xdist, --dist loadgroup): most
# tests wait on real clocks (media, heartbeats, browsers). The tests that build network
# namespaces run one at a time, on one worker: the multi-node topologies pick free
# subnets by looking (two workers could pick the same at once) and bench/network.py's
# links use fixed subnets per index. Browser tests may run two at once (they were shown
# to pass with the machine far busier than that).
ONE_AT_A_TIME = ("multinode/", "e2e/test_quality_tbf.py", "e2e/test_reconnect.py")

# The tests that drive Chromium. One of them, now and then, in CI only and never here
# (four at once, the machine loaded), waited 60 s for something a page shows within a
# second: a console page whose sign-in form never came, a class page whose welcome did
# not. Such a test is run once more when, and only when, a Playwright wait ran out; the
# summary says so ("rerun"), and the first try's report says what the pages and the
# server did meanwhile (tests/e2e/conftest.py). Any other failure fails at once.
BROWSER_TESTS = ("e2e/", "multinode/test_browsers.py", "multinode/test_oncall_nodes.py")


# tryfirst: pytest-xdist's worker reads the xdist_group marks in its own
# pytest_collection_modifyitems, which would otherwise run first (it registers after this
# conftest, and later plugins run first), and the groups would be silently ignored.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        where = item.path.relative_to(here).as_posix()
        if where.startswith(ONE_AT_A_TIME):
            item.add_marker(pytest.mark.xdist_group("namespaces"))
        if where.startswith(BROWSER_TESTS):
            item.add_marker(pytest.mark.flaky(reruns=1, only_rerun=[PlaywrightTimeout]))



class _GroupsHeld:
    """Fails the run if xdist ignored the groups (it did once, silently: a pytest release
    stopped reading the attribute xdist rewrites), rather than let namespace tests race."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        if not config.getoption("loadgroup", False):
            return
        lost = [i.nodeid for i in items
                if i.get_closest_marker("xdist_group") and "@" not in i.nodeid]
        if lost:
            raise pytest.UsageError(f"xdist --dist loadgroup ignored the groups of {lost[:3]}…")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_GroupsHeld(), "opentutor-groups-held")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port, for this test session only."""
    with run_redis("127.0.0.1", tmp_path_factory.mktemp("redis")) as url:
        yield url


@contextmanager
def run_redis(host: str, folder: Path) -> Iterator[str]:
    """A real redis-server listening on ``host`` (a free port), stopped after; its URL.
    The multi-node tests run one on a bridge address their namespaces reach."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run ./scripts/test, which installs it")
    port = free_port(host)
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            host,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
            # Off loopback (the namespaced nodes' bridge) it would refuse them otherwise;
            # the address exists only on this machine.
            "--protected-mode",
            "no" if host != "127.0.0.1" else "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("redis-server did not start")
    try:
        yield f"redis://{host}:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def turn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TurnServer]:
    """A real coturn on loopback with TURN REST credentials (tests/turn_support.py);
    skips the test when turnserver is not installed."""
    with run_coturn(tmp_path_factory.mktemp("turn")) as turn:
        yield turn


def postgres_bindir() -> Path | None:
    """Where initdb and postgres are: OPENTUTOR_PG_BINDIR, ``pg_config --bindir``, the
    newest /usr/lib/postgresql/*/bin (Debian keeps them off PATH), or PATH."""
    candidates: list[Path] = []
    if os.environ.get("OPENTUTOR_PG_BINDIR"):
        candidates.append(Path(os.environ["OPENTUTOR_PG_BINDIR"]))
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if found.returncode == 0:
            candidates.append(Path(found.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                         key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                         reverse=True)
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb") or "").parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    return None


def _as_server_user(folder: Path) -> list[str]:
    """initdb and postgres refuse to run as root: as root, run them as ``postgres``
    (Debian's package makes it) or ``nobody``, owning ``folder``; else as oneself."""
    if os.geteuid() != 0:
        return []
    import pwd

    for name in ("postgres", "nobody"):
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            continue
        os.chown(folder, user.pw_uid, user.pw_gid)
        return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                "--clear-groups", "--"]
    pytest.fail("running as root, and no postgres or nobody user to run PostgreSQL as")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server (Debian's ``postgresql`` package), a throw-away cluster
    on a free loopback port for this test session: the URL of its ``postgres``
    database, as superuser ``opentutor``. Tests take a database of their own with
    :func:`create_database` (or the ``database_url`` fixture)."""
    with run_postgres("127.0.0.1") as url:
        yield url


@contextmanager
def run_postgres(host: str) -> Iterator[str]:
    """A throw-away PostgreSQL cluster listening on ``host`` (a free port), removed
    after; the URL of its ``postgres`` database (see :func:`postgres_url`)."""
    bindir = postgres_bindir()
    if bindir is None:
        pytest.fail("PostgreSQL is not installed: run ./scripts/test, which installs it")
    # Not under pytest's tmp dir: that is private to root (0700), and the server runs as
    # another user when the suite runs as root.
    folder = Path(tempfile.mkdtemp(prefix="opentutor-pg-"))
    prefix = _as_server_user(folder)
    data = folder / "data"
    init = subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "opentutor", "--auth=trust",
         "-E", "UTF8", "--locale=C", "--no-sync"],
        cwd=folder, capture_output=True, text=True,
    )
    if init.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"initdb failed:\n{init.stdout}\n{init.stderr}")
    if host != "127.0.0.1":  # initdb trusts loopback only: the bridge's clients too
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write("host all all samenet trust\n")
    port = free_port(host)
    log = (folder / "server.log").open("wb")
    proc = subprocess.Popen(
        [*prefix, str(bindir / "postgres"), "-D", str(data), "-k", str(folder), "-p", str(port),
         "-c", f"listen_addresses={host}", "-c", "fsync=on", "-c", "max_connections=400",
         "-c", "shared_buffers=32MB"],
        cwd=folder, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"postgresql://opentutor@{host}:{port}/postgres"
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            break
        except psycopg.OperationalError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                text = (folder / "server.log").read_text(errors="replace")
                shutil.rmtree(folder, ignore_errors=True)
                pytest.fail(f"postgres did not start:\n{text}")
            time.sleep(0.1)
    try:
        yield url
    finally:
        proc.send_signal(2)  # SIGINT: "fast" shutdown, open connections or not
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def create_database(postgres_url: str) -> str:
    """A new, empty database on the test cluster (~0.1 s); its URL."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    return postgres_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Run the test on both back ends: "" (SQLite files in the data directory, the
    default) and a fresh PostgreSQL database (what ``--database-url`` takes)."""
    if request.param == "sqlite":
        return ""
    return create_database(request.getfixturevalue("postgres_url"))


@pytest.fixture(params=["local", "redis", "redis+postgres"])
async def server(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ServerHandle]:
    """The real app (in this process, on a free 127.0.0.1 port), ICE on loopback only,
    with the single-node router, with the Redis router, and with the Redis router and
    the store and recordings index in PostgreSQL (the several-nodes setup): LiveKit's
    habit, the same scenarios against each."""
    redis_url = request.getfixturevalue("redis_url") if "redis" in request.param else ""
    database_url = ""
    if "postgres" in request.param:
        database_url = create_database(request.getfixturevalue("postgres_url"))
    handle = await start_app(tmp_path / "data", port=free_port(), redis_url=redis_url,
                             database_url=database_url)
    try:
        yield handle
    finally:
        await handle.stop()
        await asyncio.sleep(0)
