"""BDD backend selection: CUDD through ``dd.cudd`` when built, else pure-Python ``dd.autoref``.

Both expose the same ``BDD`` API (declare, var, cube, let, pick, count, ``& | ~``), so the
rest of the engine never names a backend.
"""

from __future__ import annotations

import importlib
from typing import Any

BACKENDS = ("cudd", "autoref")


def available_backends() -> list[str]:
    out = []
    for name in BACKENDS:
        try:
            importlib.import_module(f"dd.{name}")
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
            module = importlib.import_module(f"dd.{name}")
        except ImportError:
            if backend:
                raise
            continue
        return module.BDD(), name
    raise ImportError("no BDD backend: install dd (with dd.cudd for speed)")
