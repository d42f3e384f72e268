"""Lowering of the netfilter-shaped ``Ruleset`` (the vendor model of the iptables, nft and
CSV parsers) into the vendor-independent ``Device`` (``segverify.firewall.ir``).

Each rule's conjunction of fields becomes an ``And`` of atoms; negated fields become
``Not``; unknown matches become ``Opaque("unknown")`` atoms; each base chain becomes a
stage scoped to its hook's paths, stages ordered by hook then priority. A rule that calls
a shared user chain (``Rule.call``) also matches ``ir.ChainVerdict`` of that chain, lowered
once per chain into an ``ir.Chain`` (``ChainLowering``).
"""

from __future__ import annotations

from typing import Any

from segverify.firewall import ir
from segverify.firewall.chains import rule_from_match
from segverify.firewall.ir import (
    HOOK_PATHS,
    ICMP_PROTOCOLS,
    NETFILTER_HOOKS,
    PORT_PROTOCOLS,
    Expr,
    Origin,
    all_of,
    any_of,
    negate,
)
from segverify.firewall.model import AddressSet, ChainCall, PortSet, Rule, Ruleset, Stage

_FAMILIES = {4: ir.Family(4), 6: ir.Family(6)}  # shared atoms (frozen)


def _addresses(field: str, a: AddressSet) -> Expr:
    atom = ir.Addresses(
        field, a.prefixes, a.ranges, Origin(kind="set", name=a.name) if a.name else ir.NO_ORIGIN
    )
    return negate(atom) if a.negated else atom


def _ports(field: str, p: PortSet) -> Expr:
    atom = ir.Ports(field, p.ranges)
    if p.negated:
        return all_of(ir.Protocols(PORT_PROTOCOLS), negate(atom))
    return atom


def _icmp(r: Rule) -> Expr:
    types = r.icmp_types
    if types is None and r.icmp_type is not None:
        types = (r.icmp_type,)
    if types is None:
        return ir.Icmp(None, r.icmp_code) if r.icmp_code is not None else ir.TRUE
    alts = any_of(*(ir.Icmp(t, None) for t in types))
    if r.icmp_types_negated:
        alts = all_of(ir.Protocols(ICMP_PROTOCOLS), negate(alts))
    if r.icmp_code is not None:
        alts = all_of(alts, ir.Icmp(None, r.icmp_code))
    return alts


def _ifaces(side: str, names: tuple[str, ...] | None, neg: bool, exc: tuple[str, ...]) -> Expr:
    if not exc:  # (the usual cases, without building a conjunction)
        if names is None:
            return ir.TRUE
        atom = ir.Interfaces(side, names)
        return negate(atom) if neg else atom
    parts: list[Expr] = []
    if names is not None:
        atom = ir.Interfaces(side, names)
        parts.append(negate(atom) if neg else atom)
    if exc:
        parts.append(negate(ir.Interfaces(side, exc)))
    return all_of(*parts)


def rule_expr(r: Rule) -> Expr:
    """The match expression of one flattened rule."""
    parts: list[Expr] = []
    if r.family is not None:
        parts.append(_FAMILIES.get(r.family) or ir.Family(r.family))
    parts.append(_ifaces("in", r.in_interfaces, r.in_interfaces_negated, r.in_interfaces_except))
    parts.append(
        _ifaces("out", r.out_interfaces, r.out_interfaces_negated, r.out_interfaces_except)
    )
    if r.in_interfaces is None and not r.in_interfaces_except and r.in_zones is not None:
        parts.append(ir.Zones("in", r.in_zones))
    if r.out_interfaces is None and not r.out_interfaces_except and r.out_zones is not None:
        parts.append(ir.Zones("out", r.out_zones))
    if r.protocols is not None:
        atom = ir.Protocols(r.protocols)
        parts.append(negate(atom) if r.protocols_negated else atom)
    if r.ct_states is not None:
        parts.append(ir.ConnState(r.ct_states))
    if r.tcp_flags is not None:
        parts.append(ir.TcpFlags(*r.tcp_flags))  # TCP only, by definition
    parts.append(_icmp(r))
    if r.sports is not None:
        parts.append(_ports("sport", r.sports))
    if r.dports is not None:
        parts.append(_ports("dport", r.dports))
    if r.src is not None:
        parts.append(_addresses("src", r.src))
    if r.dst is not None:
        parts.append(_addresses("dst", r.dst))
    for u in r.unknown:
        parts.append(ir.Opaque(u.kind, u.text, Origin(location=u.location, text=u.text)))
    return all_of(*parts)


