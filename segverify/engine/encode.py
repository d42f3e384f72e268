"""Match expressions (``segverify.firewall.ir``) → BDD sets, in two semantics.

``encode(expr)`` returns ``(may, must)``: the packets for which the expression may be true
(opaque atoms taken as true) and those for which it must be (opaque atoms false); header
atoms are exact so both agree without opaque parts. Kleene's connectives in set form:
``And`` = (∧may, ∧must), ``Or`` = (∨may, ∨must), ``Not`` = (¬must, ¬may).
"""

from __future__ import annotations

from typing import Any

from segverify.engine.chains import ChainCompiler
from segverify.engine.space import ICMP_PROTOS, HeaderSpace
from segverify.firewall.ir import (
    Addresses,
    And,
    ChainVerdict,
    ConnState,
    Const,
    Device,
    Expr,
    Family,
    Icmp,
    Interfaces,
    Named,
    Not,
    Opaque,
    Or,
    Ports,
    Protocols,
    TcpFlags,
    Zones,
)


class ExprEncoder:
    """Encodes the expressions of one device, caching atoms (shared objects encode once)."""

    def __init__(self, space: HeaderSpace, device: Device) -> None:
        self.space = space
        self.device = device
        self._atoms: dict[Any, Any] = {}
        self.chains = ChainCompiler(space, self.encode)  # user chains, each compiled once

    def encode(self, e: Expr) -> tuple[Any, Any]:
        sp = self.space
        if isinstance(e, Const):
            u = sp.true if e.value else sp.false
            return u, u
        # ``must is may`` marks an exact result: one BDD operation instead of two
        if isinstance(e, And):
            may = must = sp.true
            items = e.items
            if len(items) > 2:  # the atoms that are cubes first, conjoined bottom-up
                may, items = self._cube_part(items)
                must = may
            for it in items:
                a, b = self.encode(it)
                if may is must and a is b:
                    may = must = may & a
                else:
                    may, must = may & a, must & b
            return may, must
        if isinstance(e, Or):
            may = must = sp.false
            for it in e.items:
                a, b = self.encode(it)
                if may is must and a is b:
                    may = must = may | a
                else:
                    may, must = may | a, must | b
            return may, must
        if isinstance(e, Not):
            a, b = self.encode(e.item)
            if a is b:
                n = ~a
                return n, n
            return ~b, ~a
        if isinstance(e, Named):
            return self.encode(e.item)
        if isinstance(e, Opaque):
            return sp.true, sp.false
        if isinstance(e, ChainVerdict):
            return self.chains.outcomes(e.chain)[e.outcome]
        u = self.atom(e)
        return u, u

    def _cube_part(self, items: tuple[Expr, ...]) -> tuple[Any, tuple[Expr, ...]]:
        """The conjunction of the items whose sets are cubes (a family, one known
        interface, one protocol, one address prefix) or split into parts that each sit
        on one field (ports: the port ranges and the port-carrying protocols), and the
        other items. The parts are conjoined from the lowest variables up (each step then
        only walks the new, upper part) and each shared part once: the same set as
        conjoining the items one by one (BDDs are canonical), with cached small parts and
        without one BDD per distinct address object."""
        parts: list[Any] = []
        rest: list[Expr] = []
        for it in items:
            p = self._cube_parts(it)
            if p is None:
                rest.append(it)
            else:
                parts += p
        if not parts:
            return self.space.true, items
        # the same cached part (the family bit of each address, ...) conjoined once
        parts = list({id(p): p for p in parts}.values())
        parts.sort(key=self.space.level, reverse=True)
        u = parts[0]
        for p in parts[1:]:
            u = p & u
        return u, tuple(rest)

    def _cube_parts(self, e: Expr) -> list[Any] | None:
        """Parts (each on one field) whose conjunction is the atom's set, or None when the
        atom is not split."""
        sp = self.space
        if isinstance(e, Addresses):
            if len(e.nets) == 1 and not e.ranges:
                return sp.prefix_parts(e.field, e.nets[0])
            return None
        if isinstance(e, Ports):
            return [self._port_ranges(e), sp.port_protos()]
        if isinstance(e, Family):
            return [sp.version(e.version)]
        if isinstance(e, Protocols):
            return [sp.value("proto", e.numbers[0])] if len(e.numbers) == 1 else None
        if isinstance(e, Interfaces) and len(e.names) == 1:
            name = e.names[0]
            index = sp.iface_index(name)
            if index is None or name.endswith(("+", "*")):
                return None
            return [sp.value("iif" if e.side == "in" else "oif", index)]
        return None

    def atom(self, e: Any) -> Any:
        key = _key(e)
        hit = self._atoms.get(key)
        if hit is None:
            hit = self._build(e)
            self._atoms[key] = hit
        return hit

    def _port_ranges(self, e: Ports) -> Any:
        """The port field in ``e.ranges`` (any protocol), cached like the atoms."""
        key = ("pr", e.field, e.ranges)
        hit = self._atoms.get(key)
        if hit is None:
            sp = self.space
            hit = sp.false
            for r in e.ranges:
                hit = hit | sp.interval(e.field, r.lo, r.hi)
            self._atoms[key] = hit
        return hit

    def _build(self, e: Any) -> Any:
        sp = self.space
        if isinstance(e, Addresses):
            u = sp.addresses(e.field, e.nets)
            for lo, hi in e.ranges:
                u = u | sp.address_range(e.field, lo, hi)
            return u
        if isinstance(e, Protocols):
            return sp.protos(e.numbers)
        if isinstance(e, Ports):
            return self._port_ranges(e) & sp.port_protos()
        if isinstance(e, Icmp):
            u = sp.protos(ICMP_PROTOS)
            if e.type is not None:
                u = u & sp.interval("dport", e.type << 8, (e.type << 8) | 0xFF)
            if e.code is not None:
                u = u & sp.low_bits("dport", 8, e.code)
            return u
        if isinstance(e, ConnState):
            return sp.ct(e.states)
        if isinstance(e, TcpFlags):
            return sp.protos((6,)) & sp.tcp_flags(e.mask, e.value)
        if isinstance(e, Interfaces):
            fname = "iif" if e.side == "in" else "oif"
            return sp.ifaces_matching(fname, e.names, wildcard_other=False)
        if isinstance(e, Zones):
            members: list[str] = []
            for n in e.names:
                z = self.device.zones.get(n)
                if z is not None:
                    members.extend(z.interfaces)
            fname = "iif" if e.side == "in" else "oif"
            return sp.ifaces_matching(fname, tuple(dict.fromkeys(members)), wildcard_other=False)
        if isinstance(e, Family):
            return sp.version(e.version)
        raise TypeError(f"not a match atom: {e!r}")


def _key(e: Any) -> Any:
    """A cache key without the provenance (equal sets from different objects share)."""
    if isinstance(e, Addresses):
        return ("a", e.field, e.nets, e.ranges)
    if isinstance(e, Ports):
        return ("p", e.field, e.ranges)
    if isinstance(e, Protocols):
        return ("P", e.numbers)
    if isinstance(e, Icmp):
        return ("i", e.type, e.code)
    if isinstance(e, ConnState):
        return ("c", e.states)
    if isinstance(e, TcpFlags):
        return ("t", e.mask, e.value)
    if isinstance(e, Interfaces | Zones):
        return (type(e).__name__, e.side, e.names)
    return e
