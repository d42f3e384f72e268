"""Pause Python's cyclic garbage collector during bulk phases.

Parsing a 100k-rule export and analysing it allocate millions of long-lived objects (rule
models, BDD handles) and almost no reference cycles; every automatic full collection would
traverse all of them, which made those phases grow faster than linearly. Reference counting
still frees everything acyclic while the collector is paused; the previous state is
restored afterwards (nested use is fine).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def gc_paused(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator: run ``fn`` with the cyclic collector disabled, then restore it."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        was = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was:
                gc.enable()

    return wrapper
