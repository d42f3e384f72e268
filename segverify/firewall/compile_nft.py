"""Compile a normalised ``Ruleset`` to an ``nft -f`` script (any parser's output → kernel).

Stages restricted to one family go to table ``ip segverify`` / ``ip6 segverify``, the rest
to ``inet segverify``; one base chain per stage with its hook, priority and policy. A
rule whose fields need a disjunction in nft (an address set holding both families, or
several wildcard interface names) becomes several nft rules with the same verdict.
Zones (``in_zones``) compile to the interface names ``Ruleset.interfaces`` maps to them.
Rules with unknown matches or an unknown verdict cannot be compiled: an ``InputError``,
or with ``skip_unknown=True`` a ``#`` comment in their place.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from segverify.errors import InputError
from segverify.firewall.intervals import (
    _aset_from_intervals,
    _aset_intervals,
    merge,
    port_intervals,
)
from segverify.firewall.model import PORT_PROTOCOLS, AddressSet, PortSet, Rule, Ruleset, Stage
from segverify.i18n import Msg

TABLE = "segverify"


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _set(items: list[str]) -> str:
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _addr_items(a: AddressSet, family: int) -> list[str]:
    """The set's items of one family, merged (nft rejects overlapping set elements)."""
    v4, v6 = _aset_intervals(replace(a, negated=False))
    merged = _aset_from_intervals(v4 if family == 4 else [], v6 if family == 6 else [])
    return [str(p) for p in merged.prefixes] + [f"{lo}-{hi}" for lo, hi in merged.ranges]


def _ports(p: PortSet) -> tuple[str, list[str]]:
    merged = merge((r.lo, r.hi) for r in p.ranges)
    items = [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in merged]
    return ("!= " if p.negated else ""), items


def _ifaces(r: Rule, side: str, interfaces: dict[str, str]) -> list[list[str]]:
    """Alternatives (each a list of nft match fragments) for one interface side."""
    key = "iifname" if side == "in" else "oifname"
    names = getattr(r, f"{side}_interfaces")
    exc = list(getattr(r, f"{side}_interfaces_except"))
    if getattr(r, f"{side}_interfaces_negated") and names is not None:
        exc += list(names)
        names = None
    zones = getattr(r, f"{side}_zones")
    if names is None and zones is not None:
        names = tuple(n for n, z in interfaces.items() if z in zones)
        if not names:
            return []  # no interface in those zones: the rule never matches
    fixed = [f"{key} != {_q(e)}" for e in exc]
    if names is None:
        return [fixed]
    if len(names) > 1 and any("*" in n for n in names):
        return [[f"{key} {_q(n)}"] + fixed for n in names]
    return [[f"{key} {_set([_q(n) for n in names])}"] + fixed]


def _family_frags(r: Rule, family: int) -> list[str] | None:
    """Fragments for one family, or None when the rule cannot match that family."""
    ipk = "ip" if family == 4 else "ip6"
    frags: list[str] = []
    for name, field in (("saddr", r.src), ("daddr", r.dst)):
        if field is None:
            continue
        items = _addr_items(field, family)
        if field.negated:
            if items:
                frags.append(f"{ipk} {name} != {_set(items)}")
        else:
            if not items:
                return None
            frags.append(f"{ipk} {name} {_set(items)}")
    if not frags:
        frags.append(f"meta nfproto {'ipv4' if family == 4 else 'ipv6'}")
    protos: set[int] | None = None
    if r.protocols is not None:
        protos = set(range(256)) - set(r.protocols) if r.protocols_negated else set(r.protocols)
    if r.sports is not None or r.dports is not None:
        protos = set(PORT_PROTOCOLS) if protos is None else protos & set(PORT_PROTOCOLS)
    icmp_proto = 1 if family == 4 else 58
    if r.icmp_types is not None or r.icmp_code is not None:
        protos = {icmp_proto} if protos is None else protos & {icmp_proto}
    if protos is not None:
        if not protos:
            return None
        if r.protocols_negated and r.sports is None and r.dports is None and r.icmp_types is None:
            frags.append(f"meta l4proto != {_set([str(p) for p in sorted(r.protocols or ())])}")
        else:
            frags.append(f"meta l4proto {_set([str(p) for p in sorted(protos)])}")
    for name, ports in (("sport", r.sports), ("dport", r.dports)):
        if ports is not None:
            if not port_intervals(ports):
                return None
            neg, items = _ports(ports)
            frags.append(f"th {name} {neg}{_set(items)}")
    ik = "icmp" if family == 4 else "icmpv6"
    if r.icmp_types is not None:
        neg = "!= " if r.icmp_types_negated else ""
        frags.append(f"{ik} type {neg}{_set([str(t) for t in r.icmp_types])}")
    if r.icmp_code is not None:
        frags.append(f"{ik} code {r.icmp_code}")
    if r.tcp_flags is not None:
        mask, value = r.tcp_flags
        frags.append(f"tcp flags & {_flag_names(mask)} == {_flag_names(value)}")
    return frags


