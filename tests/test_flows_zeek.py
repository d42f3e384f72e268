"""`segverify flows` against Zeek's conn.log baselines (an independent peer): on every
plain-read trace with a conn_state column, each flow Zeek logs once under the same
orientation has the same endpoints, per-side packets and conn_state in our listing.

Documented difference (docs/pcap.md): when both sides sent FIN and there was a RST too,
Zeek's state machine, which sees the order, can call the connection SF; the flow table
keeps the OR of each side's TCP flags, not their order, so the listing says RSTO/RSTR."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from conftest import TOPOLOGIES
from test_capture_zeek import BASELINES, BASES, CORPUS, KNOWN, PROTOS, _conns

from segverify.capture.fast import read_file
from segverify.checks.flows import analyse_table
from segverify.render.flows_out import FIELD_NAMES, iter_records
from segverify.topology.loader import load_topology

OUR_PROTO = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 1}


def fin_both_and_reset(history: str) -> bool:
    """Zeek history with a FIN from both sides and a RST (Zeek ordered them; the ORed
    flags cannot)."""
    return "F" in history and "f" in history and ("R" in history or "r" in history)


def _comparable(baseline: str) -> bool:
    """Collected: not a documented flow difference (test_capture_zeek proves each still
    differs), a conn_state column, and at least one connection Zeek logged once."""
    if baseline in KNOWN:
        return False
    conns = [c for c in _conns(BASELINES / f"{baseline}.conn.log") if c.get("proto") in PROTOS]
    if not conns or "conn_state" not in conns[0]:
        return False
    per_tuple: dict[tuple, int] = defaultdict(int)
    for c in conns:
        per_tuple[(c["proto"], c["id.orig_h"], c["id.orig_p"], c["id.resp_h"], c["id.resp_p"])] += 1
    return 1 in per_tuple.values()


COMPARABLE = [b for b in BASES if _comparable(b[0])]
# Traces where no connection that Zeek logs once appears in our listing with the same
# endpoints, ports and orientation (not investigated further this session); the test
# checks that this is still so, so the entry cannot go stale.
NOTHING_IN_COMMON = {"core.tunnels.vxlan-unknown-internal-packet", "core.vntag-in-vlan"}


def test_uncollected_baselines_have_nothing_to_compare() -> None:
    """What is left out at collection is left out for a reason a reader can check."""
    for baseline, _, _ in BASES:
        if baseline in KNOWN or _comparable(baseline):
            continue
        conns = [c for c in _conns(BASELINES / f"{baseline}.conn.log") if c.get("proto") in PROTOS]
        if conns and "conn_state" in conns[0]:
            counts = defaultdict(int)
            for c in conns:
                counts[(c["id.orig_h"], c["id.orig_p"], c["id.resp_h"], c["id.resp_p"])] += 1
            assert 1 not in counts.values(), baseline


def test_the_comparison_is_not_vacuous() -> None:
    if not BASES:
        pytest.skip("Zeek baselines not found (SEGVERIFY_FIXTURES)")
    assert len(BASES) > 50


@pytest.mark.parametrize(
    ("baseline", "trace", "command"), COMPARABLE, ids=[b[0] for b in COMPARABLE]
)
def test_flows_listing_matches_zeek(baseline: str, trace: str, command: str) -> None:
    log, path = BASELINES / f"{baseline}.conn.log", CORPUS / trace
    if not log.is_file() or not path.is_file():
        pytest.skip(f"baseline {log.name} or trace {trace} not found")
    conns = [c for c in _conns(log) if c.get("proto") in PROTOS]
    zeek = defaultdict(list)
    for c in conns:
        key = (PROTOS[c["proto"]], c["id.orig_h"], int(c["id.orig_p"]), c["id.resp_h"],
               int(c["id.resp_p"]))  # fmt: skip
        zeek[key].append(c)
    analysis = analyse_table(read_file(str(path)), load_topology(TOPOLOGIES / "alpha.yaml"))
    compared, problems = 0, []
    for rec in iter_records(analysis, np.arange(len(analysis.table))):
        r = dict(zip(FIELD_NAMES, rec, strict=True))
        proto = OUR_PROTO.get(r["proto"])
        rows = zeek.get((proto, r["src"], r["sport"], r["dst"], r["dport"]))
        if proto is None or rows is None or len(rows) != 1:
            continue  # not logged by Zeek in this orientation, or split by inactivity
        z = rows[0]
        compared += 1
        sides = (int(z["orig_pkts"]), int(z["resp_pkts"]))
        if sides != (r["orig_pkts"], r["resp_pkts"]):
            problems.append(
                ("packets", r["src"], r["dst"], sides, (r["orig_pkts"], r["resp_pkts"]))
            )
        if z["conn_state"] != r["conn_state"]:
            documented = (
                z["conn_state"] == "SF"
                and r["conn_state"] in ("RSTO", "RSTR")
                and fin_both_and_reset(z.get("history", ""))
            )
            if not documented:
                problems.append(("conn_state", r["src"], r["dst"], z["conn_state"], r["conn_state"],
                                 z.get("history")))  # fmt: skip
    assert not problems, problems[:5]
    if baseline in NOTHING_IN_COMMON:
        assert compared == 0, f"{baseline}: listed in NOTHING_IN_COMMON but now compared"
    else:
        assert compared > 0, "Zeek logged a connection once, but not in our orientation"
