"""PAN-OS configuration in any of its three textual forms as one tree.

- XML (``show config running`` in XML mode, the exported ``running-config.xml``):
  ``<entry name="x">`` is a child named ``x``; ``<member>v</member>`` is a value of its
  parent; a leaf element's text is its value.
- ``set`` commands (``set cli config-output-format set``): each path creates nodes; the
  last token (or ``[ … ]`` list) is the value. ``delete`` and ``move`` apply in file order.
- The brace form (``show config running`` in default mode, RANCID): ``key { … }`` is a
  child, ``key v1 v2;`` a child with values, ``key [ a b ];`` a list.

Every node remembers the line that created it. Statements that cannot be read are kept
in ``Tree.problems`` with their line.
"""

from __future__ import annotations

import bisect
import re
import xml.parsers.expat
from dataclasses import dataclass, field

from segverify.i18n import Msg


@dataclass
class Node:
    name: str
    line: int
    text: str = ""
    children: dict[str, Node] = field(default_factory=dict)
    values: list[str] = field(default_factory=list)

    def child(self, *path: str) -> Node | None:
        n: Node | None = self
        for p in path:
            if n is None:
                return None
            n = n.children.get(p)
        return n

    def names(self, *path: str) -> list[str]:
        """Members of a list: values and child names (the forms differ)."""
        n = self.child(*path)
        if n is None:
            return []
        return list(n.values) + [k for k in n.children if k not in n.values]

    def value(self, *path: str, default: str = "") -> str:
        n = self.child(*path)
        if n is None:
            return default
        if n.values:
            return n.values[-1]
        if len(n.children) == 1:  # `key { value; }`
            return next(iter(n.children))
        return default

    def add(self, name: str, line: int, text: str = "") -> Node:
        n = self.children.get(name)
        if n is None:
            n = Node(name, line, text)
            self.children[name] = n
        return n


@dataclass
class Tree:
    root: Node
    form: str  # xml / set / brace
    problems: list[tuple[int, str]] = field(default_factory=list)


# -- XML -----------------------------------------------------------------------------


def parse_xml(text: str) -> Tree:
    root = Node("", 0)
    stack: list[Node] = [root]
    member_stack: list[bool] = []
    chars: list[list[str]] = []
    p = xml.parsers.expat.ParserCreate()
    tree = Tree(root, "xml")

    def start(tag: str, attrs: dict[str, str]) -> None:
        line = p.CurrentLineNumber
        parent = stack[-1]
        if tag == "entry" and "name" in attrs:
            node = parent.add(attrs["name"], line, f'<entry name="{attrs["name"]}">')
        elif tag == "member":
            node = Node("member", line)
        else:
            node = parent.add(tag, line, f"<{tag}>")
        member_stack.append(tag == "member")
        stack.append(node)
        chars.append([])

    def end(tag: str) -> None:
        node = stack.pop()
        is_member = member_stack.pop()
        txt = "".join(chars.pop()).strip()
        parent = stack[-1]
        if is_member:
            if txt:
                parent.values.append(txt)
        elif txt and not node.children:
            node.values.append(txt)
            node.text = f"<{tag}>{txt}</{tag}>"

    def data(s: str) -> None:
        if chars:
            chars[-1].append(s)

    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = data
    p.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.Parse(text, True)
    # <response><result><config> or <config>: start from the config element
    for parent in (root.child("response", "result"), root):
        if parent is not None and parent.child("config") is not None:
            cfg = parent.children["config"]
            if parent.child("policy") is not None:  # pushed Panorama policy next to it
                cfg.children.setdefault("policy", parent.children["policy"])
            return Tree(cfg, "xml", tree.problems)
    return Tree(root.child("response", "result") or root, "xml", tree.problems)


# -- tokens for set and brace forms ---------------------------------------------------

