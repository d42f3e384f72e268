"""What an allow-rule selector covers in the topology: zones, tiers and concrete nodes.

Shared by the structural checks, the allow-rule contract checks and the zone matrix.
"""

from __future__ import annotations

from segverify.topology.model import AllowRule, Node, Selector, Topology, Zone


def selector_zones(topology: Topology, sel: Selector) -> list[Zone]:
    """Zones an endpoint matched by ``sel`` can be in."""
    zones = list(topology.zones.values())
    if sel.zone is not None:
        zones = [z for z in zones if z.id == sel.zone]
    if sel.tier is not None:
        zones = [z for z in zones if z.tier == sel.tier]
    if sel.node is not None or sel.role is not None:
        wanted = {z for n in selector_nodes(topology, sel) for z in n.zones}
        zones = [z for z in zones if z.id in wanted]
    if sel.prefixes:
        zones = [z for z in zones if _prefixes_touch(sel, z, topology)]
    return zones


def _prefixes_touch(sel: Selector, zone: Zone, topology: Topology) -> bool:
    for p in sel.prefixes:
        if any(p.version == zp.version and p.overlaps(zp) for zp in zone.prefixes):
            return True
        if zone.tier == "internet" and not any(
            p.version == zp.version and p.subnet_of(zp)
            for z in topology.zones.values()
            if z.tier != "internet"
            for zp in z.prefixes
        ):
            return True
    return False


def selector_nodes(topology: Topology, sel: Selector) -> list[Node]:
    """Concrete nodes a selector names (by id or role); empty for zone/tier/prefix selectors."""
    if sel.node is None and sel.role is None:
        return []
    nodes = list(topology.nodes.values())
    if sel.node is not None:
        nodes = [n for n in nodes if n.id == sel.node]
    if sel.role is not None:
        nodes = [n for n in nodes if n.role == sel.role]
    if sel.zone is not None:
        nodes = [n for n in nodes if sel.zone in n.zones]
    if sel.tier is not None:
        nodes = [n for n in nodes if any(topology.zones[z].tier == sel.tier for z in n.zones)]
    return nodes


def is_zone_wide(sel: Selector) -> bool:
    return sel.node is None and sel.role is None and not sel.prefixes


def is_pinned(topology: Topology, sel: Selector) -> bool:
    """Pinned to specific hosts: a node whose addresses are all hosts, or host prefixes only."""
    if sel.node is not None:
        node = topology.nodes[sel.node]
        return bool(node.addresses) and all(a.num_addresses == 1 for a in node.addresses)
    if sel.prefixes:
        return all(p.num_addresses == 1 for p in sel.prefixes)
    return False


def ports_pinned(rule: AllowRule, max_range: int = 16) -> bool:
    """Specific ports: every service names a protocol and a few ports (ICMP needs no port)."""
    for spec in rule.services:
        if spec.proto is None:
            return False
        wide = not spec.ports or any(r.hi - r.lo + 1 > max_range for r in spec.ports)
        if spec.proto in (6, 17, 132) and wide:
            return False
    return True


def rules_between(topology: Topology, a: str, b: str) -> list[AllowRule]:
    """Allow rules that can carry traffic between zones ``a`` and ``b`` (either direction)."""
    out = []
    for rule in topology.policy.allow:
        src = {z.id for z in selector_zones(topology, rule.src)}
        dst = {z.id for z in selector_zones(topology, rule.dst)}
        if (a in src and b in dst) or (b in src and a in dst):
            out.append(rule)
    return out
