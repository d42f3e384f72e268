"""Vendor built-in behaviour modelled as rules (``Rule.implicit``) is never reported
shadowed or redundant: the user cannot delete it. ASA's only ``icmp deny … IF`` line of an
interface is marked too: deleting it brings back the built-in "ICMP to the interface is
permitted", so it is never redundant although the stage default also drops."""

from __future__ import annotations

from pathlib import Path

import pytest

from segverify.checks.firewall import check_firewall
from segverify.firewall.bind import bind_device
from segverify.firewall.formats import get_format
from segverify.firewall.ir import Device, ParseContext
from segverify.topology.loader import load_topology

ROOT = Path(__file__).resolve().parents[1]
ASA = """ASA Version 9.8(4)
hostname fw-inet
interface GigabitEthernet0/0
 nameif inside
 security-level 100
 ip address 198.18.30.1 255.255.255.0
!
interface GigabitEthernet0/1
 nameif outside
 security-level 0
 ip address 203.0.113.1 255.255.255.192
!
"""


@pytest.fixture(scope="module")
def alpha():
    return load_topology(ROOT / "topologies" / "alpha.yaml")


def asa(extra: str) -> Device:
    return get_format("cisco-asa").parse(ASA + extra, ParseContext("asa.cfg"))


def dead_rule_lines(alpha, dev: Device) -> dict[int, str]:
    bound = bind_device(dev, alpha, "fw-inet", {"inside": "eth0", "outside": "eth1"})
    report = check_firewall(alpha, bound, "fw-inet")
    return {
        f.data["firewall_rule"]["line"]: f.kind
        for f in report.findings
        if f.kind in ("shadowed", "redundant")
    }


def test_sole_icmp_deny_is_not_redundant(alpha) -> None:
    """Deleting `icmp deny any outside` makes ICMP to the outside address permitted."""
    assert dead_rule_lines(alpha, asa("icmp deny any outside\n")) == {}


def test_icmp_deny_after_a_permit_is_still_redundant(alpha) -> None:
    """With another icmp line the implicit deny stays: the deny line changes nothing."""
    dev = asa("icmp permit host 203.0.113.9 echo outside\nicmp deny any outside\n")
    assert dead_rule_lines(alpha, dev) == {14: "redundant"}


def test_asa_builtins_are_implicit() -> None:
    dev = asa("icmp deny any outside\n")
    by_kind = {(r.origin.kind, r.origin.name): r for r in dev.rules}
    assert by_kind[("security-level", "inside")].implicit  # no ACL: levels decide
    assert by_kind[("icmp", "inside")].implicit  # ICMP to the box: permitted by default
    assert by_kind[("icmp", "outside")].implicit  # the sole `icmp deny` line
    assert by_kind[("icmp", "outside")].origin.location.line == 13


def test_srx_null_zone_is_implicit() -> None:
    text = (ROOT / "tests" / "data" / "vendors" / "network" / "fw-mynumber.srx").read_text()
    spare = "    ge-0/0/3 {\n        unit 0 {\n            family inet {\n                address 192.0.2.1/24;\n            }\n        }\n    }\n"
    text = text.replace("interfaces {\n", "interfaces {\n" + spare, 1)
    dev = get_format("juniper-srx").parse(text, ParseContext("srx.conf"))
    null = [r for r in dev.rules if r.origin.kind == "null-zone"]
    assert len(null) == 2 and all(r.implicit for r in null)
    assert all(not r.implicit for r in dev.rules if r.origin.kind != "null-zone")
