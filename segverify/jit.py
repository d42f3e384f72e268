"""Kernels: the packet and flow loops, one implementation run three ways.

The loops of ``segverify/capture`` (walk, decode) and ``segverify/flows`` (aggregation,
orientation, state, Community ID) are plain Python functions marked with
:func:`kernel`. A :class:`Kernels` set runs them either as they are (``PLAIN``: no numba
import, for small inputs) or compiled (:func:`compiled`), which is, in this order:

- ``aot``: the extension module built ahead of time from these very functions by
  ``python -m segverify.jit build`` (:mod:`segverify.jit_build`, run by ``make``). It is
  named after a hash of the kernel sources, the constants they read and the versions of
  Python, numpy, numba and llvmlite, so a stale build is never loaded; loading it costs
  ~6 ms and imports no numba;
- ``jit``: ``numba.njit(cache=True)`` applied to the same functions on first use, when no
  current module was built (importing numba and loading its cached machine code costs
  ~0.5 s per process).

Callers pick a set by the size of their input (:func:`for_bytes`, :func:`for_rows`) and
pass it down; the kernels themselves call each other by name, and the compiled sets rebind
those names to the compiled versions, so the code is the same in every mode.

Where compiled code is kept: beside the sources when that is writable (the usual
``__pycache__``), otherwise a per-user directory under the system temp dir, so an
installed, read-only package run by an ordinary user still works instead of failing to
cache; ``NUMBA_CACHE_DIR`` when the user sets it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import json
import os
import sys
import sysconfig
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
EXPORTS = "__segverify_exports__"

# Inputs from these sizes on run compiled by numba's JIT (below them the plain loops finish
# before numba would have loaded; measured in docs/benchmarks.md, "Start-up").
COMPILE_FROM_BYTES = 4 << 20  # capture bytes (~20k packets)
COMPILE_FROM_ROWS = 50_000  # flows for the per-flow kernels
PLAIN_RECORDS = 4096  # records a reader decodes plain before it switches to compiled loops
# When the module built ahead of time is there, loading it costs ~6 ms (no numba): from
# these sizes on it runs instead of the plain loops (below them the plain loop is as quick).
AOT_FROM_BYTES = 256 << 10  # capture bytes (~1-2k packets)
AOT_FROM_ROWS = 1024  # flows


def kernel(fn: F | None = None, *, inline: bool = False, exports: tuple[str, ...] = ()) -> Any:
    """Mark ``fn`` as a kernel (``inline``: numba inlines it into its callers).

    ``exports``: the numba signatures (``"int64(int64[::1], int64)"``) under which an entry
    point, a kernel called from Python through ``kernels(fn)``, is built ahead of time
    into the extension module of :mod:`segverify.jit_build` (the types its callers pass)."""

    def mark(f: F) -> F:
        setattr(f, OPTIONS, {"inline": "always"} if inline else {})
        setattr(f, EXPORTS, tuple(exports))
        return f

    return mark(fn) if fn is not None else mark


@dataclass(frozen=True)
class Kernels:
    """A set of kernels: ``kernels(fn)`` is the version of kernel ``fn`` to call."""

    compiled: bool
    table: Mapping[Callable[..., Any], Callable[..., Any]] = field(default_factory=dict)
    kind: str = "plain"  # "plain", "jit" (numba at run time) or "aot" (built ahead of time)

    def __call__(self, fn: F) -> F:
        if not self.compiled:
            return _quiet(fn)  # type: ignore[return-value]
        found = self.table.get(fn)
        if found is None and self.kind == "aot":
            return jitted()(fn)  # not an export of the built module: numba compiles it
        if found is None:
            raise KeyError(f"not a kernel: {fn!r}")
        return found  # type: ignore[return-value]


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
    if nbytes >= COMPILE_FROM_BYTES:
        return compiled()
    return (aot() or PLAIN) if nbytes >= AOT_FROM_BYTES else PLAIN


def for_rows(rows: int) -> Kernels:
    """The set for a per-flow loop over ``rows`` flows."""
    if rows >= COMPILE_FROM_ROWS:
        return compiled()
    return (aot() or PLAIN) if rows >= AOT_FROM_ROWS else PLAIN


def for_path(path: str) -> Kernels:
    """The set for reading the file ``path`` (compiled when its size is unknown)."""
    try:
        size = os.path.getsize(path)
    except OSError:
        size = COMPILE_FROM_BYTES
    return for_bytes(size)


def compiled() -> Kernels:
    """The compiled set: the module built ahead of time (:mod:`segverify.jit_build`) when
    it is present and built from these very sources, else numba's JIT (:func:`jitted`)."""
    return aot() or jitted()


