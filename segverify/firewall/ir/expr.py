"""Match expressions: And / Or / Not over atoms, with three-valued ("may match") logic.

A rule matches a packet when its expression is true. Header atoms are true or false;
``Opaque`` atoms are *MAY* (unknown). The connectives are Kleene's:

====================  ========================================================
``And(a, b)``         false if any part is false, else MAY if any part is MAY, else true
``Or(a, b)``          true if any part is true, else MAY if any part is MAY, else false
``Not(a)``            true ↔ false; MAY stays MAY
====================  ========================================================

So ``And(dst web-srv, Opaque(schedule "office-hours"))`` is MAY for packets to web-srv
and false for the rest, and a ``Not`` over an opaque part can never become certain.
``Named`` wraps a subtree with provenance (a service group, an address group with
exclusions, a vendor "negate" flag) and is transparent for matching.

``ChainVerdict(chain, outcome)`` is true when the user ``Chain`` (netfilter jump/goto
target, kept whole instead of copied into every caller) gives the packet ``outcome``:
a verdict (``accept``/``drop``/``reject``/``unknown``) or ``return`` (the packet comes
back to the caller). MAY when several outcomes are possible (opaque atoms inside). A chain
is one shared object however many rules call it, so every reader must treat it as a
node visited once (``walk`` does; the evaluator and the BDD encoder memoise per chain).

Build expressions with ``all_of``/``any_of``/``negate``: they flatten nesting and drop
``TRUE``/``FALSE`` constants, so a vendor "any" is simply left out (or ``TRUE``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from segverify.firewall.ir.atoms import HEADER_ATOMS, Atom, Opaque
from segverify.firewall.ir.provenance import NO_ORIGIN, Origin

if TYPE_CHECKING:
    from segverify.firewall.ir.device import Rule


@dataclass(frozen=True)
class Const:
    value: bool


TRUE = Const(True)
FALSE = Const(False)


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


@dataclass(frozen=True)
class Named:
    """A subtree with provenance (e.g. service group 'web' = Or of its members)."""

    item: Expr
    origin: Origin = NO_ORIGIN


CHAIN_OUTCOMES = ("accept", "drop", "reject", "unknown", "return")


@dataclass(frozen=True, eq=False)
class Chain:
    """A user chain: an ordered first-match list of rules whose actions may also be
    ``return``, ``jump`` or ``goto`` (``Rule.target``: the called chain). Compared and
    hashed by identity: a chain called from many places is one object."""

    name: str
    rules: tuple[Rule, ...]
    origin: Origin = NO_ORIGIN


@dataclass(frozen=True)
class ChainVerdict:
    """True when ``chain`` ends with ``outcome`` (``CHAIN_OUTCOMES``) for the packet."""

    chain: Chain
    outcome: str


Expr = Const | And | Or | Not | Named | Atom | Opaque | ChainVerdict


def all_of(*items: Expr) -> Expr:
    """Conjunction, flattened; ``TRUE`` parts dropped; ``FALSE`` if any part is ``FALSE``."""
    out: list[Expr] = []
    for it in items:
        if isinstance(it, And):
            out.extend(it.items)
        elif isinstance(it, Const):  # (atoms skip the constant comparisons)
            if it == TRUE:
                continue
            if it == FALSE:
                return FALSE
            out.append(it)
        else:
            out.append(it)
    if not out:
        return TRUE
    return out[0] if len(out) == 1 else And(tuple(out))


def any_of(*items: Expr) -> Expr:
    """Disjunction, flattened; ``FALSE`` parts dropped; ``TRUE`` if any part is ``TRUE``."""
    out: list[Expr] = []
    for it in items:
        if isinstance(it, Or):
            out.extend(it.items)
        elif isinstance(it, Const):
            if it == FALSE:
                continue
            if it == TRUE:
                return TRUE
            out.append(it)
        else:
            out.append(it)
    if not out:
        return FALSE
    return out[0] if len(out) == 1 else Or(tuple(out))


def negate(item: Expr) -> Expr:
    if isinstance(item, Const):
        return FALSE if item.value else TRUE
    if isinstance(item, Not):
        return item.item
    return Not(item)


def named(item: Expr, origin: Origin) -> Expr:
    """Attach provenance to a subtree (kept even around a single atom)."""
    return Named(item, origin)


_LEAVES = frozenset((Const, Opaque, *HEADER_ATOMS))


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of the tree, pre-order; a ``ChainVerdict`` is followed into its chain's
    rule matches (and the chains they call) once per walk, however often it is called."""
    stack = [expr]
    seen: set[int] = set()
    while stack:
        e = stack.pop()
        yield e
        if type(e) in _LEAVES:
            continue
        if isinstance(e, And | Or):
            items = e.items
            for k, it in enumerate(items):
                if type(it) in _LEAVES:
                    yield it  # a leaf is its own subtree: no need to stack it
                else:
                    stack.extend(reversed(items[k:]))
                    break
        elif isinstance(e, Not | Named):
            stack.append(e.item)
        elif isinstance(e, ChainVerdict) and id(e.chain) not in seen:
            seen.add(id(e.chain))
            inner: list[Expr] = []
            for r in e.chain.rules:
                if not r.enabled:
                    continue
                inner.append(r.match)
                if r.target is not None:
                    inner.append(ChainVerdict(r.target, "return"))
            stack.extend(reversed(inner))


def chains_in(expr: Expr) -> tuple[Chain, ...]:
    """The user chains an expression calls, directly or through other chains, each once."""
    out: dict[int, Chain] = {}
    for e in walk(expr):
        if isinstance(e, ChainVerdict):
            out.setdefault(id(e.chain), e.chain)
    return tuple(out.values())


def opaque_atoms(expr: Expr) -> tuple[Opaque, ...]:
    return tuple(e for e in walk(expr) if isinstance(e, Opaque))


def names_in(expr: Expr) -> tuple[Origin, ...]:
    """Origins of the named parts (objects, groups) of an expression, in order."""
    out: list[Origin] = []
    for e in walk(expr):
        origin = getattr(e, "origin", None)
        if origin is None or origin is NO_ORIGIN:
            continue  # (most atoms: no name)
        if (origin.name or origin.id) and origin not in out:
            out.append(origin)
    return tuple(out)
