"""Recording through the frame tap: real aiortc peers publish through a MediaRoom, the
recorder remuxes what it forwards, and PyAV reads the files back.

The session itself runs no codec on the server: the writer thread is profiled and
must only mux (no ``decode``/``encode``/codec ``open``), and aiortc's own encoders
and decoders are spied on as in ``tests/rtc/test_media.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import av
import pytest

from recorder.media import segments as seg
from recorder.media.recording import FULL_FILE, Recorder, recover
from recorder.media.recording_index import RecordingIndex, open_index
from rtc.clock import SystemClock
from rtc.room import MediaRoom
from tests.rtc.clients import LOOPBACK, Client, Events, until
from tests.rtc.test_media import CodecSpy
from tests.rtc.test_media import spy as spy  # the fixture

pytestmark = pytest.mark.timeout(60)

AV = frozenset({"audio", "video"})


@pytest.fixture
async def room() -> AsyncIterator[MediaRoom]:
    media = MediaRoom(Events(), clock=SystemClock(), host_addresses=LOOPBACK)
    yield media
    await media.close()


@pytest.fixture
async def index(database_url: str, tmp_path: Path) -> AsyncIterator[RecordingIndex]:
    """The index on both back ends: SQLite, and PostgreSQL (``--database-url``)."""
    idx = open_index(database_url, tmp_path / "recordings.sqlite")
    await idx.open()
    yield idx
    await idx.close()


class CodecCalls:
    """C calls made on the recorder's threads (writer, index) started while installed."""

    WATCH = ("decode", "encode", "open", "create")

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.muxed = 0

    def __call__(self, frame: Any, event: str, arg: Any) -> None:
        if event != "c_call" or not threading.current_thread().name.startswith("rec"):
            return  # aiortc's client peers encode and decode on their own threads
        name = getattr(arg, "__qualname__", "") or getattr(arg, "__name__", "")
        if name.endswith(".mux") or name == "mux":
            self.muxed += 1
        elif name.rsplit(".", 1)[-1] in self.WATCH and "CodecContext" in name:
            self.seen.append(name)


@pytest.fixture
def profiled() -> Iterator[CodecCalls]:
    calls = CodecCalls()
    threading.setprofile(calls)
    yield calls
    threading.setprofile(None)  # type: ignore[arg-type]


async def record(
    room: MediaRoom, index: RecordingIndex, folder: Path, seconds: float, **kw: Any
) -> tuple[Recorder, list[str]]:
    errors: list[str] = []
    recorder = Recorder(
        index, folder, "r_test", "s_test", clock=SystemClock(),
        request_keyframe=room.request_keyframe, on_error=lambda c, m: errors.append(c), **kw,
    )
    await recorder.start()
    room.add_tap(recorder)
    await asyncio.sleep(seconds)
    room.remove_tap(recorder)
    await recorder.stop()
    return recorder, errors


def probe(path: Path) -> list[tuple[str, str, float, float]]:
    """(kind, codec, first, last) of every stream, from the packets, without decoding."""
    times: dict[int, list[float]] = {}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.pts is not None:
                at = float(packet.pts * (packet.time_base or 0))
                times.setdefault(packet.stream.index, []).append(at)
        return [(s.type, s.codec_context.name, min(times[s.index]), max(times[s.index]))
                for s in container.streams]


