"""The SVG file's Japanese font: a subset of IPAexGothic holding exactly the characters the
drawing uses, embedded as an ``@font-face`` data: URI, so a viewer without a CJK font shows
the same glyphs as the PNG and PDF.

IPAexGothic ships with the ``japanize-matplotlib`` package (IPA Font License: embedding a
font in a document to display it is allowed; the font's own name table, with its copyright
and licence, is kept in the subset). The subset is WOFF (zlib) without hinting; the ``head``
table's timestamps are left as the font has them, so the same characters give the same bytes.
A drawing with no CJK text gets no font (English SVGs stay small); without the packages the
SVG falls back to the viewer's fonts (the ``font-family`` list) as before.
"""

from __future__ import annotations

import base64
import importlib.util
import io
from functools import lru_cache
from pathlib import Path

FAMILY = "segverify-jp"
ASCII = "".join(chr(c) for c in range(0x20, 0x7F))  # kept so Latin text matches the CJK face


def needs_font(text: str) -> bool:
    """True when ``text`` holds a character of the CJK blocks (kana, kanji, full-width forms)."""
    return any(ord(ch) >= 0x2E80 for ch in text)


def _font_file() -> Path | None:
    spec = importlib.util.find_spec("japanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / "ipaexg.ttf"
    return path if path.is_file() else None


@lru_cache(maxsize=16)  # a report draws the same characters in several views
def font_face(chars: str) -> str:
    """An ``@font-face`` rule for the glyphs of ``chars`` ('' when the font is not there)."""
    path = _font_file()
    if path is None:
        return ""
    try:
        from fontTools import subset
        from fontTools.ttLib import TTFont
    except ImportError:
        return ""
    options = subset.Options()
    options.flavor = "woff"
    options.hinting = False
    options.desubroutinize = True
    options.layout_features = []  # horizontal text only: no vertical forms, no ligatures
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # keep copyright and licence
    options.recalc_timestamp = False
    font = TTFont(str(path), recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted({ord(ch) for ch in chars + ASCII}))
    subsetter.subset(font)
    buf = io.BytesIO()
    font.flavor = "woff"
    font.save(buf, reorderTables=True)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (
        f'@font-face{{font-family:"{FAMILY}";'
        f'src:url(data:font/woff;base64,{data}) format("woff");}}'
    )
