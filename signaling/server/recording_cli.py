"""``opentutor recording export|purge``: the single-file MP4 of a session, and the
retention purge that says what it deleted.

Both work on the data directory directly (SQLite in WAL mode, so alongside a running
server), or on the server's PostgreSQL and recordings root (``--database-url``,
``--recordings-dir``): ``export`` reads the session and its whiteboard log from the store and the
recordings from their index; ``purge`` deletes recordings (and exports) older than
the retention period.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from recorder.database import DatabaseUnavailable
from recorder.media.recording import purge
from recorder.media.recording_index import open_index
from signaling.server.config import database_url
from signaling.server.recordings import presenter
from signaling.session.timefmt import iso_at, parse
from signaling.store.factory import open_store

if TYPE_CHECKING:  # numpy and the compositor load only when an export runs
    from recorder.media.export import BoardEvent, Part


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    recording = subparsers.add_parser(
        "recording", help="export or purge session recordings",
        description="Export a session's recordings as one MP4, or purge old recordings.",
    )
    sub = recording.add_subparsers(dest="recording_command", required=True, metavar="COMMAND")
    export = sub.add_parser(
        "export", help="one H.264/AAC MP4: whiteboard, the presenter's camera, all voices",
        description="Compose the whiteboard with the presenter's camera inset and every "
        "microphone into one MP4 (640x480, 15 fps), with a progress bar.",
    )
    export.add_argument("session_id", metavar="SESSION_ID")
    export.add_argument("--out", required=True, metavar="FILE.mp4")
    export.add_argument("--recording", metavar="RECORDING_ID",
                        help="only this recording (default: all of the session, in order)")
    export.add_argument("--progress", choices=("bar", "json", "none"), default="bar",
                        help="bar on stderr (default), JSON lines on stdout, or nothing")
    _data_dir_arg(export)
    export.set_defaults(func=run_export)
    purge_cmd = sub.add_parser(
        "purge", help="delete recordings past the retention period, listing each",
        description="Delete recordings (and MP4 exports) that ended more than the retention "
        "period ago; print what was deleted.",
    )
    purge_cmd.add_argument("--retention-days", type=float,
                           help="default: OPENTUTOR_RECORDINGS_RETENTION_DAYS or 90")
    purge_cmd.add_argument("--dry-run", action="store_true", help="list, delete nothing")
    _data_dir_arg(purge_cmd)
    purge_cmd.set_defaults(func=run_purge)


def _data_dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=os.environ.get("OPENTUTOR_DATA_DIR", "data"),
                        help="the server's data directory (default: OPENTUTOR_DATA_DIR or ./data)")
    parser.add_argument("--database-url", default=os.environ.get("OPENTUTOR_DATABASE_URL", ""),
                        help="the server's PostgreSQL, if it has one (default: "
                        "OPENTUTOR_DATABASE_URL)")
    parser.add_argument("--recordings-dir", default=os.environ.get("OPENTUTOR_RECORDINGS_DIR"),
                        help="the recordings' folder (default: OPENTUTOR_RECORDINGS_DIR or "
                        "DATA_DIR/recordings)")


def _places(args: argparse.Namespace) -> tuple[Path, str, Path]:
    """The data directory, the database URL ("": SQLite) and the recordings root."""
    data_dir = Path(args.data_dir)
    root = Path(args.recordings_dir) if args.recordings_dir else data_dir / "recordings"
    return data_dir, database_url(args.database_url), root


# ------------------------------------------------------------------------------ export


class ProgressBar:
    """``[#########...........]  45%  0:13 / 0:30`` on one terminal line."""

    def __init__(self, out: TextIO, width: int = 30) -> None:
        self._out = out
        self._width = width
        self._shown = -1

    def __call__(self, done: float, total: float) -> None:
        fraction = min(1.0, done / total) if total > 0 else 1.0
        percent = int(fraction * 100)
        if percent == self._shown:
            return
        self._shown = percent
        filled = int(fraction * self._width)
        bar = "#" * filled + "." * (self._width - filled)
        self._out.write(f"\r[{bar}] {percent:3d}%  {_clock(done)} / {_clock(total)}")
        self._out.flush()

    def close(self) -> None:
        self._out.write("\n")
        self._out.flush()


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _json_progress(out: TextIO) -> Callable[[float, float], None]:
    last = [-1.0]

    def report(done: float, total: float) -> None:
        if done - last[0] >= 1.0 or done >= total:
            last[0] = done
            out.write(json.dumps({"done": round(done, 3), "total": round(total, 3)}) + "\n")
            out.flush()

    return report


async def gather(data_dir: Path, session_id: str, recording_id: str | None = None, *,
                 url: str = "", root: Path | None = None,
                 ) -> tuple[list[Part], list[BoardEvent]]:
    """What :func:`recorder.media.export.compose` needs, read from the store and the index."""
    from recorder.media.export import BoardEvent, Part
    store = open_store(url, data_dir)
    index = open_index(url, data_dir / "recordings.sqlite")
    await store.open()
    await index.open()
    try:
        session = await store.session(session_id)
        if session is None:
            raise LookupError(f"no session {session_id} in {data_dir}")
        recordings = [r for r in await index.arecordings(session_id=session_id)
                      if r.state != "recording" and r.duration_s > 0
                      and (recording_id is None or r.id == recording_id)]
        if not recordings:
            raise LookupError(f"session {session_id} has no finished recording")
        root = root or data_dir / "recordings"
        parts = [Part(r, root / r.id, presenter(r, session.spec)) for r in recordings]
        board = [BoardEvent(parse(op.ts).timestamp(), op.op)
                 for op in await store.board_log(session_id)]
        return parts, board
    finally:
        await index.close()
        await store.close()


def run_export(args: argparse.Namespace) -> int:
    from recorder.media.export import compose

    data_dir, url, root = _places(args)
    try:
        parts, board = asyncio.run(gather(data_dir, args.session_id, args.recording,
                                          url=url, root=root))
    except (LookupError, DatabaseUnavailable) as exc:
        print(f"opentutor recording export: {exc}", file=sys.stderr)
        return 1
    uploads = data_dir / "uploads"

    def picture(upload_id: str) -> Path | None:
        path = uploads / upload_id
        return path if path.is_file() else None

    bar = ProgressBar(sys.stderr) if args.progress == "bar" else None
    progress = bar if bar is not None else (
        _json_progress(sys.stdout) if args.progress == "json" else (lambda d, t: None))
    started = time.monotonic()
    out = Path(args.out)
    try:
        duration = compose(parts, board, out, picture=picture, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    if args.progress != "json":
        print(f"wrote {out} ({duration:.1f} s of video, {out.stat().st_size / 1e6:.1f} MB) "
              f"in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


# ------------------------------------------------------------------------------- purge


def run_purge(args: argparse.Namespace) -> int:
    data_dir, url, root = _places(args)
    days = args.retention_days
    if days is None:
        days = float(os.environ.get("OPENTUTOR_RECORDINGS_RETENTION_DAYS") or 90)
    if days <= 0:
        print("retention is 0 days (keep forever): nothing to purge")
        return 0
    cutoff = time.time() - days * 86400
    index = open_index(url, data_dir / "recordings.sqlite")
    try:
        index.open_sync()
        try:
            gone = purge(index, root, older_than=cutoff, dry_run=args.dry_run)
        finally:
            index.close_sync()
    except DatabaseUnavailable as exc:
        print(f"opentutor recording purge: {exc}", file=sys.stderr)
        return 1
    verb = "would delete" if args.dry_run else "deleted"
    total = 0
    for rec in gone:
        total += rec.bytes
        ended = iso_at(rec.stopped_at or rec.heartbeat_at)
        print(f"{verb} recording {rec.id}  session {rec.session_id}  ended {ended}  "
              f"{rec.duration_s / 60:.1f} min  {rec.bytes / 1e6:.1f} MB  ({rec.state})")
    exports = data_dir / "exports"
    for path in sorted(exports.glob("x_*.mp4")) if exports.exists() else []:
        info = path.stat()
        if info.st_mtime < cutoff:
            total += info.st_size
            if not args.dry_run:
                path.unlink(missing_ok=True)
            print(f"{verb} export {path.name}  {info.st_size / 1e6:.1f} MB")
    print(f"{verb} {len(gone)} recording(s), {total / 1e6:.1f} MB, older than {days:g} days")
    return 0
