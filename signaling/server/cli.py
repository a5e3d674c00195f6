"""The ``opentutor`` command: ``serve`` runs the server; ``credits`` computes pay
and study hours from session records; ``recording`` exports and purges recordings."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
from datetime import UTC, datetime, timedelta

from aiohttp import web

from signaling.server import config as config_mod
from signaling.server import logs, web_assets
from signaling.server.app import create_app
from signaling.server.config import Config
from signaling.server.http_util import SERVICES
from signaling.server.tls import self_signed, server_context
from signaling.session.spec import parse_new_session


def lan_address() -> str:
    """This machine's address on the LAN, found from the routing table (no packet is sent)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # UDP connect only picks a route
        address: str = s.getsockname()[0]
        return address
    return "127.0.0.1"


def demo_body(now: datetime) -> dict[str, object]:
    return {
        "programme": "tutoring",
        "form": "one_to_one",
        "title": "函数图像答疑 (demo)",
        "scheduled_start": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scheduled_end": (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "people": [
            {
                "id": "t1",
                "name": "王老师",
                "role": "instructor",
                "school": "S1",
                "district": "通州",
            },
            {"id": "s1", "name": "李同学", "role": "learner", "school": "S7", "district": "密云"},
        ],
    }


async def serve(config: Config) -> None:
    config_mod.secure_data_dir(config.data_dir)
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    ssl_context = None
    public_host = config.host if config.host not in ("0.0.0.0", "::") else lan_address()
    if config.tls_cert is not None and config.tls_key is not None:
        ssl_context = server_context(config.tls_cert, config.tls_key)
    elif config.tls_self_signed:
        ssl_context = server_context(*self_signed(config.data_dir / "tls", [public_host]))
    site = web.TCPSite(runner, config.host, config.port, ssl_context=ssl_context)
    await site.start()
    scheme = "https" if ssl_context else "http"
    base = config.public_url or f"{scheme}://{public_host}:{config.port}"
    print(f"opentutor listening on {scheme}://{config.host}:{config.port}", flush=True)
    print(f"  platform API: {base}/api/v1  (key in {config.data_dir}/secrets.json)", flush=True)
    if config.demo:
        svc = app[SERVICES]
        spec = parse_new_session(demo_body(datetime.now(UTC)))
        created = await svc.create_session(spec, base)
        links: dict[str, str] = created["join_urls"]  # type: ignore[assignment]
        print("Demo one-to-one session / 演示一对一辅导:", flush=True)
        print(f"  teacher (laptop) 教师: {links['t1']}", flush=True)
        print(f"  student (phone)  学生: {links['s1']}", flush=True)
        if scheme == "http" and public_host not in ("127.0.0.1", "localhost"):
            print("  note: phones need HTTPS for the camera; add --tls-self-signed", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="opentutor", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run the session server")
    config_mod.add_serve_arguments(serve_parser)
    serve_parser.add_argument("--no-demo", action="store_true", help="do not create a demo session")
    with contextlib.suppress(ImportError):  # the credits engine is optional at import time
        from recorder.credits.credits_cli import add_parser

        add_parser(commands)
    from signaling.server import recording_cli

    recording_cli.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        # Everything the server writes (SQLite, uploads, recordings, secrets) is private.
        os.umask(0o077)
        config = config_mod.from_args(args)
        logs.configure(config.log_format, config.node_id)
        if (refused := web_assets.refusal(web_assets.locate(config.web_dir))) is not None:
            print(refused, file=sys.stderr)
            return 2
        if not args.no_demo:
            config = Config(**{**config.__dict__, "demo": True})
        asyncio.run(serve(config))
        return 0
    handler = getattr(args, "func", None)
    if handler is None:
        build_parser().print_help()
        return 2
    result: int = handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
