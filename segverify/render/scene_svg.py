"""Scene → SVG text (no Graphviz, no randomness: same scene, same bytes).

Every string is XML-escaped with control and bidi characters made visible
(``render.safe.xml``), so a hostile name cannot break the document or spoof text.
"""

from __future__ import annotations

from segverify.render import safe, svg_font
from segverify.render.scene import Line, Polygon, Rect, Scene, Text

FONT = "IPAexGothic, 'Noto Sans CJK JP', 'Noto Sans JP', 'Hiragino Sans', Meiryo, sans-serif"


def _n(v: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros."""
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _points(pts: tuple[tuple[float, float], ...]) -> str:
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in pts)


def to_svg(scene: Scene, standalone: bool = True) -> str:
    """The scene as an SVG document (``standalone``) or an inline ``<svg>`` element.

    A standalone SVG with Japanese text embeds the subset of IPAexGothic it uses
    (``render.svg_font``); an inline one is part of an HTML page, whose Content-Security-Policy
    allows no extra style or font, and uses the page's fonts."""
    w, h = _n(scene.width), _n(scene.height)
    texts = [scene.title, *(s.text for s in scene.shapes if isinstance(s, Text))]
    face = ""
    if standalone and svg_font.needs_font("".join(texts)):
        face = svg_font.font_face("".join(sorted(set("".join(texts)))))
    family = f"'{svg_font.FAMILY}', {FONT}" if face else FONT
    out = []
    if standalone:
        out.append('<?xml version="1.0" encoding="UTF-8"?>')
    out.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" font-family="{family}" role="img">'
    )
    out.append(f"<title>{safe.xml(scene.title)}</title>")
    if face:
        out.append(f"<defs><style>{face}</style></defs>")
    out.append(f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>')
    for s in scene.shapes:
        if isinstance(s, Rect):
            attrs = (
                f'x="{_n(s.x)}" y="{_n(s.y)}" width="{_n(s.w)}" height="{_n(s.h)}" '
                f'fill="{s.fill}" stroke="{s.stroke}" stroke-width="{_n(s.width)}"'
            )
            if s.radius:
                attrs += f' rx="{_n(s.radius)}"'
            if s.dash:
                attrs += ' stroke-dasharray="6 4"'
            out.append(f"<rect {attrs}/>")
        elif isinstance(s, Text):
            weight = ' font-weight="bold"' if s.bold else ""
            out.append(
                f'<text x="{_n(s.x)}" y="{_n(s.y)}" font-size="{_n(s.size)}" '
                f'text-anchor="{s.anchor}" fill="{s.colour}"{weight}>{safe.xml(s.text)}</text>'
            )
        elif isinstance(s, Line):
            dash = ' stroke-dasharray="7 5"' if s.dash else ""
            out.append(
                f'<polyline points="{_points(s.points)}" fill="none" stroke="{s.colour}" '
                f'stroke-width="{_n(s.width)}"{dash}/>'
            )
        elif isinstance(s, Polygon):
            out.append(f'<polygon points="{_points(s.points)}" fill="{s.fill}"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
