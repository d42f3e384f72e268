"""The text form of ``nft list ruleset`` (and simple ``nft -f`` scripts) → ``Ruleset``.

A small tokenizer and a recursive reader of ``table { set … map … chain … }`` blocks;
each rule line becomes neutral expressions (``nftables_common``). Statements it does not
know become ``UnknownMatch`` with their line, never dropped.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from segverify.errors import InputError
from segverify.firewall.model import Ruleset
from segverify.firewall.nftables_common import (
    INCLUDED,
    VERDICTS,
    Item,
    NftChain,
    NftRule,
    NftSet,
    NftTable,
    NMatch,
    NStmt,
    NVerdict,
    NVmap,
    build_ruleset,
    parse_priority,
)
from segverify.i18n import Msg
from segverify.topology.model import Location

ONE_WORD_KEYS = {"iifname", "oifname", "iif", "oif", "mark", "iiftype", "oiftype", "skuid", "skgid"}
PROTO_WORDS = {
    "ip",
    "ip6",
    "tcp",
    "udp",
    "sctp",
    "dccp",
    "udplite",
    "th",
    "icmp",
    "icmpv6",
    "ct",
    "meta",
    "ether",
    "vlan",
    "arp",
    "ah",
    "esp",
    "comp",
    "rt",
    "frag",
    "hbh",
    "dst",
    "mh",
    "fib",
    "socket",
    "osf",
    "ipsec",
    "numgen",
    "jhash",
    "symhash",
    "tunnel",
    "igmp",
    "exthdr",
    "tcpopt",
}
OPS = {
    "==": "==",
    "eq": "==",
    "!=": "!=",
    "ne": "!=",
    "<": "<",
    "lt": "<",
    ">": ">",
    "gt": ">",
    "<=": "<=",
    "le": "<=",
    ">=": ">=",
    "ge": ">=",
}
NAT_WORDS = {"snat", "dnat", "masquerade", "redirect", "tproxy"}
STMT_WORDS = (
    {
        "counter",
        "log",
        "comment",
        "limit",
        "notrack",
        "add",
        "update",
        "delete",
        "quota",
        "flow",
        "dup",
        "fwd",
        "synproxy",
    }
    | NAT_WORDS
    | set(VERDICTS)
)
TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(#[^\n]*)|(\n)|([{};,])|([^\s{};,"#]+)|[ \t\r]+')


@dataclass(frozen=True)
class Tok:
    kind: str  # word | string | { | } | ; | , | nl
    value: str
    line: int


def tokenize(text: str, file: str) -> list[Tok]:
    toks: list[Tok] = []
    line = 1
    pos = 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if m is None:
            raise InputError(
                Msg("error.firewall.nftables_text.unexpected_character", char=text[pos]), file, line
            )
        if m.group(1) is not None:
            toks.append(Tok("string", m.group(1), line))
        elif m.group(3) is not None:
            toks.append(Tok("nl", "\n", line))
            line += 1
        elif m.group(4) is not None:
            toks.append(Tok(m.group(4), m.group(4), line))
        elif m.group(5) is not None:
            toks.append(Tok("word", m.group(5), line))
        pos = m.end()
    return toks


def _is_scalar(s: str) -> bool:
    if s.isdigit():
        return True
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False


def make_item(text: str, quoted: bool = False) -> Item:
    if quoted:
        return Item("value", text)
    if text.startswith("@"):
        return Item("setref", text[1:])
    if "/" in text:
        a, b = text.split("/", 1)
        return Item("prefix", a, b)
    if "-" in text:
        a, b = text.split("-", 1)
        if _is_scalar(a) and _is_scalar(b):
            return Item("range", a, b)
    return Item("value", text)


class _Reader:
    def __init__(self, text: str, file: str) -> None:
        self.file = file
        self.lines = text.splitlines()
        self.toks = tokenize(text, file)
        self.i = 0
        self.warnings: list[tuple[Location | None, str]] = []

    # ---- token helpers
    def peek(self, k: int = 0) -> Tok | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def next(self) -> Tok:
        t = self.peek()
        if t is None:
            last = self.toks[-1].line if self.toks else 1
            raise InputError(
                Msg("error.firewall.nftables_text.unexpected_end_file_missing"), self.file, last
            )
        self.i += 1
        return t

    def expect(self, kind: str) -> Tok:
        t = self.next()
        if t.kind != kind:
            raise InputError(
                Msg("error.firewall.nftables_text.expected_found", kind=kind, value=t.value),
                self.file,
                t.line,
            )
        return t

    def skip_separators(self) -> None:
        while (t := self.peek()) is not None and t.kind in ("nl", ";"):
            self.i += 1

    def statement(self) -> list[Tok]:
        """Tokens up to the end of the line or ';' (newlines inside braces do not end it)."""
        out: list[Tok] = []
        depth = 0
        while (t := self.peek()) is not None:
            if depth == 0 and t.kind in ("nl", ";", "}"):
                break
            self.i += 1
            if t.kind == "nl":
                continue
            if t.kind == "{":
                depth += 1
            elif t.kind == "}":
                depth -= 1
            out.append(t)
        return out

    def skip_block(self) -> None:
        depth = 0
        while True:
            t = self.next()
            if t.kind == "{":
                depth += 1
            elif t.kind == "}":
                depth -= 1
                if depth == 0:
                    return

    # ---- structure
    def read(self) -> list[NftTable]:
        tables: list[NftTable] = []
        while True:
            self.skip_separators()
            t = self.peek()
            if t is None:
                break
            if t.kind == "word" and t.value == "table":
                self.i += 1
                tables.append(self.table(t))
                continue
            if t.kind == "word" and t.value == "flush":
                self.statement()
                continue
            stmt = self.statement()
            text = " ".join(x.value for x in stmt) or t.value
            if not tables and t.value not in ("define", "include", "add", "delete"):
                raise InputError(
                    Msg("error.firewall.nftables_text.not_nft_ruleset", text=text[:60]),
                    self.file,
                    t.line,
                )
            self.warnings.append(
                (
                    Location(self.file, t.line),
                    Msg("warn.firewall.nftables_text.unsupported_top_level_statement", text=text),
                )
            )
            if self.peek() is not None and self.peek().kind == "}":  # type: ignore[union-attr]
                raise InputError(
                    Msg("error.firewall.nftables_text.unbalanced"), self.file, self.peek().line
                )  # type: ignore[union-attr]
        if not tables:
            raise InputError(
                Msg("error.firewall.nftables_text.not_nft_ruleset_no_table"), self.file
            )
        return tables

    def table(self, start: Tok) -> NftTable:
        fam = self.next()
        name = self.next()
        if fam.kind != "word" or name.kind not in ("word", "string"):
            raise InputError(
                Msg("error.firewall.nftables_text.expected_table_family_name"),
                self.file,
                start.line,
            )
        if name.value == "{":
            raise InputError(
                Msg("error.firewall.nftables_text.expected_table_family_name"),
                self.file,
                start.line,
            )
        self.expect("{")
        table = NftTable(fam.value, name.value, Location(self.file, start.line))
        while True:
            self.skip_separators()
            t = self.next()
            if t.kind == "}":
                return table
            if t.kind == "word" and t.value in ("chain", "set", "map"):
                nm = self.next()
                self.expect("{")
                loc = Location(self.file, t.line)
                if t.value == "chain":
                    table.chains[nm.value] = self.chain(nm.value, loc)
                else:
                    table.sets[nm.value] = self.set(nm.value, loc, t.value == "map")
                continue
            if t.kind == "word" and t.value in ("flags", "comment"):
                self.statement()
                continue
            if t.kind == "word":
                self.i -= 1
                stmt = self.statement()
                text = " ".join(x.value for x in stmt)
                if self.peek() is not None and self.peek().kind == "{":  # type: ignore[union-attr]
                    self.skip_block()
                    text += " { … }"
                msg = f"table object not evaluated: {text}"
                if stmt and stmt[0].value == "flowtable":
                    msg += " (offloaded flows bypass the forward chain once accepted)"
                self.warnings.append((Location(self.file, t.line), msg))
                continue
            raise InputError(
                Msg("error.firewall.nftables_text.unexpected_table", value=t.value),
                self.file,
                t.line,
            )

    def chain(self, name: str, loc: Location) -> NftChain:
        chain = NftChain(name, loc)
        while True:
            self.skip_separators()
            t = self.peek()
            if t is None:
                raise InputError(
                    Msg("error.firewall.nftables_text.chain_not_closed", name=name),
                    self.file,
                    loc.line,
                )
            if t.kind == "}":
                self.i += 1
                return chain
            stmt = self.statement()
            if not stmt:
                continue
            head = stmt[0].value
            if head == "type" and len(stmt) >= 3:
                chain.type = stmt[1].value
                words = [x.value for x in stmt]
                if "hook" in words:
                    chain.hook = words[words.index("hook") + 1]
                if "priority" in words:
                    j = words.index("priority") + 1
                    chain.priority = parse_priority(" ".join(words[j:]), self.file, t.line)
                continue
            if head == "policy" and len(stmt) >= 2:
                chain.policy = stmt[1].value
                continue
            if (
                head in ("comment", "devices")
                and stmt[0].kind == "word"
                and len(stmt) > 1
                and stmt[1].kind in ("string", "word", "{")
                and _chain_property(stmt)
            ):
                continue
            if head == "include" and stmt[0].kind == "word":
                # nft reads the file's rules here; segverify does not follow includes
                line = stmt[0].line
                text = self.lines[line - 1].strip() if line - 1 < len(self.lines) else "include"
                loc_i = Location(self.file, line)
                chain.rules.append(NftRule([NVerdict("queue", INCLUDED)], loc_i, text))
                continue
            chain.rules.append(self.rule(stmt))

    def set(self, name: str, loc: Location, is_map: bool) -> NftSet:
        s = NftSet(name, loc)
        if is_map:
            s.map_entries = []
        while True:
            self.skip_separators()
            t = self.peek()
            if t is None:
                raise InputError(
                    Msg("error.firewall.nftables_text.set_not_closed", name=name),
                    self.file,
                    loc.line,
                )
            if t.kind == "}":
                self.i += 1
                return s
            stmt = self.statement()
            words = [x.value for x in stmt]
            if not words:
                continue
            if words[0] in ("type", "typeof"):
                text = " ".join(words[1:])
                if is_map and " : " in f" {text} ":
                    k, _, v = f" {text} ".partition(" : ")
                    if not k.strip() or not v.strip():
                        raise InputError(
                            Msg("error.firewall.nftables_text.bad_map_type", text=text),
                            self.file,
                            stmt[0].line,
                        )
                    s.type, s.map_type = k.strip(), v.strip()
                else:
                    s.type = text
            elif words[0] == "flags":
                s.flags = tuple(w for w in words[1:] if w != ",")
            elif words[0] == "elements":
                j = words.index("{") if "{" in words else len(words)
                groups = _split_items(
                    stmt[j + 1 : -1] if stmt and stmt[-1].kind == "}" else stmt[j + 1 :]
                )
                for g in groups:
                    if not g:
                        raise InputError(
                            Msg("error.firewall.nftables_text.empty_set_element"),
                            self.file,
                            stmt[0].line,
                        )
                    item, verdict = _element(g, self.file, stmt[0].line)
                    if is_map:
                        if verdict is None:
                            raise InputError(
                                Msg("error.firewall.nftables_text.map_element_without"),
                                self.file,
                                g[0].line,
                            )
                        s.map_entries.append(([item], verdict))  # type: ignore[union-attr]
                    else:
                        s.items.append(item)
            # size, timeout, gc-interval, policy, auto-merge, counter, comment: no effect on matching

    # ---- rules
    def rule(self, toks: list[Tok]) -> NftRule:
        line = toks[0].line
        loc = Location(self.file, line)
        text = self.lines[line - 1].strip() if line - 1 < len(self.lines) else ""
        exprs: list = []
        comment = ""
        i = 0
        n = len(toks)

        def w(k: int) -> str:
            return (
                toks[k].value
                if k < n and toks[k].kind in ("word", "string")
                else (toks[k].value if k < n else "")
            )

        def starts_stmt(k: int) -> bool:
            if k >= n or toks[k].kind != "word":
                return False
            v = toks[k].value
            return v in STMT_WORDS or v in ONE_WORD_KEYS or v in PROTO_WORDS

        def skip_unknown(k: int) -> int:
            depth = 0
            while k < n:
                if toks[k].kind == "{":
                    depth += 1
                elif toks[k].kind == "}":
                    depth -= 1
                elif depth == 0 and starts_stmt(k):
                    break
                k += 1
            return k

        while i < n:
            t = toks[i]
            v = t.value
            if t.kind != "word":
                j = skip_unknown(i + 1)
                exprs.append(NStmt("unknown", _text(toks[i:j])))
                i = j
                continue
            if v in VERDICTS:
                if v in ("jump", "goto"):
                    exprs.append(NVerdict(v, w(i + 1)))
                    i += 2
                elif v in ("reject", "queue"):
                    exprs.append(NVerdict(v))
                    i = n
                else:
                    exprs.append(NVerdict(v))
                    i += 1
                # a comment may follow the verdict; nothing else may (nft rejects it)
                if i < n and toks[i].value == "comment" and i + 1 < n:
                    comment = toks[i + 1].value
                    i += 2
                if i < n:
                    raise InputError(
                        Msg(
                            "error.firewall.nftables_text.statement_after_verdict_nft_rejects",
                            verdict=v,
                            text=_text(toks[i:]),
                        ),
                        self.file,
                        toks[i].line,
                    )
                continue
            if v == "counter":
                i += 1
                while i < n and toks[i].value in ("packets", "bytes", "name"):
                    i += 2
                continue
            if v == "log":
                i += 1
                while i < n and toks[i].value in (
                    "prefix",
                    "level",
                    "group",
                    "snaplen",
                    "queue-threshold",
                    "flags",
                ):
                    i += 2
                    while i < n and toks[i].kind == ",":
                        i += 2
                continue
            if v == "comment":
                comment = w(i + 1)
                i += 2
                continue
            if v == "notrack":
                i += 1
                continue
            if v in NAT_WORDS:
                exprs.append(NStmt("nat", _text(toks[i:])))
                i = n
                continue
            if v in ("add", "update", "delete") and i + 1 < n and toks[i + 1].value.startswith("@"):
                j = skip_unknown(i + 2)
                exprs.append(NStmt("dynset", _text(toks[i:j])))
                i = j
                continue
            if v in ONE_WORD_KEYS or v in PROTO_WORDS:
                start = i
                if v in ONE_WORD_KEYS:
                    key, i = v, i + 1
                elif i + 1 < n and toks[i + 1].kind == "word":
                    key, i = f"{v} {toks[i + 1].value}", i + 2
                    if v == "meta" and toks[i - 1].value in ONE_WORD_KEYS | {
                        "l4proto",
                        "nfproto",
                        "protocol",
                    }:
                        key = toks[i - 1].value if toks[i - 1].value in ONE_WORD_KEYS else key
                else:
                    j = skip_unknown(i + 1)
                    exprs.append(NStmt("unknown", _text(toks[i:j])))
                    i = j
                    continue
                if (
                    i < n and toks[i].value == "set"
                ):  # meta mark set …, ct mark set …: no filtering effect
                    i = skip_unknown(i + 2)
                    continue
                if i < n and toks[i].value == "vmap":
                    i += 1
                    if i < n and toks[i].value.startswith("@"):
                        exprs.append(
                            NVmap(key, None, toks[i].value[1:], _text(toks[start : i + 1]))
                        )
                        i += 1
                    elif i < n and toks[i].kind == "{":
                        j = _close(toks, i)
                        entries = []
                        for g in _split_items(toks[i + 1 : j]):
                            item, verdict = _element(g, self.file, toks[i].line)
                            if verdict is None:
                                raise InputError(
                                    Msg("error.firewall.nftables_text.vmap_element_without"),
                                    self.file,
                                    g[0].line,
                                )
                            entries.append(([item], verdict))
                        exprs.append(NVmap(key, entries, "", _text(toks[start : j + 1])))
                        i = j + 1
                    else:
                        raise InputError(
                            Msg("error.firewall.nftables_text.bad_vmap"), self.file, line
                        )
                    continue
                op = "=="
                if i < n and toks[i].value in OPS and toks[i].kind == "word":
                    op = OPS[toks[i].value]
                    i += 1
                if (
                    i >= n
                    or toks[i].value in ("&", "|", "^", ".", "map")
                    or (
                        toks[i].kind == "word"
                        and toks[i].value in STMT_WORDS
                        and toks[i].value not in ("reject",)
                    )
                ):
                    j = skip_unknown(i)
                    exprs.append(NStmt("unknown", _text(toks[start:j])))
                    i = j
                    continue
                items, i = self.value(toks, i)
                exprs.append(NMatch(key, op, items, _text(toks[start:i])))
                continue
            j = skip_unknown(i + 1)
            exprs.append(NStmt("unknown", _text(toks[i:j])))
            i = j
        return NftRule(exprs, loc, text, comment)

    def value(self, toks: list[Tok], i: int) -> tuple[list[Item], int]:
        t = toks[i]
        if t.kind == "{":
            j = _close(toks, i)
            items = [_element(g, self.file, t.line)[0] for g in _split_items(toks[i + 1 : j])]
            return items, j + 1
        items = [make_item(t.value, t.kind == "string")]
        i += 1
        while i + 1 < len(toks) and toks[i].kind == ",":
            items.append(make_item(toks[i + 1].value, toks[i + 1].kind == "string"))
            i += 2
        if i < len(toks) and toks[i].value == "/":
            # bitmask form (tcp flags syn / syn,ack): not modelled
            j = i + 2
            while j + 1 < len(toks) and toks[j].kind == ",":
                j += 2
            return [Item("other", _text(toks[i - 1 : j]))], j
        if i < len(toks) and toks[i].value == ".":
            # concatenation: not modelled
            j = i
            while (
                j < len(toks)
                and toks[j].kind not in ("{",)
                and not (toks[j].kind == "word" and toks[j].value in STMT_WORDS)
            ):
                j += 1
            return [Item("other", _text(toks[i - 1 : j]))], j
        return items, i


def _chain_property(stmt: list[Tok]) -> bool:
    return len(stmt) <= 2 or stmt[0].value == "devices"


def _text(toks: list[Tok]) -> str:
    return " ".join(f'"{t.value}"' if t.kind == "string" else t.value for t in toks)


def _close(toks: list[Tok], i: int) -> int:
    depth = 0
    for j in range(i, len(toks)):
        if toks[j].kind == "{":
            depth += 1
        elif toks[j].kind == "}":
            depth -= 1
            if depth == 0:
                return j
    raise InputError(Msg("error.firewall.nftables_text.not_closed"), "", toks[i].line)


def _split_items(toks: list[Tok]) -> list[list[Tok]]:
    groups: list[list[Tok]] = [[]]
    depth = 0
    for t in toks:
        if t.kind == "nl":
            continue
        if t.kind == "," and depth == 0:
            groups.append([])
            continue
        if t.kind == "{":
            depth += 1
        elif t.kind == "}":
            depth -= 1
        groups[-1].append(t)
    return [g for g in groups if g]


def _element(
    g: list[Tok], file: str = "<string>", line: int | None = None
) -> tuple[Item, NVerdict | None]:
    """One set/map element: ``value`` | ``value : verdict`` | ``a . b`` | with ``timeout …``."""
    verdict = None
    words = [t.value for t in g]
    if ":" in words:
        k = words.index(":")
        vw = words[k + 1 :]
        if vw and vw[0] in VERDICTS:
            verdict = NVerdict(vw[0], vw[1] if len(vw) > 1 and vw[0] in ("jump", "goto") else "")
        else:
            verdict = NVerdict("continue", "non-verdict map")
        g = g[:k]
        words = words[:k]
    if "." in words:
        return Item("other", " ".join(words)), verdict
    if not g:
        raise InputError(Msg("error.firewall.nftables_text.set_element_without_value"), file, line)
    head = g[0]
    return make_item(head.value, head.kind == "string"), verdict


DEFINE = re.compile(r"^\s*define\s+([A-Za-z_][\w-]*)\s*=\s*(.*?)\s*;?\s*$")
VARIABLE = re.compile(r"\$([A-Za-z_][\w-]*)")
MAX_DEFINE_ROUNDS = 16


def expand_defines(text: str, file: str) -> str:
    """``define NAME = value`` lines, then ``$NAME`` replaced by the value (as nft does);
    the define lines become blank so every line keeps its number. An undefined variable is
    an error, as in nft."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    for k, line in enumerate(lines):
        m = DEFINE.match(line)
        if m:
            values[m.group(1)] = m.group(2)
            lines[k] = ""
    if not values and "$" not in text:
        return text

    def sub(line: str, n: int) -> str:
        for _ in range(MAX_DEFINE_ROUNDS):
            if "$" not in line:
                return line

            def one(m: re.Match[str]) -> str:
                if m.group(1) not in values:
                    raise InputError(
                        Msg("error.firewall.nftables_text.undefined_variable", name=m.group(1)),
                        file,
                        n,
                    )
                return values[m.group(1)]

            new = VARIABLE.sub(one, line)
            if new == line:
                return line
            line = new
        raise InputError(
            Msg("error.firewall.nftables_text.variables_nested_too_deeply_defined"), file, n
        )

    return "\n".join(sub(line, k + 1) for k, line in enumerate(lines))


def parse_nft_text(text: str, file: str = "<string>") -> Ruleset:
    reader = _Reader(expand_defines(text, file), file)
    tables = reader.read()
    return build_ruleset(tables, file, "nft", reader.warnings)
