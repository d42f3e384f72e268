"""A tiny vector scene (rectangles, text, polylines, polygons) shared by the SVG and the
matplotlib (PNG/PDF) writers, so every raster and vector output has the same layout.

Coordinates are pixels, y down. Text width is estimated (East Asian wide characters one
em, others a little over half) so the layout never depends on a font being installed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str = "none"
    stroke: str = "#555555"
    width: float = 1.0
    radius: float = 0.0
    dash: bool = False


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # baseline
    text: str
    size: float = 12.0
    anchor: str = "start"  # start | middle | end
    bold: bool = False
    colour: str = "#222222"


@dataclass(frozen=True)
class Line:
    points: tuple[tuple[float, float], ...]
    colour: str = "#555555"
    width: float = 1.0
    dash: bool = False


@dataclass(frozen=True)
class Polygon:
    points: tuple[tuple[float, float], ...]
    fill: str = "#555555"


Shape = Rect | Text | Line | Polygon


@dataclass
class Scene:
    width: float
    height: float
    title: str = ""
    shapes: list[Shape] = field(default_factory=list)

    def add(self, shape: Shape) -> None:
        self.shapes.append(shape)


def text_width(text: str, size: float) -> float:
    """Estimated rendered width of ``text`` at ``size`` pixels."""
    return size * sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.58 for c in text)


def fit(text: str, size: float, width: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` pixels."""
    if text_width(text, size) <= width:
        return text
    out = text
    while out and text_width(out + "…", size) > width:
        out = out[:-1]
    return out + "…"


def arrow(
    x1: float, y: float, x2: float, colour: str, width: float, dash: bool = False
) -> list[Shape]:
    """A horizontal arrow from x1 to x2 at height y (head at x2)."""
    head = 6.0 + width
    direction = 1.0 if x2 >= x1 else -1.0
    tip = x2
    base = x2 - direction * head
    return [
        Line(((x1, y), (base, y)), colour, width, dash),
        Polygon(((tip, y), (base, y - head / 2), (base, y + head / 2)), colour),
    ]