@functools.cache
def aot() -> Kernels | None:
    """The kernels of the extension module built ahead of time, or None when there is none
    for the current sources and versions (or it cannot be loaded), or when the user turned
    it off (``SEGVERIFY_AOT=off``: numba's JIT instead). Imports no numba."""
    if os.environ.get("SEGVERIFY_AOT", "").strip().lower() in ("0", "off", "no", "false"):
        return None
    return load_aot(aot_dirs())


def kernel_functions() -> dict[Callable[..., Any], types.ModuleType]:
    """Every kernel, by module (importing the kernel modules)."""
    found: dict[Callable[..., Any], types.ModuleType] = {}
    for name in KERNEL_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if callable(value) and hasattr(value, OPTIONS) and value.__module__ == name:
                found[value] = module
    return found


def rebound(njit: Callable[..., Any]) -> dict[Callable[..., Any], tuple[Any, Any]]:
    """``{kernel: (copy, compiled)}``: a copy of every kernel over a copy of its module's
    globals in which kernel names are rebound to the compiled versions (numba reads
    globals when it compiles), and ``njit(copy, options)``, the compiled version."""
    table: dict[Callable[..., Any], tuple[Any, Any]] = {}
    namespaces: list[dict[str, Any]] = []
    for fn, module in kernel_functions().items():
        ns = dict(vars(module))
        copy = types.FunctionType(fn.__code__, ns, fn.__name__, fn.__defaults__, fn.__closure__)
        copy.__qualname__ = fn.__qualname__
        copy.__doc__ = fn.__doc__
        table[fn] = (copy, njit(copy, getattr(fn, OPTIONS)))
        namespaces.append(ns)
    for ns in namespaces:
        for key, value in ns.items():
            if hasattr(value, OPTIONS) and value in table:
                ns[key] = table[value][1]
    return table


@functools.cache
def jitted() -> Kernels:
    """Every kernel compiled by numba (loaded from numba's cache when it is there). Built
    once per process: the set is immutable and the same whoever asks."""
    import numba

    ensure_cache_dir(numba)
    # nogil: as the exports of the built module, the entry points let the GIL go while
    # they run (the capture reader walks in one thread while another aggregates)
    table = rebound(lambda f, options: numba.njit(cache=True, nogil=True, **options)(f))
    return Kernels(compiled=True, table={fn: c for fn, (_, c) in table.items()}, kind="jit")


def ensure_cache_dir(numba: Any) -> None:
    if numba.config.CACHE_DIR:
        return  # NUMBA_CACHE_DIR given by the user
    here = Path(__file__).resolve().parent
    if all(os.access(d, os.W_OK) for d in (here / "capture", here / "flows")):
        return
    numba.config.CACHE_DIR = str(user_cache_dir(create=True))


def user_cache_dir(create: bool = False) -> Path:
    """The per-user directory for compiled code when the sources are not writable."""
    path = Path(tempfile.gettempdir()) / f"segverify-numba-{os.getuid()}"
    if create:
        path.mkdir(mode=0o700, exist_ok=True)
    return path


