"""``opentutor serve --workers N``: one server process per core on one machine.

A Python process forwards media on one core. With N workers, this supervisor starts N
``opentutor serve`` processes that are nodes of one deployment, exactly as separate
machines are (README "Several processes or nodes"): they share the data directory (and
PostgreSQL when given) and place rooms through Redis: ``--redis-url``, or a private
``redis-server`` this command starts on a Unix socket in ``DATA_DIR/run`` (nothing to
install beyond Debian's ``redis-server``, nothing listening on the network).

Every worker binds the public port with ``SO_REUSEPORT`` (the kernel spreads new
connections across them) and its own port, PORT+1+i, which is its node URL: a browser
whose join reaches a worker that does not run the room is told ``moved`` there, as
between machines. A new room goes to the worker running the fewest
(``RedisRouter`` ``place_least_loaded``), so an evening's rooms spread over the cores
however the kernel spread the connections.

The supervisor restarts a worker that dies (its rooms move as from a dead node: their
people rejoin within seconds) and stops them all on SIGTERM/SIGINT.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

from signaling.router.redis import EPOCH_KEY
from signaling.server.config import Config

RESTART_PAUSE_S = 1.0  # between a worker's death and its restart (no busy loop)
STOP_GRACE_S = 15.0  # SIGTERM to SIGKILL


def worker_argv(argv: list[str], index: int, config: Config, redis_url: str) -> list[str]:
    """The ``serve`` command line of worker ``index``: the supervisor's own, without
    ``--workers``, with the worker's node name, its own port and the shared Redis. The
    secrets were made before (``config.from_args`` saved them in the data directory), so
    N processes do not race to create them, and none is put on a command line."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--workers":
            skip = True
            continue
        if arg.startswith("--workers="):
            continue
        out.append(arg)
    if out and out[0] == "serve":
        out = out[1:]
    node = config.node_id
    extra = [
        "--node-id", f"{node}-w{index}",
        "--worker-port", str(config.port + 1 + index),
        "--reuse-port", "--place-least-loaded",
    ]
    if not config.redis_url:
        extra += ["--redis-url", redis_url]
    if index > 0 and "--no-demo" not in out:
        extra.append("--no-demo")  # one demo session, printed once
    return [sys.executable, "-m", "signaling.server.cli", "serve", *out, *extra]


def private_redis(data_dir: Path, *, first: bool = True) -> tuple[subprocess.Popen[bytes], str]:
    """A redis-server for this machine's workers only: a Unix socket (0700 folder), no
    TCP port, nothing saved (placement is rebuilt by the workers' heartbeats).
    ``first``: before any worker started (else: again, after it died)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("--workers places rooms through Redis: give --redis-url, or install "
                         "redis-server (apt-get install -y redis-server) for a private one")
    run = data_dir / "run"
    run.mkdir(parents=True, exist_ok=True)
    os.chmod(run, 0o700)
    sock = run / "redis.sock"
    with contextlib.suppress(FileNotFoundError):
        sock.unlink()
    proc = subprocess.Popen(
        [binary, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
         "--save", "", "--appendonly", "no", "--dir", str(run)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the private redis-server did not start")
        time.sleep(0.05)
    if first:
        # A Redis without the router's epoch makes the first node wait out a settling
        # time (5 s), in case nodes run rooms it no longer knows of. Before any worker
        # started no room runs anywhere, so it starts with an epoch. (Started again after
        # it died, it starts without one: the workers' rooms then settle, as they must.)
        client = redis.Redis(unix_socket_path=str(sock))
        try:
            client.set(EPOCH_KEY, f"private-{os.getpid()}-{time.time_ns()}", nx=True)
        finally:
            client.close()
    return proc, f"unix://{sock}"


def listening(host: str, port: int, proc: subprocess.Popen[bytes] | None,
              within: float = 60.0) -> None:
    """Wait until a worker accepts connections on its own port (or exits, or a minute)."""
    target = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and proc is not None and proc.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection((target, port), 0.5):
            return
        time.sleep(0.1)


def supervise(config: Config, count: int, argv: list[str]) -> int:
    """Run ``count`` workers until SIGTERM/SIGINT; restart any that dies."""
    if count < 1:
        print("--workers: at least 1", file=sys.stderr)
        return 2
    redis_proc: subprocess.Popen[bytes] | None = None
    redis_url = config.redis_url
    if not redis_url:
        redis_proc, redis_url = private_redis(config.data_dir)
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"opentutor: {count} workers on port {config.port} (each also on "
          f"{config.port + 1}…{config.port + count}), rooms placed through "
          f"{'a private redis-server' if redis_proc else 'Redis'}", flush=True)
    workers: list[subprocess.Popen[bytes] | None] = [None] * count
    try:
        while not stopping:
            if redis_proc is not None and redis_proc.poll() is not None:
                # Rooms go on without it; placement waits until it is back (the workers
                # reconnect, claim their rooms again, and settle: signaling/router/redis.py).
                print(f"opentutor: the private redis-server exited ({redis_proc.returncode}); "
                      "restarting", file=sys.stderr, flush=True)
                time.sleep(RESTART_PAUSE_S)
                redis_proc, _ = private_redis(config.data_dir, first=False)
            for i, proc in enumerate(workers):
                if proc is not None and proc.poll() is None:
                    continue
                if proc is not None:
                    print(f"opentutor: worker {i} exited ({proc.returncode}); restarting",
                          file=sys.stderr, flush=True)
                    time.sleep(RESTART_PAUSE_S)
                    if stopping:
                        break
                workers[i] = subprocess.Popen(worker_argv(argv, i, config, redis_url))
                if proc is None:
                    # The first start: one worker at a time until it listens, so that N
                    # processes do not create or upgrade the data directory's databases
                    # at once (SQLite: "database is locked").
                    listening(config.host, config.port + 1 + i, workers[i])
            time.sleep(0.2)
    finally:
        alive = [p for p in workers if p is not None and p.poll() is None]
        for p in alive:
            p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for p in alive:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(10)
    return 0
