"""Error types and exit codes shared by every stage.

Exit codes (the same for every command):
  0 clean, 1 findings, 2 bad input or usage, 3 analysis incomplete.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
EXIT_INCOMPLETE = 3

MAX_MESSAGE_CHARS = 400  # an error quoting a 100 KB value still prints one short line


def printable(text: str) -> str:
    """``text`` safe for one terminal line: control, format (bidi overrides, zero-width) and
    line/paragraph separator characters (not spaces, e.g. U+3000) become ``\\xNN`` / ``\\uNNNN`` escapes."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable() or unicodedata.category(ch) == "Zs":
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "".join(out)


def _shorten(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[: limit - 40]}… ({len(text) - limit + 40} more characters)"


@dataclass(frozen=True)
class Term:
    """A message parameter that is itself text (``input.topology`` → "topology" /
    "トポロジー"): rendered in the language of the message around it."""

    key: str
    english: str

    def __str__(self) -> str:
        return self.english

    def render(self, lang: str) -> str:
        from segverify.i18n import t

        text = t(self.key, lang)
        return self.english if text == self.key else text


@dataclass
class InputError(Exception):
    """Bad user input: rendered as one line ``file:line:col: message``, exit code 2.

    ``message`` is English. With ``key`` (a data/messages.yaml entry) and ``params``, the
    CLI renders it in the user's language (``render(lang)``).
    """

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    key: str | None = None
    params: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # a catalogue message (segverify.i18n.Msg) carries its own key and parameters
        if self.key is None and hasattr(self.message, "key"):
            self.key = self.message.key  # type: ignore[attr-defined]
            self.params = self.message.params  # type: ignore[attr-defined]

    def __str__(self) -> str:
        return self.render("en")

    def render(self, lang: str = "en") -> str:
        """One line: the file name and message are shown with control characters escaped."""
        message = self.message
        if self.key and lang != "en":
            from segverify.i18n import t  # i18n reads the catalogue; keep errors import-light

            params = {
                k: v.render(lang) if hasattr(v, "render") else v for k, v in self.params.items()
            }
            message = t(self.key, lang, **params)
        where = ""
        if self.file:
            where = printable(self.file)
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        return f"{where}{_shorten(printable(message))}"
