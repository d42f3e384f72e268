"""The documented segverify firewall CSV: objects, groups, cycles, zones, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TOPOLOGIES

from segverify.errors import InputError
from segverify.firewall import ir, parse_export, parse_text
from segverify.firewall.ir import Packet
from segverify.firewall.ruleset_ir import lower_ruleset
from segverify.topology.loader import load_topology

GOLDEN = Path(__file__).parent / "golden" / "firewall"
H = "kind,name,action,src,dst,service,members\n"


def evaluate(rs, p, path: str = "forward"):  # noqa: ANN001, ANN201
    """The one concrete evaluator (segverify.firewall.ir) on the lowered ruleset:
    (action, rules that decided)."""
    v = ir.evaluate(lower_ruleset(rs), p, path)
    return v.action, [s.rule for s in v.steps if s.rule is not None]


def test_groups_services_and_disabled_rows() -> None:
    rs = parse_export(str(GOLDEN / "csv/policy.csv"))
    assert rs.device == "fw-lgwan" and rs.vendor == "csv"
    (stage,) = rs.stages
    assert stage.default_action == "drop"
    assert [r.dports.ranges[0].lo for r in stage.rules if r.name == "mail-out"] == [
        25,
        587,
        80,
        443,
    ]
    assert [r.enabled for r in stage.rules if r.name == "ping"] == [False]
    p = Packet("198.18.20.25", "198.19.100.25", 6, dport=443, iif="eth0", oif="eth1")
    assert evaluate(rs, p)[0] == "accept"
    assert evaluate(rs, Packet("198.18.20.130", "8.8.8.8", 1, icmp_type=8))[0] == "drop"


def test_zones_bind_to_topology() -> None:
    topo = load_topology(TOPOLOGIES / "alpha.yaml")
    rs = parse_export(str(GOLDEN / "csv/policy.csv"), topology=topo)
    assert rs.interfaces == {"eth0": "lgwan", "eth1": "lgwan-wan"}
    dns = [r for r in rs.stages[0].rules if r.name == "dns"][0]
    assert dns.in_zones == ("lgwan",) and dns.out_zones == ("lgwan-wan",)
    with pytest.raises(InputError, match="not 'fw-inet'"):
        parse_export(str(GOLDEN / "csv/policy.csv"), topology=topo, device="fw-inet")


def test_group_cycle_is_an_error_with_line() -> None:
    text = H + "address,a,,,,,b\naddress,b,,,,,a\nrule,r,accept,a,any,,\n"
    with pytest.raises(InputError, match="address group cycle") as exc:
        parse_text(text, "c.csv")
    assert exc.value.line in (2, 3)


def test_unknown_object_and_action_are_errors() -> None:
    with pytest.raises(InputError, match="neither an address"):
        parse_text(H + "rule,r,accept,nosuch,any,,\n", "c.csv")
    with pytest.raises(InputError, match="unknown action") as exc:
        parse_text(H + "rule,r,maybe,any,any,,\n", "c.csv")
    assert exc.value.line == 2
