"""Hypothesis fuzzing of the readers: mutated and cut real captures, and random bytes,
never crash and always balance the accounting."""

from __future__ import annotations

import gzip
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_capture_support import CORPUS
from test_pcap_backends import signature

from segverify.capture.fast import read_file
from segverify.capture.scapy_backend import read_file as scapy_read
from segverify.errors import InputError
from segverify.flows.model import FlowTable

SEEDS = [
    "http-vlan-0.pcap",
    "pcapng-multi-interface.pcapng",
    "tunnels/gre-erspan3-dot1q.pcap",
    "tunnels/vxlan.pcap",
    "ipv6-fragmented-dns.pcap",
    "linux_dlt_sll2.pcap",
    "mixed-vlan-mpls.pcap",
]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _seed(name: str) -> bytes:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"fixture {path} not found")
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data[:20000]


def _read(data: bytes, compress: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.cap"
        path.write_bytes(gzip.compress(data) if compress else data)
        try:
            table = read_file(str(path), chunk_records=7)
        except InputError:
            assert data[:4] not in (b"\xd4\xc3\xb2\xa1", b"\x0a\x0d\x0d\x0a") or len(data) < 4
            return
        acct = table.accounting
        assert acct.balanced()
        assert sum(f.packets for f in table.flows) == acct.analysed


@pytest.mark.parametrize("name", SEEDS)
@FUZZ
@given(data=st.data())
def test_mutated_real_captures(name: str, data: st.DataObject) -> None:
    raw = bytearray(_seed(name))
    for _ in range(data.draw(st.integers(0, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    _read(bytes(raw[:cut]), compress=data.draw(st.booleans()))


@FUZZ
@given(body=st.binary(max_size=3000), magic=st.sampled_from(
    [b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x0a\x0d\x0d\x0a", b"", b"\x1f\x8b"]))  # fmt: skip
def test_random_bytes(body: bytes, magic: bytes) -> None:
    _read(magic + body)


def _signature_of(read: Callable[[str], FlowTable], path: Path) -> object:
    try:
        return signature(read(str(path)))
    except InputError:
        return "input error"


@pytest.mark.parametrize("name", SEEDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_scapy_agrees_with_fast_on_mutants(name: str, data: st.DataObject) -> None:
    """Mutated captures (TCP data offsets, damaged pcapng blocks, cut files…): the reference
    decoder and the fast one give the same flows and accounting."""
    raw = bytearray(_seed(name))
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(raw) // 2, len(raw)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mutant.cap"
        path.write_bytes(bytes(raw[:cut]))
        assert _signature_of(scapy_read, path) == _signature_of(read_file, path)


def test_scapy_survives_a_timestamp_beyond_int64(tmp_path: Path) -> None:
    """Found by the differential fuzzer: a damaged interface block gives a timestamp past
    int64; the reference decoder wraps it as the compiled reader does (no OverflowError)."""
    raw = bytearray(_seed("pcapng-multi-interface.pcapng"))
    raw[132] = 0
    path = tmp_path / "mutant.pcapng"
    path.write_bytes(bytes(raw[:674]))
    assert _signature_of(scapy_read, path) == _signature_of(read_file, path)
