"""The shortcuts of the columnar analysis give what the plain per-flow path gives: the class
of each endpoint (classified once per distinct address) equals classifying that column
directly, and each flow's verdict (one policy evaluation per class pair and port
signature) equals the evaluator's verdict for that flow alone, on topologies whose allow
rules name ports, FQDNs and prefixes."""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest
from conftest import TOPOLOGIES

from segverify.checks.addrclass import AddressClassifier
from segverify.checks.flows import analyse_table
from segverify.checks.policy import PolicyEvaluator
from segverify.flows.columns import FlowColumns
from segverify.flows.model import Accounting, FlowTable
from segverify.topology.loader import load_topology

PORTS = [22, 25, 53, 80, 123, 389, 443, 445, 514, 636, 993, 3389, 8080, 8443, 50000, -1]


def _table(classifier: AddressClassifier, n: int, seed: int) -> FlowTable:
    """Flows between the representatives of every address class (and their neighbours)."""
    rng = np.random.default_rng(seed)
    reps = [c.representative for c in classifier.classes]
    v4 = [a for a in reps if ":" not in a]
    values = np.array([int(ipaddress.ip_address(a)) for a in v4], dtype=np.int64)
    src = values[rng.integers(0, len(values), n)] + rng.integers(0, 3, n)
    dst = values[rng.integers(0, len(values), n)] + rng.integers(0, 3, n)
    proto = rng.choice([6, 17, 1], n, p=[0.6, 0.3, 0.1])
    dport = np.array(PORTS)[rng.integers(0, len(PORTS), n)]
    dport = np.where(proto == 1, 0, dport)
    arrays = {
        "ver": np.full(n, 4), "src_hi": np.zeros(n), "src_lo": src & 0xFFFFFFFF,
        "dst_hi": np.zeros(n), "dst_lo": dst & 0xFFFFFFFF, "proto": proto,
        "sport": np.where(dport < 0, -1, 40000), "dport": dport, "vlan": np.full(n, -1),
        "pkts_fwd": np.ones(n), "pkts_rev": rng.integers(0, 2, n), "bytes_fwd": np.full(n, 60),
        "bytes_rev": np.full(n, 60), "first_ns": np.arange(n), "last_ns": np.arange(n),
        "first_frame": np.arange(1, n + 1), "flags_fwd": np.full(n, 2),
        "flags_rev": np.full(n, 0x12), "tun_type": np.zeros(n), "tun_ver": np.zeros(n),
        "tun_src_hi": np.zeros(n), "tun_src_lo": np.zeros(n), "tun_dst_hi": np.zeros(n),
        "tun_dst_lo": np.zeros(n), "file": np.zeros(n),
    }  # fmt: skip
    names = {i: ("www.example.jp",) for i in range(0, n, 7)}
    return FlowTable(
        accounting=Accounting(files=1, records=2 * n, analysed=2 * n),
        columns=FlowColumns.from_arrays(arrays, ["x.pcap"], names),
    )


@pytest.mark.parametrize("topology", ["alpha", "alpha-prime", "beta", "beta-prime", "two-tier"])
def test_classes_and_verdicts_match_the_plain_path(topology: str) -> None:
    topo = load_topology(TOPOLOGIES / f"{topology}.yaml")
    classifier = AddressClassifier(topo)
    table = _table(classifier, 3000, seed=len(topology))
    analysis = analyse_table(table, topo)
    cols = table.columns
    assert (analysis.src_cls == classifier.classify(cols.ver, cols.src_hi, cols.src_lo)).all()
    assert (analysis.dst_cls == classifier.classify(cols.ver, cols.dst_hi, cols.dst_lo)).all()
    evaluator = PolicyEvaluator(topo)
    forbidden = 0
    for i in range(len(cols)):
        s = analysis.classes[int(analysis.src_cls[i])].endpoint()
        d = analysis.classes[int(analysis.dst_cls[i])].endpoint()
        port = int(cols.dport[i])
        v = evaluator.evaluate_endpoints(
            s, d, int(cols.proto[i]), None if port < 0 else port, cols.names.get(i, ())
        )
        got = analysis.verdict(i)
        assert (got.allowed, got.decided_by, got.reason, got.clauses) == (
            v.allowed, v.decided_by, v.reason, v.clauses,
        ), i  # fmt: skip
        forbidden += not v.allowed
    assert 0 < forbidden < len(cols)  # both kinds of verdict were exercised
