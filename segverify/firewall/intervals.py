"""Interval algebra: address sets and port sets as merged integer intervals (union,
complement, intersection), and the small-set conjunctions the match algebra uses."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from segverify.firewall.model import (
    AddressSet,
    PortSet,
)
from segverify.topology.model import PortRange

Interval = tuple[int, int]


# ---------------------------------------------------------------- addresses


# the decimal texts ``ipaddress`` accepts for an IPv4 octet and a prefix length (no leading
# zeros): the common ``a.b.c.d[/n]`` is decoded from them, anything else by ``ipaddress``
_OCTETS = {str(i): i for i in range(256)}
_V4_PREFIXES = {str(i): i for i in range(33)}


def parse_address(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """``10.0.0.1``, ``10.0.0.0/8``, ``10.0.0.0/255.0.0.0``, ``2001:db8::/32`` (host bits
    ignored, as iptables does). Raises ValueError."""
    text = text.strip()
    addr, slash, plen = text.partition("/")
    octets = addr.split(".")
    if len(octets) == 4:
        a, b, c, d = (_OCTETS.get(o) for o in octets)
        n = _V4_PREFIXES.get(plen) if slash else 32
        if a is not None and b is not None and c is not None and d is not None and n is not None:
            # the same network as ip_network(text), without parsing the text again
            return ipaddress.IPv4Network(((a << 24) | (b << 16) | (c << 8) | d, n), strict=False)
    return ipaddress.ip_network(text, strict=False)


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text.strip())


def _aset_intervals(aset: AddressSet) -> tuple[list[Interval], list[Interval]]:
    v4: list[Interval] = []
    v6: list[Interval] = []
    for p in aset.prefixes:
        # network .. broadcast address, without building the two address objects
        lo = int(p.network_address)
        hi = lo | ((1 << (p.max_prefixlen - p.prefixlen)) - 1)
        (v4 if p.version == 4 else v6).append((lo, hi))
    for lo, hi in aset.ranges:
        (v4 if lo.version == 4 else v6).append((int(lo), int(hi)))
    v4, v6 = merge(v4), merge(v6)
    if aset.negated:
        v4 = complement(v4, 0, 2**32 - 1)
        v6 = complement(v6, 0, 2**128 - 1)
    return v4, v6


def merge(iv: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for lo, hi in sorted(iv):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def complement(iv: list[Interval], lo: int, hi: int) -> list[Interval]:
    out: list[Interval] = []
    cur = lo
    for a, b in merge(iv):
        if a > cur:
            out.append((cur, a - 1))
        cur = max(cur, b + 1)
    if cur <= hi:
        out.append((cur, hi))
    return out


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _aset_from_intervals(v4: list[Interval], v6: list[Interval], name: str = "") -> AddressSet:
    prefixes: list = []
    ranges: list = []
    for version, ivs in ((4, v4), (6, v6)):
        cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
        for lo, hi in ivs:
            nets = list(ipaddress.summarize_address_range(cls(lo), cls(hi)))
            if len(nets) <= 2:
                prefixes.extend(nets)
            else:
                ranges.append((cls(lo), cls(hi)))
    return AddressSet(prefixes=tuple(prefixes), ranges=tuple(ranges), name=name)


def aset_families(aset: AddressSet) -> set[int]:
    """Families the set can match (a negated set matches both)."""
    if aset.negated:
        return {4, 6}
    fams = {p.version for p in aset.prefixes} | {lo.version for lo, _ in aset.ranges}
    return fams


def aset_conj(
    a: AddressSet | None, b: AddressSet | None, family: int | None
) -> AddressSet | None | bool:
    """Intersection; ``False`` when empty (for ``family``)."""
    if a is None:
        return b
    if b is None or a == b:
        return a
    if a.negated and b.negated:
        return AddressSet(
            prefixes=tuple(dict.fromkeys(a.prefixes + b.prefixes)),
            ranges=tuple(dict.fromkeys(a.ranges + b.ranges)),
            negated=True,
            name=a.name or b.name,
        )
    a4, a6 = _aset_intervals(a)
    b4, b6 = _aset_intervals(b)
    v4 = intersect(a4, b4) if family in (None, 4) else []
    v6 = intersect(a6, b6) if family in (None, 6) else []
    if not v4 and not v6:
        return False
    return _aset_from_intervals(v4, v6, a.name or b.name)


def aset_is_empty(a: AddressSet, family: int | None) -> bool:
    if not a.negated:
        # a union of prefixes and ranges is empty exactly when it has no entry (of the
        # family): the intervals are only needed for a complement
        if family != 4 and family != 6:
            return not a.prefixes and not a.ranges
        return all(p.version != family for p in a.prefixes) and all(
            lo.version != family for lo, _ in a.ranges
        )
    v4, v6 = _aset_intervals(a)
    if family == 4:
        return not v4
    if family == 6:
        return not v6
    return not v4 and not v6


# ---------------------------------------------------------------- ports and small sets


def port_intervals(p: PortSet) -> list[Interval]:
    iv = merge((r.lo, r.hi) for r in p.ranges)
    return complement(iv, 0, 65535) if p.negated else iv


def ports_conj(a: PortSet | None, b: PortSet | None) -> PortSet | None | bool:
    if a is None:
        return b
    if b is None or a == b:
        return a
    if a.negated and b.negated:
        return PortSet(
            tuple(
                PortRange(lo, hi) for lo, hi in merge([(r.lo, r.hi) for r in a.ranges + b.ranges])
            ),
            negated=True,
        )
    iv = intersect(port_intervals(a), port_intervals(b))
    if not iv:
        return False
    return PortSet(tuple(PortRange(lo, hi) for lo, hi in iv))


def numset_conj(
    a: tuple[int, ...] | None, an: bool, b: tuple[int, ...] | None, bn: bool
) -> tuple[tuple[int, ...] | None, bool] | bool:
    """Conjunction of two (set, negated) constraints; ``False`` when empty."""
    if a is None:
        return b, bn
    if b is None:
        return a, an
    if an and bn:
        return tuple(sorted(set(a) | set(b))), True
    if not an and not bn:
        s = tuple(sorted(set(a) & set(b)))
    elif an:
        s = tuple(sorted(set(b) - set(a)))
    else:
        s = tuple(sorted(set(a) - set(b)))
    return (s, False) if s else False
