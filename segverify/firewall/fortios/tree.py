"""The FortiOS configuration language as a tree: ``config`` blocks, ``edit`` entries,
``set``/``unset``/``append``/``select``/``unselect`` settings and the table operations
``move``, ``delete``, ``rename``, ``clone``, ``purge`` applied in file order.

Statements the language does not have, and unbalanced ``next``/``end``, are recorded in
``Tree.problems`` with their line (the caller reports them; nothing is dropped silently).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from segverify.i18n import Msg


@dataclass
class Setting:
    values: list[str]
    line: int
    text: str


@dataclass
class Block:
    """A ``config`` block (``name`` = its path) or an ``edit`` entry (``name`` = the key)."""

    name: str
    line: int
    text: str
    settings: dict[str, Setting] = field(default_factory=dict)
    edits: dict[str, Block] = field(default_factory=dict)  # in table order
    configs: list[Block] = field(default_factory=list)  # nested config blocks
    comments: list[tuple[int, str]] = field(default_factory=list)

    def get(self, key: str) -> Setting | None:
        return self.settings.get(key)

    def value(self, key: str, default: str = "") -> str:
        s = self.settings.get(key)
        return s.values[0] if s and s.values else default

    def values(self, key: str) -> list[str]:
        s = self.settings.get(key)
        return list(s.values) if s else []

    def config(self, path: str) -> list[Block]:
        return [c for c in self.configs if c.name == path]


@dataclass
class Tree:
    root: Block
    problems: list[tuple[int, str]] = field(default_factory=list)


_TOKEN = re.compile(
    r'"((?:[^"\\]|\\.)*)"?'  # double-quoted (may span lines; unterminated runs to the end)
    r"|'((?:[^'\\]|\\.)*)'?"  # single-quoted
    r"|((?:\\.|[^\s\"'])+)"  # a bare word (backslash escapes)
    r"|(\n)",
    re.S,
)
_UNESCAPE = re.compile(r"\\(.)", re.S)


def _split_simple(s: str) -> list[str] | None:
    """Tokens of a line whose quotes each wrap a whole word (the usual case), or None."""
    if "\\" in s or "'" in s:
        return None
    parts = s.split('"')
    if len(parts) % 2 == 0:
        return None  # a quoted string continues on the next line
    toks: list[str] = []
    last = len(parts) - 1
    for i, p in enumerate(parts):
        if i % 2:
            toks.append(p)
            continue
        if p and ((i > 0 and not p[0].isspace()) or (i < last and not p[-1].isspace())):
            return None  # "new"_zone1: quoted and bare parts of one word
        toks.extend(p.split())
    return toks


def _tokens_regex(chunk: str) -> list[str]:
    tokens: list[str] = []
    prev_end = -1
    for m in _TOKEN.finditer(chunk):
        dq, sq, word, nl = m.groups()
        if nl is not None:
            prev_end = -1
            continue
        if dq is not None:
            tok = _UNESCAPE.sub(r"\1", dq) if "\\" in dq else dq
        elif sq is not None:
            tok = _UNESCAPE.sub(r"\1", sq) if "\\" in sq else sq
        else:
            tok = _UNESCAPE.sub(r"\1", word) if "\\" in word else word
        if m.start() == prev_end and tokens:  # "new"_zone1 is one word
            tokens[-1] += tok
        else:
            tokens.append(tok)
        prev_end = m.end()
    return tokens


def _statements(text: str) -> list[tuple[int, list[str], str]]:
    """(line, tokens, source text) per statement; quoted strings may span lines;
    lines starting with ``#`` are comments."""
    lines = text.split("\n")
    out: list[tuple[int, list[str], str]] = []
    i, n = 0, len(lines)
    while i < n:
        raw = lines[i]
        s = raw.strip()
        if not s or s[0] == "#":
            i += 1
            continue
        toks = _split_simple(s)
        if toks is not None:
            out.append((i + 1, toks, s))
            i += 1
            continue
        # quotes that span lines or escapes: extend the chunk until its quotes close
        j = i
        chunk = raw
        while _open_quote(chunk) and j + 1 < n:
            j += 1
            chunk += "\n" + lines[j]
        toks = _tokens_regex(chunk)
        if toks:
            out.append((i + 1, toks, s))
        i = j + 1
    return out


def _open_quote(chunk: str) -> bool:
    """Whether ``chunk`` ends inside a quoted string (or with an escaped line break)."""
    quote = ""
    k = 0
    while k < len(chunk):
        c = chunk[k]
        if c == "\\":
            if k == len(chunk) - 1:
                return True  # an escaped line break: the word goes on
            k += 2
            continue
        if quote:
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        k += 1
    return bool(quote)


