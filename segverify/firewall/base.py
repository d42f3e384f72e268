"""Shared machinery for the parsers: the match algebra and chain inlining.

A ``Match`` is the condition part of a rule (a conjunction of fields, the same fields and
meaning as ``model.Rule``). Parsers describe each source rule as a list of alternative
matches (a disjunction, e.g. ``multiport --ports`` = sport or dport) plus a target; the
``ChainProgram`` then inlines jumps/gotos/RETURN into flat first-match ``Stage`` lists:

* a terminal rule emits one flat rule per (live guard ∧ alternative);
* ``jump`` walks the callee with guard ∧ match (packets that come back simply continue:
  those that got a verdict inside are already taken by the earlier flat rules);
* ``RETURN`` / ``goto`` remove their packets from the rest of the chain (guard ∧ ¬match,
  split into disjoint alternatives); in a base chain they send them to the policy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from segverify.errors import InputError
from segverify.firewall.model import (
    CT_STATES,
    ICMP_PROTOCOLS,
    PORT_PROTOCOLS,
    AddressSet,
    PortSet,
    Rule,
    Stage,
    UnknownMatch,
)
from segverify.topology.model import Location, PortRange

MAX_ALTERNATIVES = 20000

PROTOCOLS = {
    "icmp": 1,
    "igmp": 2,
    "ipip": 4,
    "ipencap": 4,
    "tcp": 6,
    "egp": 8,
    "udp": 17,
    "dccp": 33,
    "ipv6": 41,
    "rsvp": 46,
    "gre": 47,
    "esp": 50,
    "ah": 51,
    "icmpv6": 58,
    "ipv6-icmp": 58,
    "icmp6": 58,
    "ospf": 89,
    "ospfigp": 89,
    "pim": 103,
    "vrrp": 112,
    "l2tp": 115,
    "sctp": 132,
    "udplite": 136,
}

ICMP_TYPES = {
    "echo-reply": 0,
    "pong": 0,
    "destination-unreachable": 3,
    "source-quench": 4,
    "redirect": 5,
    "echo-request": 8,
    "ping": 8,
    "router-advertisement": 9,
    "router-solicitation": 10,
    "time-exceeded": 11,
    "ttl-exceeded": 11,
    "parameter-problem": 12,
    "timestamp-request": 13,
    "timestamp-reply": 14,
    "info-request": 15,
    "info-reply": 16,
    "address-mask-request": 17,
    "address-mask-reply": 18,
}
ICMPV6_TYPES = {
    "destination-unreachable": 1,
    "packet-too-big": 2,
    "time-exceeded": 3,
    "ttl-exceeded": 3,
    "parameter-problem": 4,
    "echo-request": 128,
    "ping": 128,
    "echo-reply": 129,
    "pong": 129,
    "mld-listener-query": 130,
    "mld-listener-report": 131,
    "mld-listener-done": 132,
    "mld-listener-reduction": 132,
    "nd-router-solicit": 133,
    "router-solicitation": 133,
    "nd-router-advert": 134,
    "router-advertisement": 134,
    "nd-neighbor-solicit": 135,
    "neighbour-solicitation": 135,
    "neighbor-solicitation": 135,
    "nd-neighbor-advert": 136,
    "neighbour-advertisement": 136,
    "neighbor-advertisement": 136,
    "nd-redirect": 137,
    "redirect": 137,
    "router-renumbering": 138,
    "ind-neighbor-solicit": 141,
    "ind-neighbor-advert": 142,
    "mld2-listener-report": 143,
}
# iptables icmp type names that also fix the code: name -> (type, code)
ICMP_TYPE_CODES = {
    "network-unreachable": (3, 0),
    "host-unreachable": (3, 1),
    "protocol-unreachable": (3, 2),
    "port-unreachable": (3, 3),
    "fragmentation-needed": (3, 4),
    "source-route-failed": (3, 5),
    "network-unknown": (3, 6),
    "host-unknown": (3, 7),
    "network-prohibited": (3, 9),
    "host-prohibited": (3, 10),
    "TOS-network-unreachable": (3, 11),
    "TOS-host-unreachable": (3, 12),
    "communication-prohibited": (3, 13),
    "host-precedence-violation": (3, 14),
    "precedence-cutoff": (3, 15),
    "network-redirect": (5, 0),
    "host-redirect": (5, 1),
    "TOS-network-redirect": (5, 2),
    "TOS-host-redirect": (5, 3),
    "ttl-zero-during-transit": (11, 0),
    "ttl-zero-during-reassembly": (11, 1),
    "ip-header-bad": (12, 0),
    "required-option-missing": (12, 1),
}

SERVICES = {
    "ftp-data": 20,
    "ftp": 21,
    "ssh": 22,
    "telnet": 23,
    "smtp": 25,
    "domain": 53,
    "dns": 53,
    "bootps": 67,
    "bootpc": 68,
    "tftp": 69,
    "http": 80,
    "www": 80,
    "kerberos": 88,
    "pop3": 110,
    "sunrpc": 111,
    "ntp": 123,
    "netbios-ns": 137,
    "netbios-dgm": 138,
    "netbios-ssn": 139,
    "imap": 143,
    "imap2": 143,
    "snmp": 161,
    "snmp-trap": 162,
    "bgp": 179,
    "ldap": 389,
    "https": 443,
    "microsoft-ds": 445,
    "isakmp": 500,
    "syslog": 514,
    "submission": 587,
    "ldaps": 636,
    "imaps": 993,
    "pop3s": 995,
    "ms-sql-s": 1433,
    "openvpn": 1194,
    "radius": 1812,
    "nfs": 2049,
    "mysql": 3306,
    "ms-wbt-server": 3389,
    "rdp": 3389,
    "ipsec-nat-t": 4500,
    "postgresql": 5432,
    "http-alt": 8080,
    "webcache": 8080,
}

Interval = tuple[int, int]


# ---------------------------------------------------------------- addresses


def parse_address(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """``10.0.0.1``, ``10.0.0.0/8``, ``10.0.0.0/255.0.0.0``, ``2001:db8::/32`` (host bits
    ignored, as iptables does). Raises ValueError."""
    return ipaddress.ip_network(text.strip(), strict=False)


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text.strip())


def _aset_intervals(aset: AddressSet) -> tuple[list[Interval], list[Interval]]:
    v4: list[Interval] = []
    v6: list[Interval] = []
    for p in aset.prefixes:
        (v4 if p.version == 4 else v6).append((int(p.network_address), int(p.broadcast_address)))
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


# ---------------------------------------------------------------- interfaces


def iface_matches(pattern: str, name: str) -> bool:
    if pattern.endswith("*"):
        return name.startswith(pattern[:-1])
    return name == pattern


def _pattern_meet(a: str, b: str) -> str | None:
    aw, bw = a.endswith("*"), b.endswith("*")
    if not aw and not bw:
        return a if a == b else None
    if aw and not bw:
        return b if iface_matches(a, b) else None
    if bw and not aw:
        return a if iface_matches(b, a) else None
    pa, pb = a[:-1], b[:-1]
    if pa.startswith(pb):
        return a
    if pb.startswith(pa):
        return b
    return None


def _pattern_covered(pattern: str, by: Iterable[str]) -> bool:
    """True when every name ``pattern`` matches is matched by one of ``by``."""
    for q in by:
        if q.endswith("*") and pattern.startswith(q[:-1]):
            return True
        if q == pattern:
            return True
    return False


def ifaces_conj(
    a: tuple[str, ...] | None, ae: tuple[str, ...], b: tuple[str, ...] | None, be: tuple[str, ...]
) -> tuple[tuple[str, ...] | None, tuple[str, ...]] | bool:
    exc = tuple(dict.fromkeys(ae + be))
    if a is None:
        pos = b
    elif b is None:
        pos = a
    else:
        meets = [_pattern_meet(x, y) for x in a for y in b]
        pos = tuple(dict.fromkeys(m for m in meets if m is not None))
    if pos is not None:
        pos = tuple(p for p in pos if not _pattern_covered(p, exc))
        if not pos:
            return False
        exc = tuple(e for e in exc if any(_pattern_meet(e, p) is not None for p in pos))
    return pos, exc


# ---------------------------------------------------------------- matches


@dataclass(frozen=True)
class Match:
    """The condition part of a rule; fields and meaning as in ``model.Rule``."""

    family: int | None = None
    in_interfaces: tuple[str, ...] | None = None
    in_interfaces_except: tuple[str, ...] = ()
    out_interfaces: tuple[str, ...] | None = None
    out_interfaces_except: tuple[str, ...] = ()
    src: AddressSet | None = None
    dst: AddressSet | None = None
    protocols: tuple[int, ...] | None = None
    protocols_negated: bool = False
    sports: PortSet | None = None
    dports: PortSet | None = None
    icmp_types: tuple[int, ...] | None = None
    icmp_types_negated: bool = False
    icmp_code: int | None = None
    ct_states: tuple[str, ...] | None = None
    unknown: tuple[UnknownMatch, ...] = ()
    tcp_flags: tuple[int, int] | None = None  # (mask, value)


ANY = Match()


def flags_conj(
    a: tuple[int, int] | None, b: tuple[int, int] | None
) -> tuple[int, int] | None | bool:
    if a is None:
        return b
    if b is None:
        return a
    if (a[1] ^ b[1]) & a[0] & b[0]:
        return False
    return (a[0] | b[0], (a[1] & a[0]) | (b[1] & b[0]))


def flags_negation(f: tuple[int, int]) -> list[tuple[int, int]]:
    """¬(flags & mask == value) as disjoint (mask, value) alternatives: the first bit of
    the mask (low to high) that differs."""
    mask, value = f
    out = []
    seen = 0
    for b in range(8):
        bit = 1 << b
        if mask & bit:
            out.append((seen | bit, (value & seen) | (~value & bit)))
            seen |= bit
    return out


def conj(a: Match, b: Match) -> Match | None:
    """Both must hold; None when no packet can match both."""
    if a is ANY:
        return normalise(b)
    if b is ANY:
        return normalise(a)
    if a.family is not None and b.family is not None and a.family != b.family:
        return None
    family = a.family if a.family is not None else b.family
    ii = ifaces_conj(
        a.in_interfaces, a.in_interfaces_except, b.in_interfaces, b.in_interfaces_except
    )
    oi = ifaces_conj(
        a.out_interfaces, a.out_interfaces_except, b.out_interfaces, b.out_interfaces_except
    )
    src = aset_conj(a.src, b.src, family)
    dst = aset_conj(a.dst, b.dst, family)
    pr = numset_conj(a.protocols, a.protocols_negated, b.protocols, b.protocols_negated)
    sp = ports_conj(a.sports, b.sports)
    dp = ports_conj(a.dports, b.dports)
    it = numset_conj(a.icmp_types, a.icmp_types_negated, b.icmp_types, b.icmp_types_negated)
    fl = flags_conj(a.tcp_flags, b.tcp_flags)
    if fl is False:
        return None
    if a.icmp_code is not None and b.icmp_code is not None and a.icmp_code != b.icmp_code:
        return None
    if a.ct_states is None:
        ct = b.ct_states
    elif b.ct_states is None:
        ct = a.ct_states
    else:
        ct = tuple(s for s in a.ct_states if s in b.ct_states)
        if not ct:
            return None
    if False in (ii, oi, src, dst, pr, sp, dp, it):
        return None
    assert isinstance(ii, tuple) and isinstance(oi, tuple)
    assert isinstance(pr, tuple) and isinstance(it, tuple)
    m = Match(
        family=family,
        in_interfaces=ii[0],
        in_interfaces_except=ii[1],
        out_interfaces=oi[0],
        out_interfaces_except=oi[1],
        src=src,  # type: ignore[arg-type]
        dst=dst,  # type: ignore[arg-type]
        protocols=pr[0],
        protocols_negated=pr[1],
        sports=sp,  # type: ignore[arg-type]
        dports=dp,  # type: ignore[arg-type]
        icmp_types=it[0],
        icmp_types_negated=it[1],
        icmp_code=a.icmp_code if a.icmp_code is not None else b.icmp_code,
        ct_states=ct,
        unknown=tuple(dict.fromkeys(a.unknown + b.unknown)),
        tcp_flags=fl,  # type: ignore[arg-type]
    )
    return normalise(m)


def normalise(m: Match) -> Match | None:
    """Drop matches no packet satisfies (family/address/protocol contradictions)."""
    fams = {4, 6} if m.family is None else {m.family}
    for aset in (m.src, m.dst):
        if aset is not None:
            fams &= aset_families(aset)
    if not fams:
        return None
    for aset in (m.src, m.dst):
        if aset is not None and (aset.negated or len(fams) == 1) and aset_is_empty(aset, m.family):
            return None
    if m.sports is not None or m.dports is not None:
        if numset_conj(m.protocols, m.protocols_negated, PORT_PROTOCOLS, False) is False:
            return None
        for p in (m.sports, m.dports):
            if p is not None and not port_intervals(p):
                return None
    has_icmp = m.icmp_types is not None or m.icmp_code is not None
    if has_icmp and numset_conj(m.protocols, m.protocols_negated, ICMP_PROTOCOLS, False) is False:
        return None
    if (
        m.tcp_flags is not None
        and numset_conj(m.protocols, m.protocols_negated, (6,), False) is False
    ):
        return None
    if m.protocols is not None and not m.protocols_negated and not m.protocols:
        return None
    if m.ct_states is not None and not m.ct_states:
        return None
    return m


def _field_negations(m: Match) -> Iterator[tuple[Match, Match]]:
    """(prefix, negated field) pairs: ¬m = ∨_i (fields before i) ∧ ¬field_i."""
    prefix = ANY
    steps: list[tuple[Match, list[Match]]] = []
    if m.family is not None:
        steps.append((Match(family=m.family), [Match(family=10 - m.family)]))
    if m.in_interfaces is not None or m.in_interfaces_except:
        f = Match(in_interfaces=m.in_interfaces, in_interfaces_except=m.in_interfaces_except)
        neg = []
        if m.in_interfaces is not None:
            neg.append(Match(in_interfaces_except=m.in_interfaces))
        if m.in_interfaces_except:
            neg.append(Match(in_interfaces=m.in_interfaces_except))
        steps.append((f, neg))
    if m.out_interfaces is not None or m.out_interfaces_except:
        f = Match(out_interfaces=m.out_interfaces, out_interfaces_except=m.out_interfaces_except)
        neg = []
        if m.out_interfaces is not None:
            neg.append(Match(out_interfaces_except=m.out_interfaces))
        if m.out_interfaces_except:
            neg.append(Match(out_interfaces=m.out_interfaces_except))
        steps.append((f, neg))
    for name in ("src", "dst"):
        aset = getattr(m, name)
        if aset is not None:
            steps.append(
                (Match(**{name: aset}), [Match(**{name: replace(aset, negated=not aset.negated)})])
            )
    if m.protocols is not None:
        steps.append(
            (
                Match(protocols=m.protocols, protocols_negated=m.protocols_negated),
                [Match(protocols=m.protocols, protocols_negated=not m.protocols_negated)],
            )
        )
    for name in ("sports", "dports"):
        p = getattr(m, name)
        if p is not None:
            neg = [
                Match(protocols=PORT_PROTOCOLS, protocols_negated=True),
                Match(**{name: replace(p, negated=not p.negated)}),
            ]
            steps.append((Match(**{name: p}), neg))
    if m.icmp_types is not None:
        f = Match(icmp_types=m.icmp_types, icmp_types_negated=m.icmp_types_negated)
        neg = [
            Match(protocols=ICMP_PROTOCOLS, protocols_negated=True),
            Match(icmp_types=m.icmp_types, icmp_types_negated=not m.icmp_types_negated),
        ]
        steps.append((f, neg))
    if m.icmp_code is not None:
        steps.append(
            (
                Match(icmp_code=m.icmp_code),
                [
                    Match(protocols=ICMP_PROTOCOLS, protocols_negated=True),
                    Match(unknown=(UnknownMatch(f"icmp code != {m.icmp_code}"),)),
                ],
            )
        )
    if m.tcp_flags is not None:
        neg = [Match(protocols=(6,), protocols_negated=True)]
        neg += [Match(tcp_flags=f) for f in flags_negation(m.tcp_flags)]
        steps.append((Match(tcp_flags=m.tcp_flags), neg))
    if m.ct_states is not None:
        rest = tuple(s for s in CT_STATES if s not in m.ct_states)
        steps.append((Match(ct_states=m.ct_states), [Match(ct_states=rest)] if rest else []))
    if m.unknown:
        text = "not (" + " and ".join(u.text for u in m.unknown) + ")"
        kinds = {u.kind for u in m.unknown}
        kind = "unknown" if "unknown" in kinds or len(kinds) > 1 else kinds.pop()
        steps.append(
            (
                Match(unknown=m.unknown),
                [Match(unknown=(UnknownMatch(text, m.unknown[0].location, kind),))],
            )
        )
    for f, negs in steps:
        for n in negs:
            yield prefix, n
        nxt = conj(prefix, f)
        if nxt is None:
            return
        prefix = nxt


def negate(m: Match) -> list[Match]:
    """¬m as a list of pairwise disjoint alternatives (empty list: m matches everything)."""
    out: list[Match] = []
    for prefix, n in _field_negations(m):
        c = conj(prefix, n)
        if c is not None:
            out.append(c)
    return out


def conj_all(guards: list[Match], alts: list[Match]) -> list[Match]:
    out = []
    for g in guards:
        for a in alts:
            c = conj(g, a)
            if c is not None:
                out.append(c)
    return out


def minus(guards: list[Match], alts: list[Match]) -> list[Match]:
    """guards ∧ ¬(a1 ∨ a2 ∨ …)."""
    for a in alts:
        guards = conj_all(guards, negate(a))
    return guards


# ---------------------------------------------------------------- chain programs


@dataclass
class ChainRule:
    """One vendor rule: alternatives (disjunction of matches) and a target.

    ``kind``: accept | drop | reject | unknown | return | jump | goto | continue.
    """

    alts: list[Match]
    kind: str
    target: str = ""
    location: Location | None = None
    text: str = ""
    comment: str = ""


@dataclass
class BaseChain:
    name: str
    hook: str
    priority: int
    policy: str
    family: int | None = None
    table: str = ""
    location: Location | None = None


@dataclass
class ChainProgram:
    """Chains of one vendor export, ready to be inlined into stages."""

    chains: dict[str, list[ChainRule]] = field(default_factory=dict)
    base: list[BaseChain] = field(default_factory=list)
    file: str = ""

    def stages(self) -> list[Stage]:
        out = []
        for bc in self.base:
            rules: list[Rule] = []
            self._walk(bc, bc.name, [ANY], rules, [bc.name], (), top=True)
            out.append(
                Stage(
                    name=f"{bc.table}/{bc.name}" if bc.table else bc.name,
                    hook=bc.hook,
                    priority=bc.priority,
                    rules=tuple(rules),
                    default_action=bc.policy,
                    family=bc.family,
                    table=bc.table,
                    location=bc.location,
                )
            )
        return out

    def _walk(
        self,
        bc: BaseChain,
        chain: str,
        guards: list[Match],
        out: list[Rule],
        stack: list[str],
        via: tuple[Location, ...],
        top: bool,
    ) -> None:
        for cr in self.chains.get(chain, []):
            if not guards:
                return
            if len(guards) > MAX_ALTERNATIVES or len(out) > 50 * MAX_ALTERNATIVES:
                raise InputError(
                    "ruleset too complex to inline (RETURN/goto alternatives explode)",
                    self.file,
                    cr.location.line if cr.location else None,
                )
            if cr.kind == "continue":
                continue
            hits = conj_all(guards, cr.alts)
            if cr.kind in ("accept", "drop", "reject", "unknown"):
                for h in hits:
                    out.append(_rule(cr.kind, h, cr, stack, via))
            elif cr.kind == "return":
                if top:
                    for h in hits:
                        out.append(_rule(bc.policy, h, cr, stack, via))
                else:
                    guards = minus(guards, cr.alts)
            elif cr.kind in ("jump", "goto"):
                if cr.target not in self.chains:
                    raise InputError(
                        f"{cr.kind} to undefined chain {cr.target!r}",
                        self.file,
                        cr.location.line if cr.location else None,
                    )
                if cr.target in stack:
                    loop = " -> ".join(stack[stack.index(cr.target) :] + [cr.target])
                    raise InputError(
                        f"chain loop: {loop}", self.file, cr.location.line if cr.location else None
                    )
                if hits:
                    loc = (cr.location,) if cr.location else ()
                    self._walk(bc, cr.target, hits, out, stack + [cr.target], via + loc, top=False)
                if cr.kind == "goto":
                    if top:
                        for h in hits:
                            out.append(_rule(bc.policy, h, cr, stack, via))
                    else:
                        guards = minus(guards, cr.alts)
            else:  # pragma: no cover - parsers only produce the kinds above
                raise ValueError(cr.kind)


def _rule(
    action: str, m: Match, cr: ChainRule, stack: list[str], via: tuple[Location, ...]
) -> Rule:
    return rule_from_match(
        action,
        m,
        location=cr.location,
        text=cr.text,
        comment=cr.comment,
        chain=">".join(stack),
        via=via,
    )


def rule_from_match(action: str, m: Match, **meta: object) -> Rule:
    kw = {f.name: getattr(m, f.name) for f in fields(Match)}
    it = m.icmp_types
    kw["icmp_type"] = (
        it[0] if it is not None and len(it) == 1 and not m.icmp_types_negated else None
    )
    return Rule(action=action, **kw, **meta)  # type: ignore[arg-type]


def match_of(rule: Rule) -> Match:
    return Match(**{f.name: getattr(rule, f.name) for f in fields(Match)})


# ---------------------------------------------------------------- input


def read_text(path: str) -> str:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a firewall export", path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path) from None
    if b"\0" in data[:4096]:
        raise InputError("binary file, not a firewall export", path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None


def parse_port(text: str, file: str = "", line: int | None = None) -> int:
    t = text.strip()
    if t.isdigit():
        v = int(t)
    elif t.lower() in SERVICES:
        v = SERVICES[t.lower()]
    else:
        raise InputError(f"bad port {text!r}", file, line)
    if not 0 <= v <= 65535:
        raise InputError(f"port {v} out of range", file, line)
    return v


def parse_port_range(text: str, sep: str, file: str = "", line: int | None = None) -> PortRange:
    if sep in text:
        a, b = text.split(sep, 1)
        lo = parse_port(a, file, line) if a else 0
        hi = parse_port(b, file, line) if b else 65535
        if lo > hi:
            lo, hi = hi, lo
        return PortRange(lo, hi)
    p = parse_port(text, file, line)
    return PortRange(p, p)


def parse_protocol(text: str) -> int | None:
    t = text.strip().lower()
    if t.isdigit() and 0 <= int(t) <= 255:
        return int(t)
    return PROTOCOLS.get(t)
