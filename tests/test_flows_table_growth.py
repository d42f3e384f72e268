"""The flow table's rows and slot table grow apart (flows/aggregate.py ``FlowState``): the
same rows give the same table whatever rows were reserved up front, including past the
reservation and when the reservation is far larger than what comes."""

from __future__ import annotations

import numpy as np

from segverify.flows.aggregate import FlowState
from segverify.flows.ingest import _records_expected
from segverify.flows.rows import (
    BUCKET,
    BUCKET_ANALYSED,
    DPORT,
    DST_LO,
    FLOW,
    FRAME,
    NCOL,
    PROTO,
    SPORT,
    SRC_LO,
    TS,
    VER,
    VLAN,
    WIRELEN,
)


def _rows(rng: np.random.Generator, n: int, start: int) -> np.ndarray:
    rows = np.zeros((n, NCOL), dtype=np.int64)
    rows[:, BUCKET] = BUCKET_ANALYSED
    rows[:, VER], rows[:, PROTO] = 4, 17
    rows[:, SRC_LO] = rng.integers(0, 40, n)
    rows[:, DST_LO] = rng.integers(0, 40, n)
    rows[:, SPORT] = rng.integers(0, 30, n)
    rows[:, DPORT] = 53
    rows[:, FRAME] = np.arange(start, start + n)
    rows[:, TS] = rows[:, FRAME] * 1000
    rows[:, WIRELEN] = 60
    rows[:, VLAN] = -1
    return rows


def _table(expect: int | None) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(3)
    state = FlowState()
    if expect is not None:
        state.expect(expect)
    cand = np.zeros((700, 3), dtype=np.int64)
    flows = []
    for k in range(6):
        rows = _rows(rng, 700, 1 + 700 * k)
        state.add(rows, len(rows), cand, 0, 0)
        flows.append(rows[:, FLOW].copy())
    n = state.nflows
    assert len(state.slots) >= 2 * n and len(state.keys) >= n
    return state.keys[:n].copy(), state.stats[:n].copy(), flows


def test_reserved_rows_change_nothing() -> None:
    keys, stats, flows = _table(None)
    assert len(keys) > 2000  # past the default capacity: grown by doubling
    for hint in (10, 1500, 1 << 16):
        k2, s2, f2 = _table(hint)
        assert (k2 == keys).all() and (s2 == stats).all()
        assert all((a == b).all() for a, b in zip(f2, flows, strict=True))


def test_records_expected_from_size(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = np.zeros((4, NCOL), dtype=np.int64)
    rows[:, WIRELEN] = 84  # 100 bytes a record with its header
    path = tmp_path / "x.pcap"
    path.write_bytes(b"\0" * 100_024)
    assert _records_expected(str(path), rows) == 1000
    assert _records_expected(str(tmp_path / "missing.pcap"), rows) == 0
    assert _records_expected(str(path), rows[:0]) == 0
