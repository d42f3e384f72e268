"""Policy evaluation for one flow: classify both endpoints, then find the deciding rule.

Order: same zone (or same tier) → allowed; a tier rule switched off → allowed; the first
allow rule that matches → allowed; otherwise forbidden by the tier rule governing the pair
(R1..R5) or by the default deny for cross-zone traffic.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from segverify.errors import InputError
from segverify.topology.addresses import AddressIndex, Endpoint, canonical_ip
from segverify.topology.model import (
    INTERNAL_TIERS,
    AllowRule,
    Selector,
    Topology,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def check_same_family(src: IPAddress, dst: IPAddress) -> None:
    """A flow has one address family (after unmapping): mixing them is bad input."""
    if src.version != dst.version:
        params = {
            "src": str(src),
            "dst": str(dst),
            "src_version": src.version,
            "dst_version": dst.version,
        }
        raise InputError(
            f"source {src} is IPv{src.version} but destination {dst} is IPv{dst.version}:"
            " a flow has one address family",
            key="error.mixed_families",
            params=params,
        )


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    decided_by: str  # allow-rule id, tier rule id (R1..R5), "intra-zone", "default-deny"…
    rule: str | None  # tier rule governing the pair (R1..R5), if any
    clauses: tuple[str, ...]
    reason: str  # machine-readable reason code
    src: Endpoint
    dst: Endpoint
    allow_rule: AllowRule | None = None


def selector_matches(sel: Selector, ep: Endpoint) -> bool:
    if sel.zone is not None and ep.zone != sel.zone:
        return False
    if sel.tier is not None and ep.tier != sel.tier:
        return False
    if sel.node is not None and ep.node != sel.node:
        return False
    if sel.role is not None and ep.role != sel.role:
        return False
    if sel.prefixes:
        ip = canonical_ip(ep.address)
        if not any(ip.version == p.version and ip in p for p in sel.prefixes):
            return False
    return True


def fqdn_matches(names: Iterable[str], patterns: Iterable[str]) -> bool:
    """True when any observed name matches an allow-list entry (``*.x`` matches subdomains)."""
    pats = [p.lower().rstrip(".") for p in patterns]
    for name in names:
        n = name.lower().rstrip(".")
        for p in pats:
            if p.startswith("*."):
                if n.endswith(p[1:]) and n != p[2:]:
                    return True
            elif n == p:
                return True
    return False


def rule_matches(
    rule: AllowRule,
    src: Endpoint,
    dst: Endpoint,
    proto: int,
    dport: int | None,
    names: tuple[str, ...] = (),
) -> bool:
    if not selector_matches(rule.src, src) or not selector_matches(rule.dst, dst):
        return False
    return service_and_names_match(rule, proto, dport, names)


def service_and_names_match(
    rule: AllowRule, proto: int, dport: int | None, names: tuple[str, ...] = ()
) -> bool:
    """The part of :func:`rule_matches` after the endpoints: a service, then the names."""
    if not any(s.matches(proto, dport) for s in rule.services):
        return False
    if rule.fqdns or rule.fqdn_required:
        return fqdn_matches(names, rule.fqdns)
    return True


class PolicyEvaluator:
    """Evaluates flows against one topology's policy. Build once, call per flow."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.index = AddressIndex(topology)
        # A verdict depends on the endpoints' classes (zone, tier, node, role), the protocol,
        # port and names — and on the addresses only when some allow rule names prefixes.
        self._by_address = any(r.src.prefixes or r.dst.prefixes for r in topology.policy.allow)
        self._memo: dict[
            tuple[object, ...], tuple[bool, str, str | None, tuple[str, ...], str, AllowRule | None]
        ] = {}
        # per endpoint pair: the allow rules whose selectors match both (policy order)
        self._pairs: dict[tuple[object, ...], tuple[AllowRule, ...]] = {}

    def evaluate(
        self,
        src: str | IPAddress,
        dst: str | IPAddress,
        proto: int,
        dport: int | None = None,
        names: Iterable[str] = (),
    ) -> Verdict:
        s, d = canonical_ip(src), canonical_ip(dst)
        check_same_family(s, d)
        return self.evaluate_endpoints(
            self.index.classify(s), self.index.classify(d), proto, dport, tuple(names)
        )

    def evaluate_endpoints(
        self,
        s: Endpoint,
        d: Endpoint,
        proto: int,
        dport: int | None = None,
        names: tuple[str, ...] = (),
    ) -> Verdict:
        key = (
            (s.address, d.address) if self._by_address else None,
            s.zone,
            s.tier,
            s.node,
            s.role,
            d.zone,
            d.tier,
            d.node,
            d.role,
            proto,
            dport,
            names,
        )
        hit = self._memo.get(key)
        if hit is None:
            v = self._decide(s, d, proto, dport, names)
            self._memo[key] = (v.allowed, v.decided_by, v.rule, v.clauses, v.reason, v.allow_rule)
            return v
        return Verdict(hit[0], hit[1], hit[2], hit[3], hit[4], s, d, hit[5])

    def _decide(
        self, s: Endpoint, d: Endpoint, proto: int, dport: int | None, names: tuple[str, ...]
    ) -> Verdict:
        policy = self.topology.policy
        if s.zone == d.zone:
            return Verdict(True, "intra-zone", None, (), "intra-zone", s, d)
        if s.tier == d.tier:
            return Verdict(True, "intra-tier", None, (), "same-tier", s, d)
        tier_rule = policy.rule_for(s.tier, d.tier)
        if tier_rule and not policy.rules[tier_rule].enforced:
            return Verdict(True, tier_rule, tier_rule, (), "rule-not-enforced", s, d)
        for rule in self.candidates(s, d):  # rule_matches, selectors checked per pair
            if service_and_names_match(rule, proto, dport, names):
                return Verdict(
                    True, rule.id, rule.rule or tier_rule, rule.clauses, "allow-rule", s, d, rule
                )
        if s.tier not in INTERNAL_TIERS and d.tier not in INTERNAL_TIERS:
            return Verdict(True, "external", None, (), "outside-municipality", s, d)
        if tier_rule:
            tr = policy.rules[tier_rule]
            reason = "fqdn-not-allowed" if self.fqdn_gap(s, d, proto, dport) else "no-allow-rule"
            return Verdict(False, tier_rule, tier_rule, tr.clauses + tr.guideline, reason, s, d)
        return Verdict(False, "default-deny", None, (), "no-allow-rule", s, d)

    def candidates(self, s: Endpoint, d: Endpoint) -> tuple[AllowRule, ...]:
        """The allow rules whose source and destination selectors match ``s`` and ``d``,
        in policy order (computed once per endpoint pair): only these can match a flow
        between them, by service and names."""
        key: tuple[object, ...] = (
            (s, d)
            if self._by_address
            else (s.zone, s.tier, s.node, s.role, d.zone, d.tier, d.node, d.role)
        )
        got = self._pairs.get(key)
        if got is None:
            got = self._pairs[key] = tuple(
                r
                for r in self.topology.policy.allow
                if selector_matches(r.src, s) and selector_matches(r.dst, d)
            )
        return got

    def fqdn_gap(self, s: Endpoint, d: Endpoint, proto: int, dport: int | None) -> bool:
        """True when an FQDN-restricted rule would allow the flow but for its names (the
        rule with its FQDN restriction lifted matches)."""
        return any(
            any(svc.matches(proto, dport) for svc in r.services)
            for r in self.candidates(s, d)
            if r.fqdns or r.fqdn_required
        )
