"""The ``credits`` command group: ``session``, ``statement``, ``timeline``.

    opentutor credits session   --policy training --calendar cal.toml [FILE|-]
    opentutor credits statement --policy training --calendar cal.toml [FILE|-]
    opentutor credits timeline  FILE --calendar cal.toml [--policy training] --out t.svg

``signaling/server/cli.py`` (the ``opentutor`` console script) registers the group with
:func:`add_parser` and dispatches with ``args.func(args)``, which returns the exit
code (input errors already turned into 2 and a message on stderr). The same commands
run standalone as ``python -m recorder.credits.credits_cli ...``.

Exit 0 on success; 2 on invalid input (record, policy, calendar, unreadable file), with
the message on stderr and nothing on stdout, so a bad batch never yields half a statement.

``timeline`` needs the calendar too (open hours depend on holidays and terms);
``--policy`` defaults to the record's own programme there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from recorder.credits.calendar import SAMPLE_CALENDAR, Calendar, CalendarError, load_calendar
from recorder.credits.policy import BUILT_IN, Policy, PolicyError, load_policy
from recorder.credits.records import RecordError
from recorder.credits.rules import compute_session
from recorder.credits.statement import StatementBuilder, validate_batch
from recorder.credits.timeline import render_timeline

_INPUT_ERRORS = (RecordError, PolicyError, CalendarError, OSError, UnicodeDecodeError)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``credits session|statement|timeline`` on a top-level parser's subparsers."""
    credits = subparsers.add_parser(
        "credits",
        help="study hours, points and pay from session records",
        description="Compute study hours (学时/学分), points (积分) and pay from session records.",
    )
    sub = credits.add_subparsers(dest="credits_command", required=True, metavar="COMMAND")
    for name, func, what in (
        ("session", _run_session, "one session record (JSON) → its figures (JSON)"),
        ("statement", _run_statement, "session records (JSON Lines) → per-person totals (JSON)"),
    ):
        cmd = sub.add_parser(name, help=what, description=what)
        _policy_arg(cmd, required=True)
        _calendar_arg(cmd)
        cmd.add_argument("file", nargs="?", default="-", metavar="FILE|-",
                         help="input file, or - (the default) for standard input")
        cmd.set_defaults(func=run, credits_handler=func)
    timeline = sub.add_parser(
        "timeline", help="draw one session as SVG",
        description="Draw a session's active intervals, open hours and counted time as SVG.",
    )
    timeline.add_argument("file", metavar="FILE|-", help="one session record (JSON), or -")
    timeline.add_argument("--out", default="-", metavar="FILE.svg",
                          help="where to write the SVG (default: standard output)")
    _policy_arg(timeline, required=False)
    _calendar_arg(timeline)
    timeline.set_defaults(func=run, credits_handler=_run_timeline)


def _policy_arg(cmd: argparse.ArgumentParser, *, required: bool) -> None:
    cmd.add_argument(
        "--policy", required=required, metavar="NAME|FILE",
        help=f"built-in policy ({', '.join(BUILT_IN)}) or a policy TOML file"
        + ("" if required else "; default: the record's programme"),
    )


def _calendar_arg(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--calendar", required=True, metavar="FILE",
        help=f"calendar TOML file (a sample: {SAMPLE_CALENDAR})",
    )


def _read(source: str) -> str:
    if source == "-":
        return sys.stdin.buffer.read().decode("utf-8-sig")
    return Path(source).read_text(encoding="utf-8-sig")


def _one_record(text: str) -> object:
    """Decode exactly one JSON record (pretty-printed or a single line)."""
    if not text.strip():
        raise RecordError("", "no session record in the input")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if exc.msg == "Extra data" and len(lines) > 1:
            raise RecordError(
                "", "expected one session record; use 'credits statement' for JSON Lines"
            ) from exc
        raise RecordError("", f"not valid JSON: {exc.msg} (line {exc.lineno})") from exc


def _many_records(text: str) -> list[tuple[int, object]]:
    """JSON Lines, numbered by line. One pretty-printed object or a JSON array also works."""
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict):
        return [(1, whole)]
    if isinstance(whole, list):
        return list(enumerate(whole, start=1))
    numbered: list[tuple[int, object]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            numbered.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise RecordError("", f"not valid JSON: {exc.msg}", line=number) from exc
    return numbered


def _load(args: argparse.Namespace, policy_name: str | None) -> tuple[Policy, Calendar]:
    policy = load_policy(policy_name if policy_name is not None else args.policy)
    return policy, load_calendar(args.calendar)


def _print_json(result: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


def _run_session(args: argparse.Namespace) -> int:
    policy, calendar = _load(args, None)
    _print_json(compute_session(_one_record(_read(args.file)), policy, calendar))
    return 0


def _run_statement(args: argparse.Namespace) -> int:
    policy, calendar = _load(args, None)
    ordered = validate_batch(_many_records(_read(args.file)), policy)  # all, before computing
    builder = StatementBuilder(policy, calendar)
    for record in ordered:
        builder.add(record)
    _print_json(builder.result())
    return 0


def _run_timeline(args: argparse.Namespace) -> int:
    record = _one_record(_read(args.file))
    name = args.policy
    if name is None:
        programme = record.get("programme") if isinstance(record, dict) else None
        if programme not in BUILT_IN:
            raise RecordError("programme", 'must be "training" or "tutoring" (or pass --policy)')
        name = programme
    policy, calendar = _load(args, name)
    svg = render_timeline(record, policy, calendar)
    if args.out == "-":
        sys.stdout.write(svg)
    else:
        Path(args.out).write_text(svg, encoding="utf-8")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``credits`` command; input errors become exit code 2."""
    try:
        code: int = args.credits_handler(args)
        return code
    except _INPUT_ERRORS as exc:
        message = str(exc)
        if isinstance(exc, OSError):
            message = f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")
        elif isinstance(exc, UnicodeDecodeError):
            message = f"input is not UTF-8 text: {exc.reason}"
        sys.stderr.write(f"opentutor credits: error: {message}\n")
        return 2


def main(argv: list[str] | None = None) -> int:
    """``python -m recorder.credits.credits_cli [credits] session|statement|timeline ...``."""
    parser = argparse.ArgumentParser(
        prog="python -m recorder.credits.credits_cli",
        description="Credits commands (also available as `opentutor credits`).",
    )
    add_parser(parser.add_subparsers(dest="command", required=True, metavar="credits"))
    words = list(sys.argv[1:] if argv is None else argv)
    if not words or words[0] != "credits":
        words = ["credits", *words]
    args = parser.parse_args(words)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
