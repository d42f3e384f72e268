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

Build expressions with ``all_of``/``any_of``/``negate``: they flatten nesting and drop
``TRUE``/``FALSE`` constants, so a vendor "any" is simply left out (or ``TRUE``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from segverify.firewall.ir.atoms import Atom, Opaque
from segverify.firewall.ir.provenance import NO_ORIGIN, Origin


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


Expr = Const | And | Or | Not | Named | Atom | Opaque


def all_of(*items: Expr) -> Expr:
    """Conjunction, flattened; ``TRUE`` parts dropped; ``FALSE`` if any part is ``FALSE``."""
    out: list[Expr] = []
    for it in items:
        if isinstance(it, And):
            out.extend(it.items)
        elif it == TRUE:
            continue
        elif it == FALSE:
            return FALSE
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
        elif it == FALSE:
            continue
        elif it == TRUE:
            return TRUE
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


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of the tree, pre-order."""
    stack = [expr]
    while stack:
        e = stack.pop()
        yield e
        if isinstance(e, And | Or):
            stack.extend(reversed(e.items))
        elif isinstance(e, Not | Named):
            stack.append(e.item)


def opaque_atoms(expr: Expr) -> tuple[Opaque, ...]:
    return tuple(e for e in walk(expr) if isinstance(e, Opaque))


def names_in(expr: Expr) -> tuple[Origin, ...]:
    """Origins of the named parts (objects, groups) of an expression, in order."""
    out: list[Origin] = []
    for e in walk(expr):
        origin = getattr(e, "origin", None)
        if origin is not None and (origin.name or origin.id) and origin not in out:
            out.append(origin)
    return tuple(out)
