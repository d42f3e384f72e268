"""Kernels: the packet and flow loops, one implementation run two ways.

The loops of ``segverify/capture`` (walk, decode) and ``segverify/flows`` (aggregation,
orientation, state, Community ID) are plain Python functions marked with
:func:`kernel`. A :class:`Kernels` set runs them either as they are (``PLAIN``: no numba
import, for small inputs, where importing numba and loading its cached machine code,
~0.5 s, would cost more than the loop itself) or compiled by numba (:func:`compiled`:
``njit(cache=True)`` applied to the very same functions on first use). Callers pick a set
by the size of their input (:func:`for_bytes`, :func:`for_rows`) and pass it down; the
kernels themselves call each other by name, and the compiled set rebinds those names to
the compiled versions, so the code is the same in both modes.

Where numba keeps compiled code: beside the sources when that is writable (the usual
``__pycache__``), otherwise a per-user directory under the system temp dir, so an
installed, read-only package run by an ordinary user still works instead of failing to
cache.
"""

from __future__ import annotations

import functools
import importlib
import os
import tempfile
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

# Every module that defines kernels (a kernel may call kernels of any of them).
KERNEL_MODULES = (
    "segverify.capture.wire",
    "segverify.capture.ip",
    "segverify.capture.icmp",
    "segverify.capture.transport",
    "segverify.capture.tunnel",
    "segverify.capture.ethernet",
    "segverify.capture.ieee80211",
    "segverify.capture.linklayer",
    "segverify.capture.decode",
    "segverify.capture.walk",
    "segverify.flows.aggregate",
    "segverify.flows.build",
    "segverify.flows.ingest",
    "segverify.flows.state",
    "segverify.flows.community_batch",
    "segverify.flows.distinct",
)
OPTIONS = "__segverify_kernel__"

# Inputs from these sizes on run compiled (below them the plain loops finish before numba
# would have loaded; measured in docs/benchmarks.md, "Start-up").
COMPILE_FROM_BYTES = 4 << 20  # capture bytes (~20k packets)
COMPILE_FROM_ROWS = 50_000  # flows for the per-flow kernels
PLAIN_RECORDS = 4096  # records a reader decodes plain before it switches to compiled loops


def kernel(fn: F | None = None, *, inline: bool = False) -> Any:
    """Mark ``fn`` as a kernel (``inline``: numba inlines it into its callers)."""

    def mark(f: F) -> F:
        setattr(f, OPTIONS, {"inline": "always"} if inline else {})
        return f

    return mark(fn) if fn is not None else mark


@dataclass(frozen=True)
class Kernels:
    """A set of kernels: ``kernels(fn)`` is the version of kernel ``fn`` to call."""

    compiled: bool
    table: Mapping[Callable[..., Any], Callable[..., Any]] = field(default_factory=dict)

    def __call__(self, fn: F) -> F:
        if self.compiled:
            return self.table[fn]  # type: ignore[return-value]
        return _quiet(fn)  # type: ignore[return-value]


def _plain_arg(value: Any) -> Any:
    """Byte buffers (1-D ``uint8``) go in as memoryviews, whose items are Python ints: in
    compiled code a byte read is widened to int64 before any arithmetic, whereas a numpy
    ``uint8`` scalar would keep the arithmetic in 8 bits (``(b >> 4) * 4 << 8`` == 0)."""
    if (
        isinstance(value, np.ndarray)
        and value.ndim == 1
        and value.dtype == np.uint8
        and value.flags.c_contiguous
    ):
        return memoryview(value)
    return value


def _quiet(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Plain mode: int64/uint64 arithmetic wraps as compiled code does, without numpy's
    overflow warnings (hashes and 64-bit halves rely on the wrap); bytes as Python ints."""

    @functools.wraps(fn)
    def run(*args: Any) -> Any:
        with np.errstate(over="ignore"):
            return fn(*map(_plain_arg, args))

    return run


PLAIN = Kernels(compiled=False)


def for_bytes(nbytes: int) -> Kernels:
    """The set for reading ``nbytes`` of capture."""
    return compiled() if nbytes >= COMPILE_FROM_BYTES else PLAIN


def for_rows(rows: int) -> Kernels:
    """The set for a per-flow loop over ``rows`` flows."""
    return compiled() if rows >= COMPILE_FROM_ROWS else PLAIN


def for_path(path: str) -> Kernels:
    """The set for reading the file ``path`` (compiled when its size is unknown)."""
    try:
        size = os.path.getsize(path)
    except OSError:
        size = COMPILE_FROM_BYTES
    return for_bytes(size)


@functools.cache
def compiled() -> Kernels:
    """Every kernel compiled by numba (loaded from numba's cache when it is there). Built
    once per process: the set is immutable and the same whoever asks."""
    import numba

    ensure_cache_dir(numba)
    plain: dict[Callable[..., Any], tuple[types.ModuleType, dict[str, Any]]] = {}
    for name in KERNEL_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if callable(value) and hasattr(value, OPTIONS) and value.__module__ == name:
                plain[value] = (module, getattr(value, OPTIONS))
    table: dict[Callable[..., Any], Callable[..., Any]] = {}
    namespaces: list[dict[str, Any]] = []
    for fn, (module, options) in plain.items():
        # the same code over a copy of its module's globals, where kernel names are
        # rebound to their compiled versions below (numba reads globals when it compiles)
        ns = dict(vars(module))
        copy = types.FunctionType(fn.__code__, ns, fn.__name__, fn.__defaults__, fn.__closure__)
        copy.__qualname__ = fn.__qualname__
        copy.__doc__ = fn.__doc__
        table[fn] = numba.njit(cache=True, **options)(copy)
        namespaces.append(ns)
    for ns in namespaces:
        for key, value in ns.items():
            if hasattr(value, OPTIONS) and value in table:
                ns[key] = table[value]
    return Kernels(compiled=True, table=table)


def ensure_cache_dir(numba: Any) -> None:
    if numba.config.CACHE_DIR:
        return  # NUMBA_CACHE_DIR given by the user
    here = Path(__file__).resolve().parent
    if all(os.access(d, os.W_OK) for d in (here / "capture", here / "flows")):
        return
    path = Path(tempfile.gettempdir()) / f"segverify-numba-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    numba.config.CACHE_DIR = str(path)
