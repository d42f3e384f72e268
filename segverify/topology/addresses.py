"""Longest-prefix classification of addresses to zone and node (``AddressIndex``).

Shared by the policy evaluator (checks), the header-space policy (engine) and the lab
planner: it lives with the topology model so no stage imports a higher one.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from segverify.topology.model import IPNetwork, Topology

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def canonical_ip(address: str | IPAddress) -> IPAddress:
    """The address a flow end classifies as: an IPv4-mapped IPv6 address (``::ffff:a.b.c.d``,
    ::ffff:0:0/96) is its IPv4 address ``a.b.c.d``; every other address is itself.

    IPv4-compatible (``::a.b.c.d``) and NAT64 (64:ff9b::/96) addresses stay IPv6.
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if ip.version == 6:
        mapped = ip.ipv4_mapped  # type: ignore[union-attr]
        if mapped is not None:
            return mapped
    return ip


@dataclass(frozen=True)
class Endpoint:
    """A classified address: its zone (longest-prefix match) and node (exact match)."""

    address: str
    zone: str
    tier: str
    node: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class IndexEntry:
    network: IPNetwork
    zone: str
    tier: str
    node: str | None
    role: str | None


class AddressIndex:
    """Longest-prefix classification of addresses to zone and node.

    Node addresses win over zone prefixes of the same length; addresses covered by nothing
    fall into the topology's internet zone.
    """

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.default = topology.default_zone
        entries: list[IndexEntry] = []
        for zone in topology.zones.values():
            for prefix in zone.prefixes:
                entries.append(IndexEntry(prefix, zone.id, zone.tier, None, None))
        for node in topology.nodes.values():
            for iface in node.interfaces:
                tier = topology.zones[iface.zone].tier
                for addr in iface.addresses:
                    entries.append(IndexEntry(addr, iface.zone, tier, node.id, node.role))
        self.entries = tuple(entries)
        # per version: prefix length (descending) → {network address int → entry}
        self._tables: dict[int, list[tuple[int, dict[int, IndexEntry]]]] = {}
        for version in (4, 6):
            by_len: dict[int, dict[int, IndexEntry]] = {}
            for e in entries:
                if e.network.version != version:
                    continue
                slot = by_len.setdefault(e.network.prefixlen, {})
                key = int(e.network.network_address)
                if key not in slot or (e.node and not slot[key].node):
                    slot[key] = e
            self._tables[version] = sorted(by_len.items(), key=lambda kv: -kv[0])

    def lookup(self, address: str | IPAddress) -> IndexEntry | None:
        ip = canonical_ip(address)
        value = int(ip)
        bits = ip.max_prefixlen
        for plen, table in self._tables[ip.version]:
            key = (value >> (bits - plen)) << (bits - plen) if plen else 0
            hit = table.get(key)
            if hit is not None:
                return hit
        return None

    def classify(self, address: str | IPAddress) -> Endpoint:
        """Zone, node and role of ``address``; ``Endpoint.address`` is its canonical form."""
        ip = canonical_ip(address)
        hit = self.lookup(ip)
        if hit is None:
            return Endpoint(str(ip), self.default.id, self.default.tier)
        return Endpoint(str(ip), hit.zone, hit.tier, hit.node, hit.role)