async def test_tracks_are_remuxed_as_sent_on_one_clock(
    room: MediaRoom, index: RecordingIndex, tmp_path: Path,
    spy: CodecSpy, profiled: CodecCalls,
) -> None:
    room.set_publish("A", AV)
    publisher = Client("A", room, audio=True, video=True)
    try:
        await publisher.negotiate()
        await until(lambda: room.snapshot().people["A"].published == AV, 10, "publishing")
        started = time.monotonic()
        recorder, errors = await record(room, index, tmp_path / "r", 6.0, segment_s=2.0)
        session_s = time.monotonic() - started
    finally:
        await publisher.close()
    threading.setprofile(None)  # type: ignore[arg-type]
    await recorder.wait_finished()

    # Nothing but muxing ran on the writer thread; no server codec in aiortc either.
    assert profiled.muxed > 100, "the profiler saw the writer mux"
    assert profiled.seen == []
    assert not [d for d in spy.decoders if d[0]], "no decoder on the server"
    assert errors == []

    rec = await index.aget("r_test")
    assert rec is not None and rec.complete
    assert {(t.person, t.kind, t.codec) for t in rec.tracks} == {
        ("A", "video", "VP8"), ("A", "audio", "opus")}
    assert abs(rec.duration_s - session_s) < 1.0
    for track in rec.tracks:
        parts = rec.segments_of(track.track)
        assert len(parts) >= 2, f"{track.track}: segmented every ~2 s"
        assert abs(parts[-1].end_s - parts[0].start_s - rec.duration_s) < 1.0
        for part in parts:
            frames = list(seg.read_frames(recorder.folder / part.file))
            assert frames and abs(frames[0].t - part.start_s) < 0.01
            if track.kind == "video":
                assert frames[0].keyframe, "every video segment starts at a keyframe"
    # The joined file: both codecs as sent, one clock, durations within 1 s.
    streams = probe(recorder.folder / FULL_FILE)
    assert sorted((k, c) for k, c, _, _ in streams) == [("audio", "opus"), ("video", "vp8")]
    for _, _, first, last in streams:
        assert first < 1.0 and abs(last - first - session_s) < 1.0
    # It plays: every frame decodes (this test decodes; the server did not).
    with av.open(str(recorder.folder / FULL_FILE)) as container:
        pictures = sum(1 for _ in container.decode(video=0))
    assert pictures > 100


async def test_killed_writer_is_recovered_as_incomplete(
    room: MediaRoom, index: RecordingIndex, tmp_path: Path
) -> None:
    """A recorder abandoned mid-segment (its process gone) is finished on the next
    start: complete segments kept, the open one salvaged, the rest written down."""
    room.set_publish("A", AV)
    publisher = Client("A", room, audio=True, video=True)
    folder = tmp_path / "rec" / "r_test"
    try:
        await publisher.negotiate()
        await until(lambda: room.snapshot().people["A"].published == AV, 10, "publishing")
        recorder = Recorder(index, folder, "r_test", "s_test", clock=SystemClock(),
                            request_keyframe=room.request_keyframe,
                            on_error=lambda c, m: None, segment_s=2.0)
        await recorder.start()
        room.add_tap(recorder)
        await until(lambda: len(list(folder.glob("*.webm"))) >= 2, 15, "two durable segments")
        await asyncio.sleep(1.0)
        # "Kill": the tap goes, the writer stops without closing anything.
        room.remove_tap(recorder)
        recorder._stopping = True
        freeze = threading.Event()
        recorder._queue.put(_Freeze(freeze))
        await asyncio.sleep(0.3)
    finally:
        await publisher.close()
    assert list(folder.glob("*.part")), "segments were open when it died"
    done = await asyncio.to_thread(recover, index, tmp_path / "rec")
    freeze.set()
    assert done == ["r_test"]
    rec = await index.aget("r_test")
    assert rec is not None and rec.state == "incomplete" and not rec.complete
    assert not list(folder.glob("*.part"))
    assert rec.gaps and all(g.reason == "server_stopped" for g in rec.gaps)
    for gap in rec.gaps:
        assert gap.end_s == pytest.approx(rec.duration_s) and gap.end_s - gap.start_s < 3.5
    with av.open(str(folder / FULL_FILE)) as container:
        assert sum(1 for _ in container.decode(video=0)) > 30


class _Killed(Exception):
    pass


class _Freeze:
    """Queued into a writer thread: it blocks there, as a killed process would stop."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event


@pytest.fixture(autouse=True)
def _freezable(monkeypatch: pytest.MonkeyPatch) -> None:
    original: Callable[..., Any] = Recorder._run

    def run(self: Recorder) -> None:
        get = self._queue.get

        def patched_get(*args: Any, **kwargs: Any) -> Any:
            item = get(*args, **kwargs)
            if isinstance(item, _Freeze):
                item.event.wait(30)
                raise _Killed  # the thread ends without closing its files
            return item

        self._queue.get = patched_get  # type: ignore[method-assign]
        with contextlib.suppress(_Killed):
            original(self)

    monkeypatch.setattr(Recorder, "_run", run)