def _move(edits: dict[str, Block], name: str, where: str, ref: str) -> bool:
    if name not in edits or ref not in edits or name == ref:
        return False
    keys = [k for k in edits if k != name]
    pos = keys.index(ref) + (1 if where == "after" else 0)
    keys.insert(pos, name)
    moved = {k: edits[k] for k in keys}
    edits.clear()
    edits.update(moved)
    return True


REFERENCE_KEYS_SKIPPED = frozenset({"name", "comments", "comment", "uuid", "alias", "hostname"})


def _rename_references(b: Block, old: str, new: str) -> None:
    for key, s in b.settings.items():
        if key not in REFERENCE_KEYS_SKIPPED and old in s.values:
            s.values = [new if v == old else v for v in s.values]
    for e in b.edits.values():
        _rename_references(e, old, new)
    for c in b.configs:
        _rename_references(c, old, new)


def _clone(b: Block, name: str) -> Block:
    return Block(
        name,
        b.line,
        b.text,
        {k: Setting(list(s.values), s.line, s.text) for k, s in b.settings.items()},
        {k: _clone(e, k) for k, e in b.edits.items()},
        [_clone(c, c.name) for c in b.configs],
    )


def parse_tree(text: str) -> Tree:
    root = Block("", 0, "")
    tree = Tree(root)
    stack: list[tuple[str, Block]] = [("root", root)]  # kind: root/config/edit

    def problem(line: int, msg: str) -> None:
        tree.problems.append((line, msg))

    for line, tok, src in _statements(text):
        kind, cur = stack[-1]
        verb = tok[0]
        if verb == "set" and len(tok) > 1 and kind != "root":  # the common case first
            cur.settings[tok[1]] = Setting(tok[2:], line, src)
            continue
        args = tok[1:]
        if verb == "config" and args:
            blk = Block(" ".join(args), line, src)
            cur.configs.append(blk)
            stack.append(("config", blk))
        elif verb == "edit" and len(args) == 1 and kind == "config":
            blk = cur.edits.get(args[0])
            if blk is None:
                blk = Block(args[0], line, src)
                cur.edits[args[0]] = blk
            stack.append(("edit", blk))
        elif verb == "next" and not args and kind == "edit":
            stack.pop()
        elif verb == "next" and not args and kind == "config":
            continue  # harmless: the CLI accepts it outside an entry
        elif verb == "end" and not args and kind in ("config", "edit"):
            if kind == "edit":  # `end` inside an entry saves it and leaves the table
                stack.pop()
            stack.pop()
        elif verb in ("set", "append", "select") and args and kind in ("config", "edit"):
            key, vals = args[0], args[1:]
            old = cur.settings.get(key)
            if verb != "set" and old is not None:
                old.values.extend(v for v in vals if verb == "append" or v not in old.values)
                old.line, old.text = line, src
            else:
                cur.settings[key] = Setting(list(vals), line, src)
        elif verb == "unset" and len(args) == 1 and kind in ("config", "edit"):
            cur.settings.pop(args[0], None)
        elif verb == "unselect" and len(args) >= 2 and kind in ("config", "edit"):
            old = cur.settings.get(args[0])
            if old is not None:
                old.values = [v for v in old.values if v not in args[1:]]
        elif (
            verb == "move"
            and len(args) == 3
            and kind == "config"
            and args[1] in ("before", "after")
        ):
            if not _move(cur.edits, args[0], args[1], args[2]):
                problem(line, Msg("warn.firewall.fortios.tree.names_entry_that_does_not", text=src))
        elif verb == "delete" and len(args) == 1 and kind == "config":
            if cur.edits.pop(args[0], None) is None:
                problem(line, Msg("warn.firewall.fortios.tree.names_entry_that_does_not", text=src))
        elif verb == "rename" and len(args) == 3 and args[1] == "to" and kind == "config":
            if args[0] not in cur.edits or args[2] in cur.edits:
                problem(line, Msg("warn.firewall.fortios.tree.no_such_entry_new_name", text=src))
            else:
                cur.edits = {(args[2] if k == args[0] else k): v for k, v in cur.edits.items()}
                cur.edits[args[2]].name = args[2]
                _rename_references(root, args[0], args[2])  # FortiOS updates references
        elif verb == "clone" and len(args) == 3 and args[1] == "to" and kind == "config":
            if args[0] not in cur.edits or args[2] in cur.edits:
                problem(line, Msg("warn.firewall.fortios.tree.no_such_entry_new_name", text=src))
            else:
                copy = _clone(cur.edits[args[0]], args[2])
                copy.line, copy.text = line, src
                cur.edits[args[2]] = copy
        elif verb == "purge" and not args and kind == "config":
            cur.edits.clear()
        else:
            problem(line, Msg("warn.firewall.fortios.tree.statement_not_understood_here", text=src))
    if len(stack) > 1:
        problem(
            stack[-1][1].line,
            Msg("warn.firewall.fortios.tree.not_closed_missing_next_end", text=stack[-1][1].text),
        )
    return tree
