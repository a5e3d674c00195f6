"""Several machines on one: a Linux bridge and one network namespace per node, each
with its own address and data directory, sharing one Redis and one PostgreSQL.

::

    host side (this test process, Chromium)        namespaces (one per "machine")
    bridge otns<pid><k>-br
      10.77.X.1    clients and browsers            otns…-0  10.77.X.10  opentutor serve
      10.77.X.254  Redis and PostgreSQL            otns…-1  10.77.X.11  opentutor serve
                                                   otns…-2  10.77.X.12  opentutor serve

Each namespace is joined to the bridge by a veth pair and has only its own address and
loopback: a node reaches the others, Redis, PostgreSQL and the clients through the
bridge, as over a LAN. Redis and PostgreSQL get an address of their own on the host
side so that a partition can cut one node off from them (a blackhole route inside its
namespace) while its people still reach it.

Names carry the creating process's id (``otns<pid><k>``), so parallel runs never
clash, and a later run removes what a killed run left behind (its pid is gone); every
namespace and link made here is removed on the way out, whatever happened. Needs root
and ``ip netns``; otherwise :func:`topology` skips the test, saying why.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_postgres, run_redis
from tests.support import API_KEY, SECRET

PREFIX = "otns"
PORT = 8000  # every namespace has its own stack: the same port on each address
_counter = itertools.count()


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done


def unavailable() -> str | None:
    """Why namespaces cannot be made here, or ``None``."""
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs the suite as root)"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    if _ip("netns", "list", check=False).returncode != 0:
        return "ip netns does not work here"
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers() -> None:
    """Namespaces and bridges of runs whose process is gone (killed mid-test)."""
    pattern = re.compile(rf"^{PREFIX}(\d+)[0-9a-z]-")
    for line in _ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        found = pattern.match(name)
        if found and not _alive(int(found.group(1))):
            _ip("netns", "del", name, check=False)
    for line in _ip("-o", "link", "show", check=False).stdout.splitlines():
        parts = line.split(":")
        name = parts[1].strip().split("@")[0] if len(parts) > 1 else ""
        found = pattern.match(name)
        if found and not _alive(int(found.group(1))):
            _ip("link", "del", name, check=False)


def _free_subnet() -> int:
    """A third octet X with no 10.77.X.0/24 address on this machine (another run's)."""
    used = set(re.findall(r"inet 10\.77\.(\d+)\.", _ip("-o", "-4", "addr").stdout))
    for octet in range(1, 255):
        if str(octet) not in used:
            return octet
    raise RuntimeError("no free 10.77.X.0/24 subnet")


@dataclass
class Node:
    """``opentutor serve`` inside one namespace."""

    node_id: str
    namespace: str
    address: str
    data_dir: Path
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://{self.address}:{PORT}"

    def kill(self) -> None:
        """SIGKILL: nothing closed, released or flushed (``ip netns exec`` execs the
        server, so this is its pid)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def logged(self, text: str) -> list[dict[str, Any]]:
        """The node's JSON log lines whose message contains ``text``."""
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and text in str(entry.get("msg", "")):
                out.append(entry)
        return out


@dataclass
class Topology:
    root: Path
    prefix: str
    subnet: int
    redis_url: str = ""
    postgres_url: str = ""
    namespaces: list[str] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)

    @property
    def bridge(self) -> str:
        return f"{self.prefix}-br"

    @property
    def client_address(self) -> str:
        return f"10.77.{self.subnet}.1"

    @property
    def data_address(self) -> str:
        """Where Redis and PostgreSQL listen (host side of the bridge)."""
        return f"10.77.{self.subnet}.254"

    def _up(self) -> None:
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.client_address}/24", "dev", self.bridge)
        _ip("addr", "add", f"{self.data_address}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")

    def _stop_nodes(self) -> None:
        for node in self.nodes:
            node.stop()

    def _down(self) -> None:
        for name in self.namespaces:  # its veth end goes with it, and so the pair
            _ip("netns", "del", name, check=False)
        _ip("link", "del", self.bridge, check=False)

    def machine(self) -> tuple[str, str]:
        """A new namespace on the bridge: (its name, its address)."""
        i = len(self.namespaces)
        name, address = f"{self.prefix}-{i}", f"10.77.{self.subnet}.{10 + i}"
        host_end, ns_end = f"{self.prefix}-h{i}", f"{self.prefix}-n{i}"
        _ip("netns", "add", name)
        self.namespaces.append(name)
        _ip("link", "add", host_end, "type", "veth", "peer", "name", ns_end, "netns", name)
        _ip("link", "set", host_end, "master", self.bridge)
        _ip("link", "set", host_end, "up")
        _ip("-n", name, "addr", "add", f"{address}/24", "dev", ns_end)
        _ip("-n", name, "link", "set", ns_end, "up")
        _ip("-n", name, "link", "set", "lo", "up")
        # This machine's other addresses (the one Chromium offers as its ICE candidate:
        # the default route's) are reached through the bridge's host side.
        _ip("-n", name, "route", "add", "default", "via", self.client_address)
        return name, address

    def start_nodes(self, ids: list[str], *, database_url: str, redis_db: int,
                    extra: tuple[str, ...] = ()) -> list[Node]:
        """``opentutor serve`` in a new namespace each, started together, waited for
        until healthy: its own address (the public URL and the ICE host) and data
        directory, the shared Redis (database ``redis_db``) and PostgreSQL."""
        started = []
        redis_url = self.redis_url.rsplit("/", 1)[0] + f"/{redis_db}"
        for node_id in ids:
            name, address = self.machine()
            data_dir = self.root / node_id / "data"
            data_dir.mkdir(parents=True)
            log = self.root / node_id / "server.log"
            args = [
                "ip", "netns", "exec", name, sys.executable, "-m", "signaling.server.cli",
                "serve", "--host", address, "--port", str(PORT), "--data-dir", str(data_dir),
                "--api-key", API_KEY, "--token-secret", SECRET, "--no-demo",
                "--ice-host", address, "--public-url", f"http://{address}:{PORT}",
                "--node-id", node_id, "--redis-url", redis_url, "--database-url", database_url,
                "--log-format", "json", *extra,
            ]
            with log.open("wb") as out:
                process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                           cwd=Path(__file__).resolve().parents[2])
            node = Node(node_id, name, address, data_dir, log, process)
            self.nodes.append(node)
            started.append(node)
        for node in started:
            _wait_healthy(node)
        return started

    def cut(self, node: Node) -> None:
        """Partition: ``node`` loses its network to Redis and PostgreSQL (a blackhole
        route in its namespace: what it sends there is dropped), its people still
        reach it."""
        _ip("-n", node.namespace, "route", "add", "blackhole", f"{self.data_address}/32")

    def heal(self, node: Node) -> None:
        _ip("-n", node.namespace, "route", "del", "blackhole", f"{self.data_address}/32")


