"""BDD backend selection: OxiDD (``engine.bdd_oxidd``) when installed, else CUDD through
``dd.cudd``, else pure-Python ``dd.autoref``.

All three expose the same manager API (declare, var, cube, exist, let, ite, count, ``true``
and ``false``) and sets with ``& | ~``, ``==`` and ``hash``, so the rest of the engine never
names a backend; the few backend-specific walks live in ``HeaderSpace``.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

BACKENDS = ("oxidd", "cudd", "autoref")
MODULES = {"oxidd": "segverify.engine.bdd_oxidd", "cudd": "dd.cudd", "autoref": "dd.autoref"}
# CUDD's memory estimate (dd's default is 1 GiB). Below it CUDD grows its unique table
# instead of collecting garbage, and its computed table may grow up to a quarter of it.
# A 100k-rule export peaks near 46 M nodes (about 2 GB): with 1 GiB every collection
# scanned tens of millions of nodes (3 to 6 of them, about 4 s each under load).
CUDD_MEMORY = 4 * 2**30


def cudd_memory() -> int:
    """The memory estimate given to a CUDD manager: ``CUDD_MEMORY``, at most a quarter of
    the physical memory (dd refuses an estimate above it)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 2**30
    return max(2**28, min(CUDD_MEMORY, total // 4))


def available_backends() -> list[str]:
    out = []
    for name in BACKENDS:
        try:
            importlib.import_module(MODULES[name])
        except ImportError:
            continue
        out.append(name)
    return out


def make_manager(backend: str | None = None) -> tuple[Any, str]:
    """A fresh BDD manager and the backend name it uses. ``None`` picks the fastest present."""
    names = [backend] if backend else list(BACKENDS)
    for name in names:
        if name not in BACKENDS:
            raise ValueError(f"unknown BDD backend {name!r} (known: {', '.join(BACKENDS)})")
        try:
            module = importlib.import_module(MODULES[name])
        except ImportError:
            if backend:
                raise
            continue
        if name == "cudd":
            return module.BDD(cudd_memory()), name
        return module.BDD(), name
    raise ImportError("no BDD backend: install oxidd or dd")
