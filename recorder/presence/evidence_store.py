"""The ``evidence`` table of the presence journal: one row per session, node, person
and minute (:class:`~recorder.presence.evidence.MinuteRow`).

Unlike events and transitions, a row is *upserted*: the open minute is rewritten every
heartbeat (or every ``--evidence-every-seconds``) so that it is durable within
seconds, and a minute's row is final once the minute is over (written with the next
heartbeat; the meter forgets it two minutes later and never writes it again). A
SIGKILL loses at most those seconds. Rows are never deleted: they are kept as long as
the session record.

Size: 14 numbers and 240 bytes of per-second arrays (audio level, frames, forwarded
packets as 60 × uint16), about 0.3 KB a row with its key, so ~18 KB per person-hour.
"""

from __future__ import annotations

from recorder.presence.evidence import MinuteRow

SCHEMA = """
CREATE TABLE IF NOT EXISTS evidence (
    session_id        TEXT    NOT NULL,
    node_id           TEXT    NOT NULL,
    person            TEXT    NOT NULL,
    minute            INTEGER NOT NULL,  -- first epoch second of the minute (UTC)
    audio_packets     INTEGER NOT NULL,
    audio_bytes       INTEGER NOT NULL,  -- RTP payload bytes
    video_packets     INTEGER NOT NULL,
    video_bytes       INTEGER NOT NULL,
    video_frames      INTEGER NOT NULL,
    video_keyframes   INTEGER NOT NULL,
    forwarded_packets INTEGER NOT NULL,  -- sent to this person
    forwarded_bytes   INTEGER NOT NULL,
    rr_loss_max       REAL    NOT NULL,  -- worst fraction lost their receiver reports stated
    rr_jitter_max_ms  REAL    NOT NULL,
    levels            BLOB    NOT NULL,  -- 60 bytes: loudest -dBov a second; 128 ?, 255 none
    frames            BLOB    NOT NULL,  -- 60 bytes: video frames started per second (≤ 255)
    forwarded         BLOB    NOT NULL,  -- 60 × uint16 LE: packets forwarded per second
    confirmed         INTEGER NOT NULL,  -- bit i: a receiver report confirmed second i
    PRIMARY KEY (session_id, person, minute, node_id)
) WITHOUT ROWID;
"""

COLUMNS = (
    "audio_packets", "audio_bytes", "video_packets", "video_bytes", "video_frames",
    "video_keyframes", "forwarded_packets", "forwarded_bytes", "rr_loss_max",
    "rr_jitter_max_ms", "levels", "frames", "forwarded", "confirmed",
)  # fmt: skip

SELECT = (
    f"SELECT node_id, person, minute, {', '.join(COLUMNS)} FROM evidence "
    "WHERE session_id = ? ORDER BY minute, person"
)
UPSERT = (
    f"INSERT INTO evidence (session_id, node_id, person, minute, {', '.join(COLUMNS)}) "
    f"VALUES ({', '.join('?' * (4 + len(COLUMNS)))}) "
    "ON CONFLICT (session_id, person, minute, node_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS)
)

Key = tuple[str, str, str, int]  # session, node, person, minute
Row = tuple[object, ...]  # the COLUMNS' values


def to_row(session_id: str, node_id: str, row: MinuteRow) -> tuple[Key, Row]:
    """A snapshot of ``row`` to commit later (the meter goes on changing the row)."""
    return (session_id, node_id, row.person, row.minute), row.to_sql()


__all__ = ["COLUMNS", "SCHEMA", "SELECT", "UPSERT", "Key", "Row", "to_row"]
