"""One neutraliser per output kind, used by every renderer.

Captures and firewall exports carry attacker-controlled strings (DNS names, TLS SNI, HTTP
Host, rule comments). Each output kind has its own hazards:

* terminal text: control characters (ESC sequences, OSC 8 hyperlinks, BEL, backspace) and
  bidirectional overrides that reorder what the reader sees → shown as ``\\xNN``/``\\uNNNN``;
* XML (JUnit, SVG): characters XML 1.0 forbids make the document malformed → escaped the
  same visible way, then XML-escaped;
* HTML: markup is escaped, and bidi overrides/controls become visible escapes so a
  right-to-left override cannot spoof text;
* CSV: a cell a spreadsheet would evaluate gets a leading ``'`` (OWASP), on every line of a
  multi-line cell, and every cell holding CR or LF is quoted.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

from segverify.errors import printable

# bidirectional formatting characters (Unicode TR9): embeddings, overrides, isolates, marks
BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_LINE_SPLIT = re.compile(r"(\r\n|\r|\n)")
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')
_NEEDS_CARE = re.compile(r'[,"\r\n]|^ | $')  # quoting, or a line that may start a formula


def _visible(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _hazard(ch: str, keep: str = "") -> bool:
    if ch in keep:
        return False
    code = ord(ch)
    return (
        code < 0x20
        or 0x7F <= code < 0xA0
        or ch in BIDI
        or 0xD800 <= code < 0xE000
        or code in (0xFFFE, 0xFFFF)
    )


def _hazards(keep: str) -> re.Pattern[str]:
    """One character class for every character ``_hazard`` flags (``keep`` left out)."""
    chars = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0), 0xFFFE, 0xFFFF)]
    chars += sorted(BIDI)
    body = "".join(re.escape(c) for c in chars if c not in keep)
    return re.compile(f"[{body}\ud800-\udfff]")


_HAZARD = _hazards("")
_HAZARD_KEEP_LINES = _hazards("\t\n")


def _escape_hazards(s: str, pattern: re.Pattern[str]) -> str:
    if pattern.search(s) is None:  # the common case: nothing to escape
        return s
    return pattern.sub(lambda m: _visible(m.group()), s)


def terminal(text: Any) -> str:
    """Text safe to print on a terminal: every control, format (bidi, zero-width) and line
    separator character made visible — the same rule as the one-line error messages."""
    return printable("" if text is None else str(text))


def xml_text(text: Any, keep_newlines: bool = False) -> str:
    """Text for an XML character-data or attribute value (before XML escaping): characters
    XML 1.0 forbids and bidi overrides become visible escapes; tab/newline kept if asked."""
    s = "" if text is None else str(text)
    return _escape_hazards(s, _HAZARD_KEEP_LINES if keep_newlines else _HAZARD)


def xml(text: Any) -> str:
    """Escaped XML text (safe in attributes too)."""
    return escape(xml_text(text), quote=True)


def html(text: Any) -> str:
    """Escaped HTML text: markup escaped, controls and bidi overrides made visible."""
    return escape(xml_text(text), quote=True)


def csv_cell(value: Any) -> str:
    """A cell a spreadsheet will not evaluate: every line of the cell that starts like a
    formula gets a leading ``'``. Lists join with ``; ``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        value = "; ".join("" if v is None else str(v) for v in value)
    text = str(value)
    if "\n" not in text and "\r" not in text:  # one line: the common case
        return "'" + text if text.startswith(FORMULA_START) else text
    parts = _LINE_SPLIT.split(text)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0 and part.startswith(FORMULA_START):
            part = "'" + part
        out.append(part)
    text = "".join(out)
    return "'" + text if text.startswith(("\r", "\n")) else text


def csv_row(cells: list[Any]) -> str:
    """One RFC 4180 record ending in ``\\n``: cells neutralised, and every cell holding a
    comma, quote, CR or LF quoted (Python's csv module leaves a bare CR unquoted)."""
    out = []
    for cell in cells:
        kind = type(cell)
        if kind is str and not cell.startswith(FORMULA_START) and _NEEDS_CARE.search(cell) is None:
            out.append(cell)  # the common case: a plain one-line string, nothing to do
            continue
        if kind is int:
            out.append(str(cell))
            continue
        text = csv_cell(cell)
        if _NEEDS_QUOTES.search(text) or text[:1] == " " or text[-1:] == " ":
            text = '"' + text.replace('"', '""') + '"'
        out.append(text)
    return ",".join(out) + "\n"
