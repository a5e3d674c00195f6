"""The whiteboard drawn into pixels (numpy), for the single-file export.

The same picture ``web/src/whiteboard.js`` draws from the same ops: normalised
0..1 coordinates on a 4:3 board, ``width`` in units of a 1000-unit-wide board,
round caps and joins, the eraser removing ink (not painting white) so a
background photo shows through. Strokes are rasterised as capsules (every pixel
within half the line width of a segment), which matches the browser's round
line closely enough for a video; its quadratic smoothing is not reproduced.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

WIDTH_UNITS = 1000
WHITE = (255, 255, 255)
Image = npt.NDArray[np.uint8]


def _rgb(color: str) -> tuple[int, int, int]:
    value = int(color.lstrip("#"), 16)
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


def load_picture(path: Path, width: int, height: int) -> Image | None:
    """A photo scaled to fit the board (letterboxed on white), decoded with PyAV."""
    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
    except (av.error.FFmpegError, StopIteration, OSError):
        return None
    scale = min(width / frame.width, height / frame.height)
    w, h = max(2, int(frame.width * scale) // 2 * 2), max(2, int(frame.height * scale) // 2 * 2)
    picture = frame.reformat(width=w, height=h, format="rgb24").to_ndarray()
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    x, y = (width - w) // 2, (height - h) // 2
    canvas[y : y + h, x : x + w] = picture
    return canvas


class BoardRaster:
    """Board state from ops, and its picture at ``width``×``height`` (cached)."""

    def __init__(self, width: int, height: int,
                 picture: Callable[[str], Path | None] = lambda _: None) -> None:
        self.width, self.height = width, height
        self._picture_path = picture
        self._strokes: dict[str, dict[str, Any]] = {}
        self._background: str | None = None
        self._image: Image | None = None
        self._pictures: dict[str, Image | None] = {}
        ys, xs = np.mgrid[0:height, 0:width]
        self._xs = xs.astype(np.float32) + 0.5
        self._ys = ys.astype(np.float32) + 0.5

    def apply(self, op: dict[str, Any]) -> None:
        kind = op.get("type")
        if kind == "stroke":
            self._strokes[op["id"]] = op
        elif kind == "undo":
            self._strokes.pop(op.get("id", ""), None)
        elif kind == "clear":
            self._strokes.clear()
        elif kind == "background":
            self._background = op.get("image")
        else:
            return
        self._image = None

    @property
    def strokes(self) -> int:
        return len(self._strokes)

    def image(self) -> Image:
        if self._image is None:
            self._image = self._draw()
        return self._image

    def _base(self) -> Image:
        if self._background is None:
            return np.full((self.height, self.width, 3), WHITE, dtype=np.uint8)
        if self._background not in self._pictures:
            path = self._picture_path(self._background)
            self._pictures[self._background] = (
                load_picture(path, self.width, self.height) if path is not None else None
            )
        picture = self._pictures[self._background]
        if picture is None:
            return np.full((self.height, self.width, 3), WHITE, dtype=np.uint8)
        return picture.copy()

    def _draw(self) -> Image:
        ink = np.zeros((self.height, self.width, 3), dtype=np.uint8)
        inked = np.zeros((self.height, self.width), dtype=bool)
        for stroke in self._strokes.values():
            mask = self._mask(stroke)
            if stroke.get("tool") == "eraser":
                inked &= ~mask
            else:
                ink[mask] = _rgb(str(stroke.get("color", "#1f2933")))
                inked |= mask
        out = self._base()
        out[inked] = ink[inked]
        return out

    def _mask(self, stroke: dict[str, Any]) -> npt.NDArray[np.bool_]:
        w, h = self.width, self.height
        radius = max(0.5, float(stroke.get("width", 2)) * w / WIDTH_UNITS / 2)
        points = [(float(x) * w, float(y) * h) for x, y in stroke.get("points", [])]
        mask = np.zeros((h, w), dtype=bool)
        if not points:
            return mask
        pairs = list(itertools.pairwise(points)) or [(points[0], points[0])]
        for (x0, y0), (x1, y1) in pairs:
            left = max(0, int(min(x0, x1) - radius - 1))
            right = min(w, int(max(x0, x1) + radius + 2))
            top = max(0, int(min(y0, y1) - radius - 1))
            bottom = min(h, int(max(y0, y1) + radius + 2))
            if left >= right or top >= bottom:
                continue
            xs = self._xs[top:bottom, left:right]
            ys = self._ys[top:bottom, left:right]
            dx, dy = x1 - x0, y1 - y0
            length2 = dx * dx + dy * dy
            if length2 == 0:
                dist2 = (xs - x0) ** 2 + (ys - y0) ** 2
            else:
                u = np.clip(((xs - x0) * dx + (ys - y0) * dy) / length2, 0.0, 1.0)
                dist2 = (xs - (x0 + u * dx)) ** 2 + (ys - (y0 + u * dy)) ** 2
            mask[top:bottom, left:right] |= dist2 <= radius * radius
        return mask
