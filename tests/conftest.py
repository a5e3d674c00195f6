"""Fixtures shared by every test layer: free ports, a real Redis server process,
and the real opentutor app on a loopback port with real socket.io clients."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import hypothesis  # noqa: F401  (see below)
import pytest

from tests.support import ServerHandle, start_app

# hypothesis is imported here, early, on purpose: its pytest plugin otherwise imports it
# at the terminal summary, deep in pluggy's stack, where CPython 3.11.7's AST validator
# can raise "SystemError: AST constructor recursion depth mismatch" (fixed in 3.11.8,
# gh-106905) while pytest rewrites its asserts, and the run aborts after all passed.


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port, for this test session only."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run ./scripts/test, which installs it")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("redis-server did not start")
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(params=["local", "redis"])
async def server(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ServerHandle]:
    """The real app (in this process, on a free 127.0.0.1 port), ICE on loopback only,
    once with the single-node router and once with the Redis router (LiveKit's habit:
    the same scenarios against both)."""
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    handle = await start_app(tmp_path / "data", port=free_port(), redis_url=redis_url)
    try:
        yield handle
    finally:
        await handle.stop()
        await asyncio.sleep(0)