def _wait_healthy(node: Node) -> None:
    deadline = time.monotonic() + 45
    while True:
        try:
            with urllib.request.urlopen(node.base + "/healthz", timeout=1):
                return
        except OSError:
            if node.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"node {node.node_id} did not start:\n"
                                   + node.log.read_text(errors="replace")[-4000:]) from None
            time.sleep(0.1)


@contextmanager
def topology(root: Path) -> Iterator[Topology]:
    """A bridge with Redis and PostgreSQL on its host side; namespaces and nodes are
    added with :meth:`Topology.start_nodes`. Everything is removed after, even on a
    failure. Skips the test (with the reason) where namespaces cannot be made."""
    why = unavailable()
    if why is not None:
        pytest.skip(why)
    remove_leftovers()
    k = "0123456789abcdefghijklmnopqrstuvwxyz"[next(_counter) % 36]
    topo = Topology(root, f"{PREFIX}{os.getpid()}{k}", _free_subnet())
    (root / "redis").mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:  # undone in reverse: nodes, then services, then links
        stack.callback(topo._down)
        topo._up()
        topo.redis_url = stack.enter_context(run_redis(topo.data_address, root / "redis"))
        topo.postgres_url = stack.enter_context(run_postgres(topo.data_address))
        stack.callback(topo._stop_nodes)
        yield topo
