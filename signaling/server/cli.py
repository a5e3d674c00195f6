"""The ``opentutor`` command: ``serve`` runs the server; ``credits`` computes pay
and study hours from session records; ``recording`` exports and purges recordings;
``supervise`` lists sessions with irregular behaviour and the evidence for each."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import signal
import socket
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from aiohttp import web

from recorder.credits.calendar import SAMPLE_CALENDAR, Calendar, CalendarError, load_calendar
from recorder.credits.policy import Policy, PolicyError, load_policy
from recorder.credits.records import RecordError, parse_timestamp
from recorder.credits.supervision import (
    SessionFacts,
    SupervisionError,
    flags_csv,
    parse_session,
    report_json,
    rules_of,
    supervise,
)
from recorder.database import DatabaseUnavailable, SchemaTooNew
from recorder.presence.journal import Journal
from rtc.clock import SystemClock
from signaling.admin import cli as admin_cli
from signaling.router.base import Router
from signaling.server import config as config_mod
from signaling.server import db_cli, drain, logs, supervision_api, web_assets
from signaling.server.app import create_app
from signaling.server.config import Config
from signaling.server.http_util import SERVICES
from signaling.server.services import Services
from signaling.server.tls import self_signed, server_context
from signaling.session.spec import parse_new_session
from signaling.store.factory import open_store


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


SHUTDOWN_GRACE_S = 5.0


async def serve(config: Config) -> None:
    config_mod.secure_data_dir(config.data_dir)
    app = create_app(config)
    # Stopping (SIGTERM, SIGINT, the end of a drain): every socket.io connection is told
    # to close first (app.py, on_shutdown) and browsers reconnect at once, to another
    # node; a request still open after this many seconds is cut rather than waited for
    # (aiohttp's default, a minute, kept a node with people on it alive ~55 s).
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_S)
    await runner.setup()
    ssl_context = None
    public_host = config.host if config.host not in ("0.0.0.0", "::") else lan_address()
    if config.tls_cert is not None and config.tls_key is not None:
        ssl_context = server_context(config.tls_cert, config.tls_key)
    elif config.tls_self_signed:
        ssl_context = server_context(*self_signed(config.data_dir / "tls", [public_host]))
    site = web.TCPSite(runner, config.host, config.port, ssl_context=ssl_context,
                       reuse_port=config.reuse_port or None)
    await site.start()
    if config.worker_port:  # a worker's own port: where the other workers send browsers
        await web.TCPSite(runner, config.host, config.worker_port, ssl_context=ssl_context).start()
    scheme = "https" if ssl_context else "http"
    base = config.public_url or f"{scheme}://{public_host}:{config.port}"
    print(f"opentutor listening on {scheme}://{config.host}:{config.port}", flush=True)
    print(f"  platform API: {base}/api/v1  (key in {config.data_dir}/secrets.json; "
          f"docs {base}/api/v1/docs)", flush=True)
    print(f"  programme office console 项目管理台: {base}/console  (first account: "
          "opentutor admin create-user --username NAME --level city)", flush=True)
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
    # Everything imported and built so far lives as long as the process: move it out of
    # the collector's reach, so the full collections that free closed peer connections
    # (rtc/peer.py) scan only what sessions allocate, not ~100,000 import-time objects.
    gc.collect()
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app[drain.DRAIN].then(stop.set)  # `opentutor drain`: stop once the last room ended
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
    add_supervise_parser(commands)
    db_cli.add_parser(commands)
    drain.add_parser(commands)
    admin_cli.add_parser(commands)
    return parser


# ---------------------------------------------------------------------------- supervise

SUPERVISE_NODE = "supervise"  # the journal node this command reads as (it writes nothing)


class Refused(ValueError):
    """Input the supervise command refuses (exit 2, the message on stderr)."""


def add_supervise_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser(
        "supervise",
        help="the supervisor report: sessions with irregular behaviour, with the evidence",
        description="List the sessions of a date range with irregular behaviour (监督机制), "
        "each flag with the facts behind it (docs/supervision.md): from the server's data "
        "directory, or from session records (JSON Lines). Exit 0 with the report on "
        "stdout; 2 on bad input, with the message on stderr and nothing on stdout.",
    )
    cmd.add_argument("--from", dest="first", required=True, type=_date_arg, metavar="YYYY-MM-DD",
                     help="first local date (the calendar's zone) of the sessions' start")
    cmd.add_argument("--to", dest="last", required=True, type=_date_arg, metavar="YYYY-MM-DD",
                     help="last local date, inclusive")
    cmd.add_argument("--format", choices=("json", "csv"), default="json",
                     help="json (the default): the report; csv: one row per flag")
    cmd.add_argument("--records", metavar="FILE.jsonl|-",
                     help="session records (JSON Lines, as `opentutor credits statement` reads) "
                     "instead of the server's data directory; - for standard input")
    cmd.add_argument("--evidence", metavar="FILE.jsonl",
                     help="with --records: per-minute evidence, one {\"session_id\", \"rows\"} "
                     "per line (what GET /sessions/{id}/evidence returns)")
    cmd.add_argument("--calendar", metavar="FILE", default=os.environ.get("OPENTUTOR_CALENDAR"),
                     help="calendar TOML (default: OPENTUTOR_CALENDAR or the shipped sample)")
    cmd.add_argument("--policy", action="append", default=[], metavar="FILE",
                     help="a policy TOML that replaces the built-in one of its programme "
                     "(its [supervision] table sets the report's thresholds); repeatable")
    cmd.add_argument("--data-dir", default=os.environ.get("OPENTUTOR_DATA_DIR", "data"),
                     help="the server's data directory (default: OPENTUTOR_DATA_DIR or ./data)")
    cmd.add_argument("--database-url", default=os.environ.get("OPENTUTOR_DATABASE_URL", ""),
                     help="the server's PostgreSQL store, if it has one (default: "
                     "OPENTUTOR_DATABASE_URL)")
    cmd.set_defaults(func=run_supervise)


def _date_arg(text: str) -> date:
    try:
        return supervision_api.parse_date(text, "the date")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def run_supervise(args: argparse.Namespace) -> int:
    try:
        first, last = args.first, args.last
        if last < first:
            raise Refused(f"--to ({last}) is before --from ({first})")
        calendar = load_calendar(args.calendar or SAMPLE_CALENDAR)
        policies = supervision_api.built_in_policies()
        for path in args.policy:
            policy = load_policy(Path(path))
            policies[policy.programme] = policy
        rules = {name: rules_of(policy) for name, policy in policies.items()}
        if args.records is not None:
            facts = _records_in_window(_read(args.records), policies, calendar, first, last)
            evidence = _evidence_file(args.evidence) if args.evidence else {}
        else:
            if args.evidence:
                raise Refused("--evidence goes with --records (the data directory has its own)")
            raw, evidence = asyncio.run(_from_data_dir(
                Path(args.data_dir), calendar, first, last,
                config_mod.database_url(args.database_url)))
            facts = []
            for record in raw:
                try:
                    facts.append(parse_session(record, policies))
                except RecordError as exc:
                    where = f"session {record.get('session_id')}: {exc.field}"
                    raise RecordError(where, exc.problem) from exc
        flags = supervise(facts, evidence, policies=policies, calendar=calendar, rules=rules,
                          window=(first, last))
    except (Refused, RecordError, PolicyError, CalendarError, SupervisionError, OSError,
            UnicodeDecodeError, DatabaseUnavailable) as exc:
        message = str(exc)
        if isinstance(exc, OSError):
            message = f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")
        elif isinstance(exc, UnicodeDecodeError):
            message = f"input is not UTF-8 text: {exc.reason}"
        sys.stderr.write(f"opentutor supervise: error: {message}\n")
        return 2
    if args.format == "csv":
        sys.stdout.write(flags_csv(flags))
    else:
        report = report_json(flags, sessions=len(facts), rules=rules, window=(first, last))
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return 0


def _read(source: str) -> str:
    if source == "-":
        return sys.stdin.buffer.read().decode("utf-8-sig")
    return Path(source).read_text(encoding="utf-8-sig")


def _json_lines(text: str, what: str) -> list[tuple[int, Any]]:
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise RecordError("", f"{what}: not valid JSON: {exc.msg}", line=number) from exc
    return out


def _records_in_window(
    text: str, policies: dict[str, Policy], calendar: Calendar, first: date, last: date
) -> list[SessionFacts]:
    """The records (validated, every line, before anything is computed) whose session
    date is in the window: the local date of ``started_at``, else of the first active
    instant, else of ``scheduled_start``; a record with none of them is kept."""
    kept: list[SessionFacts] = []
    seen: dict[str, int] = {}
    for number, obj in _json_lines(text, "records"):
        try:
            facts = parse_session(obj, policies)
            when = _session_moment(obj, facts)
        except RecordError as exc:
            raise exc.at_line(number) from exc
        if facts.session_id in seen:
            raise RecordError("session_id", f"duplicate {facts.session_id!r} (first on line "
                              f"{seen[facts.session_id]})", line=number)
        seen[facts.session_id] = number
        if when is None or first <= calendar.local_date(when) <= last:
            kept.append(facts)
    return kept


def _session_moment(obj: Any, facts: SessionFacts) -> int | None:
    started = obj.get("started_at")
    if started is not None:
        return parse_timestamp(started, "started_at")
    if facts.start is not None:
        return facts.start
    scheduled = obj.get("scheduled_start")
    return None if scheduled is None else parse_timestamp(scheduled, "scheduled_start")


def _evidence_file(path: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for number, obj in _json_lines(_read(path), "evidence"):
        if not isinstance(obj, dict) or not isinstance(obj.get("session_id"), str) or not (
            isinstance(obj.get("rows"), list)
        ):
            raise RecordError("", 'evidence: each line is {"session_id": …, "rows": […]}',
                              line=number)
        out.setdefault(obj["session_id"], []).extend(obj["rows"])
    return out


async def _from_data_dir(
    data_dir: Path, calendar: Calendar, first: date, last: date, database_url: str = ""
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, object]]]]:
    """Records and evidence rows of the window from the server's data directory (SQLite
    in WAL mode, so alongside a running server). The journal is opened read-only as a
    node of its own (:data:`SUPERVISE_NODE`): it reads every node's rows, cuts intervals
    still open at their node's last heartbeat, and writes nothing."""
    if not database_url and not (data_dir / "opentutor.sqlite").is_file():
        raise Refused(f"no opentutor data in {data_dir} (opentutor.sqlite is missing): "
                      "pass --data-dir, or --records")
    clock = SystemClock()
    store = open_store(database_url, data_dir)
    journal = Journal(data_dir / "journal.sqlite", clock=clock, node_id=SUPERVISE_NODE)
    await store.open()
    try:
        await journal.open(read_only=True)  # beside a live server: read, never write
        try:
            # session_record reads the store, the journal and the clock; recordings are
            # left out (replay does not enter the report), and nothing is routed.
            svc = Services(config=Config(data_dir=data_dir), clock=clock, store=store,
                           journal=journal, router=cast(Router, None))
            return await supervision_api.gather(svc, calendar, first, last)
        finally:
            await journal.close()
    finally:
        await store.close()


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
        if args.workers != 1:
            from signaling.server import workers

            return workers.supervise(config, args.workers, argv if argv is not None
                                     else sys.argv[1:])
        if not args.no_demo:
            config = Config(**{**config.__dict__, "demo": True})
        try:
            asyncio.run(serve(config))
        except (DatabaseUnavailable, SchemaTooNew) as exc:  # at start: say why, no traceback
            print(f"opentutor serve: {exc}", file=sys.stderr)
            return 1
        return 0
    handler = getattr(args, "func", None)
    if handler is None:
        build_parser().print_help()
        return 2
    result: int = handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