# Ahead of time: one extension module holding every entry point, built by
# ``python -m segverify.jit build`` (segverify/jit_build.py) and named after a tag, the
# hash of everything the machine code depends on, so that a stale module is never loaded.

AOT_PREFIX = "_segverify_kernels_"


def aot_dirs() -> list[Path]:
    """Where a built module is looked for, first match wins: ``NUMBA_CACHE_DIR`` when the
    user gives one; else beside the sources (``segverify/__pycache__``, where an install
    builds it) and the per-user temp directory (where a user builds it when the sources
    are read-only)."""
    given = os.environ.get("NUMBA_CACHE_DIR")
    if given:
        return [Path(given)]
    return [Path(__file__).resolve().parent / "__pycache__", user_cache_dir()]


def aot_build_dir() -> Path:
    """Where ``python -m segverify.jit build`` writes: the first of :func:`aot_dirs` that
    is writable (or can be created)."""
    for d in aot_dirs():
        probe = d if d.exists() else d.parent
        if os.access(probe, os.W_OK):
            return d
    return user_cache_dir()


def _file_digest(path: str | None, h: Any) -> None:
    if path:
        with open(path, "rb") as f:
            h.update(f.read())


def _global_fingerprint(value: Any) -> str | None:
    """What a compiled kernel froze of a global it reads (numba compiles module globals
    in as constants); None for the names it calls (kernels, modules, functions)."""
    if isinstance(value, np.ndarray):
        return (
            f"array {value.dtype.str} {value.shape} {hashlib.sha256(value.tobytes()).hexdigest()}"
        )
    if isinstance(value, (bool, int, float, complex, str, bytes, type(None), tuple, np.generic)):
        return f"{type(value).__name__} {value!r}"
    return None


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def aot_tag(kernels: Mapping[Callable[..., Any], types.ModuleType] | None = None) -> str:
    """The hash of what the built machine code depends on: the kernel modules' sources,
    the value of every constant the kernels read from their modules' globals (wherever
    they are defined), this module and its builder, and the versions of Python, numpy,
    numba and llvmlite. Computed without importing numba."""
    kernels = kernel_functions() if kernels is None else kernels
    h = hashlib.sha256()
    for part in (sys.version, sys.implementation.cache_tag, os.uname().machine, np.__version__):
        h.update(part.encode() + b"\0")
    for dist in ("numba", "llvmlite"):
        spec = importlib.util.find_spec(dist)  # finds the package without importing it
        origin = spec.origin if spec is not None else None
        if origin:
            _file_digest(str(Path(origin).with_name("_version.py")), h)
    here = Path(__file__).resolve().parent
    _file_digest(str(here / "jit.py"), h)
    _file_digest(str(here / "jit_build.py"), h)
    for name in KERNEL_MODULES:
        _file_digest(sys.modules[name].__file__ if name in sys.modules else None, h)
    for fn, module in sorted(kernels.items(), key=lambda kv: (kv[1].__name__, kv[0].__name__)):
        for name in sorted(_names(fn.__code__)):
            if name not in vars(module):
                continue
            value = vars(module)[name]
            mark = _global_fingerprint(value)
            if mark is not None:
                h.update(f"{module.__name__}.{name}={mark}\n".encode())
            elif isinstance(value, types.ModuleType) and value.__name__.startswith("segverify."):
                _file_digest(value.__file__, h)  # ``columns.FLOW``: that module's source
    return h.hexdigest()[:24]


def aot_paths(directory: Path, tag: str) -> tuple[Path, Path]:
    """The module file and its manifest (what each export accepts) for ``tag``."""
    name = AOT_PREFIX + tag
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    return directory / (name + suffix), directory / (name + ".json")


def _trusted(directory: Path, path: Path) -> bool:
    """Machine code is loaded only from the package's own directory or from a directory
    and file of this user that nobody else can write (a temp dir is shared)."""
    if directory == Path(__file__).resolve().parent / "__pycache__":
        return True
    try:
        for p in (directory, path):
            st = p.stat()
            if st.st_uid != os.getuid() or st.st_mode & 0o022:
                return False
    except OSError:
        return False
    return True


