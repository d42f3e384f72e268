"""Adversarial captures: mutants of the bundled captures (captures/*.pcap, *.pcapng) through
`segverify pcap`, in a bounded child. Every run fails closed, and whenever a report is
produced its accounting balances (every record in exactly one bucket). Payload-only
mutants of classic pcap files keep the record structure, so the total must equal the
seed's record count (cross-checked with capinfos when installed) and the exit code can
never be "bad input".

Backends: the fast one (the default). Other backends plug in through ``BACKENDS``.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.adversarial import Outcome, assert_fails_closed, mutants, run_batch
from tests.conftest import REPO, TOPOLOGIES

CAPTURES = sorted(p for p in (REPO / "captures").glob("*.pcap*") if not p.name.endswith(".json"))
CLASSIC = [p for p in CAPTURES if p.suffix == ".pcap"]
TOPO = str(TOPOLOGIES / "alpha.yaml")
BACKENDS = ("fast",)
BUCKETS = ("analysed", "non_ip", "unsupported_link", "malformed", "truncated")
CAPTURE_TOKENS: tuple[bytes, ...] = (
    b"\xd4\xc3\xb2\xa1",  # pcap magic
    b"\x0a\x0d\x0d\x0a",  # pcapng section header
    b"\xff\xff\xff\xff",  # huge lengths
    b"\x00\x00\x00\x00",
    b"\x45\x00",  # IPv4 header start
    b"\x86\xdd",  # IPv6 ethertype
    b"\x81\x00" * 20,  # stacked VLAN tags
)


def record_spans(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each record's packet bytes in a well-formed classic pcap seed."""
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    spans, pos = [], 24
    while pos + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[pos + 8 : pos + 12])[0]
        spans.append((pos + 16, pos + 16 + incl))
        pos += 16 + incl
    assert pos == len(data), "seed is not a well-formed classic pcap"
    return spans


def capinfos_count(path: Path) -> int | None:
    tool = shutil.which("capinfos")
    if tool is None:
        return None
    out = subprocess.run([tool, "-c", "-M", "-T", str(path)], capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1].split("\t")[-1])


@st.composite
def payload_mutant(draw: st.DrawFn) -> tuple[str, bytes]:
    """A classic pcap with bytes flipped inside packet data only (headers untouched)."""
    seed = draw(st.sampled_from(CLASSIC))
    data = bytearray(seed.read_bytes())
    spans = [s for s in record_spans(bytes(data)) if s[1] > s[0]]
    for _ in range(draw(st.integers(1, 20))):
        start, end = draw(st.sampled_from(spans))
        i = draw(st.integers(start, end - 1))
        data[i] = draw(st.integers(0, 255))
    return seed.name, bytes(data)


@st.composite
def byte_mutant(draw: st.DrawFn) -> tuple[str, bytes]:
    seed = draw(st.sampled_from(CAPTURES))
    return seed.name, draw(mutants(seed.read_bytes(), CAPTURE_TOKENS))


def run_capture_mutants(
    tmp: Path, batch: list[tuple[str, bytes]], payload_only: bool = False
) -> list[Outcome]:
    argvs, seeds = [], []
    for i, (seed, data) in enumerate(batch):
        f = tmp / f"c{i}{Path(seed).suffix}"
        f.write_bytes(data)
        for backend in BACKENDS:
            argvs.append(["pcap", str(f), "-t", TOPO, "--format", "json", "--backend", backend])
            seeds.append(seed)
    outcomes = run_batch(argvs, cpu=120)
    for outcome, seed in zip(outcomes, seeds, strict=True):
        assert_fails_closed(outcome, frozenset({0, 1, 3} if payload_only else {0, 1, 2, 3}))
        if outcome.code == 2:
            continue
        summary = json.loads(outcome.stdout)["summary"]
        assert summary["records"] == sum(summary[b] for b in BUCKETS), outcome.describe()
        if payload_only:
            want = len(record_spans((REPO / "captures" / seed).read_bytes()))
            assert summary["records"] == want, outcome.describe()
    return outcomes


def test_seed_record_counts_match_capinfos() -> None:
    for seed in CLASSIC:
        got = capinfos_count(seed)
        if got is None:
            pytest.skip("capinfos not installed (CI installs tshark, which brings it)")
        assert got == len(record_spans(seed.read_bytes())), seed.name


@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(byte_mutant(), min_size=6, max_size=6))
def test_capture_mutants_fail_closed_and_balance(
    tmp_path_factory: pytest.TempPathFactory,
    batch,  # noqa: ANN001
) -> None:
    run_capture_mutants(tmp_path_factory.mktemp("cb"), batch)


@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(payload_mutant(), min_size=6, max_size=6))
def test_payload_mutants_keep_every_record(
    tmp_path_factory: pytest.TempPathFactory,
    batch,  # noqa: ANN001
) -> None:
    run_capture_mutants(tmp_path_factory.mktemp("cp"), batch, payload_only=True)


@pytest.mark.adversarial_long
@pytest.mark.skipif(not os.environ.get("SEGVERIFY_LONG"), reason="set SEGVERIFY_LONG=1")
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.one_of(
        st.lists(byte_mutant(), min_size=20, max_size=20).map(lambda b: (b, False)),
        st.lists(payload_mutant(), min_size=20, max_size=20).map(lambda b: (b, True)),
    )
)
def test_long_capture_mutants(tmp_path_factory: pytest.TempPathFactory, case) -> None:  # noqa: ANN001
    batch, payload_only = case
    run_capture_mutants(tmp_path_factory.mktemp("cl"), batch, payload_only)


def test_capture_bombs(tmp_path: Path) -> None:
    """Cut-short, zero-length, huge declared lengths, gzip of zeros: bounded and closed."""
    import gzip

    seed = (REPO / "captures" / "alpha-violations.pcap").read_bytes()
    bombs = [
        ("cut.pcap", seed[: len(seed) // 2]),
        ("empty.pcap", b""),
        ("header-only.pcap", seed[:24]),
        ("huge-len.pcap", seed[:24] + seed[24:32] + b"\xff\xff\xff\x7f" * 2 + seed[40:]),
        ("zeros.pcap.gz", gzip.compress(seed[:24] + b"\x00" * (8 << 20), 9)),
    ]
    argvs = []
    for name, data in bombs:
        f = tmp_path / name
        f.write_bytes(data)
        argvs.append(["pcap", str(f), "-t", TOPO, "--format", "json"])
    outs = run_batch(argvs, cpu=120)
    for out in outs:
        assert_fails_closed(out)
    assert outs[0].code == 3  # a cut-short file keeps what precedes the cut, marked incomplete
    assert outs[0].peak_rss_kib < 700 * 1024
