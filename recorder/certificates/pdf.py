"""The term's 研修电子证书 as a one-page A4 PDF (reportlab), Chinese first, then English.

The Chinese needs a CJK font in the file: a PDF viewer has no Chinese font of its own to
fall back on everywhere (phones, the district's archive). reportlab embeds a subset of a
TrueType font (``/FontFile2``: only the glyphs used, some tens of KB). It reads TrueType
outlines only, so the Debian packages that fit are ``fonts-wqy-microhei`` (what
``./scripts/test`` installs), ``fonts-wqy-zenhei``, ``fonts-droid-fallback`` or
``fonts-arphic-uming``; Noto CJK's ``.ttc`` has CFF outlines, which reportlab refuses.
No font: :class:`FontMissing`, which the server answers with a 503 naming the package.

The QR code (the verification URL) is reportlab's own ``barcode.qr``: no other library.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FONT_NAME = "OpentutorCJK"
# (file, index inside a .ttc), in order of preference.
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
)
FONT_PACKAGE = "fonts-wqy-microhei"
ISSUER_ZH = "北京市中小学教师开放型在线研修市级协调小组办公室"
ISSUER_EN = "Municipal Coordination Office, Beijing Open Online Teacher Training Programme"

PAGE_W, PAGE_H = 595.2756, 841.8898  # A4 in points
MARGIN = 56.0
# Where the holder's name is drawn, as (left, top, width, height) in points from the
# page's top-left corner: tests render the page and look for ink there.
NAME_BOX = (MARGIN, 268.0, PAGE_W - 2 * MARGIN, 40.0)


class FontMissing(RuntimeError):
    """No usable CJK TrueType font is installed."""


@dataclass(frozen=True, slots=True)
class Certificate:
    person: str
    name: str
    school: str
    district: str
    term: str
    study_hours: int
    credits: int
    issued_on: str  # YYYY-MM-DD, local
    code: str
    verify_url: str


_registered: list[str] = []


def find_font() -> tuple[str, int]:
    """The first installed CJK TrueType font reportlab can embed."""
    for path, index in FONT_CANDIDATES:
        if Path(path).is_file():
            return path, index
    raise FontMissing(
        f"no CJK TrueType font is installed: apt-get install -y {FONT_PACKAGE} "
        f"(looked for {', '.join(p for p, _ in FONT_CANDIDATES)})")


def _font() -> str:
    """Register the font with reportlab once (per process) and return its name."""
    if _registered:
        return _registered[0]
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    path, index = find_font()
    try:
        pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=index))
    except TTFError as exc:  # e.g. a CFF font put where a TrueType one was expected
        raise FontMissing(f"{path} cannot be embedded ({exc}): install {FONT_PACKAGE}") from exc
    _registered.append(FONT_NAME)
    return FONT_NAME


_TOKENS = re.compile(r"[\x21-\x7e]+\s*|\s+|.")  # a Latin word (and its space) or one character


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Lines of ``text`` no wider than ``width``: Chinese breaks between characters,
    English between words."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    current = ""
    for token in _TOKENS.findall(text):
        if current and stringWidth((current + token).rstrip(), font, size) > width:
            lines.append(current.rstrip())
            current = token.lstrip()
        else:
            current += token
    if current.strip():
        lines.append(current.rstrip())
    return lines


def render(cert: Certificate) -> bytes:
    """The certificate as PDF bytes. Raises :class:`FontMissing`."""
    from reportlab.lib.colors import HexColor
    from reportlab.pdfgen.canvas import Canvas

    font = _font()
    out = io.BytesIO()
    c: Any = Canvas(out, pagesize=(PAGE_W, PAGE_H), pageCompression=1)
    c.setTitle(f"研修电子证书 {cert.name} {cert.term}")
    c.setAuthor(ISSUER_ZH)
    c.setSubject(f"verification code {cert.code}")
    red, ink, grey = HexColor("#a61b1b"), HexColor("#1a1a1a"), HexColor("#555555")

    def top(y: float) -> float:  # measure from the top, as the layout is read
        return PAGE_H - y

    # Frame: a double rule.
    c.setStrokeColor(red)
    c.setLineWidth(3)
    c.rect(28, 28, PAGE_W - 56, PAGE_H - 56)
    c.setLineWidth(0.8)
    c.rect(36, 36, PAGE_W - 72, PAGE_H - 72)

    c.setFillColor(grey)
    c.setFont(font, 12)
    c.drawCentredString(PAGE_W / 2, top(92), "北京市中小学教师开放型在线研修计划")
    c.setFont(font, 9)
    c.drawCentredString(PAGE_W / 2, top(107), "Beijing Open Online Teacher Training Programme")
    c.setFillColor(red)
    c.setFont(font, 34)
    c.drawCentredString(PAGE_W / 2, top(158), "研修电子证书")
    c.setFont(font, 13)
    c.drawCentredString(PAGE_W / 2, top(182), "Certificate of Online Teacher Training")

    c.setFillColor(ink)
    c.setFont(font, 13)
    c.drawCentredString(PAGE_W / 2, top(240), "兹证明 This is to certify that")
    left, name_top, width, height = NAME_BOX
    c.setFont(font, 26)
    c.drawCentredString(PAGE_W / 2, top(name_top + height - 8), cert.name or cert.person)
    c.setLineWidth(0.6)
    c.setStrokeColor(grey)
    c.line(left + 80, top(name_top + height), left + width - 80, top(name_top + height))

    body_zh = (f"（{cert.school or '—'}，{cert.district or '—'}）于 {cert.term} 学期参加"
               f"北京市中小学教师开放型在线研修，经平台记录的研修有效时长认定，"
               f"获得 {cert.study_hours} 学时、{cert.credits} 学分。")
    body_en = (f"of {cert.school or '—'}, {cert.district or '—'}, took part in the Beijing "
               f"Open Online Teacher Training Programme in term {cert.term} and is credited, "
               f"from the effective training time the platform recorded, with "
               f"{cert.study_hours} study hours and {cert.credits} credits.")
    y = 336.0
    c.setFont(font, 12.5)
    for line in _wrap(body_zh, font, 12.5, PAGE_W - 2 * MARGIN - 20)[:4]:
        c.drawString(MARGIN + 10, top(y), line)
        y += 19
    y += 4
    c.setFillColor(grey)
    c.setFont(font, 10)
    for line in _wrap(body_en, font, 10, PAGE_W - 2 * MARGIN - 20)[:5]:
        c.drawString(MARGIN + 10, top(y), line)
        y += 13

    # The figures, as a small table.
    rows = (
        ("姓名 Name", cert.name or cert.person),
        ("编号 Person ID", cert.person),
        ("学校 School", cert.school or "—"),
        ("区 District", cert.district or "—"),
        ("学期 Term", cert.term),
        ("学时 Study hours", str(cert.study_hours)),
        ("学分 Credits", str(cert.credits)),
        ("发证日期 Issued", cert.issued_on),
    )
    y = max(y + 18, 460.0)
    c.setStrokeColor(HexColor("#bbbbbb"))
    for label, value in rows:
        c.setFillColor(grey)
        c.setFont(font, 11)
        c.drawString(MARGIN + 40, top(y), label)
        c.setFillColor(ink)
        c.setFont(font, 12)
        value_lines = _wrap(value, font, 12, PAGE_W - 2 * MARGIN - 210) or [""]
        c.drawString(MARGIN + 170, top(y), value_lines[0])  # one line: the table stays put
        c.line(MARGIN + 40, top(y + 7), PAGE_W - MARGIN - 40, top(y + 7))
        y += 22

    # Issuer and date, right-aligned under the table.
    y += 14
    c.setFillColor(ink)
    c.setFont(font, 13)
    c.drawRightString(PAGE_W - MARGIN - 10, top(y), ISSUER_ZH)
    c.setFillColor(grey)
    c.setFont(font, 8.5)
    c.drawRightString(PAGE_W - MARGIN - 10, top(y + 15), ISSUER_EN)
    c.setFont(font, 11)
    c.setFillColor(ink)
    c.drawRightString(PAGE_W - MARGIN - 10, top(y + 34), f"{cert.issued_on}")

    # Verification: the code, the URL and its QR code.
    qr_size = 96.0
    base = 56.0  # the QR code's bottom edge (from the page's bottom), inside the frame
    _qr(c, cert.verify_url, MARGIN, base, qr_size)
    tx = MARGIN + qr_size + 14
    c.setFillColor(ink)
    c.setFont(font, 11)
    c.drawString(tx, base + qr_size - 14, "验证码 Verification code")
    c.setFont(font, 17)
    c.drawString(tx, base + qr_size - 36, cert.code)
    c.setFont(font, 9)
    c.setFillColor(grey)
    c.drawString(tx, base + qr_size - 54, "扫码或访问以下网址核验 Scan or visit to verify:")
    for i, part in enumerate(_wrap(cert.verify_url, font, 9, PAGE_W - tx - MARGIN)[:3]):
        c.drawString(tx, base + qr_size - 68 - 12 * i, part)

    c.showPage()
    c.save()
    return out.getvalue()


def _qr(c: Any, url: str, x: float, y: float, size: float) -> None:
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing

    widget: Any = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing: Any = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0),
                                                   0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, c, x, y)
