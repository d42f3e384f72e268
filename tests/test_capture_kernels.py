"""One implementation, three execution modes: the packet and flow loops (``segverify.jit``
kernels) run as plain Python on small inputs and compiled on large ones, either by numba
at run time (JIT) or from the extension module built ahead of time from the same source
(AOT, ``python -m segverify.jit build``). All modes give the same columns, names, tunnels
and accounting on every hard case, the repository's captures and the Zeek corpus; a reader
that switches mode mid-file gives the same table too; a small capture is analysed without
importing numba or the built module at all. The AOT set used here is strict: a call whose
argument types no export declares fails instead of going to the JIT."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scapy.layers.inet import IP, TCP, UDP
from test_capture_cases import CASES, MAC, write_case
from test_capture_readers import pcap_bytes
from test_capture_support import CORPUS
from test_pcap_backends import CAPTURES, ZEEK, corpus_path

from segverify.capture import fast
from segverify.capture.fast import read_file
from segverify.checks.coverage import address_ids
from segverify.errors import InputError
from segverify.flows.columns import FlowColumns
from segverify.flows.community_batch import community_id_array
from segverify.flows.distinct import unique_inverse
from segverify.flows.ingest import FlowIngest
from segverify.flows.model import FlowTable
from segverify.flows.state import states_and_answered
from segverify.jit import PLAIN, PLAIN_RECORDS, Kernels, jitted

REPO = Path(__file__).resolve().parents[1]


def _everything(table: FlowTable) -> tuple[dict[str, object], dict[str, object]]:
    cols = table.columns
    arrays = {
        f.name: getattr(cols, f.name).tolist()
        for f in dataclasses.fields(FlowColumns)
        if isinstance(getattr(cols, f.name), np.ndarray)
    }
    arrays["names"] = cols.names
    arrays["tunnels"] = cols.tunnels
    arrays["community_id"] = cols.community_id_array().tolist()
    return arrays, table.accounting.as_dict()


def _read_or_error(path: str, kernels: object) -> object:
    try:
        return _everything(read_file(path, kernels=kernels))  # type: ignore[arg-type]
    except InputError as exc:
        return ("input error", exc.message)


@pytest.fixture(params=["jit", "aot"])
def compiled(request: pytest.FixtureRequest, aot_kernels: Kernels) -> Kernels:
    """Each compiled set in turn: numba's JIT, then the module built ahead of time."""
    return jitted() if request.param == "jit" else aot_kernels


@pytest.mark.parametrize("name", sorted(CASES))
def test_plain_and_compiled_agree_on_every_case(
    tmp_path: Path, name: str, compiled: Kernels
) -> None:
    path = write_case(tmp_path, name)
    plain = _read_or_error(path, PLAIN)
    assert plain == _read_or_error(path, compiled)
    assert isinstance(plain, tuple) and plain[1]["records"] > 0  # type: ignore[index]


TRUNC = sorted(str(p.relative_to(CORPUS)) for p in (CORPUS / "trunc").glob("*")) if (
    CORPUS / "trunc"
).is_dir() else []  # fmt: skip


@pytest.mark.parametrize("name", CAPTURES + ZEEK + TRUNC)
def test_plain_and_compiled_agree_on_real_captures(name: str, compiled: Kernels) -> None:
    path = corpus_path(name)
    assert _read_or_error(path, PLAIN) == _read_or_error(path, compiled)


