"""The kernels built ahead of time (``python -m segverify.jit build``): every entry point
that Python calls is exported with the types its callers pass; a process that uses the
built module never imports numba and reports exactly what the JIT and plain loops report;
a stale, corrupt or untrusted module is never loaded (numba's JIT runs instead); a call
with types the module was not built for goes to the JIT instead of misreading memory.
(That AOT, JIT and plain give the same tables on every case and capture:
test_capture_kernels.py.)"""

from __future__ import annotations

import ast
import importlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, TOPOLOGIES

from segverify import jit
from segverify.capture.fast import FileReader
from segverify.flows.build import oriented_frames
from segverify.flows.state import _states
from segverify.jit import EXPORTS, PLAIN, Kernels, aot_paths, aot_tag, kernel_functions, load_aot
from segverify.jit_build import remove_stale

sys.path.insert(0, str(REPO / "benchmarks"))
from gen_pcap import generate  # noqa: E402


def _kernels_called() -> set[object]:
    """Every function that Python code in segverify/ passes to a set of kernels
    (``kernels(fn)``, ``self.kernels(fn)``, ``(for_rows(n) if … else kernels)(fn)``),
    resolved in the calling module."""
    found: set[object] = set()
    for path in sorted((REPO / "segverify").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module = importlib.import_module(".".join(path.relative_to(REPO).with_suffix("").parts))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and "kernels" in ast.unparse(node.func)
                and len(node.args) == 1
                and not node.keywords
                and isinstance(node.args[0], ast.Name)
            ):
                found.add(vars(module)[node.args[0].id])
    return found


def test_every_kernel_called_from_python_is_exported_and_only_those() -> None:
    kernels = kernel_functions()
    called = _kernels_called()
    assert len(called) >= 10  # walk_pcap, walk_pcapng, summarise, … (the scan finds them)
    for fn in called:
        assert fn in kernels, f"{fn} is called as a kernel"
        assert getattr(fn, EXPORTS), f"{fn} has no exports"
    exported = {fn for fn in kernels if getattr(fn, EXPORTS)}
    assert exported == called  # an export nobody calls is dead weight in the module


def test_the_manifest_lists_every_export(aot_kernels: Kernels) -> None:
    exported = {fn for fn in kernel_functions() if getattr(fn, EXPORTS)}
    assert set(aot_kernels.table) == exported
    for fn, entry in aot_kernels.table.items():
        assert len(entry.exports) == len(getattr(fn, EXPORTS))  # type: ignore[attr-defined]


CHILD = """
import sys
from segverify.cli.main import main
sys.argv = ['segverify', 'pcap', sys.argv[1], '-t', sys.argv[2], '--format', 'json',
            '-o', sys.argv[3], '--no-progress']
try:
    main()
except SystemExit as e:
    code = e.code
print('numba' in sys.modules, any(m.startswith('_segverify_kernels_') for m in sys.modules),
      code)
"""


def _report(tmp_path: Path, capture: Path, name: str, aot: str) -> tuple[list[str], object]:
    out = tmp_path / f"{name}.json"
    env = {**os.environ, "PYTHONPATH": str(REPO), "SEGVERIFY_AOT": aot}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(capture), str(TOPOLOGIES / "alpha.yaml"), str(out)],
        capture_output=True, text=True, env=env, check=False, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    report.pop("generated", None)
    return proc.stdout.split(), report


def test_a_run_on_the_built_module_never_imports_numba_and_reports_the_same(
    tmp_path: Path, aot_kernels: Kernels
) -> None:
    capture = tmp_path / "gen.pcap"
    capture.write_bytes(generate(8_000, 2_000))
    size = capture.stat().st_size
    assert jit.AOT_FROM_BYTES <= size < jit.COMPILE_FROM_BYTES
    # auto: the built module from the start; off: plain, then numba's JIT past
    # PLAIN_RECORDS records (the per-flow loops stay plain below COMPILE_FROM_ROWS)
    auto_seen, auto = _report(tmp_path, capture, "auto", "")
    off_seen, off = _report(tmp_path, capture, "off", "off")
    assert auto_seen == ["False", "True", "1"]
    assert off_seen == ["True", "False", "1"]
    assert auto == off
    assert auto["summary"]["forbidden_flows"] > 0  # type: ignore[index]


@pytest.fixture
def built_copy(tmp_path: Path, aot_kernels: Kernels) -> Iterator[tuple[Path, Path, Path]]:
    """A private directory holding a copy of the current module and its manifest."""
    tag = aot_tag()
    directory = tmp_path / "aot"
    directory.mkdir(mode=0o700)
    for source, target in zip(
        aot_paths(next(d for d in jit.aot_dirs() if aot_paths(d, tag)[0].is_file()), tag),
        aot_paths(directory, tag),
        strict=True,
    ):
        shutil.copyfile(source, target)
    module, manifest = aot_paths(directory, tag)
    yield directory, module, manifest


def test_a_current_copy_loads(built_copy: tuple[Path, Path, Path]) -> None:
    directory, _, _ = built_copy
    kernels = load_aot([directory])
    assert kernels is not None and kernels.kind == "aot"


def test_a_corrupt_module_is_not_loaded(built_copy: tuple[Path, Path, Path]) -> None:
    directory, module, _ = built_copy
    module.write_bytes(b"\x7fELF not really")
    assert load_aot([directory]) is None


