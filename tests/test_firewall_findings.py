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
    unfiltered = [f for f in permits if f.data["firewall_rule"].get("unfiltered")]
    assert {(f.data["src_zone"], f.data["dst_zone"]) for f in unfiltered} >= {("internet", "inet")}
    assert all(f.data["example"]["in_interface"] == "eth1" for f in unfiltered)
    # the reason names the path: a practitioner knows which interface needs a filter
    f = next(
        f for f in unfiltered if (f.data["src_zone"], f.data["dst_zone"]) == ("internet", "inet")
    )
    reason = "no policy stage filters this path (interface eth1 → eth0)"
    assert f.data["firewall_rule"]["stage"] == reason
    assert f.message.startswith(f"fw-inet: {reason} permits new connections internet → inet")
    assert "インタフェース eth1 → eth0" in f.message_ja
    assert f.data["example"]["out_interface"] == "eth0"


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


def _may_messages(alpha, *rules: Rule) -> list[tuple[str, str]]:
    report = check_firewall(
        alpha, device(Stage("policy", tuple(rules), "drop")), "fw-inet", shadow=False
    )
    return [
        (f.message, f.message_ja)
        for f in report.findings
        if f.kind == "firewall-permit" and not f.data["certain"]
    ]


def test_may_wording_names_applications_in_both_languages(alpha) -> None:
    """App-ID as PAN-OS lowers it: the atom's text repeats its kind."""
    app = Opaque("application", "application ssl, web-browsing")
    msgs = _may_messages(alpha, Rule("accept", all_of(INET, app), at("fw.conf", 7)))
    assert msgs
    en, ja = msgs[0]
    assert (
        "(may: depends on application ssl, web-browsing, which packet headers cannot decide)" in en
    )
    assert (
        "（アプリケーション ssl, web-browsing 次第で許可される可能性。パケットのヘッダでは判定できない）"
        in ja
    )
    assert "did not recognise" not in en and "未対応" not in ja


def test_may_wording_names_the_opaque_deny_that_may_not_block(alpha) -> None:
    """An exact accept after an App-ID deny: the permit is uncertain because of the deny's
    application, which the finding names (the accept itself has no opaque atom)."""
    deny = Rule("drop", Opaque("application", "bittorrent"), at("fw.conf", 6))
    allow = Rule("accept", INET, at("fw.conf", 7))
    msgs = _may_messages(alpha, deny, allow)
    assert msgs
    assert all("application bittorrent" in en for en, _ in msgs)
    assert all("アプリケーション bittorrent" in ja for _, ja in msgs)


def test_may_wording_unknown_only_for_unrecognised(alpha) -> None:
    unknown = Opaque("unknown", "-m foo --bar")
    msgs = _may_messages(alpha, Rule("accept", all_of(INET, unknown), at("fw.conf", 7)))
    assert msgs and all("did not recognise" in en for en, _ in msgs)
    assert all("未対応" in ja for _, ja in msgs)


def test_translated_permit_example_says_where_it_was_sent(alpha) -> None:
    """A published server (DNAT, policy on original addresses): the finding's example is
    the packet as it leaves (the real server, which the topology judges) and says which
    public address it was sent to; nothing claims the server is reachable directly."""
    from segverify.firewall.ir import DestNat, Interfaces, Ports
    from segverify.topology.model import PortRange

    public = Addresses("dst", (ipaddress.ip_network("203.0.113.50/32"),))
    rule = Rule(
        "accept",
        all_of(
            Interfaces("in", ("eth1",)),
            public,
            Protocols((6,)),
            Ports("dport", (PortRange(443, 443),)),
        ),
        at("fw.conf", 9, kind="policy", id="3", name="publish"),
    )
    dev = device(Stage("policy", (rule,), "drop"))
    dev.dnat = [DestNat(public, to_address="198.18.30.80", origin=at("fw.conf", 4))]
    dev.policy_addresses = "original"
    report = check_firewall(alpha, dev, "fw-inet", shadow=False)
    permits = [f for f in report.findings if f.kind == "firewall-permit"]
    assert permits and {f.data["dst_zone"] for f in permits} == {"inet"}
    for f in permits:
        ex = f.data["example"]
        assert ex["dst"] == "198.18.30.80" and ex["translated"] is True
        assert ex["original_dst"] == "203.0.113.50" and ex["original_dport"] == 443
        assert "(sent to 203.0.113.50:443, destination NAT)" in f.message
