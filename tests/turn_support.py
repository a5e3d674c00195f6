"""A real coturn (Debian's ``coturn`` package, ``turnserver``) for tests: loopback
only, TURN REST credentials (``use-auth-secret``), relayed addresses on 127.0.0.1.

``scripts/test`` installs coturn where missing; without ``turnserver`` the tests that
need it are skipped, with the reason.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TURN_SECRET = "opentutor-test-turn-secret"
REALM = "opentutor.test"


@dataclass(frozen=True)
class TurnServer:
    host: str
    port: int  # UDP and TCP
    secret: str = field(repr=False)
    log: Path

    @property
    def udp_url(self) -> str:
        return f"turn:{self.host}:{self.port}?transport=udp"

    @property
    def tcp_url(self) -> str:
        return f"turn:{self.host}:{self.port}?transport=tcp"

    def allocations(self) -> int:
        """Relay allocations coturn logged as made so far (its log, not our guess)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text.count("ALLOCATE processed, success")


def _free_port(host: str) -> int:
    """A port free for both UDP and TCP on ``host`` (coturn listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port: int = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no port free for both UDP and TCP")


@contextmanager
def run_coturn(folder: Path, host: str = "127.0.0.1") -> Iterator[TurnServer]:
    """``turnserver`` on a free port of ``host``, stopped after. No config file (``-n``),
    no TLS/DTLS, no CLI; relays on ``host`` within a random 200-port range (another
    run's coturn on this machine takes another range, or coturn tries the next port)."""
    binary = shutil.which("turnserver")
    if binary is None:
        pytest.skip("coturn's turnserver is not installed (./scripts/test installs it)")
    port = _free_port(host)
    low = random.randrange(40000, 60000, 200)
    log = folder / "turnserver.log"
    args = [
        binary,
        "-n",
        "--no-cli",
        f"--listening-ip={host}",
        f"--relay-ip={host}",
        f"--listening-port={port}",
        f"--min-port={low}",
        f"--max-port={low + 199}",
        "--use-auth-secret",
        f"--static-auth-secret={TURN_SECRET}",
        f"--realm={REALM}",
        "--fingerprint",
        "--no-tls",
        "--no-dtls",
        # The relayed peer is the server on this machine (loopback outside the test
        # namespace); multicast peers are refused as in production.
        "--allow-loopback-peers",
        "--no-multicast-peers",
        f"--log-file={log}",
        "--simple-log",
        "--verbose",
        f"--pidfile={folder / 'turnserver.pid'}",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                text = log.read_text(errors="replace") if log.exists() else ""
                pytest.fail(f"turnserver did not start:\n{text[-3000:]}")
            time.sleep(0.05)
    try:
        yield TurnServer(host, port, TURN_SECRET, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
