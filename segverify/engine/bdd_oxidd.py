"""The OxiDD backend: dd's ``BDD`` API (the part the engine uses) over ``oxidd.bcdd``.

OxiDD is a BDD library written in Rust, built with optimisation in its wheels; its BCDD
manager has complement edges (negation in constant time, as in CUDD). The sets it returns
are its own ``BCDDFunction`` objects, which already have ``& | ~ ^``, ``==`` and ``hash``:
only the manager-level calls (declare, var, cube, exist, let, ite, count, pick) need this
adapter, so a BDD operation costs no Python wrapper.

Memory: OxiDD allocates nodes from a store of fixed capacity (reserved, not touched, until
used) and collects unreferenced nodes only when it fills; a set that needs more live nodes
than the capacity raises ``oxidd.util.DDMemoryError``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from oxidd.bcdd import BCDDFunction, BCDDManager, BCDDSubstitution

# resident bytes per node held, as measured on a 100k-rule export (46 M nodes, 1.9 GB
# above the parsed model): node store, unique table, the Python sets that hold them
BYTES_PER_NODE = 40
MAX_NODES = 1 << 31
# entries of the apply cache (the computed table, 20 bytes each, touched up front): on the
# 10k and 100k benchmarks 2^16 to 2^18 entries were 10–15% faster than 2^22 (the smaller
# table stays in the CPU caches) and 2^24 no better than 2^22
APPLY_CACHE = 1 << 18
THREADS = 1  # OxiDD worker threads: 2 made the 10k benchmark 2.2x slower (small operations)


def node_capacity() -> int:
    """Nodes a manager may hold, dead ones included: a quarter of physical memory (as
    for CUDD), at most ``MAX_NODES``. The store is reserved, not touched, up front;
    OxiDD collects dead nodes when it is full, and raises ``DDMemoryError`` (a
    ``MemoryError``, which the CLI reports in one line) when live ones fill it."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 2**30
    return max(1 << 22, min(MAX_NODES, total // 4 // BYTES_PER_NODE))


class BDD:
    """A manager with dd's names: ``declare``, ``var``, ``cube``, ``exist``, ``apply``
    (``exists`` only), ``let``, ``ite``, ``count``, ``pick_low``; ``true``/``false``; ``vars`` in declaration order."""

    def __init__(self, capacity: int | None = None) -> None:
        self.manager = BCDDManager(capacity or node_capacity(), APPLY_CACHE, THREADS)
        self.true: BCDDFunction = self.manager.true()
        self.false: BCDDFunction = self.manager.false()
        self.vars: list[str] = []
        self._number: dict[str, int] = {}

    def declare(self, *names: str) -> None:
        new = [n for n in names if n not in self._number]
        numbers = self.manager.add_named_vars(new)
        for n, i in zip(new, numbers, strict=True):
            self._number[n] = i
            self.vars.append(n)

    def configure(self, **settings: Any) -> dict[str, Any]:
        """dd's knobs: OxiDD never reorders on its own, so ``reordering=False`` holds."""
        return {}

    def number(self, name: str) -> int:
        return self._number[name]

    def var(self, name: str) -> BCDDFunction:
        return self.manager.var(self._number[name])

    def cube(self, assignment: Mapping[str, bool]) -> BCDDFunction:
        """The conjunction of literals ``{variable: value}``, built bottom-up."""
        u = self.true
        m = self.manager
        for name in sorted(assignment, key=self._number.__getitem__, reverse=True):
            i = self._number[name]
            u = (m.var(i) if assignment[name] else m.not_var(i)) & u
        return u

    def exist(self, names: Sequence[str], u: BCDDFunction) -> BCDDFunction:
        return u.exists(self.cube(dict.fromkeys(names, True)))

    def apply(self, op: str, cube: BCDDFunction, u: BCDDFunction) -> BCDDFunction:
        """dd's ``apply("exists", cube, u)``: quantification over a cube already built."""
        if op != "exists":
            raise ValueError(f"unsupported operator {op!r}")
        return u.exists(cube)

    def ite(self, f: BCDDFunction, g: BCDDFunction, h: BCDDFunction) -> BCDDFunction:
        return f.ite(g, h)

    def let(self, definitions: Mapping[str, Any], u: BCDDFunction) -> BCDDFunction:
        """Substitute variables at once: by constants (``bool``), by other variables (names)
        or by sets."""
        pairs = []
        for name, value in definitions.items():
            if isinstance(value, bool):
                rep = self.true if value else self.false
            elif isinstance(value, str):
                rep = self.var(value)
            else:
                rep = value
            pairs.append((self._number[name], rep))
        return u.substitute(BCDDFunction.make_substitution(pairs))

    def count(self, u: BCDDFunction, nvars: int) -> int:
        """Satisfying assignments over ``nvars`` variables (``u``'s support among them)."""
        total = len(self.vars)
        return u.sat_count(total) >> (total - nvars)

    def negation(self, names: Sequence[str]) -> BCDDSubstitution | None:
        """The substitution that negates the variables ``names`` (None when empty)."""
        m = self.manager
        pairs = [(self._number[n], ~m.var(self._number[n])) for n in names]
        return BCDDFunction.make_substitution(pairs) if pairs else None

    def pick_low(self, u: BCDDFunction, flip: BCDDSubstitution | None = None) -> list[bool | None]:
        """The path of ``u`` (non-false) with ``flip``'s variables negated that takes the
        False branch wherever it does not lead to false, by variable number, with the
        values as on that negated set; None: not on the path."""
        return (u.substitute(flip) if flip is not None else u).pick_cube()

    def getter(self, names: Sequence[str]) -> Callable[[list[Any]], tuple[Any, ...]]:
        """Picks the entries of ``names`` out of a list by variable number (``pick_low``)."""
        get = itemgetter(*(self._number[n] for n in names))
        if len(names) == 1:
            return lambda values: (get(values),)
        return get

    def holds(self, u: BCDDFunction, assignment: Iterable[tuple[int, bool]]) -> bool:
        return u.eval(assignment)
