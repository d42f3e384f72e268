"""Finding details on hand-built device models: packets no stage applies to are permits,
"may" permits name their opaque atoms, implicit (vendor built-in) rules are never reported
shadowed, unused objects."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from segverify.checks.firewall import check_firewall
from segverify.firewall.ir import (
    Addresses,
    Device,
    Interface,
    ObjectDef,
    Opaque,
    Protocols,
    Rule,
    Scope,
    Stage,
    all_of,
    at,
)
from segverify.topology.loader import load_topology

ALPHA = Path(__file__).resolve().parents[1] / "topologies" / "alpha.yaml"
INET = Addresses(
    "src",
    (ipaddress.ip_network("198.18.30.0/24"),),
    (),
    at("fw.conf", 3, kind="address", name="inet-lan"),
)


@pytest.fixture(scope="module")
def alpha():
    return load_topology(ALPHA)


def device(*stages: Stage) -> Device:
    dev = Device("fw-inet", "test", "fw.conf")
    dev.interfaces = {"eth0": Interface("eth0"), "eth1": Interface("eth1")}
    dev.stages = list(stages)
    return dev


def test_unfiltered_interface_is_a_permit(alpha) -> None:
    """An ACL only on eth0 inbound: what enters on eth1 is filtered by nothing."""
    acl = Stage(
        "eth0-in",
        (Rule("accept", Protocols((6,)), at("fw.conf", 5)),),
        "drop",
        Scope(interface="eth0", direction="in"),
    )
    report = check_firewall(alpha, device(acl), "fw-inet", shadow=False)
    permits = [f for f in report.findings if f.kind == "firewall-permit"]
    unfiltered = [f for f in permits if "no stage applies" in f.data["firewall_rule"]["stage"]]
    assert {(f.data["src_zone"], f.data["dst_zone"]) for f in unfiltered} >= {("internet", "inet")}
    assert all(f.data["example"]["in_interface"] == "eth1" for f in unfiltered)


def test_may_permit_names_the_opaque_atoms(alpha) -> None:
    rule = Rule(
        "accept",
        all_of(INET, Opaque("application", "ssl"), Opaque("schedule", "office-hours")),
        at("fw.conf", 7, kind="policy", id="12", name="web-out"),
    )
    report = check_firewall(
        alpha, device(Stage("policy", (rule,), "drop")), "fw-inet", shadow=False
    )
    permits = [f for f in report.findings if f.kind == "firewall-permit"]
    assert permits and all(not f.data["certain"] for f in permits)
    msg = permits[0].message
    assert (
        "application ssl" in msg
        and "schedule office-hours" in msg
        and "did not recognise" not in msg
    )
    assert "policy 12 'web-out'" in msg
    assert "アプリケーション ssl" in permits[0].message_ja
    assert permits[0].data["firewall_rule"]["objects"] == [{"kind": "address", "name": "inet-lan"}]
    assert not report.incomplete  # understood opaque atoms: complete, findings say "may"


def test_implicit_rules_are_not_reported_shadowed(alpha) -> None:
    drop_all = Rule("drop", Protocols((6,)), at("fw.conf", 1))
    builtin = Rule("drop", Protocols((6,)), at("fw.conf", 2), implicit=True)
    user = Rule("drop", Protocols((6,)), at("fw.conf", 3))
    report = check_firewall(
        alpha, device(Stage("policy", (drop_all, builtin, user), "drop")), "fw-inet"
    )
    lines = {
        f.data["firewall_rule"]["line"]
        for f in report.findings
        if f.kind in ("shadowed", "redundant")
    }
    assert 3 in lines and 2 not in lines


def test_unused_objects(alpha) -> None:
    dev = device(Stage("policy", (Rule("accept", INET, at("fw.conf", 9)),), "drop"))
    dev.objects = [
        ObjectDef("address", "inet-lan", at("fw.conf", 3)),
        ObjectDef("address", "old-server", at("fw.conf", 4)),
    ]
    report = check_firewall(alpha, dev, "fw-inet")
    unused = [f for f in report.findings if f.kind == "unused-object"]
    assert [(f.data["object_kind"], f.data["object"]) for f in unused] == [
        ("address", "old-server")
    ]
    assert unused[0].severity == "info" and unused[0].location.line == 4
