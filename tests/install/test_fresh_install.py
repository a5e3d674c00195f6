"""The README's first command on a clean copy of the tree: ``./scripts/serve`` builds its
own virtualenv with the base dependencies only (no extras), installs the web client's
packages, and gives a server that answers, serves the join page and the socket.io
client, admits the demo teacher, and prints the demo links. The other subcommands run in
that same virtualenv.

It needs the package registries (pip, npm), so ``./scripts/test`` runs this directory
before it enters the test network namespace; the main run ignores it.
"""

from __future__ import annotations

import asyncio
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import socketio

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT_S = 420  # a cold pip and npm cache on a slow mirror; usually ~1 minute

pytestmark = pytest.mark.timeout(INSTALL_TIMEOUT_S + 120)


def clean_copy(into: Path) -> Path:
    """The tree as a fresh clone would have it: tracked and new files, nothing ignored
    (no .venv, no node_modules, no data)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if not source.is_file():  # deleted in the work tree, not yet committed
            continue
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return into


def clean_env() -> dict[str, str]:
    """This process's environment minus any virtualenv, so `python3` is the system's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "OPENTUTOR_"))}
    venv_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env.pop("PYTHONPATH", None)
    return env


def read_until_links(process: subprocess.Popen[str], deadline: float) -> tuple[list[str], str]:
    """The printed lines up to both demo links (teacher, student)."""
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    # A thread, not select(): a text pipe buffers lines that select() no longer sees.
    threading.Thread(target=lambda: [lines.put(x) for x in process.stdout or ()],
                     daemon=True).start()
    seen: list[str] = []
    links: dict[str, str] = {}
    while len(links) < 2:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or (process.poll() is not None and lines.empty()):
            pytest.fail("./scripts/serve printed no demo links:\n" + "".join(seen[-60:]))
        try:
            line = lines.get(timeout=min(remaining, 1.0))
        except queue.Empty:
            continue
        seen.append(line)
        for role in ("teacher", "student"):
            if line.strip().startswith(role) and "/join?token=" in line:
                links[role] = line[line.index("http"):].strip()
    return [links["teacher"], links["student"]], "".join(seen)


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.status, answer.headers.get("Content-Type", ""), answer.read()


def test_scripts_serve_on_a_clean_copy_with_base_dependencies(tmp_path: Path) -> None:
    tree = clean_copy(tmp_path / "opentutor")
    assert not (tree / ".venv").exists() and not (tree / "web" / "node_modules").exists()
    port = free_port()
    process = subprocess.Popen(
        ["./scripts/serve", "--port", str(port), "--data-dir", str(tmp_path / "data")],
        cwd=tree, env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        (teacher, student), printed = read_until_links(
            process, time.monotonic() + INSTALL_TIMEOUT_S
        )
        base = f"http://127.0.0.1:{port}"
        assert teacher.startswith(base) and student.startswith(base), printed

        assert get(f"{base}/healthz")[0] == 200
        status, kind, page = get(teacher)
        assert status == 200 and kind.startswith("text/html") and b"<script" in page
        status, kind, client = get(f"{base}/vendor/socket.io.esm.min.js")
        assert status == 200 and "javascript" in kind and len(client) > 10_000
        assert get(f"{base}/static/src/main.js")[0] == 200

        # The demo teacher really gets in: the server's welcome over socket.io.
        token = parse_qs(urlparse(teacher).query)["token"][0]
        welcome = join(base, token)
        assert welcome["you"]["id"] == "t1", welcome

        # Base dependencies only: no extra was installed, yet every subcommand runs.
        venv = tree / ".venv"
        pip_list = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
            capture_output=True, text=True, check=True,
        ).stdout.lower()
        for extra in ("pytest", "matplotlib", "psutil", "playwright", "hypothesis"):
            assert f"\n{extra}==" not in "\n" + pip_list, f"{extra} came with the base install"
        # The forward path's C piece was built by that install (./scripts/test installed
        # the compiler and headers it needs, as ./scripts/serve does as root).
        built = subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import rtc._wire"],
            cwd=tree, capture_output=True, text=True,
        )
        assert built.returncode == 0, built.stderr
        opentutor = str(venv / "bin" / "opentutor")
        for argv in (
            ["credits", "--help"],
            ["recording", "export", "--help"],
            ["recording", "purge", "--dry-run", "--data-dir", str(tmp_path / "data")],
        ):
            done = subprocess.run([opentutor, *argv], capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, (argv, done.stderr)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def join(base: str, token: str) -> dict[str, object]:
    """The server's welcome for this join token, over socket.io (websocket)."""

    async def welcome() -> dict[str, object]:
        client = socketio.AsyncClient(reconnection=False)
        got: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        client.on("welcome", got.put)
        await client.connect(base, auth={"token": token}, transports=["websocket"],
                             wait_timeout=10)
        try:
            return await asyncio.wait_for(got.get(), 10)
        finally:
            await client.disconnect()

    return asyncio.run(welcome())
