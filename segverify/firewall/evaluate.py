"""A direct, packet-at-a-time evaluator of a ``Ruleset`` — the reference semantics.

Slow and simple on purpose: tests use it as an oracle (parser round trips, compiled nft
against the source, the BDD engine against brute force over small address spaces).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from segverify.firewall.base import iface_matches
from segverify.firewall.model import (
    ICMP_PROTOCOLS,
    PORT_PROTOCOLS,
    AddressSet,
    PortSet,
    Rule,
    Ruleset,
)


@dataclass(frozen=True)
class Packet:
    src: str
    dst: str
    proto: int
    sport: int = 0
    dport: int = 0
    icmp_type: int = 0
    icmp_code: int = 0
    iif: str = ""
    oif: str = ""
    ct_state: str = "new"

    @property
    def family(self) -> int:
        return ipaddress.ip_address(self.src).version


def _in_aset(a: AddressSet, addr: str) -> bool:
    ip = ipaddress.ip_address(addr)
    hit = any(ip.version == p.version and ip in p for p in a.prefixes) or any(
        ip.version == lo.version and lo <= ip <= hi
        for lo, hi in a.ranges  # type: ignore[operator]
    )
    return hit != a.negated


def _in_ports(p: PortSet, port: int) -> bool:
    return any(r.contains(port) for r in p.ranges) != p.negated


def _iface(names: tuple[str, ...] | None, exc: tuple[str, ...], negated: bool, name: str) -> bool:
    if names is not None:
        hit = any(iface_matches(n, name) for n in names)
        if hit == negated:
            return False
    return not any(iface_matches(e, name) for e in exc)


def rule_matches(r: Rule, p: Packet, interfaces: dict[str, str] | None = None) -> bool | None:
    """True/False; None when the rule has unknown matches and the rest matches."""
    if r.family is not None and r.family != p.family:
        return False
    if r.src is not None and not _in_aset(r.src, p.src):
        return False
    if r.dst is not None and not _in_aset(r.dst, p.dst):
        return False
    if r.protocols is not None and (p.proto in r.protocols) == r.protocols_negated:
        return False
    for ports, value in ((r.sports, p.sport), (r.dports, p.dport)):
        if ports is not None and (p.proto not in PORT_PROTOCOLS or not _in_ports(ports, value)):
            return False
    if r.icmp_types is not None or r.icmp_code is not None:
        if p.proto not in ICMP_PROTOCOLS:
            return False
        if r.icmp_types is not None and (p.icmp_type in r.icmp_types) == r.icmp_types_negated:
            return False
        if r.icmp_code is not None and r.icmp_code != p.icmp_code:
            return False
    if not _iface(r.in_interfaces, r.in_interfaces_except, r.in_interfaces_negated, p.iif):
        return False
    if not _iface(r.out_interfaces, r.out_interfaces_except, r.out_interfaces_negated, p.oif):
        return False
    if interfaces is not None:
        if r.in_zones is not None and interfaces.get(p.iif) not in r.in_zones:
            return False
        if r.out_zones is not None and interfaces.get(p.oif) not in r.out_zones:
            return False
    if r.ct_states is not None and p.ct_state not in r.ct_states:
        return False
    if r.unknown:
        return None
    return True


def evaluate(ruleset: Ruleset, packet: Packet, path: str = "forward") -> tuple[str, list[Rule]]:
    """Final verdict ("accept", "drop", "reject", "unknown") and the deciding rules.

    A rule with an unknown match that would otherwise match makes the verdict "unknown".
    """
    deciding: list[Rule] = []
    zones = ruleset.interfaces or None
    for stage in ruleset.path_stages(path, packet.family):
        verdict = stage.default_action
        for r in stage.rules:
            if not r.enabled:
                continue
            m = rule_matches(r, packet, zones)
            if m is None:
                return "unknown", deciding + [r]
            if m:
                verdict = r.action
                deciding.append(r)
                break
        if verdict != "accept":
            return verdict, deciding
    return "accept", deciding
