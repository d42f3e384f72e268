"""The topology's policy as header space: for an ordered zone pair, the packets it allows.

Mirrors ``checks.policy.PolicyEvaluator`` exactly (a test compares both on random packets):
addresses are classified by longest prefix over zone prefixes and node addresses (a node
wins over a zone prefix of the same length; addresses nothing covers are the internet
zone; an IPv4-mapped IPv6 address is its IPv4 address, as ``canonical_ip`` has it); then same zone or same tier → allowed, tier rule switched off → allowed, an allow
rule (selectors + services) → allowed, both ends outside the municipality → allowed, else
forbidden. FQDN-restricted allow rules cannot be decided on packet headers: they allow
nothing here, and the packets they would allow are kept apart as ``fqdn_gap`` so findings
can say "needs FQDN filtering".
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from segverify.engine.space import PORT_PROTOS, HeaderSpace
from segverify.topology.addresses import AddressIndex, IndexEntry
from segverify.topology.model import (
    INTERNAL_TIERS,
    AllowRule,
    IPNetwork,
    Selector,
    ServiceSpec,
    Topology,
)

MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")  # IPv4-mapped IPv6 addresses


def mapped_network(net: ipaddress.IPv4Network) -> ipaddress.IPv6Network:
    """``a.b.c.d/n`` as the IPv4-mapped IPv6 prefix ``::ffff:a.b.c.d/(96+n)``."""
    return ipaddress.IPv6Network(
        (int(MAPPED.network_address) | int(net.network_address), 96 + net.prefixlen)
    )


@dataclass
class AddrClass:
    """Addresses that classify identically (same zone, node, role)."""

    zone: str
    tier: str
    node: str | None
    role: str | None
    src: Any = None
    dst: Any = None


@dataclass
class PairPolicy:
    src_zone: str
    dst_zone: str
    tier_rule: str | None  # R1..R5 governing the pair
    clauses: tuple[str, ...]
    allowed: Any  # packets (src in A, dst in B) the policy allows
    forbidden: Any  # packets (src in A, dst in B) it forbids
    fqdn_gap: Any  # forbidden packets an FQDN-restricted rule would allow
    allow_rules: list[AllowRule] = field(default_factory=list)  # rules that may apply
    # allowed packets a host can actually send: no IPv4-mapped address at either end (RFC
    # 4291 2.5.5.2: those never appear on the wire; Linux drops them on receipt). A sanctioned
    # flow "blocked" only in its mapped twin is no finding.
    sanctioned: Any = None


class PolicySpace:
    def __init__(self, space: HeaderSpace, topology: Topology) -> None:
        self.space = space
        self.topology = topology
        self.index = AddressIndex(topology)
        self.classes = self._classes()
        mapped_src, mapped_dst = space.prefix("src", MAPPED), space.prefix("dst", MAPPED)
        # a packet between an IPv4-mapped and a plain IPv6 address mixes families: the policy
        # judges no such flow (the evaluator refuses it as bad input)
        self.same_family = (mapped_src & mapped_dst) | (~mapped_src & ~mapped_dst)
        self.unmapped = ~mapped_src & ~mapped_dst
        self.zone_src: dict[str, Any] = {}
        self.zone_dst: dict[str, Any] = {}
        for c in self.classes:
            self.zone_src[c.zone] = self.zone_src.get(c.zone, space.false) | c.src
            self.zone_dst[c.zone] = self.zone_dst.get(c.zone, space.false) | c.dst
        for z in topology.zones:
            self.zone_src.setdefault(z, space.false)
            self.zone_dst.setdefault(z, space.false)
        self._service_cache: dict[tuple[ServiceSpec, ...], Any] = {}
        self._pairs: dict[tuple[str, str], PairPolicy] = {}

    def _classes(self) -> list[AddrClass]:
        """Partition the address space exactly as ``AddressIndex.lookup`` does."""
        sp = self.space
        winners: dict[tuple[int, int, int], IndexEntry] = {}
        for e in self.index.entries:  # same tie rule as AddressIndex: first, nodes over zones
            key = (e.network.version, e.network.prefixlen, int(e.network.network_address))
            if key not in winners or (e.node and not winners[key].node):
                winners[key] = e
        by_class: dict[tuple[str, str | None], AddrClass] = {}
        claimed = {4: sp.false, 6: sp.false}
        for key in sorted(winners, key=lambda k: -k[1]):
            e = winners[key]
            v = e.network.version
            whole = self.family_prefix("src", e.network)
            src = whole & ~claimed[v]
            claimed[v] = claimed[v] | whole
            c = by_class.setdefault(
                (e.zone, e.node), AddrClass(e.zone, e.tier, e.node, e.role, sp.false)
            )
            c.src = c.src | src
        default = self.topology.default_zone
        rest = ~(claimed[4] | claimed[6])
        c = by_class.setdefault(
            (default.id, None), AddrClass(default.id, default.tier, None, None, sp.false)
        )
        c.src = c.src | rest
        out = [c for c in by_class.values() if c.src != sp.false]
        for c in out:
            c.dst = self._to_dst(c.src)
        return out

    def family_prefix(self, fname: str, net: IPNetwork) -> Any:
        """Addresses of ``fname`` in ``net`` as the topology classifies them
        (``topology.addresses.canonical_ip``): an IPv4 prefix also holds its IPv4-mapped
        IPv6 twin, and an IPv6 prefix never holds a mapped address (those are IPv4)."""
        sp = self.space
        if net.version == 4:
            return sp.prefix(fname, net) | sp.prefix(fname, mapped_network(net))
        return sp.prefix(fname, net) & ~sp.prefix(fname, MAPPED)

    def family_addresses(self, fname: str, prefixes: tuple[IPNetwork, ...]) -> Any:
        u = self.space.false
        for net in prefixes:
            u = u | self.family_prefix(fname, net)
        return u

    def _to_dst(self, u: Any) -> Any:
        sp = self.space
        rename = dict(zip(sp.fields["src"].vars, sp.fields["dst"].vars, strict=False))
        return sp.bdd.let(rename, u)

    def services(self, specs: tuple[ServiceSpec, ...]) -> Any:
        hit = self._service_cache.get(specs)
        if hit is not None:
            return hit
        sp = self.space
        u = sp.false
        for s in specs:
            m = sp.true if s.proto is None else sp.value("proto", s.proto)
            if s.ports:
                ports = sp.false
                for r in s.ports:
                    ports = ports | sp.interval("dport", r.lo, r.hi)
                m = m & sp.protos(PORT_PROTOS) & ports
            u = u | m
        self._service_cache[specs] = u
        return u

    @staticmethod
    def _class_matches(sel: Selector, c: AddrClass) -> bool:
        if sel.zone is not None and c.zone != sel.zone:
            return False
        if sel.tier is not None and c.tier != sel.tier:
            return False
        if sel.node is not None and c.node != sel.node:
            return False
        return not (sel.role is not None and c.role != sel.role)

    def pair(self, a: str, b: str) -> PairPolicy:
        hit = self._pairs.get((a, b))
        if hit is None:
            hit = self._build_pair(a, b)
            self._pairs[(a, b)] = hit
        return hit

    def _build_pair(self, a: str, b: str) -> PairPolicy:
        sp = self.space
        topo = self.topology
        policy = topo.policy
        za, zb = topo.zones[a], topo.zones[b]
        region = self.zone_src[a] & self.zone_dst[b] & self.same_family
        tier_rule = policy.rule_for(za.tier, zb.tier)
        clauses: tuple[str, ...] = ()
        if tier_rule:
            tr = policy.rules[tier_rule]
            clauses = tr.clauses + tr.guideline
        if a == b or za.tier == zb.tier or (tier_rule and not policy.rules[tier_rule].enforced):
            return self._pair(a, b, tier_rule, clauses, region, sp.false, sp.false)
        if za.tier not in INTERNAL_TIERS and zb.tier not in INTERNAL_TIERS:
            return self._pair(a, b, tier_rule, clauses, region, sp.false, sp.false)
        allowed = sp.false
        gap = sp.false
        used: list[AllowRule] = []
        srcs = [c for c in self.classes if c.zone == a]
        dsts = [c for c in self.classes if c.zone == b]
        for rule in policy.allow:
            rs = [c for c in srcs if self._class_matches(rule.src, c)]
            rd = [c for c in dsts if self._class_matches(rule.dst, c)]
            if not rs or not rd:
                continue
            s_set = sp.false
            for c in rs:
                s_set = s_set | c.src
            d_set = sp.false
            for c in rd:
                d_set = d_set | c.dst
            if rule.src.prefixes:
                s_set = s_set & self.family_addresses("src", rule.src.prefixes)
            if rule.dst.prefixes:
                d_set = d_set & self.family_addresses("dst", rule.dst.prefixes)
            m = s_set & d_set & self.services(rule.services)
            if m == sp.false:
                continue
            used.append(rule)
            if rule.fqdns or rule.fqdn_required:
                gap = gap | m
            else:
                allowed = allowed | m
        allowed = allowed & region
        forbidden = region & ~allowed
        return self._pair(a, b, tier_rule, clauses, allowed, forbidden, gap & forbidden, used)

    def _pair(
        self,
        a: str,
        b: str,
        tier_rule: str | None,
        clauses: tuple[str, ...],
        allowed: Any,
        forbidden: Any,
        gap: Any,
        used: list[AllowRule] | None = None,
    ) -> PairPolicy:
        pp = PairPolicy(a, b, tier_rule, clauses, allowed, forbidden, gap, used or [])
        pp.sanctioned = allowed & self.unmapped
        return pp
