"""Server configuration: flags, then ``OPENTUTOR_<NAME>`` environment variables,
then defaults. Secrets that are not given are generated once and kept in the
data directory, so join links survive a restart.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from recorder.database import is_postgres_url, redacted


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    api_key: str = ""
    token_secret: str = ""
    tls_self_signed: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    ice_servers: tuple[str, ...] = ()
    ice_hosts: tuple[str, ...] = ()  # restrict ICE host candidates to these addresses
    public_ip: str = ""
    # TURN with time-limited credentials minted per join (signaling/server/turn.py).
    turn_urls: tuple[str, ...] = ()
    turn_secret: str = field(default="", repr=False)  # coturn's static-auth-secret
    turn_ttl_s: float = 6 * 3600.0
    turn_server_side: bool = False  # the server's own peer connections relay too
    public_url: str = ""  # base of join links; default: derived from the request
    grace_s: float = 30.0
    idle_end_s: float = 1800.0  # an empty session ends after this (at once past its end)
    calendar: Path | None = None
    redis_url: str = ""  # several nodes: sessions are placed through this Redis
    node_id: str = "local"
    # PostgreSQL for the store and the recordings index ("": SQLite in data_dir).
    database_url: str = ""
    recordings_dir: Path | None = None  # default: data_dir/recordings; shared by nodes
    # Recordings (and exports) older than this many days are deleted; 0 keeps them.
    log_format: str = "auto"  # json | text | auto (json unless stderr is a terminal)
    webhook_url: str = ""  # signed POSTs of session events to the platform
    webhook_secret: str = ""  # HMAC key of the webhooks; default: the API key
    webhook_backoff_s: float = 1.0  # first retry delay, doubling (tests shorten it)
    recordings_retention_days: float = 90.0
    recordings_segment_s: float = 10.0  # per file; the open one is flushed and fsync'd every second
    # How often the open minute's evidence row is rewritten (docs/capacity.md: 5 s cuts a
    # city's PostgreSQL writes ~5×, and a SIGKILL then loses up to 5 s of evidence).
    evidence_every_s: float = 1.0
    demo: bool = False
    # One of several worker processes on this machine (`serve --workers N`,
    # signaling/server/workers.py): the shared port is also bound with SO_REUSEPORT, the
    # worker's own port is where other workers send browsers (its node URL), and a new
    # room goes to the worker running the fewest.
    worker_port: int = 0
    reuse_port: bool = False
    place_least_loaded: bool = False
    web_dir: Path | None = None  # the browser client; default: the checkout's web/
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def secret(self) -> bytes:
        return self.token_secret.encode()

    @property
    def node_url(self) -> str:
        """Where other nodes send browsers and API calls for rooms running here."""
        scheme = "https" if self.tls else "http"
        if self.worker_port:  # a worker: its own port, on the address people reach
            host = urlsplit(self.public_url).hostname if self.public_url else self.host
            return f"{scheme}://{host}:{self.worker_port}"
        return self.public_url or f"{scheme}://{self.host}:{self.port}"

    @property
    def tls(self) -> bool:
        return self.tls_self_signed or self.tls_cert is not None


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 for a LAN)")
    a("--port", type=int, help="port (default 8080)")
    a("--data-dir", help="where SQLite files, uploads and generated secrets live (default ./data)")
    a("--api-key", help="bearer key of the platform REST API (default: generated, kept)")
    a("--token-secret", help="HMAC secret of join tokens (default: generated, kept)")
    a("--tls-self-signed", action="store_true", default=None, help="serve HTTPS, self-signed")
    a("--tls-cert", help="certificate file (PEM) for HTTPS")
    a("--tls-key", help="private key file (PEM) for HTTPS")
    a("--ice-server", action="append", dest="ice_servers", help="stun:/turn: URL; repeatable")
    a("--ice-host", action="append", dest="ice_hosts", help="only offer this host address")
    a("--public-ip", help="address to advertise in ICE candidates (server behind NAT)")
    a("--turn-url", action="append", dest="turn_url", help="turn:/turns: URL of a coturn "
      "(use-auth-secret), no credentials; repeatable (see docs/turn.md)")
    a("--turn-secret", help="coturn's static-auth-secret: each join gets credentials from it")
    a("--turn-ttl", type=float, help="seconds a join's TURN credentials last (default 21600)")
    a("--turn-server-side", action="store_true", default=None, help="the server's peer "
      "connections gather relay candidates from --turn-url too (a server without a public "
      "address; aiortc uses the first turn:/turns:?transport=tcp URL)")
    a("--public-url", help="base URL of join links, e.g. https://tutor.example.org")
    a("--calendar", help="calendar TOML for credits (default: the shipped sample)")
    a("--redis-url", help="redis://… to run several nodes; sessions are placed through it")
    a("--node-id", help="this node's name among several (default: host:port)")
    a("--database-url", help="postgresql://… to keep sessions and the recordings index in "
      "PostgreSQL, shared by several nodes (default: SQLite files in the data directory)")
    a("--recordings-dir", help="where recordings are written and served from (default: "
      "DATA_DIR/recordings); with several nodes, storage every node mounts")
    a("--log-format", choices=("auto", "json", "text"),
      help="one JSON object per line, or text (default auto: JSON unless a terminal)")
    a("--webhook-url", help="POST signed session events here (see docs/webhooks.md)")
    a("--webhook-secret", help="HMAC key of the webhooks (default: the API key)")
    a("--recordings-retention-days", type=float,
      help="delete recordings this many days after they end (default 90; 0 keeps them)")
    a("--evidence-every-seconds", type=float, dest="evidence_every_s",
      help="rewrite the open minute's media evidence this often (default 1: every heartbeat)")
    a("--recordings-segment-seconds", type=float, dest="recordings_segment_s",
      help="length of recording segment files (default 10)")
    a("--web-dir", help="the browser client's folder (default: the checkout's web/)")
    a("--workers", type=int, default=1, help="run this many server processes (one per core), "
      "rooms placed across them through Redis (--redis-url, or a private redis-server "
      "started here); each also listens on PORT+1…PORT+N (see README)")
    # Set by `--workers` for each worker process (signaling/server/workers.py).
    a("--worker-port", type=int, help=argparse.SUPPRESS)
    a("--reuse-port", action="store_true", default=None, help=argparse.SUPPRESS)
    a("--place-least-loaded", action="store_true", default=None, help=argparse.SUPPRESS)


def _env_list(value: str) -> tuple[str, ...]:
    return tuple(v for v in (s.strip() for s in value.replace(",", " ").split()) if v)


def from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Config:
    """Merge flags over ``OPENTUTOR_*`` variables over defaults; fill generated secrets."""
    env = os.environ if env is None else env

    def pick(name: str) -> str | None:
        flag = getattr(args, name, None)
        if flag is not None and flag != []:
            return flag if isinstance(flag, str) else json.dumps(flag)
        return env.get(f"OPENTUTOR_{name.upper()}")

    def flag_list(name: str) -> tuple[str, ...]:
        flag = getattr(args, name, None)
        if flag:
            return tuple(flag)
        return _env_list(env.get(f"OPENTUTOR_{name.upper()}", ""))

    def truthy(name: str) -> bool:
        flag = getattr(args, name, None)
        if flag is not None:
            return bool(flag)
        return env.get(f"OPENTUTOR_{name.upper()}", "").lower() in ("1", "true", "yes", "on")

    data_dir = Path(pick("data_dir") or "data")
    cert, key = pick("tls_cert"), pick("tls_key")
    if (cert is None) != (key is None):
        raise SystemExit("--tls-cert and --tls-key go together")
    calendar = pick("calendar")
    web_dir = pick("web_dir")
    recordings_dir = pick("recordings_dir")
    config = Config(
        host=pick("host") or "127.0.0.1",
        port=int(pick("port") or 8080),
        data_dir=data_dir,
        api_key=pick("api_key") or "",
        token_secret=pick("token_secret") or "",
        tls_self_signed=truthy("tls_self_signed"),
        tls_cert=Path(cert) if cert else None,
        tls_key=Path(key) if key else None,
        ice_servers=flag_list("ice_servers"),
        ice_hosts=flag_list("ice_hosts"),
        public_ip=pick("public_ip") or "",
        turn_urls=flag_list("turn_url"),
        turn_secret=pick("turn_secret") or "",
        turn_ttl_s=float(pick("turn_ttl") or 6 * 3600),
        turn_server_side=truthy("turn_server_side"),
        public_url=(pick("public_url") or "").rstrip("/"),
        calendar=Path(calendar) if calendar else None,
        redis_url=pick("redis_url") or "",
        node_id=pick("node_id") or "",
        database_url=database_url(pick("database_url") or ""),
        recordings_dir=Path(recordings_dir) if recordings_dir else None,
        log_format=pick("log_format") or "auto",
        webhook_url=pick("webhook_url") or "",
        webhook_secret=pick("webhook_secret") or "",
        recordings_retention_days=float(pick("recordings_retention_days") or 90),
        recordings_segment_s=float(pick("recordings_segment_s") or 10),
        evidence_every_s=float(pick("evidence_every_s") or 1),
        web_dir=Path(web_dir) if web_dir else None,
        worker_port=int(pick("worker_port") or 0),
        reuse_port=truthy("reuse_port"),
        place_least_loaded=truthy("place_least_loaded"),
    )
    if config.turn_urls or config.turn_secret:
        from signaling.server.turn import TurnConfig

        try:  # (the messages name flags and URLs, never the secret)
            TurnConfig(config.turn_urls, config.turn_secret, config.turn_ttl_s)
        except ValueError as exc:
            raise SystemExit(f"--turn-url/--turn-secret/--turn-ttl: {exc}") from None
    if not config.node_id:
        config = replace(config, node_id=f"{config.host}:{config.port}")
    return with_secrets(config)


def database_url(url: str) -> str:
    """``url`` if it names PostgreSQL ("" for SQLite); anything else stops the command."""
    if url and not is_postgres_url(url):
        raise SystemExit(f"--database-url: not a postgresql:// URL: {redacted(url)}")
    if url:
        from recorder.postgres import conninfo  # the driver loads only for PostgreSQL

        try:
            conninfo(url, name="check")
        except ValueError as exc:
            raise SystemExit(f"--database-url: {exc}") from None
    return url


def with_secrets(config: Config) -> Config:
    """Fill in a missing API key or token secret from ``data_dir/secrets.json``,
    generating and saving them (mode 0600) the first time."""
    if config.api_key and config.token_secret:
        return config
    path = config.data_dir / "secrets.json"
    kept: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for name in ("api_key", "token_secret"):
        if not kept.get(name):
            kept[name] = secrets.token_urlsafe(32)
            changed = True
    if changed:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(kept))
    return replace(
        config,
        api_key=config.api_key or kept["api_key"],
        token_secret=config.token_secret or kept["token_secret"],
    )


# Participants include minors: their faces, voices and homework photos are in here.
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600


def secure_data_dir(data_dir: Path) -> None:
    """Create the data directory as 0700 and tighten what an older version left in it
    (folders 0700, files 0600). New files are private through the server's umask (077),
    set by ``opentutor serve`` before anything is written."""
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, PRIVATE_DIR)
    for folder, dirs, files in os.walk(data_dir):
        for name in dirs:
            os.chmod(os.path.join(folder, name), PRIVATE_DIR, follow_symlinks=False)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, PRIVATE_FILE)


def parse_serve(argv: Sequence[str]) -> Config:
    parser = argparse.ArgumentParser(prog="opentutor serve")
    add_serve_arguments(parser)
    return from_args(parser.parse_args(list(argv)))