_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([\[\]{};])|([^\s\[\]{};"\']+)', re.S)
_SHOW = re.compile(r"^\s*show\s+config\b.*$", re.M)


@dataclass(frozen=True)
class Tok:
    line: int
    end: int  # line the token ends on (quoted strings may span lines)
    text: str
    punct: bool


def _tokens(text: str) -> list[Tok]:
    """Tokens with their lines; ``#``/``!`` comment lines and ``show config …`` headers
    are skipped."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    skip = {i for i, ln in enumerate(text.split("\n")) if ln.lstrip().startswith(("#", "!"))}
    skip |= {bisect.bisect_right(starts, m.start()) - 1 for m in _SHOW.finditer(text)}
    out: list[Tok] = []
    for m in _TOKEN.finditer(text):
        ln = bisect.bisect_right(starts, m.start()) - 1
        if ln in skip:
            continue
        end = ln + m.group(0).count("\n")
        if m.group(3):
            out.append(Tok(ln + 1, end + 1, m.group(3), True))
        else:
            g = m.group(1) if m.group(1) is not None else m.group(2)
            out.append(Tok(ln + 1, end + 1, g if g is not None else m.group(4), False))
    return out


# -- set form --------------------------------------------------------------------------


def _split_value(words: list[str]) -> tuple[list[str], list[str]]:
    """(path, values) of one set statement's words."""
    if "[" in words:
        i = words.index("[")
        return words[:i], [w for w in words[i + 1 :] if w != "]"]
    return words[:-1], words[-1:]


def parse_set(text: str) -> Tree:
    root = Node("", 0)
    tree = Tree(root, "set")
    lines = text.split("\n")
    stmts: list[tuple[int, list[str]]] = []
    last_end = 0
    for t in _tokens(text):
        if t.line > last_end or not stmts:
            stmts.append((t.line, [t.text]))
        else:
            stmts[-1][1].append(t.text)
        last_end = t.end
    for ln, words in stmts:
        src = lines[ln - 1].strip()
        verb, rest = words[0], words[1:]
        if rest and rest[0] == "config":  # `set config …` = `set …`
            rest = rest[1:]
        if verb == "set" and len(rest) >= 2:
            path, vals = _split_value(rest)
            node = root
            for p in path:
                node = node.add(p, ln, src)
            node.values.extend(v for v in vals if v not in node.values)
        elif verb == "set" and len(rest) == 1:
            root.add(rest[0], ln, src)
        elif verb == "delete" and rest:
            _delete(root, rest, ln, tree)
        elif verb == "move" and rest:
            _move(root, rest, ln, tree)
        else:
            tree.problems.append(
                (ln, Msg("warn.firewall.paloalto.tree.statement_not_understood", text=src))
            )
    return tree


def _delete(root: Node, words: list[str], line: int, tree: Tree) -> None:
    path = [w for w in words if w not in ("[", "]")]
    node, parent = root, None
    for i, p in enumerate(path):
        nxt = node.children.get(p)
        if nxt is None:
            if i == len(path) - 1 and p in node.values:
                node.values.remove(p)
                return
            tree.problems.append(
                (
                    line,
                    Msg("warn.firewall.paloalto.tree.delete_no_such_node", words=" ".join(words)),
                )
            )
            return
        parent, node = node, nxt
    if parent is not None:
        del parent.children[node.name]


def _move(root: Node, words: list[str], line: int, tree: Tree) -> None:
    where_i = next(
        (i for i, w in enumerate(words) if w in ("top", "bottom", "before", "after")), None
    )
    if where_i is None or where_i < 2:
        tree.problems.append(
            (line, Msg("warn.firewall.paloalto.tree.move_not_understood", words=" ".join(words)))
        )
        return
    path, name, where = words[: where_i - 1], words[where_i - 1], words[where_i]
    ref = words[where_i + 1] if where in ("before", "after") and len(words) > where_i + 1 else None
    table = root.child(*path)
    if (
        table is None
        or name not in table.children
        or (where in ("before", "after") and ref not in table.children)
    ):
        tree.problems.append(
            (line, Msg("warn.firewall.paloalto.tree.move_no_such_rule", words=" ".join(words)))
        )
        return
    item = table.children.pop(name)
    keys = list(table.children)
    pos = {"top": 0, "bottom": len(keys)}.get(where)
    if pos is None:
        pos = keys.index(ref) + (1 if where == "after" else 0)
    keys.insert(pos, name)
    old = dict(table.children)
    old[name] = item
    table.children = {k: old[k] for k in keys}


# -- brace form ------------------------------------------------------------------------


def parse_brace(text: str) -> Tree:
    root = Node("", 0)
    tree = Tree(root, "brace")
    lines = text.split("\n")
    stack: list[Node] = [root]
    pending: list[tuple[int, str]] = []
    in_list = False
    list_vals: list[str] = []
    for t in _tokens(text):
        ln, tok, punct = t.line, t.text, t.punct
        if in_list:
            if tok == "]" and punct:
                in_list = False
            else:
                list_vals.append(tok)
            continue
        if punct and tok == "[":
            in_list = True
            list_vals = []
            continue
        if punct and tok == "{":
            if not pending:
                tree.problems.append((ln, Msg("warn.firewall.paloalto.tree.without_name")))
                pending = [(ln, "")]
            node = stack[-1]
            for pl, w in pending:
                node = node.add(w, pl, lines[pl - 1].strip())
            stack.append(node)
            pending = []
        elif punct and tok == "}":
            if pending:
                tree.problems.append(
                    (
                        ln,
                        Msg(
                            "warn.firewall.paloalto.tree.statement_without",
                            text=" ".join(w for _, w in pending),
                        ),
                    )
                )
                pending = []
            if len(stack) == 1:
                tree.problems.append((ln, Msg("error.firewall.junos.setlines.without_matching")))
            else:
                stack.pop()
        elif punct and tok == ";":
            words = [w for _, w in pending]
            if pending:
                pl = pending[0][0]
                src = lines[pl - 1].strip()
                if list_vals or len(words) >= 2:
                    key_words = words if list_vals else words[:-1]
                    vals = list_vals if list_vals else words[-1:]
                    node = stack[-1]
                    for w in key_words:
                        node = node.add(w, pl, src)
                    node.values.extend(v for v in vals if v not in node.values)
                else:
                    stack[-1].add(words[0], pl, src)
            list_vals = []
            pending = []
        else:
            pending.append((ln, tok))
    if len(stack) > 1:
        tree.problems.append(
            (stack[-1].line, Msg("warn.firewall.paloalto.tree.not_closed", name=stack[-1].name))
        )
    if pending:
        tree.problems.append(
            (
                pending[0][0],
                Msg(
                    "warn.firewall.paloalto.tree.statement_without",
                    text=" ".join(w for _, w in pending),
                ),
            )
        )
    return tree


def detect_form(text: str) -> str:
    head = text.lstrip()[:4000]
    if head.startswith("<"):
        return "xml"
    for line in head.splitlines():
        s = line.strip()
        if not s or s.startswith(("#", "!")):
            continue
        if s.startswith(("set ", "delete ", "move ")):
            return "set"
        if s.endswith("{") or s.endswith(";") or s.endswith("}"):
            return "brace"
    return "set"


def parse_any(text: str) -> Tree:
    form = detect_form(text)
    if form == "xml":
        return parse_xml(text)
    if form == "brace":
        return parse_brace(text)
    return parse_set(text)
