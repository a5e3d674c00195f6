"""Issue 16: a teacher's term statement as CSV and XLSX, the term's 研修电子证书 as PDF, and
its verification, on the real app and SQLite.

The server runs on a FakeClock on a Wednesday evening of the sample calendar's
2026-autumn term (open hours 18:00-22:00 Beijing), and the journal is told what the
media layer would have told it for 50 minutes of a one-to-one (both present, both
voiced, the teacher's camera live): the teacher earns study minutes and points that the
exports must show exactly as the JSON statement gives them.
"""

from __future__ import annotations

import asyncio
import copy
import csv
import io
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from recorder.certificates import pdf as certificate_pdf
from recorder.certificates.codes import make_code, normalise
from recorder.certificates.figures import Holder
from recorder.certificates.sheets import HEADERS, TOTAL
from recorder.presence.evidence import Second
from rtc.clock import FakeClock
from signaling.admin.scope import Scope
from signaling.server.app import create_app
from signaling.server.config import Config
from signaling.server.http_util import SERVICES
from signaling.server.people_api import statement_for, visible
from tests.conftest import free_port
from tests.support import API_KEY, ONE_TO_ONE, SECRET, ServerHandle

T0 = datetime(2026, 11, 4, 10, 0, tzinfo=UTC)  # Wednesday 18:00 in Beijing, 2026-autumn
TERM = "2026-autumn"
MINUTES = 50
SILENT = 3
SHOTS = Path("/tmp/shots")
TEACHER = {"id": "t1", "name": "王老师", "role": "instructor", "school": "通州区第一中学",
           "district": "通州", "school_id": "S-TZ-1", "district_code": "110112"}
LEARNER = {"id": "s1", "name": "李老师", "role": "learner", "school": "密云区第二中学",
           "district": "密云", "school_id": "S-MY-2", "district_code": "110118"}
# 200 visible characters, more than 20 different: feedback that counts (rating points).
LESSON = "这次研修让我弄懂了二次函数图像的平移规律和配方法，老师讲得很清楚，我还要多练习。"
FEEDBACK = {"rating": 4, "satisfaction": "satisfied", "text": (LESSON * 6)[:200]}
# One second of a person talking with their camera on, as the media layer counts it.
TALKING = Second(audio_packets=50, audio_bytes=4000, audio_level=20, video_packets=90,
                 video_bytes=60000, video_frames=25, forwarded_packets=140,
                 forwarded_bytes=64000, confirmed=True)


@dataclass
class Clocked:
    server: ServerHandle
    clock: FakeClock

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await asyncio.sleep(0)