FLAG_NAMES = ("fin", "syn", "rst", "psh", "ack", "urg", "ecn", "cwr")


def _flag_names(bits: int) -> str:
    names = [n for i, n in enumerate(FLAG_NAMES) if bits >> i & 1]
    return "|".join(names) if names else "0x0"


def compile_rule(r: Rule, interfaces: dict[str, str], stage_family: int | None) -> list[str]:
    """nft rule lines (without indentation) for one model rule."""
    if r.call is not None:
        raise InputError(
            Msg("error.firewall.compile_nft.shared_chain_call", chain=r.call.chain),
            r.location.file if r.location else None,
            r.location.line if r.location else None,
        )
    if r.action not in ("accept", "drop", "reject"):
        raise InputError(
            Msg("error.firewall.compile_nft.cannot_compile_verdict", action=r.action),
            r.location.file if r.location else None,
            r.location.line if r.location else None,
        )
    if r.unknown:
        raise InputError(
            Msg("error.firewall.compile_nft.cannot_compile_unknown_match", text=r.unknown[0].text),
            r.location.file if r.location else None,
            r.location.line if r.location else None,
        )
    fams = [4, 6] if stage_family is None else [stage_family]
    if r.family is not None:
        fams = [f for f in fams if f == r.family]
    if not r.enabled:
        return []
    fam_alts = [(f, fr) for f in fams if (fr := _family_frags(r, f)) is not None]
    if (
        stage_family is None
        and len(fam_alts) == 2
        and fam_alts[0][1][1:] == fam_alts[1][1][1:]
        and r.src is None
        and r.dst is None
        and r.icmp_types is None
        and r.icmp_code is None
    ):
        fam_alts = [(0, fam_alts[0][1][1:])]  # both families, nothing family-specific
    elif stage_family is not None:
        fam_alts = [(f, [x for x in fr if not x.startswith("meta nfproto")]) for f, fr in fam_alts]
    lines = []
    ct = [f"ct state {_set(list(r.ct_states))}"] if r.ct_states is not None else []
    comment = (r.name or r.comment).replace("\n", " ")[:120]
    tail = r.action + (f" comment {_q(comment)}" if comment else "")
    for (_, ff), i_alt, o_alt in itertools.product(
        fam_alts, _ifaces(r, "in", interfaces), _ifaces(r, "out", interfaces)
    ):
        lines.append(" ".join(i_alt + o_alt + ff + ct + [tail]))
    return lines


def _chain_name(k: int, s: Stage) -> str:
    safe = "".join(c if c.isalnum() else "_" for c in s.name)
    return f"s{k}_{safe}"[:60]


def to_nftables(ruleset: Ruleset, skip_unknown: bool = False) -> str:
    """An ``nft -f`` script equivalent to ``ruleset`` (flushes only its own tables)."""
    groups: dict[str, list[str]] = {"ip": [], "ip6": [], "inet": []}
    for k, s in enumerate(ruleset.stages):
        fam = {4: "ip", 6: "ip6", None: "inet"}[s.family]
        policy = "drop" if s.default_action in ("drop", "reject") else "accept"
        body = [
            f"\tchain {_chain_name(k, s)} {{",
            f"\t\tcomment {_q(s.name[:120])}",
            f"\t\ttype filter hook {s.hook} priority {s.priority}; policy {policy};",
        ]
        for r in s.rules:
            try:
                for line in compile_rule(r, ruleset.interfaces, s.family):
                    body.append("\t\t" + line)
            except InputError:
                if not skip_unknown:
                    raise
                body.append(
                    f"\t\t# segverify: not compiled: {r.text or r.action}".replace("\n", " ")
                )
        if s.default_action == "reject":
            body.append("\t\treject")
        body.append("\t}")
        groups[fam].extend(body)
    out = [f"# compiled by segverify from {ruleset.vendor} export {ruleset.source}"]
    for fam, body in groups.items():
        if not body:
            continue
        out.append(f"table {fam} {TABLE} {{")
        out.append("}")
        out.append(f"delete table {fam} {TABLE}")
        out.append(f"table {fam} {TABLE} {{")
        out.extend(body)
        out.append("}")
    return "\n".join(out) + "\n"


__all__ = ["compile_rule", "to_nftables"]
