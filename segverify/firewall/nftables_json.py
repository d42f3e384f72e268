"""``nft -j list ruleset`` (libnftables-json(5)) → ``Ruleset``.

Locations: ``nft -j`` writes one line; each rule's location is the line and column where
its ``{"rule": …}`` object starts, and unknown expressions carry their JSON path
(``nftables[12].rule.expr[3]``) in the ``UnknownMatch`` text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from segverify.errors import InputError
from segverify.firewall.model import Ruleset
from segverify.firewall.nftables_common import (
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
)
from segverify.i18n import Msg
from segverify.topology.model import Location

IGNORED = {"counter", "log", "notrack", "mangle", "meter"}
NAT = {"snat", "dnat", "masquerade", "redirect", "tproxy"}
OPS = {"==": "==", "!=": "!=", "in": "==", "<": "<", ">": ">", "<=": "<=", ">=": ">="}


def _positions(text: str, key: str) -> list[tuple[int, int]]:
    out = []
    for m in re.finditer(r'\{\s*"' + key + r'"\s*:\s*\{', text):
        line = text.count("\n", 0, m.start()) + 1
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        out.append((line, col))
    return out


def _key(left: Any) -> str | None:
    if isinstance(left, dict) and len(left) == 1:
        ((k, v),) = left.items()
        if k == "payload" and isinstance(v, dict) and "protocol" in v and "field" in v:
            return f"{v['protocol']} {v['field']}"
        if k in ("meta", "ct") and isinstance(v, dict) and "key" in v and "dir" not in v:
            return f"{k} {v['key']}"
    return None


def _items(right: Any, quoted: bool) -> list[Item]:
    if isinstance(right, bool):
        return [Item("other", json.dumps(right))]
    if isinstance(right, (int, float)):
        return [Item("value", str(right))]
    if isinstance(right, str):
        if right.startswith("@"):
            return [Item("setref", right[1:])]
        return [Item("value", right)]
    if isinstance(right, list):
        return [i for r in right for i in _items(r, quoted)]
    if isinstance(right, dict) and len(right) == 1:
        ((k, v),) = right.items()
        if k == "prefix" and isinstance(v, dict):
            return [Item("prefix", str(v.get("addr")), str(v.get("len")))]
        if k == "range" and isinstance(v, list) and len(v) == 2:
            return [Item("range", str(v[0]), str(v[1]))]
        if k == "set":
            return [i for r in (v if isinstance(v, list) else [v]) for i in _items(r, quoted)]
        if k == "elem" and isinstance(v, dict) and "val" in v:
            return _items(v["val"], quoted)
    return [Item("other", json.dumps(right, sort_keys=True))]


def _verdict(obj: Any) -> NVerdict | None:
    if isinstance(obj, dict) and len(obj) == 1:
        ((k, v),) = obj.items()
        if k in VERDICTS:
            target = v.get("target", "") if isinstance(v, dict) else ""
            return NVerdict(k, target)
    return None


class _Reader:
    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self.warnings: list[tuple[Location | None, str]] = []

    def read(self) -> list[NftTable]:
        try:
            doc = json.loads(self.text)
        except json.JSONDecodeError as exc:
            raise InputError(
                Msg("error.firewall.nftables_json.invalid_json", reason=exc.msg),
                self.file,
                exc.lineno,
                exc.colno,
            ) from None
        except RecursionError:
            raise InputError(Msg("error.common.json_nested_too_deeply"), self.file) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("nftables"), list):
            raise InputError(
                Msg("error.firewall.nftables_json.not_nft_j_list_ruleset"), self.file, 1
            )
        items = doc["nftables"]
        rule_pos = _positions(self.text, "rule")
        chain_pos = _positions(self.text, "chain")
        n_rules = sum(1 for o in items if isinstance(o, dict) and "rule" in o)
        n_chains = sum(1 for o in items if isinstance(o, dict) and "chain" in o)
        if len(rule_pos) != n_rules:
            rule_pos = []
        if len(chain_pos) != n_chains:
            chain_pos = []
        tables: dict[tuple[str, str], NftTable] = {}
        ri = ci = 0

        def table(fam: str, name: str, path: str) -> NftTable:
            t = tables.get((fam, name))
            if t is None:
                raise InputError(
                    Msg(
                        "error.firewall.nftables_json.object_undeclared_table",
                        path=path,
                        family=fam,
                        name=name,
                    ),
                    self.file,
                    1,
                )
            return t

        for idx, obj in enumerate(items):
            path = f"nftables[{idx}]"
            if not isinstance(obj, dict) or len(obj) != 1:
                raise InputError(
                    Msg("error.firewall.nftables_json.not_nftables_object", path=path), self.file, 1
                )
            ((kind, body),) = obj.items()
            if not isinstance(body, dict):
                raise InputError(
                    Msg("error.firewall.nftables_json.not_object", path=path, kind=kind),
                    self.file,
                    1,
                )
            if kind == "metainfo":
                continue
            if kind == "table":
                key = (str(body.get("family")), str(body.get("name")))
                tables[key] = NftTable(key[0], key[1], Location(self.file, 1))
            elif kind == "chain":
                line, col = chain_pos[ci] if chain_pos else (1, 1)
                ci += 1
                t = table(str(body.get("family")), str(body.get("table")), path)
                c = NftChain(str(body.get("name")), Location(self.file, line, col))
                if "hook" in body:
                    c.type = str(body.get("type", "filter"))
                    c.hook = str(body["hook"])
                    prio = body.get("prio", 0)
                    if not isinstance(prio, int):
                        raise InputError(
                            Msg("error.firewall.nftables_json.chain_prio_not_integer", path=path),
                            self.file,
                            line,
                            col,
                        )
                    c.priority = prio
                    c.policy = str(body.get("policy", "accept"))
                t.chains[c.name] = c
            elif kind in ("set", "map"):
                t = table(str(body.get("family")), str(body.get("table")), path)
                s = NftSet(str(body.get("name")), Location(self.file, 1))
                typ = body.get("type", "")
                s.type = " . ".join(typ) if isinstance(typ, list) else str(typ)
                flags = body.get("flags", [])
                s.flags = tuple(flags if isinstance(flags, list) else [flags])
                elems = body.get("elem", [])
                if kind == "map":
                    s.map_entries = []
                    s.map_type = str(body.get("map", ""))
                    for e in elems:
                        if isinstance(e, list) and len(e) == 2:
                            v = _verdict(e[1])
                            s.map_entries.append((_items(e[0], False), v or NVerdict("continue")))
                else:
                    for e in elems:
                        s.items.extend(_items(e, False))
                t.sets[s.name] = s
            elif kind == "rule":
                line, col = rule_pos[ri] if rule_pos else (1, 1)
                ri += 1
                t = table(str(body.get("family")), str(body.get("table")), path)
                chain = t.chains.get(str(body.get("chain")))
                if chain is None:
                    raise InputError(
                        Msg(
                            "error.firewall.nftables_json.rule_undeclared_chain",
                            path=path,
                            chain=body.get("chain"),
                        ),
                        self.file,
                        line,
                        col,
                    )
                chain.rules.append(self.rule(body, f"{path}.rule", Location(self.file, line, col)))
            else:
                self.warnings.append(
                    (
                        Location(self.file, 1),
                        Msg(
                            "warn.firewall.nftables_json.object_not_evaluated", path=path, kind=kind
                        ),
                    )
                )
        if not tables:
            raise InputError(
                Msg("error.firewall.nftables_json.export_holds_no_table"), self.file, 1
            )
        return list(tables.values())

    def rule(self, body: dict[str, Any], path: str, loc: Location) -> NftRule:
        exprs: list = []
        texts: list[str] = []
        exprs_in = body.get("expr", [])
        if not isinstance(exprs_in, list):
            raise InputError(
                Msg("error.firewall.nftables_json.expr_not_list_nft_rejects", path=path),
                loc.file,
                loc.line,
            )
        for k, e in enumerate(exprs_in):
            epath = f"{path}.expr[{k}]"
            ex = self.expr(e, epath)
            exprs.append(ex)
            if isinstance(ex, NMatch | NVmap | NStmt):
                texts.append(ex.text)
            elif isinstance(ex, NVerdict):
                texts.append(f"{ex.kind} {ex.target}".strip())
        text = " ".join(t for t in texts if t)
        return NftRule(exprs, loc, text, str(body.get("comment", "")))

    def expr(self, e: Any, path: str) -> NMatch | NVerdict | NVmap | NStmt:
        v = _verdict(e)
        if v is not None:
            return v
        if not isinstance(e, dict) or len(e) != 1:
            return NStmt("unknown", f"{path}: {json.dumps(e, sort_keys=True)}")
        ((k, body),) = e.items()
        if k == "match" and isinstance(body, dict):
            key = _key(body.get("left"))
            op = OPS.get(str(body.get("op", "==")))
            right = body.get("right")
            if key is None or op is None:
                return NStmt("unknown", f"{path}: match {json.dumps(body, sort_keys=True)}")
            items = _items(right, key.endswith("ifname"))
            text = f"{key} {'' if op == '==' else op + ' '}{','.join(map(str, items))}"
            return NMatch(key, op, items, f"{text} [{path}]")
        if k == "vmap" and isinstance(body, dict):
            key = _key(body.get("key"))
            data = body.get("data")
            if key is None:
                return NStmt("unknown", f"{path}: vmap {json.dumps(body, sort_keys=True)}")
            if isinstance(data, str) and data.startswith("@"):
                return NVmap(key, None, data[1:], f"{key} vmap {data} [{path}]")
            entries = []
            elems = data.get("set", []) if isinstance(data, dict) else []
            for el in elems:
                if isinstance(el, list) and len(el) == 2 and _verdict(el[1]) is not None:
                    entries.append((_items(el[0], False), _verdict(el[1])))
                else:
                    return NStmt(
                        "unknown", f"{path}: vmap element {json.dumps(el, sort_keys=True)}"
                    )
            return NVmap(key, entries, "", f"{key} vmap {{…}} [{path}]")  # type: ignore[arg-type]
        if k in IGNORED:
            return NStmt("ignore", k)
        if k in NAT:
            return NStmt("nat", f"{k} [{path}]")
        if k == "set" and isinstance(body, dict) and "op" in body:
            return NStmt("dynset", f"{body.get('op')} {body.get('set')} [{path}]")
        return NStmt("unknown", f"{path}: {json.dumps(e, sort_keys=True)}")


def parse_nft_json(text: str, file: str = "<string>") -> Ruleset:
    reader = _Reader(text, file)
    tables = reader.read()
    return build_ruleset(tables, file, "nft-json", reader.warnings)