@pytest.fixture
async def clocked(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Clocked]:
    """The real app on a FakeClock; with the ``database_url`` fixture (both back ends)
    when the test asks for it, else SQLite."""
    url = request.getfixturevalue("database_url") if "database_url" in request.fixturenames \
        else ""
    clock = FakeClock(start=T0.timestamp())
    port = free_port()
    config = Config(port=port, data_dir=tmp_path / "data", api_key=API_KEY,
                    token_secret=SECRET, ice_hosts=("127.0.0.1",), grace_s=2.0,
                    database_url=url)
    runner = web.AppRunner(create_app(config, clock), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    handle = ServerHandle(f"http://127.0.0.1:{port}", runner, aiohttp.ClientSession(),
                          tmp_path / "data", database_url=url)
    try:
        yield Clocked(handle, clock)
    finally:
        await handle.stop()


async def taught(clocked: Clocked) -> str:
    """A one-to-one of :data:`MINUTES` minutes from T0, ended, with the learner's
    feedback; returns its session id."""
    server = clocked.server
    body = copy.deepcopy(ONE_TO_ONE)
    body.update(title="=二次函数复习", people=[TEACHER, LEARNER],  # "=": a formula-like title
                scheduled_start=T0.strftime("%Y-%m-%dT%H:%M:%SZ"),
                scheduled_end=(T0 + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    session_id, toks = await server.create(body)
    for person in ("t1", "s1"):
        peer = await server.connect(toks[person])
        await peer.wait_for("welcome")
    journal = server.app[SERVICES].journal
    for person in ("t1", "s1"):
        journal.observe(session_id, person, "transport_up")
    step = 4  # seconds: traffic keeps a person active for 5 s after it
    # First SILENT minutes connected and silent, camera off (not counted, and the line
    # says why), then MINUTES talking.
    for i in range((SILENT + MINUTES) * 60 // step):
        now = int(clocked.clock.time())
        for person in ("t1", "s1"):
            journal.observe(session_id, person, "traffic")
            if i >= SILENT * 60 // step:
                for second in range(now, now + step):
                    journal.sample(session_id, person, second, TALKING)
        await clocked.advance(step)
    assert (await server.api("POST", f"/api/v1/sessions/{session_id}/end"))[0] == 200
    await clocked.advance(60)
    status, _ = await server.api("POST", "/api/v1/me/feedback", FEEDBACK, token=toks["s1"])
    assert status == 201
    return session_id


async def get(server: ServerHandle, path: str, key: str | None = API_KEY
              ) -> tuple[int, bytes, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with server.http.get(server.base + path, headers=headers) as r:
        return r.status, await r.read(), r.headers


async def test_statement_exports_certificate_and_verification(
    clocked: Clocked, database_url: str
) -> None:
    server = clocked.server
    session_id = await taught(clocked)
    status, statement = await server.api("GET", f"/api/v1/people/t1/statement?term={TERM}")
    assert status == 200
    term = statement["programmes"]["training"]["terms"][TERM]
    year = statement["programmes"]["training"]["years"]["2026"]
    assert Decimal(term["points"]) > 0 and year["study_hours"] >= 1  # really taught

    # CSV: UTF-8 with BOM, the bilingual header, a line for the session, the totals.
    status, raw, headers = await get(server, f"/api/v1/people/t1/statement.csv?term={TERM}")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))
    assert tuple(table[0]) == HEADERS and table[0][6] == "学时 study hours"
    (line,) = [r for r in table[1:] if r[4] == session_id]
    assert line[0] == "2026-11-04" and line[3] == "'=二次函数复习"  # not run as a formula
    assert int(line[5]) == MINUTES and "3 min" in line[10], line  # the silent start
    (total,) = [r for r in table[1:] if r[0] == TOTAL]
    assert (total[8], total[9]) == (term["points"], term["pay_cny"])
    assert (int(total[6]), int(total[7])) == (year["study_hours"], year["credits"])
    assert line[8] == term["points"]  # one session: the line is the total

    # XLSX: the same figures, as numbers.
    status, raw, _ = await get(server, f"/api/v1/people/t1/statement.xlsx?term={TERM}")
    assert status == 200
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(raw)).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    head = cells.index(list(HEADERS))
    (xtotal,) = [r for r in cells[head + 1:] if r[0] == TOTAL]
    assert Decimal(str(xtotal[8])) == Decimal(term["points"])
    assert Decimal(str(xtotal[9])) == Decimal(term["pay_cny"])
    assert (xtotal[6], xtotal[7], xtotal[5]) == (year["study_hours"], year["credits"], MINUTES)

    # The certificate: a PDF with the CJK font embedded, rendered and looked at.
    status, raw, headers = await get(server, f"/api/v1/people/t1/certificate.pdf?term={TERM}")
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert raw.startswith(b"%PDF-") and b"/FontFile2" in raw
    png = render_png(raw, SHOTS / "certificate.png")
    assert ink_in(png, certificate_pdf.NAME_BOX), "nothing drawn where the name goes"
    issued_on = "2026-11-04"  # the server's (fake) clock, in Beijing
    code = make_code(SECRET.encode(), "t1", TERM, year["study_hours"], year["credits"],
                     issued_on)
    assert f"verification code {code}".encode() in raw  # the PDF's subject

    # Verification: the page and the JSON, no sign-in.
    status, page, _ = await get(server, f"/verify/{code}", key=None)
    text = page.decode()
    assert status == 200 and "证书有效" in text and "valid" in text and "王老师" in text
    assert f"<td>{year['study_hours']}</td>" in text
    status, found = await server.api("GET", f"/api/v1/certificates/{code}", key=None)
    assert status == 200 and found["valid"] is True
    assert (found["person"], found["term"], found["study_hours"], found["credits"]) == (
        "t1", TERM, year["study_hours"], year["credits"])
    typed = code.replace("-", "").lower()  # as someone types it from paper
    assert (await server.api("GET", f"/api/v1/certificates/{typed}", key=None))[0] == 200

    changed = ("B" if code[0] != "B" else "C") + code[1:]
    for wrong in (changed, "not-a-code", "A" * 300):
        status, page, _ = await get(server, f"/verify/{wrong}", key=None)
        assert status == 404 and "证书无效" in page.decode() and "not valid" in page.decode()
        status, body = await server.api("GET", f"/api/v1/certificates/{wrong}", key=None)
        assert status == 404 and body["valid"] is False

    # Issuing again the same day: the same code, still one row.
    assert (await get(server, f"/api/v1/people/t1/certificate.pdf?term={TERM}"))[0] == 200
    assert behind(server, "SELECT code, person, term FROM certificates") == [(code, "t1", TERM)]
    # A row changed after issue no longer matches its code.
    behind(server, "UPDATE certificates SET study_hours = study_hours + 20")
    assert (await server.api("GET", f"/api/v1/certificates/{code}", key=None))[0] == 404


def behind(server: ServerHandle, sql: str) -> list[tuple[Any, ...]]:
    """Run ``sql`` on the certificates table behind the server's back (either back end)."""
    if server.database_url:
        import psycopg

        with psycopg.connect(server.database_url, autocommit=True) as conn:
            cursor = conn.execute(sql.encode())
            return cursor.fetchall() if cursor.description else []
    db = sqlite3.connect(server.data_dir / "certificates.sqlite")
    try:
        with db:
            return db.execute(sql).fetchall()
    finally:
        db.close()


async def test_scope_refusals_and_errors(clocked: Clocked) -> None:
    server = clocked.server
    await taught(clocked)
    path = f"/api/v1/people/t1/statement.csv?term={TERM}"
    # A district or school office outside the teacher's place: 404, as if nobody.
    for scope, seen in [
        (Scope("district", district_code="110105"), False),  # 朝阳
        (Scope("school", district_code="110112", school_id="S-TZ-9"), False),
        (Scope("district", district_code="110112"), True),  # 通州: the teacher's
        (Scope("school", district_code="110112", school_id="S-TZ-1"), True),
    ]:
        request = make_mocked_request("GET", path, match_info={"id": "t1"}, app=server.app)
        answer = await statement_for(request, scope)
        if seen:
            assert not isinstance(answer, web.Response) and answer.totals
        else:
            assert isinstance(answer, web.Response) and answer.status == 404
    holder = Holder("t1", "王老师", school_id="S-TZ-1", district_code="110112")
    assert visible(Scope("city"), None) and not visible(Scope("district", "110112"), None)
    assert not visible(Scope("district", "110101"), holder)

    assert (await get(server, path, key="wrong"))[0] == 401
    assert (await get(server, "/api/v1/people/t1/statement.csv?term=1999-spring"))[0] == 400
    assert (await get(server, "/api/v1/people/a%20b/certificate.pdf?term=" + TERM))[0] == 400
    # Nobody: an empty statement (header only) for the city, no certificate.
    status, raw, _ = await get(server, f"/api/v1/people/nobody/statement.csv?term={TERM}")
    assert status == 200 and raw.decode("utf-8-sig").count("\r\n") == 1
    assert (await get(server, f"/api/v1/people/nobody/certificate.pdf?term={TERM}"))[0] == 404
    # Another term: the teacher taught nothing then, so there is nothing to certify.
    assert (await get(server, "/api/v1/people/t1/certificate.pdf?term=2026-spring"))[0] == 404
    _, doc = await server.api("GET", "/api/v1/openapi.json", key=None)
    assert {"/people/{id}/statement.csv", "/people/{id}/statement.xlsx",
            "/people/{id}/certificate.pdf", "/certificates/{code}"} <= set(doc["paths"])


async def test_no_cjk_font_is_a_clear_503(clocked: Clocked,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    await taught(clocked)
    monkeypatch.setattr(certificate_pdf, "FONT_CANDIDATES", (("/nonexistent/font.ttc", 0),))
    monkeypatch.setattr(certificate_pdf, "_registered", [])
    status, raw, headers = await get(clocked.server,
                                     f"/api/v1/people/t1/certificate.pdf?term={TERM}")
    assert status == 503 and headers["Content-Type"].startswith("application/json")
    assert b"fonts-wqy-microhei" in raw and b"font_missing" in raw


def test_codes_are_short_grouped_and_forgiving() -> None:
    code = make_code(b"k", "t1", TERM, 21, 1, "2027-01-20")
    assert len(code) == 19 and code.count("-") == 3
    assert code != make_code(b"k", "t1", TERM, 22, 1, "2027-01-20")
    assert code != make_code(b"other", "t1", TERM, 21, 1, "2027-01-20")
    assert normalise(code.lower().replace("-", " ")) == code
    assert normalise("O0OO-IIII-BBBB-AAAA".replace("O", "0", 1)) == "OOOO-IIII-BBBB-AAAA"
    assert normalise("ABC") is None and normalise("A" * 17) is None


def render_png(pdf: bytes, keep: Path) -> Path:
    """The PDF's page as a PNG at 72 dpi (a pixel per point), kept at ``keep``."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        pytest.fail("pdftoppm is not installed: run ./scripts/test, which installs poppler-utils")
    keep.parent.mkdir(parents=True, exist_ok=True)
    source = keep.with_suffix(".pdf")
    source.write_bytes(pdf)
    subprocess.run([tool, "-png", "-r", "72", "-singlefile", str(source),
                    str(keep.with_suffix(""))], check=True, timeout=60)
    return keep


def ink_in(png: Path, box: tuple[float, float, float, float]) -> bool:
    """Whether the box (points from the top-left) has dark pixels: the name was drawn."""
    from PIL import Image

    with Image.open(png) as image:
        left, top, width, height = (round(v) for v in box)
        crop: Any = image.convert("L").crop((left, top, left + width, top + height))
        dark: int = sum(crop.histogram()[:128])  # pixels darker than mid-grey
    return dark > 50