def load_aot(directories: list[Path], strict: bool = False) -> Kernels | None:
    """The kernels of the module built for the current tag in the first of
    ``directories`` that holds one, or None (no module, stale, untrusted, corrupt: the
    caller uses numba's JIT). ``strict``: a call whose arguments no export accepts raises
    TypeError instead of going to the JIT (tests: every caller passes exported types)."""
    kernels = kernel_functions()
    tag = aot_tag(kernels)
    for directory in directories:
        module_path, manifest_path = aot_paths(directory, tag)
        if not module_path.is_file() or not _trusted(directory, module_path):
            continue
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            if manifest.get("tag") != tag:
                continue
            spec = importlib.util.spec_from_file_location(AOT_PREFIX + tag, module_path)
            if spec is None or spec.loader is None:
                continue
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            by_name = {f"{m.__name__}.{fn.__qualname__}": fn for fn, m in kernels.items()}
            table = {
                by_name[name]: AotEntry(
                    by_name[name],
                    tuple(
                        (getattr(module, e["symbol"]), tuple(map(tuple, e["args"])))
                        for e in exports
                    ),
                    strict,
                )
                for name, exports in manifest["entries"].items()
            }
        except (OSError, ImportError, ValueError, KeyError, TypeError, AttributeError):
            continue  # unreadable manifest, a module that does not load: not used
        return Kernels(compiled=True, table=table, kind="aot")
    return None


_SCALARS: dict[str, tuple[type, ...]] = {
    "int": (int, np.integer),
    "uint": (int, np.unsignedinteger),
    "bool": (bool, np.bool_),
    "float": (float, np.floating),
}


def accepts(spec: tuple[Any, ...], value: Any) -> bool:
    """Whether ``value`` may be passed where the export's argument ``spec`` is declared
    (the module's own unboxing checks little more than an array's item size)."""
    kind = spec[0]
    if kind == "array":
        _, dtype, ndim, layout, readonly = spec
        return (
            isinstance(value, np.ndarray)
            and value.dtype == np.dtype(dtype)
            and value.ndim == ndim
            and value.flags.aligned
            and (readonly or value.flags.writeable)
            and (layout != "C" or value.flags.c_contiguous)
            and (layout != "F" or value.flags.f_contiguous)
        )
    if kind in ("int", "uint"):
        if isinstance(value, (bool, np.bool_)):
            return False
        if isinstance(value, np.generic):
            return value.dtype == np.dtype(spec[1])
        return isinstance(value, int)
    if kind == "bool":
        return isinstance(value, (bool, np.bool_))
    if kind == "float":
        if isinstance(value, np.generic):
            return value.dtype == np.dtype(spec[1])
        return isinstance(value, float)
    return False


@dataclass(frozen=True)
class AotEntry:
    """An entry point of the built module: the first export whose declared argument types
    the call's arguments match; a call that matches none goes to numba's JIT (or raises
    TypeError when ``strict``)."""

    fn: Callable[..., Any]
    exports: tuple[tuple[Callable[..., Any], tuple[tuple[Any, ...], ...]], ...]
    strict: bool = False

    def __call__(self, *args: Any) -> Any:
        for call, specs in self.exports:
            if len(specs) == len(args) and all(map(accepts, specs, args)):
                return call(*args)
        if self.strict:
            kinds = ", ".join(
                f"{a.dtype}[{a.ndim}d]" if isinstance(a, np.ndarray) else type(a).__name__
                for a in args
            )
            raise TypeError(f"no export of {self.fn.__qualname__} accepts ({kinds})")
        return jitted()(self.fn)(*args)


if __name__ == "__main__":
    from segverify.jit_build import main

    main()
