"""Build the kernels ahead of time: ``python -m segverify.jit build`` (``status``: which
compiled kernels a run would use, the built module or numba's JIT).

The entry points (kernels declared with ``@kernel(exports=...)``) are compiled by numba's
``numba.pycc`` from the very functions :func:`segverify.jit.jitted` compiles at run time
(same copies, same rebinding of kernel names, same options) into one CPython extension
module. A process that loads it runs machine code with only numpy imported: no numba
import (~0.2 s) and no loading of numba's cache (~0.3 s) before the first packet.

The module is named after :func:`segverify.jit.aot_tag`, so a module built from other
sources, constants or versions is never loaded; beside it a manifest lists, per entry,
the exported symbols and the argument types each accepts. ``numba.pycc`` is pending
deprecation in numba (since 0.57; still shipped in 0.68): when a numba release drops
it, the build fails and every run uses numba's JIT as before (docs/capture.md).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from segverify.jit import (
    AOT_PREFIX,
    EXPORTS,
    aot_build_dir,
    aot_dirs,
    aot_paths,
    aot_tag,
    kernel_functions,
    load_aot,
    rebound,
    user_cache_dir,
)


def arg_spec(ty: Any) -> list[Any]:
    """A numba argument type as the manifest keeps it (read back without numba)."""
    from numba.core import types
    from numba.np import numpy_support

    if isinstance(ty, types.Array):
        dtype = numpy_support.as_dtype(ty.dtype).str
        return ["array", dtype, ty.ndim, ty.layout, not ty.mutable]
    if isinstance(ty, types.Boolean):
        return ["bool"]
    if isinstance(ty, types.Integer):
        return ["int" if ty.signed else "uint", numpy_support.as_dtype(ty).str]
    if isinstance(ty, types.Float):
        return ["float", numpy_support.as_dtype(ty).str]
    raise TypeError(f"an export argument of type {ty} cannot be checked without numba")


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One build at a time per directory (parallel test workers, two installs)."""
    with open(directory / ".segverify-kernels.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build(directory: Path | None = None, force: bool = False, verbose: bool = False) -> Path:
    """Build the module for the current tag into ``directory`` (default: beside the
    sources when writable, else the per-user temp directory) unless it is there already;
    remove this interpreter's modules of other tags there. Returns the module's path."""
    directory = aot_build_dir() if directory is None else directory
    # the shared temp dir: private; beside the sources: readable by every user of the
    # install (the umask decides)
    private = directory == user_cache_dir()
    directory.mkdir(mode=0o700 if private else 0o777, parents=True, exist_ok=True)
    kernels = kernel_functions()
    tag = aot_tag(kernels)
    module_path, manifest_path = aot_paths(directory, tag)
    with _locked(directory):
        if module_path.is_file() and manifest_path.is_file() and not force:
            return module_path
        with tempfile.TemporaryDirectory(dir=directory, prefix=".build-") as tmp:
            built, manifest = _compile(tag, kernels, Path(tmp), verbose)
            staged = Path(tmp) / manifest_path.name
            staged.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
            os.replace(staged, manifest_path)
            os.replace(built, module_path)  # last: a module present has its manifest
        remove_stale(module_path)
    return module_path


def remove_stale(module_path: Path) -> None:
    """Remove the modules (and manifests) of other tags built for this interpreter beside
    ``module_path``; another Python's modules, built from the same sources by another
    venv, have another suffix and stay."""
    suffix = module_path.name[len(module_path.name.split(".", 1)[0]) :]
    for old in module_path.parent.glob(AOT_PREFIX + "*" + suffix):
        if old != module_path:
            with contextlib.suppress(OSError):
                old.unlink()
                old.with_name(old.name[: -len(suffix)] + ".json").unlink()


def _compile(
    tag: str, kernels: dict[Callable[..., Any], Any], out: Path, verbose: bool
) -> tuple[Path, dict[str, Any]]:
    import numba
    from numba.core import sigutils

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numba.NumbaPendingDeprecationWarning)
        from numba.pycc import CC

    table = rebound(lambda f, options: numba.njit(**options)(f))
    cc = CC(AOT_PREFIX + tag)
    cc.output_dir = str(out)
    cc.verbose = verbose
    entries: dict[str, list[dict[str, Any]]] = {}
    for fn, module in kernels.items():
        for sig in getattr(fn, EXPORTS, ()):
            args, ret = sigutils.normalize_signature(sig)
            symbol = f"e{sum(map(len, entries.values()))}"
            cc.export(symbol, ret(*args))(_calling(table[fn][1], len(args)))
            entries.setdefault(f"{module.__name__}.{fn.__qualname__}", []).append(
                {"symbol": symbol, "signature": sig, "args": [arg_spec(a) for a in args]}
            )
    with warnings.catch_warnings(), _releasing_gil():
        warnings.simplefilter("ignore", numba.NumbaPendingDeprecationWarning)
        cc.compile()
    built = [p for p in out.iterdir() if p.name.startswith(AOT_PREFIX) and p.suffix != ".json"]
    if len(built) != 1:
        raise RuntimeError(f"numba.pycc wrote {[p.name for p in built]}")
    manifest = {
        "tag": tag,
        "numba": numba.__version__,
        "python": sys.version.split()[0],
        "entries": entries,
    }
    return built[0], manifest


@contextlib.contextmanager
def _releasing_gil() -> Iterator[None]:
    """``numba.pycc`` compiles every export with one ``Flags()`` of its own, which has no
    ``nogil`` option; with ``release_gil`` set on it, each export's CPython wrapper lets
    the GIL go around the kernel, as ``njit(nogil=True)`` does at run time (the capture
    reader walks the next window in one thread while another aggregates)."""
    from numba.pycc import compiler

    base = compiler.Flags

    class Flags(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.release_gil = True

    compiler.Flags = Flags
    try:
        yield
    finally:
        compiler.Flags = base


def _calling(target: Any, nargs: int) -> Callable[..., Any]:
    """A function that calls the compiled kernel ``target``: what is exported. The kernel
    itself is compiled by its dispatcher, as at run time: ``numba.pycc`` compiles every
    export with one shared set of flags, which inlining (``inline="always"``) turns SSA
    off in (numba's ``InlineWorker.run_untyped_passes``), so exporting the kernels
    themselves breaks the typing of the exports compiled after one that inlines."""
    names = ", ".join(f"a{i}" for i in range(nargs))
    ns: dict[str, Any] = {"target": target}
    exec(f"def entry({names}):\n    return target({names})\n", ns)  # noqa: S102
    return ns["entry"]  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m segverify.jit",
        description="Build the capture and flow kernels ahead of time (numba.pycc).",
    )
    parser.add_argument("command", choices=["build", "status"])
    parser.add_argument("--dir", type=Path, default=None, help="where to write the module")
    parser.add_argument("--force", action="store_true", help="rebuild even when current")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "status":
        kernels = load_aot(aot_dirs())
        tag = aot_tag()
        if kernels is None:
            where = ", ".join(str(d) for d in aot_dirs())
            print(f"jit: no loadable module for tag {tag} in {where}")
        else:
            found = next(d for d in aot_dirs() if aot_paths(d, tag)[0].is_file())
            print(f"aot: {aot_paths(found, tag)[0]}")
        return
    print(build(args.dir, force=args.force, verbose=args.verbose))
