"""Direct evaluation of a ``Ruleset`` on one packet, straight from the model (no BDDs).

An independent second reading of the model's semantics: tests use it to cross-check the
header-space engine, and brute-force enumerations use it as the reference.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from segverify.engine.space import ICMP_PROTOS, PORT_PROTOS, Packet
from segverify.firewall.model import AddressSet, PortSet, Rule, Ruleset

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _in_aset(aset: AddressSet, ip: IPAddress) -> bool:
    hit = any(ip.version == p.version and ip in p for p in aset.prefixes) or any(
        ip.version == lo.version and int(lo) <= int(ip) <= int(hi) for lo, hi in aset.ranges
    )
    return hit != aset.negated


def _in_ports(pset: PortSet, port: int) -> bool:
    return any(r.lo <= port <= r.hi for r in pset.ranges) != pset.negated


def _iface_match(patterns: Iterable[str], name: str) -> bool:
    for pat in patterns:
        if pat.endswith(("+", "*")):
            if name.startswith(pat[:-1]):
                return True
        elif pat == name:
            return True
    return False


def rule_matches(
    rule: Rule,
    pkt: Packet,
    iface_zone: dict[str, str] | None = None,
) -> bool | None:
    """True/False, or None when only an unknown match stands between (may match)."""
    src, dst = ipaddress.ip_address(pkt.src), ipaddress.ip_address(pkt.dst)
    if not rule.enabled:
        return False
    if rule.family is not None and rule.family != src.version:
        return False
    if rule.protocols is not None and (pkt.proto in rule.protocols) == rule.protocols_negated:
        return False
    if rule.ct_states is not None and pkt.ct_state not in rule.ct_states:
        return False
    for name, names, neg, exc, zones in (
        (
            pkt.in_interface,
            rule.in_interfaces,
            rule.in_interfaces_negated,
            rule.in_interfaces_except,
            rule.in_zones,
        ),
        (
            pkt.out_interface,
            rule.out_interfaces,
            rule.out_interfaces_negated,
            rule.out_interfaces_except,
            rule.out_zones,
        ),
    ):
        if names is None and not exc and zones is not None and iface_zone is not None:
            if iface_zone.get(name) not in zones:
                return False
        elif names is not None and _iface_match(names, name) == neg:
            return False
        if exc and _iface_match(exc, name):
            return False
    types = rule.icmp_types
    if types is None and rule.icmp_type is not None:
        types = (rule.icmp_type,)
    if types is not None or rule.icmp_code is not None:
        if pkt.proto not in ICMP_PROTOS:
            return False
        if types is not None and ((pkt.dport >> 8) in types) == rule.icmp_types_negated:
            return False
        if rule.icmp_code is not None and (pkt.dport & 0xFF) != rule.icmp_code:
            return False
    for pset, port in ((rule.sports, pkt.sport), (rule.dports, pkt.dport)):
        if pset is not None and (pkt.proto not in PORT_PROTOS or not _in_ports(pset, port)):
            return False
    if rule.src is not None and not _in_aset(rule.src, src):
        return False
    if rule.dst is not None and not _in_aset(rule.dst, dst):
        return False
    return None if rule.unknown else True


def evaluate(
    ruleset: Ruleset,
    pkt: Packet,
    path: str,
    iface_zone: dict[str, str] | None = None,
) -> str:
    """The device's verdict on the path: accept, drop, reject, or "unknown"."""
    version = ipaddress.ip_address(pkt.src).version
    for stage in ruleset.path_stages(path, version):
        verdict = stage.default_action
        for rule in stage.rules:
            m = rule_matches(rule, pkt, iface_zone)
            if m is None:
                return "unknown"
            if m:
                verdict = rule.action
                break
        if verdict != "accept":
            return verdict
    return "accept"
