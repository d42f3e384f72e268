"""Observed traffic per zone pair: the "observed" layer of diagrams, matrices and reports.

Every flow of a ``FlowTable`` is judged by the one ``PolicyEvaluator`` and counted under its
(source zone, destination zone): flows, packets, bytes, how many were forbidden (with the
deciding rules) and how many were attempted but never answered. "Answered" uses the flow's
``conn_state`` when the flow table has one (Zeek's states), otherwise whether any packet
came back from the responder (e.g. a TCP SYN answered by RST counts as answered: REJ).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from segverify.checks.policy import PolicyEvaluator
from segverify.flows.model import Flow
from segverify.topology.model import Topology

if TYPE_CHECKING:
    from segverify.checks.flows import FlowAnalysis

# Zeek conn_state values meaning the responder never answered the attempt
UNANSWERED_STATES = frozenset({"S0", "SH", "SHR", "OTH", "RSTOS0", "RSTRH"})


@dataclass
class PairTraffic:
    """What was seen from zone ``src`` to zone ``dst``."""

    src: str
    dst: str
    flows: int = 0
    packets: int = 0
    bytes: int = 0
    forbidden: int = 0  # forbidden flows
    forbidden_packets: int = 0
    unanswered: int = 0  # flows with no answer (attempts)
    forbidden_unanswered: int = 0
    rules: dict[str, int] = field(default_factory=dict)  # deciding rule → forbidden flows

    @property
    def answered(self) -> int:
        return self.flows - self.unanswered


def answered(flow: Flow) -> bool:
    """True when the responder answered: the flow's own ``answered`` (from its Zeek
    ``conn_state``) when the flow model has one, else any packet back from the responder."""
    value = getattr(flow, "answered", None)
    if isinstance(value, bool):
        return value
    state = getattr(flow, "conn_state", None)
    if isinstance(state, str) and state:
        return state not in UNANSWERED_STATES
    return flow.packets_rev > 0


def observed_pairs(topology: Topology, flows: Iterable[Flow]) -> list[PairTraffic]:
    """Cross-zone traffic per ordered zone pair, sorted by (src, dst)."""
    evaluator = PolicyEvaluator(topology)
    pairs: dict[tuple[str, str], PairTraffic] = {}
    for flow in flows:
        v = evaluator.evaluate(flow.src, flow.dst, flow.proto, flow.dport, flow.names)
        if v.src.zone == v.dst.zone:
            continue
        p = pairs.setdefault((v.src.zone, v.dst.zone), PairTraffic(v.src.zone, v.dst.zone))
        ok = answered(flow)
        p.flows += 1
        p.packets += flow.packets
        p.bytes += flow.bytes
        p.unanswered += 0 if ok else 1
        if not v.allowed:
            p.forbidden += 1
            p.forbidden_packets += flow.packets
            p.forbidden_unanswered += 0 if ok else 1
            p.rules[v.decided_by] = p.rules.get(v.decided_by, 0) + 1
    return [pairs[k] for k in sorted(pairs)]


def observed_from_analysis(analysis: FlowAnalysis) -> list[PairTraffic]:
    """``observed_pairs`` computed on the columns of a flow analysis (no Flow objects; the
    verdicts the capture analysis already made), for large captures."""
    cols = analysis.cols
    classes = analysis.classes
    if len(cols) == 0:
        return []
    zones = sorted({c.zone for c in classes})
    zone_index = {z: i for i, z in enumerate(zones)}
    zone_of = np.array([zone_index[c.zone] for c in classes], dtype=np.int64)
    sz = zone_of[analysis.src_cls]
    dz = zone_of[analysis.dst_cls]
    cross = sz != dz
    forb = np.asarray(analysis.verdicts.forbidden, dtype=bool)
    ans = np.asarray(cols.answered, dtype=bool)
    pkts = np.asarray(cols.pkts_fwd, dtype=np.int64) + np.asarray(cols.pkts_rev, dtype=np.int64)
    byts = np.asarray(cols.bytes_fwd, dtype=np.int64) + np.asarray(cols.bytes_rev, dtype=np.int64)
    n = len(zones)
    pair = (sz * n + dz)[cross]
    f, a, p, b = forb[cross], ans[cross], pkts[cross], byts[cross]
    verdict = np.asarray(analysis.verdicts.verdict, dtype=np.int64)[cross]
    size = n * n

    flows = np.bincount(pair, minlength=size)
    out: list[PairTraffic] = []
    rows = analysis.verdicts.rows
    for key in np.nonzero(flows)[0].tolist():
        sel = pair == key
        fs = f[sel]
        t = PairTraffic(zones[key // n], zones[key % n])
        t.flows = int(np.count_nonzero(sel))
        t.packets = int(p[sel].sum())
        t.bytes = int(b[sel].sum())
        t.unanswered = int(np.count_nonzero(~a[sel]))
        t.forbidden = int(np.count_nonzero(fs))
        t.forbidden_packets = int(p[sel][fs].sum())
        t.forbidden_unanswered = int(np.count_nonzero(fs & ~a[sel]))
        for v, count in zip(*np.unique(verdict[sel][fs], return_counts=True), strict=True):
            name = rows[int(v)].decided_by
            t.rules[name] = t.rules.get(name, 0) + int(count)
        out.append(t)
    return sorted(out, key=lambda x: (x.src, x.dst))
