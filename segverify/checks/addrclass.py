"""Vectorised address classification: sorted interval tables, one ``searchsorted`` per call.

The declared address space of a topology (zone prefixes, node addresses) is laminar:
two prefixes are nested or disjoint. Cutting the address line at every prefix boundary
gives elementary segments; every address inside one segment has the same longest-prefix
match (node over zone at equal length, as :class:`segverify.checks.policy.AddressIndex`),
the same special-range label and the same membership in allow-rule selector prefixes.
Each distinct combination is an *address class*; a table of segment starts per IP
version maps any address to its class with one binary search.

Addresses no declared prefix covers fall into the default (internet) zone, as before, but
are marked: ``match`` is ``none``, and ``special`` names the private or documentation
range (RFC 1918, RFC 6598, ULA, 198.18/15, TEST-NETs…) they belong to, if any. Those are
the "undeclared internal addresses" a topology must declare before a capture can be
called clean. IPv4-mapped IPv6 addresses (``::ffff:a.b.c.d``) classify as their IPv4
address.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import numpy as np

from segverify.checks.policy import Endpoint
from segverify.topology.model import IPNetwork, Topology

# Private-use, shared, benchmarking, documentation and link-local ranges: an address in
# one of them is never "the internet" by default. (prefix, label)
SPECIAL_RANGES: tuple[tuple[str, str], ...] = (
    ("10.0.0.0/8", "RFC 1918"),
    ("172.16.0.0/12", "RFC 1918"),
    ("192.168.0.0/16", "RFC 1918"),
    ("100.64.0.0/10", "RFC 6598"),
    ("198.18.0.0/15", "RFC 2544"),
    ("192.0.2.0/24", "RFC 5737"),
    ("198.51.100.0/24", "RFC 5737"),
    ("203.0.113.0/24", "RFC 5737"),
    ("169.254.0.0/16", "RFC 3927"),
    ("127.0.0.0/8", "RFC 1122"),
    ("fc00::/7", "RFC 4193"),
    ("fe80::/10", "RFC 4291"),
    ("2001:db8::/32", "RFC 3849"),
    ("3fff::/20", "RFC 9637"),
    ("::1/128", "RFC 4291"),
)

MATCH_NODE, MATCH_PREFIX, MATCH_NONE = "node", "prefix", "none"
MASK64 = (1 << 64) - 1
MAPPED_HI = 0
MAPPED_TAG = 0xFFFF


@dataclass(frozen=True)
class AddressClass:
    """What every address of one class shares."""

    zone: str
    tier: str
    node: str | None
    role: str | None
    match: str  # node, prefix or none (the default zone)
    special: str | None  # the private/documentation range label, when match is none
    representative: str  # one address of the class (evaluates like every other one)

    def endpoint(self) -> Endpoint:
        return Endpoint(self.representative, self.zone, self.tier, self.node, self.role)

    @property
    def undeclared_internal(self) -> bool:
        return self.match == MATCH_NONE and self.special is not None


@dataclass(frozen=True)
class _Entry:
    network: IPNetwork
    zone: str
    tier: str
    node: str | None
    role: str | None


class AddressClassifier:
    """Address → class id for arrays of addresses (``version``, ``hi``, ``lo`` columns).

    IPv4 addresses sit in ``lo``; IPv6 ones are ``hi << 64 | lo``.
    """

    def __init__(self, topology: Topology) -> None:
        default = topology.default_zone
        entries: list[_Entry] = []
        for zone in topology.zones.values():
            entries.extend(_Entry(p, zone.id, zone.tier, None, None) for p in zone.prefixes)
        for node in topology.nodes.values():
            for iface in node.interfaces:
                tier = topology.zones[iface.zone].tier
                entries.extend(
                    _Entry(a, iface.zone, tier, node.id, node.role) for a in iface.addresses
                )
        selectors = sorted(
            {
                p
                for rule in topology.policy.allow
                for sel in (rule.src, rule.dst)
                for p in sel.prefixes
            },
            key=lambda p: (p.version, int(p.network_address), p.prefixlen),
        )
        special = [(ipaddress.ip_network(p), label) for p, label in SPECIAL_RANGES]
        self.classes: list[AddressClass] = []
        ids: dict[tuple[object, ...], int] = {}
        self._starts: dict[int, np.ndarray] = {}
        self._seg_class: dict[int, np.ndarray] = {}
        for version, bits in ((4, 32), (6, 128)):
            mine = [e for e in entries if e.network.version == version]
            lpm = _LongestPrefix(mine)
            sels = [p for p in selectors if p.version == version]
            specs = [(p, lab) for p, lab in special if p.version == version]
            cuts = {0}
            for net in [e.network for e in mine] + sels + [p for p, _ in specs]:
                cuts.add(int(net.network_address))
                end = int(net.broadcast_address) + 1
                if end < 1 << bits:
                    cuts.add(end)
            starts = sorted(cuts)
            seg_class = np.empty(len(starts), dtype=np.int32)
            for i, start in enumerate(starts):
                hit = lpm.lookup(start, bits)
                members = tuple(j for j, p in enumerate(sels) if _contains(p, start))
                if hit is None:
                    label = next((lab for p, lab in specs if _contains(p, start)), None)
                    key: tuple[object, ...] = (default.id, None, MATCH_NONE, label, members)
                    info = (default.id, default.tier, None, None, MATCH_NONE, label)
                else:
                    match = MATCH_NODE if hit.node else MATCH_PREFIX
                    key = (hit.zone, hit.node, match, None, members)
                    info = (hit.zone, hit.tier, hit.node, hit.role, match, None)
                cid = ids.get(key)
                if cid is None:
                    cid = ids[key] = len(self.classes)
                    addr = (
                        ipaddress.ip_address(start)
                        if version == 4
                        else ipaddress.IPv6Address(start)
                    )
                    self.classes.append(AddressClass(*info, representative=str(addr)))  # type: ignore[arg-type]
                seg_class[i] = cid
            self._seg_class[version] = seg_class
            if version == 4:
                self._starts[4] = np.array(starts, dtype=np.uint64)
            else:
                self._starts[6] = np.array([s >> 64 for s in starts], dtype=np.uint64)
                self._starts[7] = np.array([s & MASK64 for s in starts], dtype=np.uint64)

    def classify(self, version: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        """Class ids (``int32``) of the addresses given as columns."""
        version = np.asarray(version)
        hi = np.asarray(hi, dtype=np.uint64)
        lo = np.asarray(lo, dtype=np.uint64)
        out = np.empty(len(version), dtype=np.int32)
        mapped = (
            (version == 6) & (hi == np.uint64(MAPPED_HI)) & ((lo >> np.uint64(32)) == MAPPED_TAG)
        )
        v4 = (version == 4) | mapped
        if v4.any():
            addr = lo[v4] & np.uint64(0xFFFFFFFF)
            pos = np.searchsorted(self._starts[4], addr, side="right") - 1
            out[v4] = self._seg_class[4][pos]
        v6 = ~v4
        if v6.any():
            out[v6] = self._seg_class[6][self._search6(hi[v6], lo[v6])]
        return out

    def classify_text(self, addresses: list[str]) -> np.ndarray:
        """Class ids for addresses as text (small inputs: tests, ``explain``)."""
        version = np.empty(len(addresses), dtype=np.uint8)
        hi = np.zeros(len(addresses), dtype=np.uint64)
        lo = np.zeros(len(addresses), dtype=np.uint64)
        for i, text in enumerate(addresses):
            ip = ipaddress.ip_address(text)
            value = int(ip)
            version[i] = ip.version
            hi[i] = value >> 64
            lo[i] = value & MASK64
        return self.classify(version, hi, lo)

    def _search6(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        """Index of the last segment start <= (hi, lo), lexicographically."""
        bh, bl = self._starts[6], self._starts[7]
        left = np.searchsorted(bh, hi, side="left")
        right = np.searchsorted(bh, hi, side="right")
        pos = left - 1
        tie = np.nonzero(right > left)[0]
        if len(tie):
            for start in np.unique(left[tie]):
                sel = tie[left[tie] == start]
                stop = int(right[sel[0]])
                k = np.searchsorted(bl[start:stop], lo[sel], side="right")
                pos[sel] = start + k - 1
        return pos


def _contains(net: IPNetwork, value: int) -> bool:
    return int(net.network_address) <= value <= int(net.broadcast_address)


class _LongestPrefix:
    """Longest-prefix match over integer addresses (node wins at equal length)."""

    def __init__(self, entries: list[_Entry]) -> None:
        by_len: dict[int, dict[int, _Entry]] = {}
        for e in entries:
            slot = by_len.setdefault(e.network.prefixlen, {})
            key = int(e.network.network_address)
            if key not in slot or (e.node and not slot[key].node):
                slot[key] = e
        self._tables = sorted(by_len.items(), key=lambda kv: -kv[0])

    def lookup(self, value: int, bits: int) -> _Entry | None:
        for plen, table in self._tables:
            key = (value >> (bits - plen)) << (bits - plen) if plen else 0
            hit = table.get(key)
            if hit is not None:
                return hit
        return None
