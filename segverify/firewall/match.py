"""The match algebra: ``Match`` (the condition part of a rule, a conjunction of fields with
the meaning of ``model.Rule``), conjunction, normalisation and negation into disjoint
alternatives, interface-pattern meets, TCP flag masks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from segverify.firewall.intervals import (
    aset_conj,
    aset_families,
    aset_is_empty,
    numset_conj,
    port_intervals,
    ports_conj,
)
from segverify.firewall.ir.atoms import iface_matches
from segverify.firewall.model import (
    CT_STATES,
    ICMP_PROTOCOLS,
    PORT_PROTOCOLS,
    AddressSet,
    PortSet,
    UnknownMatch,
)

# ---------------------------------------------------------------- interfaces


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
        if not _protocols_meet(m.protocols, m.protocols_negated, PORT_PROTOCOLS):
            return None
        for p in (m.sports, m.dports):
            # a listed range is never empty: only a complement needs the intervals
            if p is not None and not (p.ranges if not p.negated else port_intervals(p)):
                return None
    has_icmp = m.icmp_types is not None or m.icmp_code is not None
    if has_icmp and not _protocols_meet(m.protocols, m.protocols_negated, ICMP_PROTOCOLS):
        return None
    if m.tcp_flags is not None and not _protocols_meet(m.protocols, m.protocols_negated, (6,)):
        return None
    if m.protocols is not None and not m.protocols_negated and not m.protocols:
        return None
    if m.ct_states is not None and not m.ct_states:
        return None
    return m


def _protocols_meet(a: tuple[int, ...] | None, negated: bool, b: tuple[int, ...]) -> bool:
    """``numset_conj(a, negated, b, False) is not False`` without building the sets."""
    if a is None:
        return True
    if negated:
        return any(x not in a for x in b)
    return any(x in b for x in a)


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
