"""Junos configuration text → ``set`` statements, from either syntax.

``show configuration`` (hierarchical, braces) and ``show configuration | display set``
both become a list of ``SetLine``: the words of one leaf statement with its line number.
``inactive:`` (hierarchical) and ``deactivate …`` (set) mark a statement and everything
below it inactive; ``SetLine.inactive_at`` is the number of words of the deactivated path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from segverify.errors import InputError
from segverify.i18n import Msg

_SET_WORD = re.compile(r'"(?:[^"\\]|\\.)*"|\S+')
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|/\*.*?\*/|#[^\n]*|[{};\[\]]|[^\s{};\[\]"]+|\n', re.S)


@dataclass(frozen=True)
class SetLine:
    words: tuple[str, ...]
    line: int
    text: str
    inactive_at: int | None = None  # the deactivated prefix length, None when active
    blocks: tuple[tuple[int, int], ...] = ()  # hierarchical: (path length, line) per open block

    def line_of(self, prefix_len: int) -> int:
        """The line of the block whose path is the first ``prefix_len`` words (hierarchical
        syntax), else this statement's line."""
        for n, line in self.blocks:
            if n == prefix_len:
                return line
        return self.line

    def startswith(self, *prefix: str) -> bool:
        return self.words[: len(prefix)] == prefix


def _unquote(w: str) -> str:
    if len(w) >= 2 and w[0] == '"' and w[-1] == '"':
        return re.sub(r"\\(.)", r"\1", w[1:-1])
    return w


def looks_hierarchical(text: str) -> bool:
    return bool(re.search(r"^\s*[\w-]+(\s+[^\s{};]+)*\s*\{\s*$", text[:20000], re.M))


def from_set(text: str, file: str) -> list[SetLine]:
    """``display set`` text; ``deactivate`` lines mark the matching statements."""
    out: list[SetLine] = []
    deactivated: list[tuple[tuple[str, ...], int]] = []
    for n, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if not s or s.startswith("#") or s.startswith("##"):
            continue
        if '"' in s:
            words = tuple(_unquote(m.group(0)) for m in _SET_WORD.finditer(s))
        else:
            words = tuple(s.split())
        if words[0] == "set":
            out.append(SetLine(words[1:], n, s))
        elif words[0] == "deactivate":
            deactivated.append((words[1:], n))
        elif words[0] in ("activate", "delete", "insert", "protect", "unprotect"):
            out.append(SetLine(("__unsupported__",) + words, n, s))
        else:
            raise InputError(
                Msg("error.firewall.junos.setlines.not_set_command", text=s[:60]), file, n
            )
    if not deactivated:
        return out
    res = []
    for sl in out:
        hit = [len(p) for p, _ in deactivated if sl.words[: len(p)] == p]
        res.append(SetLine(sl.words, sl.line, sl.text, min(hit)) if hit else sl)
    return res


def from_hierarchy(text: str, file: str) -> list[SetLine]:
    """Braces-and-semicolons text. Raises InputError on unbalanced braces."""
    out: list[SetLine] = []
    path: list[tuple[tuple[str, ...], int | None]] = []  # words per level, inactive depth
    stmt: list[str] = []
    stmt_line = 0
    line = 1
    inactive_here = False
    in_list = False
    listed: list[str] = []
    opened: list[int] = []  # line of each open block

    def depth() -> int:
        return sum(len(w) for w, _ in path)

    def current_inactive() -> int | None:
        for _, d in path:
            if d is not None:
                return d
        return None

    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        if tok == "\n":
            line += 1
            continue
        if tok.startswith("/*"):
            line += tok.count("\n")
            continue
        if tok.startswith("#"):
            continue
        if tok == "[":
            in_list, listed = True, []
            continue
        if tok == "]":
            in_list = False
            continue
        if in_list:
            listed.append(_unquote(tok))
            continue
        if tok in ("inactive:", "protect:") or tok.endswith(":") and tok in ("replace:", "delete:"):
            inactive_here = inactive_here or tok == "inactive:"
            if not stmt:
                stmt_line = line
            continue
        if tok == "{":
            words = tuple(stmt)
            inact = current_inactive()
            if inact is None and inactive_here:
                inact = depth() + len(words)
            path.append((words, inact))
            opened.append(stmt_line or line)
            stmt, inactive_here = [], False
            continue
        if tok == ";":
            words = tuple(w for ws, _ in path for w in ws) + tuple(stmt)
            inact = current_inactive()
            if inact is None and inactive_here:
                inact = len(words) if not listed else len(words) + 1
            values = listed or [None]
            blocks = tuple(zip(_cumulative(path), opened, strict=True))
            for v in values:
                full = words + ((v,) if v is not None else ())
                out.append(
                    SetLine(full, stmt_line, "set " + " ".join(_q(w) for w in full), inact, blocks)
                )
            stmt, listed, inactive_here = [], [], False
            continue
        if tok == "}":
            if stmt:
                raise InputError(
                    Msg("error.firewall.junos.setlines.statement_not_ended", stmt=" ".join(stmt)),
                    file,
                    line,
                )
            if not path:
                raise InputError(Msg("error.firewall.junos.setlines.without_matching"), file, line)
            path.pop()
            opened.pop()
            continue
        if not stmt:
            stmt_line = line
        stmt.append(_unquote(tok))
    if path:
        raise InputError(
            Msg("error.firewall.junos.setlines.missing", path=" ".join(path[-1][0])),
            file,
            opened[-1],
        )
    if stmt:
        raise InputError(
            Msg("error.firewall.junos.setlines.statement_not_ended", stmt=" ".join(stmt)),
            file,
            stmt_line,
        )
    return out


def _cumulative(path: list[tuple[tuple[str, ...], int | None]]) -> list[int]:
    out, n = [], 0
    for words, _ in path:
        n += len(words)
        out.append(n)
    return out


def _q(w: str) -> str:
    return f'"{w}"' if (not w or any(c.isspace() for c in w)) else w


def set_lines(text: str, file: str) -> list[SetLine]:
    """Either syntax: hierarchical when the text has ``name {`` blocks, else ``set`` lines."""
    return from_hierarchy(text, file) if looks_hierarchical(text) else from_set(text, file)
