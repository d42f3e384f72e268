"""The columnar flow table: built without Flow objects, equal to them, merged, pickled."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from conftest import REPO

from segverify.capture import read_flows
from segverify.capture.fast import read_file
from segverify.capture.scapy_backend import read_file as scapy_read
from segverify.flows.columns import COLUMNS, FlowColumns
from segverify.flows.model import Flow
from segverify.flows.state import CONN_STATES, conn_state

CAPS = REPO / "captures"
SYN, ACK, FIN, RST, PSH = 0x02, 0x10, 0x01, 0x04, 0x08


def test_fast_table_is_columnar_and_lazy() -> None:
    table = read_file(str(CAPS / "alpha-violations.pcap"))
    assert table._flows is None  # nothing materialised by reading
    cols = table.columns
    assert len(cols) == len(table) > 0
    for name, dtype in COLUMNS:
        assert getattr(cols, name).dtype == np.dtype(dtype), name
        assert len(getattr(cols, name)) == len(cols)
    assert table._flows is None
    flows = table.flows
    assert [table.flow(i) for i in range(len(table))] == flows


def test_columns_equal_flow_objects_of_the_reference_backend() -> None:
    path = str(CAPS / "alpha-violations.pcapng")
    fast = read_file(path)
    ref = scapy_read(path)

    def rows(cols: FlowColumns) -> list[tuple]:
        arrays = cols.arrays()
        keep = [name for name, _ in COLUMNS if name != "file"]
        return sorted(zip(*(arrays[name].tolist() for name in keep), strict=True))

    assert rows(fast.columns) == rows(FlowColumns.from_flows(ref.flows))
    assert sorted(fast.columns.community_ids()) == sorted(f.community_id for f in ref.flows)


def test_from_flows_round_trip() -> None:
    table = read_file(str(CAPS / "alpha-violations.pcap"))
    again = FlowColumns.from_flows(table.flows)
    assert list(again.iter_flows()) == table.flows


def test_merge_two_files_is_one_capture() -> None:
    path = str(CAPS / "alpha-violations.pcap")
    one = read_file(path)
    both = read_flows([path, path])
    assert len(both) == len(one)
    cols = both.columns
    assert cols.files == (path, path)
    assert (cols.file == 0).all()  # kept from the first file
    assert np.array_equal(cols.pkts_fwd, 2 * one.columns.pkts_fwd)
    assert np.array_equal(cols.bytes_rev, 2 * one.columns.bytes_rev)
    assert np.array_equal(cols.state, one.columns.state)
    assert [f.names for f in both.flows] == [f.names for f in one.flows]
    assert both.accounting.records == 2 * one.accounting.records


def test_merge_reorients_a_reversed_flow() -> None:
    a = _flow(src="198.18.0.1", dst="198.18.0.2", sport=1000, dport=80, fwd=(3, SYN | ACK))
    b = _flow(src="198.18.0.2", dst="198.18.0.1", sport=80, dport=1000, fwd=(2, RST), file="b")
    from segverify.flows.merge import merge_columns

    merged = merge_columns([FlowColumns.from_flows([a]), FlowColumns.from_flows([b])])
    f = merged.flow(0)
    assert (f.src, f.sport, f.packets_fwd, f.packets_rev) == ("198.18.0.1", 1000, 3, 2)
    assert (f.tcp_flags_fwd, f.tcp_flags_rev) == (SYN | ACK, RST)
    assert f.file == "a"


def test_table_pickles_as_columns() -> None:
    table = read_file(str(CAPS / "alpha-violations.pcap"))
    _ = table.flows
    back = pickle.loads(pickle.dumps(table))
    assert back._flows is None
    assert back.flows == table.flows


def _flow(
    src: str = "198.18.0.1",
    dst: str = "198.18.0.2",
    proto: int = 6,
    sport: int | None = 40000,
    dport: int | None = 443,
    fwd: tuple[int, int] = (1, SYN),
    rev: tuple[int, int] = (0, 0),
    file: str = "a",
) -> Flow:
    return Flow(
        src=src, dst=dst, proto=proto, sport=sport, dport=dport, packets_fwd=fwd[0],
        bytes_fwd=60 * fwd[0], packets_rev=rev[0], bytes_rev=60 * rev[0], first_ns=1,
        last_ns=2, first_frame=1, file=file, tcp_flags_fwd=fwd[1], tcp_flags_rev=rev[1],
    )  # fmt: skip


@pytest.mark.parametrize(
    ("proto", "fwd", "rev", "state", "answered"),
    [
        (6, (1, SYN), (0, 0), "S0", False),
        (6, (2, SYN), (1, RST | ACK), "REJ", False),
        (6, (3, SYN | ACK), (2, SYN | ACK), "S1", True),
        (6, (5, SYN | ACK | FIN | PSH), (4, SYN | ACK | FIN | PSH), "SF", True),
        (6, (4, SYN | ACK | RST), (2, SYN | ACK), "RSTO", True),
        (6, (3, SYN | ACK), (3, SYN | ACK | RST), "RSTR", True),
        (6, (2, SYN | RST), (0, 0), "RSTOS0", False),
        (6, (2, SYN | FIN), (0, 0), "SH", False),
        (6, (4, SYN | ACK | FIN), (2, SYN | ACK), "S2", True),
        (6, (3, SYN | ACK), (3, SYN | ACK | FIN), "S3", True),
        (6, (3, ACK | PSH), (3, ACK), "OTH", True),
        (6, (3, ACK | PSH), (1, RST), "RSTRH", False),
        (17, (1, 0), (0, 0), "S0", False),
        (17, (1, 0), (1, 0), "SF", True),
        (1, (1, 0), (1, 0), "OTH", True),
        (1, (1, 0), (0, 0), "OTH", False),
    ],
)
def test_conn_state(
    proto: int, fwd: tuple[int, int], rev: tuple[int, int], state: str, answered: bool
) -> None:
    f = _flow(proto=proto, fwd=fwd, rev=rev)
    assert f.conn_state == state
    assert f.answered is answered
    cols = FlowColumns.from_flows([f])
    assert CONN_STATES[int(cols.state[0])] == state
    assert bool(cols.answered[0]) is answered
    assert conn_state(proto, fwd[0], rev[0], fwd[1], rev[1]) == state


def test_batch_community_ids_equal_the_reference_per_row() -> None:
    from segverify.flows.columns import packed
    from segverify.flows.community_batch import community_id_array
    from segverify.flows.community_id import community_id_packed

    rng = np.random.default_rng(7)
    n = 3000
    ver = rng.choice([4, 6], n)
    big = rng.integers(0, 2**63, (4, n), dtype=np.int64).astype(np.uint64) * np.uint64(2)
    small = rng.integers(0, 2**32, (2, n), dtype=np.int64).astype(np.uint64)
    shi = np.where(ver == 4, 0, big[0]).astype(np.uint64)
    slo = np.where(ver == 4, small[0], big[1]).astype(np.uint64)
    dhi = np.where(ver == 4, 0, big[2]).astype(np.uint64)
    dlo = np.where(ver == 4, small[1], big[3]).astype(np.uint64)
    dhi[:50], dlo[:50] = shi[:50], slo[:50]  # same address both ends: ports decide
    proto = rng.choice([1, 6, 17, 58, 132, 47, 41], n)
    sport = rng.integers(0, 65536, n)
    dport = rng.integers(0, 65536, n)
    icmp = (proto == 1) | (proto == 58)
    sport[icmp] = rng.choice([0, 3, 8, 11, 128, 129, 133, 135, 1, 200], icmp.sum())
    dport[icmp] = rng.integers(0, 256, icmp.sum())
    sport[(proto == 47) | (proto == 41)] = -1
    dport[(proto == 47) | (proto == 41)] = -1
    got = community_id_array(ver, shi, slo, dhi, dlo, proto, sport, dport).astype("U30")
    for i in range(n):
        v, sp, dp = int(ver[i]), int(sport[i]), int(dport[i])
        want = community_id_packed(
            packed(v, int(shi[i]), int(slo[i])),
            packed(v, int(dhi[i]), int(dlo[i])),
            int(proto[i]),
            None if sp < 0 else sp,
            None if dp < 0 else dp,
        )
        assert got[i] == want, i


def test_table_community_ids_match_flow_objects() -> None:
    table = read_file(str(CAPS / "alpha-violations.pcapng"))
    assert table.columns.community_ids() == [f.community_id for f in table.flows]