def _many_flows_pcap(tmp_path: Path, packets: int) -> str:
    """TCP and UDP flows with handshakes, answers and payloads, more records than a reader
    decodes plain before switching."""
    frames = []
    for i in range(packets // 4):
        a, b = f"198.18.{i % 200}.{1 + i % 250}", f"203.0.113.{1 + i % 200}"
        sport = 1024 + i % 60000
        frames.append(bytes(MAC / IP(src=a, dst=b) / TCP(sport=sport, dport=443, flags="S")))
        frames.append(bytes(MAC / IP(src=b, dst=a) / TCP(sport=443, dport=sport, flags="SA")))
        frames.append(bytes(MAC / IP(src=a, dst=b) / UDP(sport=sport, dport=53) / (b"x" * 20)))
        frames.append(bytes(MAC / IP(src=a, dst=b, flags="MF", frag=0, id=i) / (b"y" * 16)))
    path = tmp_path / "many.pcap"
    path.write_bytes(pcap_bytes(frames))
    return str(path)


def test_a_reader_that_switches_to_compiled_mid_file_gives_the_same_table(
    tmp_path: Path, compiled: Kernels, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _many_flows_pcap(tmp_path, 3 * PLAIN_RECORDS)
    # a file the reader starts plain (as it does below jit.AOT_FROM_BYTES, or below
    # jit.COMPILE_FROM_BYTES without a built module), then switches to ``compiled``
    monkeypatch.setattr(fast, "for_path", lambda _: PLAIN)
    monkeypatch.setattr(fast, "compiled", lambda: compiled)
    switched: list[Kernels] = []
    use = FlowIngest.use
    monkeypatch.setattr(FlowIngest, "use", lambda self, k: (switched.append(k), use(self, k)))
    adaptive = _everything(read_file(path, chunk_records=1000))
    assert switched == [compiled]
    assert adaptive[1]["records"] == 3 * PLAIN_RECORDS
    assert adaptive == _everything(read_file(path, kernels=PLAIN))
    assert adaptive == _everything(read_file(path, kernels=compiled))


def test_flow_kernels_agree_on_every_flag_combination(compiled: Kernels) -> None:
    rng = np.random.default_rng(3)
    n = 20_000
    proto = rng.choice(np.array([1, 6, 17, 58, 132]), n)
    pkts = rng.integers(0, 4, (2, n))
    flags = rng.integers(0, 256, (2, n))
    args = (proto, pkts[0], pkts[1], flags[0], flags[1])
    plain = states_and_answered(*args, kernels=PLAIN)
    fast = states_and_answered(*args, kernels=compiled)
    assert np.array_equal(plain[0], fast[0]) and np.array_equal(plain[1], fast[1])
    assert len(set(plain[0].tolist())) > 8  # the combinations reach most states


def test_community_id_plain_and_compiled_agree(compiled: Kernels) -> None:
    rng = np.random.default_rng(5)
    n = 5_000
    ver = rng.choice(np.array([4, 6]), n)
    hi = rng.integers(0, 2**63, (2, n), dtype=np.uint64) * (ver == 6)
    lo = rng.integers(0, 2**63, (2, n), dtype=np.uint64)
    lo = np.where(ver == 4, lo & np.uint64(0xFFFFFFFF), lo * np.uint64(3))
    proto = rng.choice(np.array([1, 6, 17, 58, 132, 47]), n)
    ports = rng.integers(0, 65536, (2, n))
    ports = np.where(rng.random((2, n)) < 0.05, -1, ports)  # no ports (fragments, …)
    args = (ver, hi[0], lo[0], hi[1], lo[1], proto, ports[0], ports[1])
    plain = community_id_array(*args, seed=7, kernels=PLAIN)
    assert np.array_equal(plain, community_id_array(*args, seed=7, kernels=compiled))
    assert len(set(plain.tolist())) > n * 0.99


def test_address_ids_hashed_equal_sorted(compiled: Kernels) -> None:
    """The hashed pass for large tables gives the ids and first positions of the sort."""
    rng = np.random.default_rng(11)
    n = 30_000
    ver = np.where(rng.random(n) < 0.3, 6, 4)
    pool_hi = np.array([0, 0x20010DB800000000, 0x20010DB800010000], dtype=np.uint64)
    src_hi = np.where(ver == 6, pool_hi[rng.integers(0, 3, n)], 0).astype(np.uint64)
    dst_hi = np.where(ver == 6, pool_hi[rng.integers(0, 3, n)], 0).astype(np.uint64)
    src_lo = rng.integers(0, 500, n).astype(np.uint64)  # many repeats, v4 == v6 low halves
    dst_lo = rng.integers(0, 500, n).astype(np.uint64)
    args = (ver, src_hi, src_lo, dst_hi, dst_lo)
    sorted_ids = address_ids(*args, kernels=PLAIN)
    hashed = address_ids(*args, kernels=compiled)
    for a, b in zip(sorted_ids, hashed, strict=True):
        assert np.array_equal(a, b)
    assert 1000 < len(sorted_ids[2]) < 2 * n


@pytest.mark.parametrize("n", [0, 1, 7, 40_000])
def test_unique_inverse_hashed_equals_numpy(n: int, compiled: Kernels) -> None:
    """The verdict classes' hashed unique gives numpy's sorted values and inverse."""
    rng = np.random.default_rng(n)
    values = rng.integers(0, 3_000, n) * 1_000_003 + rng.integers(0, 2, n)
    want, want_inverse = np.unique(values, return_inverse=True)
    for kernels in (compiled, PLAIN):
        got, inverse = unique_inverse(values, kernels)
        assert np.array_equal(got, want) and np.array_equal(inverse, want_inverse.reshape(-1))
    negative = values - 5  # a negative value: numpy's own path, same answer
    got, inverse = unique_inverse(negative, compiled)
    assert np.array_equal(got, np.unique(negative))


def test_small_capture_is_analysed_without_numba() -> None:
    code = (
        "import sys\n"
        "from segverify.cli.main import main\n"
        "sys.argv = ['segverify', 'pcap', sys.argv[1], '-t', sys.argv[2], '--format',"
        " 'json', '-o', sys.argv[3], '--no-progress']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    code = e.code\n"
        "print('numba' in sys.modules, any('_segverify_kernels_' in m for m in sys.modules), code)\n"
    )
    out = Path(os.devnull)
    proc = subprocess.run(
        [sys.executable, "-c", code, str(REPO / "captures" / "alpha-violations.pcap"),
         str(REPO / "topologies" / "alpha.yaml"), str(out)],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )  # fmt: skip
    assert proc.stdout.split() == ["False", "False", "1"], proc.stderr