class ChainLowering:
    """User chains of ``ChainProgram`` s → ``ir.Chain`` objects, each chain once."""

    def __init__(self) -> None:
        self._done: dict[tuple[int, str], ir.Chain] = {}
        self._keep: list[Any] = []  # the programs whose ids key ``_done``

    def verdict(self, call: ChainCall) -> Expr:
        return ir.ChainVerdict(self.chain(call.program, call.chain), call.outcome)

    def chain(self, program: Any, name: str) -> ir.Chain:
        key = (id(program), name)
        hit = self._done.get(key)
        if hit is not None:
            return hit
        self._keep.append(program)
        # callees first, iteratively (chains nest up to MAX_CHAIN_DEPTH; no loops)
        order: list[str] = []
        stack: list[tuple[str, bool]] = [(name, False)]
        while stack:
            n, expanded = stack.pop()
            if (id(program), n) in self._done or (expanded and n in order):
                continue
            if expanded:
                order.append(n)
                self._done[(id(program), n)] = self._lower(program, n)
                continue
            stack.append((n, True))
            for cr in program.chains.get(n, []):
                if cr.kind in ("jump", "goto") and (id(program), cr.target) not in self._done:
                    stack.append((cr.target, False))
        return self._done[key]

    def _lower(self, program: Any, name: str) -> ir.Chain:
        table = getattr(program, "table", "")
        rules: list[ir.Rule] = []
        for cr in program.chains.get(name, []):
            if cr.kind == "continue":
                continue
            origin = Origin(location=cr.location, text=cr.text, kind="rule", context=name)
            match = any_of(*(rule_expr(rule_from_match(cr.kind, m)) for m in cr.alts))
            target = None
            if cr.kind in ("jump", "goto"):
                target = self._done[(id(program), cr.target)]
            rules.append(ir.Rule(cr.kind, match, origin, comment=cr.comment, target=target))
        origin = Origin(kind="chain", name=name, context=table)
        return ir.Chain(f"{table}/{name}" if table else name, tuple(rules), origin)


def lower_rule(r: Rule) -> ir.Rule:
    origin = Origin(
        location=r.location,
        text=r.text,
        kind="rule",
        name=r.name,
        via=r.via,
        context=r.chain,
    )
    return ir.Rule(r.action, rule_expr(r), origin, enabled=r.enabled, comment=r.comment)


def _source_key(r: Rule) -> tuple:
    call = None if r.call is None else id(r.call)
    return (r.location, r.text, r.chain, r.via, r.action, r.enabled, r.name, call)


def lower_rules(
    rules: tuple[Rule, ...], chains: ChainLowering | None = None
) -> tuple[ir.Rule, ...]:
    """One IR rule per *source* rule: the parsers flatten a rule into consecutive flat rules
    (``multiport --ports`` = sport or dport; a CSV service group = one per member); those
    become one rule whose match is the ``Or`` of the pieces, so shadowing, redundancy and
    findings are judged per rule the user wrote (exact: the pieces are adjacent and share
    the action). A rule calling a shared chain matches the chain's outcome too; it is
    ``implicit`` (never judged shadowed or redundant by itself: its part of the jump)."""
    chains = chains if chains is not None else ChainLowering()
    out: list[ir.Rule] = []
    i = 0
    keys = [_source_key(r) for r in rules]
    while i < len(rules):
        j = i + 1
        while j < len(rules) and rules[i].location is not None and keys[j] == keys[i]:
            j += 1
        first = lower_rule(rules[i])
        call = rules[i].call
        if j - i > 1 or call is not None:
            m = any_of(*(rule_expr(r) for r in rules[i:j]))
            first = ir.Rule(
                first.action,
                m if call is None else all_of(m, chains.verdict(call)),
                first.origin,
                first.enabled,
                first.comment,
                implicit=call is not None,
            )
        out.append(first)
        i = j
    return tuple(out)


def lower_stage(s: Stage, chains: ChainLowering | None = None) -> ir.Stage:
    scope = ir.Scope(
        paths=HOOK_PATHS.get(s.hook, ("forward",)),
        hook=s.hook,
        priority=s.priority,
        family=s.family,
    )
    origin = Origin(location=s.location, kind="chain", name=s.name, context=s.table)
    return ir.Stage(s.name, lower_rules(s.rules, chains), s.default_action, scope, None, origin)


def lower_ruleset(rs: Ruleset) -> ir.Device:
    """The ``Device`` of a parsed netfilter/CSV ruleset (interfaces as named in rules)."""
    order = {h: i for i, h in enumerate(NETFILTER_HOOKS)}
    stages = sorted(rs.stages, key=lambda s: (order.get(s.hook, len(order)), s.priority))
    dev = ir.Device(name=rs.device, vendor=rs.vendor, source=rs.source)
    chains = ChainLowering()
    dev.stages = [lower_stage(s, chains) for s in stages]
    dev.warnings = list(rs.warnings)
    names: dict[str, None] = {}
    for r in (r for s in rs.stages for r in s.rules):
        for n in (
            *(r.in_interfaces or ()),
            *(r.out_interfaces or ()),
            *r.in_interfaces_except,
            *r.out_interfaces_except,
        ):
            names.setdefault(n, None)
        for z in (*(r.in_zones or ()), *(r.out_zones or ())):
            dev.zones.setdefault(z, ir.VendorZone(z, ()))
    for n in names:
        if n.endswith("*"):
            continue  # a pattern, not an interface
        dev.interfaces[n] = ir.Interface(n, zone=rs.interfaces.get(n))
    return dev
