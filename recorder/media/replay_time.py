"""Replay viewing time from what the server delivered, not from what a browser claims.

Pure. The replay page fetches a recording one ~10-second segment at a time, just
before it plays it (``web/src/replay-player.js``), and the server writes down each
segment it serves to a viewer: when, and how many seconds of media it holds. A
delivered segment vouches for at most its own length of watching, starting when it
was served; a viewer's replay time is the union of those spans:

- playing through at 1× (or 1.5×, 2×), each fetch overlaps the previous span, so
  the union is the wall time spent playing, plus at most one segment at the end;
- fetching everything at once (a download, a scraper) yields one segment's worth,
  however much was fetched;
- a pause stops the fetches, so at most one segment of a pause is counted.

The result is the session record's ``replay`` field (person → ISO intervals),
which the credits engine counts for lectures (watching live or the recording both
count, "观看直播或录像均可").
"""

from __future__ import annotations

from collections.abc import Iterable

from recorder.credits.intervals import normalize

MS = 1000


def viewing_intervals(
    deliveries: Iterable[tuple[float, float]], *, now: float | None = None
) -> list[tuple[float, float]]:
    """``(served_at, media_seconds)`` pairs (epoch seconds) → merged ``(start, end)``
    viewing spans in epoch seconds, at millisecond precision, none beyond ``now``."""
    spans = []
    for served_at, media_s in deliveries:
        start = round(served_at * MS)
        end = round((served_at + max(0.0, media_s)) * MS)
        if now is not None:
            end = min(end, round(now * MS))
        if end > start:
            spans.append((start, end))
    return [(s / MS, e / MS) for s, e in normalize(spans)]