def test_a_module_without_its_manifest_or_with_another_tag_is_not_loaded(
    built_copy: tuple[Path, Path, Path],
) -> None:
    directory, _, manifest = built_copy
    data = json.loads(manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps({**data, "tag": "0" * 24}), encoding="utf-8")
    assert load_aot([directory]) is None
    manifest.unlink()
    assert load_aot([directory]) is None


def test_a_module_built_from_other_constants_is_not_loaded(
    built_copy: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A constant a kernel reads changes the tag (numba compiles globals in), wherever the
    constant is defined; the module built before is stale."""
    directory, _, _ = built_copy
    from segverify.capture import walk

    before = aot_tag()
    monkeypatch.setattr(walk, "NS", walk.NS + 1)
    assert aot_tag() != before
    assert load_aot([directory]) is None


def test_a_directory_others_can_write_is_not_trusted(
    built_copy: tuple[Path, Path, Path],
) -> None:
    directory, _, _ = built_copy
    directory.chmod(0o777)
    try:
        assert load_aot([directory]) is None
    finally:
        directory.chmod(0o700)


def test_without_a_current_module_or_when_turned_off_compiled_is_the_jit(
    built_copy: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    directory, _, _ = built_copy
    monkeypatch.setattr(jit, "aot_dirs", lambda: [directory])
    try:
        jit.aot.cache_clear()
        assert jit.compiled().kind == "aot"
        monkeypatch.setenv("SEGVERIFY_AOT", "off")
        jit.aot.cache_clear()
        assert jit.compiled().kind == "jit"
        monkeypatch.delenv("SEGVERIFY_AOT")
        # a corrupt module elsewhere (a path loaded once stays loaded in this process)
        other = directory.parent / "other"
        shutil.copytree(directory, other)
        aot_paths(other, aot_tag())[0].write_bytes(b"corrupt")
        monkeypatch.setattr(jit, "aot_dirs", lambda: [other])
        jit.aot.cache_clear()
        assert jit.compiled().kind == "jit"
    finally:
        jit.aot.cache_clear()


def _state_args(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    ints = [rng.integers(0, 4, n).astype(np.int64) for _ in range(5)]
    ints[0] = rng.choice(np.array([1, 6, 17]), n).astype(np.int64)
    ints[3] = rng.integers(0, 256, n).astype(np.int64)
    return [*ints, np.empty(n, dtype=np.uint8), np.empty(n, dtype=np.bool_)]


def test_arguments_the_module_was_not_built_for_go_to_the_jit(aot_kernels: Kernels) -> None:
    """The module's own unboxing checks an array's item size only: a uint64 array where
    int64 is declared, a strided view where contiguous is, a read-only output would be
    misread or written through. The set checks each call against the manifest."""
    entry = aot_kernels.table[_states]
    good = _state_args(1000)
    entry(*good)
    expected = [a.copy() for a in good[5:]]
    bad_dtype = [good[0].view(np.uint64), *good[1:]]
    strided = [np.repeat(good[0], 2)[::2], *good[1:]]
    readonly_out = [*good[:5], good[5].copy(), good[6].copy()]
    readonly_out[5].flags.writeable = False
    for args in (bad_dtype, strided, readonly_out, good[:-1]):
        with pytest.raises(TypeError, match="no export of _states accepts"):
            entry(*args)
    lenient = load_aot(jit.aot_dirs())  # not strict: what a run uses
    assert lenient is not None
    out = [np.empty(1000, dtype=np.uint8), np.empty(1000, dtype=np.bool_)]
    lenient.table[_states](np.repeat(good[0], 2)[::2], *good[1:5], *out)  # via the JIT
    assert all(np.array_equal(a, b) for a, b in zip(out, expected, strict=True))


def test_a_build_removes_this_interpreters_stale_modules_only(tmp_path: Path) -> None:
    current, _ = aot_paths(tmp_path, "c" * 24)
    stale, stale_manifest = aot_paths(tmp_path, "a" * 24)
    other_python = tmp_path / (jit.AOT_PREFIX + "b" * 24 + ".cpython-399-x86_64-linux-gnu.so")
    other_manifest = tmp_path / (jit.AOT_PREFIX + "b" * 24 + ".json")
    for path in (current, stale, stale_manifest, other_python, other_manifest):
        path.write_bytes(b"x")
    remove_stale(current)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (current, other_python, other_manifest)
    )


def test_orientation_evidence_through_the_module(tmp_path: Path, aot_kernels: Kernels) -> None:
    """``initiators`` (called by the ranged reader of ``--engine dask``) through the module,
    strictly: same evidence as the plain loop."""
    capture = tmp_path / "gen.pcap"
    capture.write_bytes(generate(3_000, 500))
    frames = {}
    for name, kernels in (("plain", PLAIN), ("aot", aot_kernels)):
        reader = FileReader(str(capture), kernels=kernels)
        reader.read()
        assert reader.ingest.state.kernels is kernels
        frames[name] = oriented_frames(reader.ingest.state)
    assert frames["plain"].keys() == frames["aot"].keys()
    for key, plain in frames["plain"].items():
        assert np.array_equal(plain, frames["aot"][key]), key
    assert (frames["aot"]["syn_fwd"] >= 0).sum() > 100
