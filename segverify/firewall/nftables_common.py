"""The nftables vendor model shared by the JSON and text parsers, and its conversion.

Both ``nftables_json`` and ``nftables_text`` fill ``NftTable``s of ``NftChain``s whose
rules are lists of neutral expressions (``NMatch``, ``NVerdict``, ``NVmap``, ``NStmt``);
``build_ruleset`` turns them into stages: one per base chain of type ``filter`` (or
``route``) on an IP hook, inlining jumps/gotos through ``base.ChainProgram``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from segverify.errors import InputError
from segverify.firewall.chains import BaseChain, ChainProgram, ChainRule
from segverify.firewall.intervals import parse_address, parse_ip
from segverify.firewall.match import Match, conj, conj_all
from segverify.firewall.model import CT_STATES, AddressSet, PortSet, Ruleset, UnknownMatch
from segverify.firewall.names import ICMP_TYPES, ICMPV6_TYPES, parse_port, parse_protocol
from segverify.i18n import Msg
from segverify.topology.model import Location, PortRange

PRIORITY_NAMES = {
    "raw": -300,
    "mangle": -150,
    "dstnat": -100,
    "filter": 0,
    "security": 50,
    "srcnat": 100,
}
IP_HOOKS = ("prerouting", "input", "forward", "output", "postrouting")
FAMILIES = {"ip": 4, "ip6": 6, "inet": None}
PORT_PROTOS = {"tcp": 6, "udp": 17, "sctp": 132, "dccp": 33, "udplite": 136}
INCLUDED = "<include>"  # target of the unknown-verdict stand-in for a chain-level include
VERDICTS = ("accept", "drop", "reject", "return", "jump", "goto", "continue", "queue")


@dataclass(frozen=True)
class Item:
    """One value of a match: ``value`` (a), ``prefix`` (a/b), ``range`` (a-b), ``setref`` (@a),
    or ``other`` (something not modelled, e.g. a concatenation; a is its text)."""

    kind: str
    a: str
    b: str = ""

    def __str__(self) -> str:
        if self.kind == "prefix":
            return f"{self.a}/{self.b}"
        if self.kind == "range":
            return f"{self.a}-{self.b}"
        if self.kind == "setref":
            return f"@{self.a}"
        return self.a


@dataclass
class NMatch:
    key: str  # "ip saddr", "tcp dport", "iifname", "ct state", "meta l4proto"...
    op: str  # "==", "!=", "<", ">", "<=", ">="
    items: list[Item]
    text: str


@dataclass
class NVerdict:
    kind: str  # one of VERDICTS
    target: str = ""


@dataclass
class NVmap:
    key: str
    entries: list[tuple[list[Item], NVerdict]] | None
    setref: str = ""
    text: str = ""


@dataclass
class NStmt:
    kind: str  # ignore | unknown | nat | dynset
    text: str


Expr = NMatch | NVerdict | NVmap | NStmt


@dataclass
class NftRule:
    exprs: list[Expr]
    location: Location | None
    text: str
    comment: str = ""


@dataclass
class NftChain:
    name: str
    location: Location | None
    type: str = ""
    hook: str = ""
    priority: int = 0
    policy: str = "accept"
    rules: list[NftRule] = field(default_factory=list)

    @property
    def base(self) -> bool:
        return bool(self.hook)


@dataclass
class NftSet:
    name: str
    location: Location | None
    type: str = ""
    flags: tuple[str, ...] = ()
    items: list[Item] = field(default_factory=list)
    map_entries: list[tuple[list[Item], NVerdict]] | None = None
    map_type: str = ""


@dataclass
class NftTable:
    family: str
    name: str
    location: Location | None
    chains: dict[str, NftChain] = field(default_factory=dict)
    sets: dict[str, NftSet] = field(default_factory=dict)


def parse_priority(text: str, file: str, line: int | None) -> int:
    t = text.replace(" ", "")
    for name, val in sorted(PRIORITY_NAMES.items(), key=lambda kv: -len(kv[0])):
        if t.startswith(name):
            rest = t[len(name) :]
            if not rest:
                return val
            if rest[0] in "+-" and rest[1:].isdigit():
                return val + int(rest)
    try:
        return int(t)
    except ValueError:
        raise InputError(
            Msg("error.firewall.nftables_common.bad_chain_priority", text=text), file, line
        ) from None


# ---------------------------------------------------------------- conversion


class _Converter:
    def __init__(
        self, table: NftTable, file: str, warnings: list[tuple[Location | None, str]]
    ) -> None:
        self.table = table
        self.file = file
        self.warnings = warnings
        self.family = FAMILIES.get(table.family)

    def warn(self, loc: Location | None, msg: str) -> None:
        self.warnings.append((loc, msg))

    # ---- values
    def items(self, items: list[Item], loc: Location | None) -> list[Item] | str:
        """Expand set references; a string is the reason they cannot be used."""
        out: list[Item] = []
        for it in items:
            if it.kind == "setref":
                s = self.table.sets.get(it.a)
                if s is None:
                    raise InputError(
                        Msg("error.firewall.nftables_common.reference_undefined_set", name=it.a),
                        self.file,
                        loc.line if loc else None,
                    )
                if s.map_entries is not None:
                    return f"@{it.a} is a map"
                if " . " in s.type or "dynamic" in s.flags or "timeout" in s.flags:
                    return f"set @{it.a} ({s.type}, flags {','.join(s.flags) or '-'}) not modelled"
                out.extend(s.items)
            elif it.kind == "other":
                return f"value {it.a} not modelled"
            else:
                out.append(it)
        return out

    def address_set(
        self, items: list[Item], neg: bool, fam: int, loc: Location | None
    ) -> AddressSet:
        prefixes = []
        ranges = []
        try:
            for it in items:
                if it.kind == "prefix":
                    prefixes.append(parse_address(f"{it.a}/{it.b}"))
                elif it.kind == "range":
                    ranges.append((parse_ip(it.a), parse_ip(it.b)))
                else:
                    prefixes.append(parse_address(it.a))
        except ValueError as exc:
            raise InputError(
                Msg("error.firewall.nftables_common.bad_address", reason=exc),
                self.file,
                loc.line if loc else None,
            ) from None
        for v in [p.version for p in prefixes] + [lo.version for lo, _ in ranges]:
            if v != fam:
                raise InputError(
                    Msg(
                        "error.firewall.nftables_common.ipv_address_ipv_match",
                        version=v,
                        family=fam,
                    ),
                    self.file,
                    loc.line if loc else None,
                )
        return AddressSet(tuple(prefixes), tuple(ranges), negated=neg)

    def ports(self, items: list[Item], op: str, loc: Location | None) -> PortSet:
        line = loc.line if loc else None
        ranges = []
        for it in items:
            if it.kind == "range":
                ranges.append(
                    PortRange(parse_port(it.a, self.file, line), parse_port(it.b, self.file, line))
                )
            elif it.kind == "value":
                p = parse_port(it.a, self.file, line)
                if op == "<":
                    ranges.append(PortRange(0, p - 1))
                elif op == "<=":
                    ranges.append(PortRange(0, p))
                elif op == ">":
                    ranges.append(PortRange(p + 1, 65535))
                elif op == ">=":
                    ranges.append(PortRange(p, 65535))
                else:
                    ranges.append(PortRange(p, p))
            else:
                raise InputError(
                    Msg("error.firewall.nftables_common.bad_port_value", value=it), self.file, line
                )
        return PortSet(tuple(ranges), negated=op == "!=")

    def match(self, nm: NMatch, loc: Location | None) -> Match | str:
        """The Match for one expression, or the reason it is not modelled."""
        items = self.items(nm.items, loc)
        if isinstance(items, str):
            return items
        key = nm.key.removeprefix("meta ") if nm.key.startswith("meta ") else nm.key
        neg = nm.op == "!="
        if nm.op not in ("==", "!=") and not (
            key.endswith("port") and nm.op in ("<", ">", "<=", ">=")
        ):
            return f"operator {nm.op}"
        words = key.split()
        if key in ("ip saddr", "ip daddr", "ip6 saddr", "ip6 daddr"):
            fam = 4 if words[0] == "ip" else 6
            aset = self.address_set(items, neg, fam, loc)
            return Match(family=fam, **{"src" if words[1] == "saddr" else "dst": aset})
        if key in ("l4proto", "ip protocol", "ip6 nexthdr"):
            nums = []
            for it in items:
                n = parse_protocol(it.a) if it.kind == "value" else None
                if n is None:
                    return f"protocol {it}"
                nums.append(n)
            fam = {"ip protocol": 4, "ip6 nexthdr": 6}.get(key)
            return Match(family=fam, protocols=tuple(nums), protocols_negated=neg)
        if key == "nfproto":
            fams = {4 if it.a in ("ipv4", "2") else 6 for it in items}
            if len(fams) == 2:
                return Match() if not neg else Match(protocols=())
            fam = fams.pop()
            return Match(family=(10 - fam) if neg else fam)
        if len(words) == 2 and words[1] in ("dport", "sport") and words[0] in (*PORT_PROTOS, "th"):
            ps = self.ports(items, nm.op, loc)
            protos = (PORT_PROTOS[words[0]],) if words[0] != "th" else None
            return Match(protocols=protos, **{words[1] + "s": ps})
        if key in ("icmp type", "icmpv6 type", "icmp code", "icmpv6 code"):
            v6 = words[0] == "icmpv6"
            names = ICMPV6_TYPES if v6 else ICMP_TYPES
            nums = []
            for it in items:
                if it.kind != "value":
                    return f"icmp value {it}"
                if it.a.isdigit():
                    nums.append(int(it.a))
                elif words[1] == "type" and it.a in names:
                    nums.append(names[it.a])
                else:
                    return f"icmp value {it.a}"
            base = Match(family=6 if v6 else 4, protocols=(58 if v6 else 1,))
            if words[1] == "code":
                if len(nums) != 1 or neg:
                    return "icmp code set"
                return replace(base, icmp_code=nums[0])
            return replace(base, icmp_types=tuple(sorted(set(nums))), icmp_types_negated=neg)
        if key == "ct state":
            states = []
            for it in items:
                if it.a not in CT_STATES:
                    return f"ct state {it.a}"
                states.append(it.a)
            if neg:
                states = [s for s in CT_STATES if s not in states]
            return Match(ct_states=tuple(s for s in CT_STATES if s in states))
        if key in ("iifname", "oifname", "iif", "oif"):
            names = []
            for it in items:
                if it.kind != "value":
                    return f"interface value {it}"
                names.append(it.a.replace("\\*", "*"))
            side = "in" if key.startswith("i") else "out"
            if neg:
                return Match(**{f"{side}_interfaces_except": tuple(names)})
            return Match(**{f"{side}_interfaces": tuple(names)})
        return f"match {key}"

    # ---- rules
    def chain_rules(self, chain: NftChain) -> list[ChainRule]:
        out: list[ChainRule] = []
        for rule in chain.rules:
            out.extend(self.rule(rule))
        return out

    def rule(self, rule: NftRule) -> list[ChainRule]:
        loc = rule.location
        m: Match | None = Match(family=self.family) if self.family else Match()
        unknown: list[str] = []
        result: list[ChainRule] = []

        def add(other: Match) -> None:
            nonlocal m
            if m is not None:
                m = conj(m, other)

        def finish(kind: str, target: str = "") -> None:
            if m is None:
                return
            mm = m
            if unknown:
                mm = replace(m, unknown=m.unknown + tuple(UnknownMatch(u, loc) for u in unknown))
            result.append(ChainRule([mm], kind, target, loc, rule.text, rule.comment))

        for ex in rule.exprs:
            if isinstance(ex, NMatch):
                r = self.match(ex, loc)
                if isinstance(r, str):
                    unknown.append(f"{ex.text} ({r})")
                else:
                    add(r)
            elif isinstance(ex, NVerdict):
                if ex.kind == "queue" and ex.target == INCLUDED:
                    self.warn(
                        loc,
                        Msg("warn.firewall.nftables_common.include_inside_chain_included_rules"),
                    )
                    finish("unknown")
                elif ex.kind == "queue":
                    self.warn(
                        loc, Msg("warn.firewall.nftables_common.queue_verdict_decided_user_space")
                    )
                    finish("unknown")
                elif ex.kind == "continue":
                    pass
                else:
                    finish(ex.kind, ex.target)
                return result
            elif isinstance(ex, NVmap):
                return result + self.vmap(ex, m, unknown, rule)
            elif ex.kind == "unknown":
                unknown.append(ex.text)
            elif ex.kind == "nat":
                self.warn(
                    loc,
                    Msg(
                        "warn.firewall.nftables_common.address_translation_not_evaluated",
                        text=ex.text,
                    ),
                )
            elif ex.kind == "dynset":
                self.warn(
                    loc, Msg("warn.firewall.nftables_common.run_time_set_update_not", text=ex.text)
                )
        return result

    def vmap(
        self, vm: NVmap, m: Match | None, unknown: list[str], rule: NftRule
    ) -> list[ChainRule]:
        loc = rule.location
        if m is None:
            return []
        entries = vm.entries
        if entries is None:
            s = self.table.sets.get(vm.setref)
            if s is None or s.map_entries is None:
                raise InputError(
                    Msg("error.firewall.nftables_common.reference_undefined_map", name=vm.setref),
                    self.file,
                    loc.line if loc else None,
                )
            entries = s.map_entries
        out: list[ChainRule] = []
        # map keys are disjoint, so their order does not matter: sort for a canonical form
        for key_items, verdict in sorted(entries, key=lambda e: [_sort_key(i) for i in e[0]]):
            r = self.match(NMatch(vm.key, "==", key_items, vm.text), loc)
            unk = list(unknown)
            em: Match | None = m
            if isinstance(r, str):
                unk.append(f"{vm.text} ({r})")
            else:
                em = conj(m, r)
            if em is None:
                continue
            if unk:
                em = replace(em, unknown=em.unknown + tuple(UnknownMatch(u, loc) for u in unk))
            kind = "unknown" if verdict.kind == "queue" else verdict.kind
            if kind != "continue":
                out.append(ChainRule([em], kind, verdict.target, loc, rule.text, rule.comment))
        return out


def _sort_key(item: Item) -> tuple[int, int, str]:
    try:
        return (0, int(item.a), item.b)
    except ValueError:
        return (1, 0, str(item))


def build_ruleset(
    tables: list[NftTable], file: str, vendor: str, warnings: list[tuple[Location | None, str]]
) -> Ruleset:
    stages = []
    for t in tables:
        if t.family not in FAMILIES:
            for c in t.chains.values():
                if c.rules or c.policy != "accept":
                    warnings.append(
                        (
                            c.location,
                            Msg(
                                "warn.firewall.nftables_common.table_family_not_evaluated",
                                family=t.family,
                                table=t.name,
                            ),
                        )
                    )
                    break
            continue
        conv = _Converter(t, file, warnings)
        prog = ChainProgram(file=file, table=f"{t.family} {t.name}")
        for c in t.chains.values():
            if c.base and c.type == "nat":
                if c.rules:
                    warnings.append(
                        (
                            c.location,
                            Msg(
                                "warn.firewall.nftables_common.nat_chain_address_translation_not",
                                family=t.family,
                                table=t.name,
                                chain=c.name,
                            ),
                        )
                    )
                continue
            prog.chains[c.name] = conv.chain_rules(c)
        for c in t.chains.values():
            if not c.base or c.type == "nat":
                continue
            if c.hook not in IP_HOOKS:
                warnings.append(
                    (
                        c.location,
                        Msg(
                            "warn.firewall.nftables_common.chain_hook_not_evaluated",
                            family=t.family,
                            table=t.name,
                            chain=c.name,
                            hook=c.hook,
                        ),
                    )
                )
                continue
            if c.policy not in ("accept", "drop"):
                raise InputError(
                    Msg("error.firewall.nftables_common.bad_policy", policy=c.policy),
                    file,
                    c.location.line if c.location else None,
                )
            prog.base.append(
                BaseChain(
                    c.name,
                    c.hook,
                    c.priority,
                    c.policy,
                    FAMILIES[t.family],
                    f"{t.family} {t.name}",
                    c.location,
                )
            )
        stages.extend(prog.stages())
    stages.sort(key=lambda s: (IP_HOOKS.index(s.hook), s.priority))
    return Ruleset(device="", vendor=vendor, source=file, stages=stages, warnings=warnings)


__all__ = ["build_ruleset", "conj_all"]
