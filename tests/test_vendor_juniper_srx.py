"""Juniper SRX: every trap of issue 9, both syntaxes, evaluated with the IR evaluator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from segverify.errors import InputError
from segverify.firewall.formats import get_format, sniff_format
from segverify.firewall.ir import Packet, ParseContext, evaluate
from segverify.firewall.ir.device import Device
from segverify.firewall.ir.dump import dump_device
from segverify.firewall.junos.lower import junos_tables

GOLDEN = Path(__file__).parent / "golden" / "firewall" / "juniper-srx"
TCP, UDP, ICMP = 6, 17, 1
TRUST, UNTRUST, LGWAN, DMZ = "ge-0/0/0.0", "ge-0/0/1.0", "ge-0/0/2.0", "ge-0/0/3.0"


def parse(text: str, file: str = "srx.conf") -> Device:
    return get_format("juniper-srx").parse(text, ParseContext(file))


@pytest.fixture(scope="module", params=["three-tier.conf", "three-tier.set"])
def fw(request: pytest.FixtureRequest) -> Device:
    p = GOLDEN / request.param
    return parse(p.read_text(encoding="utf-8"), str(p))


def verdict(
    dev: Device,
    src: str,
    dst: str,
    proto: int = TCP,
    dport: int = 80,
    iif: str = "",
    oif: str = "",
    path: str = "forward",
    **kw: int,
) -> frozenset[str]:
    return evaluate(
        dev, Packet(src, dst, proto, 40000, dport, iif=iif, oif=oif, **kw), path
    ).possible


def test_both_syntaxes_give_the_same_model() -> None:
    dumps = []
    for name in ("three-tier.conf", "three-tier.set"):
        text = (GOLDEN / name).read_text(encoding="utf-8")
        assert sniff_format(text).name == "juniper-srx"
        dumps.append(re.sub(r"three-tier\.\w+:\d+", "L", dump_device(parse(text, name))))
    assert dumps[0] == dumps[1]


def test_zone_pair_then_global_then_default(fw: Device) -> None:
    # zone-pair policy mail-in permits lgwan → dmz mail to the relays
    assert verdict(fw, "198.18.20.7", "198.18.30.10", TCP, 25, iif=LGWAN, oif=DMZ) == {"accept"}
    # nothing in lgwan → dmz for DNS; the global policy 'dns' permits it
    assert verdict(fw, "198.18.20.7", "198.18.30.53", UDP, 53, iif=LGWAN, oif=DMZ) == {"accept"}
    # global 'no-untrust' (from-zone untrust) comes before global 'dns'
    assert verdict(fw, "203.0.113.9", "198.18.30.53", UDP, 53, iif=UNTRUST, oif=DMZ) == {"drop"}
    # but the untrust → dmz zone-pair policy comes before every global one
    assert verdict(fw, "203.0.113.9", "198.18.30.80", TCP, 80, iif=UNTRUST, oif=DMZ) == {"accept"}
    # no policy at all: default-policy deny-all
    assert verdict(fw, "198.18.20.7", "198.18.10.5", TCP, 445, iif=LGWAN, oif=TRUST) == {"drop"}


def test_default_policy_permit_all() -> None:
    text = (
        (GOLDEN / "three-tier.set")
        .read_text(encoding="utf-8")
        .replace("default-policy deny-all", "default-policy permit-all")
    )
    dev = parse(text)
    assert verdict(dev, "198.18.20.7", "198.18.10.5", TCP, 445, iif=LGWAN, oif=TRUST) == {"accept"}


def test_address_books_zone_before_global(fw: Device) -> None:
    # 'web' is 198.18.30.80 in dmz-book (attached to dmz) and 198.18.99.99 globally
    assert verdict(fw, "203.0.113.9", "198.18.30.80", TCP, 80, iif=UNTRUST, oif=DMZ) == {"accept"}
    assert verdict(fw, "203.0.113.9", "198.18.99.99", TCP, 80, iif=UNTRUST, oif=DMZ) == {"drop"}


def test_address_sets_applications_and_sets(fw: Device) -> None:
    for port in (25, 465, 587, 993):  # mail-app terms, smtp-submission, predefined junos-imaps
        assert verdict(fw, "198.18.20.7", "198.18.20.25", TCP, port, iif=LGWAN, oif=DMZ) == {
            "accept"
        }
    assert verdict(fw, "198.18.20.7", "198.18.20.25", TCP, 110, iif=LGWAN, oif=DMZ) == {"drop"}
    assert verdict(fw, "198.18.20.7", "198.18.30.11", TCP, 25, iif=LGWAN, oif=DMZ) == {"drop"}


def test_inactive_policy_and_scheduler(fw: Device) -> None:
    # web-out has a scheduler: may permit; 'everything' is inactive so ssh is denied by default
    assert verdict(fw, "198.18.10.5", "203.0.113.9", TCP, 443, iif=TRUST, oif=UNTRUST) == {
        "accept",
        "drop",
    }
    assert verdict(fw, "198.18.10.5", "203.0.113.9", TCP, 22, iif=TRUST, oif=UNTRUST) == {"drop"}
    everything = next(r for r in fw.rules if r.origin.name == "everything")
    assert not everything.enabled


def test_reject_and_source_address_excluded(fw: Device) -> None:
    assert verdict(fw, "198.18.10.200", "198.18.30.5", TCP, 22, iif=TRUST, oif=DMZ) == {"reject"}
    assert verdict(fw, "198.18.10.2", "198.18.30.5", TCP, 22, iif=TRUST, oif=DMZ) == {
        "drop"
    }  # default


def test_destination_nat_before_policy(fw: Device) -> None:
    # 203.0.113.80:8080 from untrust → 198.18.30.80:80; web-in (to 'web', junos-http) permits
    v = evaluate(fw, Packet("192.0.2.7", "203.0.113.80", TCP, 40000, 8080, iif=UNTRUST, oif=DMZ))
    assert v.possible == {"accept"} and v.nat is not None and v.nat.to_port == 80


def test_firewall_filter_before_policy(fw: Device) -> None:
    assert verdict(fw, "203.0.113.9", "198.18.30.80", TCP, 23, iif=UNTRUST, oif=DMZ) == {"drop"}
    v = evaluate(fw, Packet("203.0.113.9", "198.18.30.80", TCP, 40000, 23, iif=UNTRUST, oif=DMZ))
    assert v.steps[0].rule is not None and v.steps[0].rule.origin.name == "no-telnet"


def test_interface_in_no_zone_passes_nothing(fw: Device) -> None:
    # ge-0/0/4.0 has an address but no security zone; global policy 'dns' would match
    assert verdict(fw, "198.18.10.5", "203.0.113.9", UDP, 53, iif="ge-0/0/4.0", oif=UNTRUST) == {
        "drop"
    }


def test_host_inbound_traffic(fw: Device) -> None:
    assert verdict(fw, "198.18.10.5", "198.18.10.1", TCP, 22, iif=TRUST, path="input") == {"accept"}
    assert verdict(fw, "198.18.10.5", "198.18.10.1", ICMP, 0, iif=TRUST, path="input") == {"accept"}
    # the interface's own list (ike) replaces nothing it does not name: no ssh from untrust
    assert verdict(fw, "192.0.2.7", "203.0.113.1", UDP, 500, iif=UNTRUST, path="input") == {
        "accept"
    }
    assert verdict(fw, "192.0.2.7", "203.0.113.1", TCP, 22, iif=UNTRUST, path="input") == {"drop"}
    assert verdict(fw, "198.18.20.5", "198.18.20.1", TCP, 22, iif=LGWAN, path="input") == {"drop"}


def test_predefined_applications_table_is_consistent() -> None:
    t = junos_tables()
    assert t["applications"]["junos-https"] == ["tcp/443"]
    names = set(t["applications"]) | set(t["rpc"]) | set(t["sets"])
    for members in t["sets"].values():
        assert set(members) <= names
    # every predefined name of Batfish's grammar test is known, none falls to "unknown"
    fixture = Path("/work/shared/fixtures/firewall/batfish/juniper/pre-defined-junos-applications")
    if fixture.exists():
        used = set(re.findall(r"application (junos-[\w-]+)", fixture.read_text()))
        assert used - names == set()


def test_rpc_application_may_match() -> None:
    text = (
        (GOLDEN / "three-tier.set")
        .read_text(encoding="utf-8")
        .replace("application junos-dns-udp", "application junos-sun-rpc-nfs")
    )
    dev = parse(text)
    assert verdict(dev, "198.18.20.7", "198.18.30.9", TCP, 2049, iif=LGWAN, oif=DMZ) == {
        "accept",
        "drop",
    }


HIER_INACTIVE_ADDR = """
security {
    address-book { global { address a1 198.18.20.0/24; inactive: address a2 198.18.21.0/24; } }
    zones { security-zone x { interfaces { ge-0/0/0.0; } } security-zone y { interfaces { ge-0/0/1.0; } } }
    policies { from-zone x to-zone y { policy p { match { source-address [ a1 a2 ]; destination-address any; application any; } then permit; } } }
}
"""


def test_inactive_statement_inside_hierarchy() -> None:
    with pytest.raises(InputError, match="address 'a2' is not defined"):
        parse(
            HIER_INACTIVE_ADDR, "h.conf"
        )  # the device itself refuses a policy naming an inactive address
    dev = parse(
        HIER_INACTIVE_ADDR.replace("source-address [ a1 a2 ]", "source-address a1"), "h.conf"
    )
    assert verdict(dev, "198.18.20.5", "192.0.2.1", iif="ge-0/0/0.0", oif="ge-0/0/1.0") == {
        "accept"
    }


@pytest.mark.parametrize(
    "text,line,what",
    [
        ("security {\n  policies {\n    default-policy { deny-all; }\n", 2, "missing '}'"),
        ("set security policies from-zone a to-zone b policy p match source-address any\n"
         "set security policies from-zone a to-zone b policy p match destination-address any\n"
         "set security policies from-zone a to-zone b policy p match application any\n"
         "set security policies from-zone a to-zone b policy p then permit\n", 1, "security zone 'a' is not defined"),
        ("set security zones security-zone a interfaces ge-0/0/0.0\n"
         "set security policies from-zone a to-zone a policy p match source-address nosuch\n"
         "set security policies from-zone a to-zone a policy p match destination-address any\n"
         "set security policies from-zone a to-zone a policy p match application junos-http\n"
         "set security policies from-zone a to-zone a policy p then permit\n", 2, "address 'nosuch' is not defined"),
        ("set security zones security-zone a interfaces ge-0/0/0.0\n"
         "set security policies from-zone a to-zone a policy p match source-address any\n"
         "set security policies from-zone a to-zone a policy p match destination-address any\n"
         "set security policies from-zone a to-zone a policy p match application nosuch\n"
         "set security policies from-zone a to-zone a policy p then permit\n", 2, "application 'nosuch' is not defined"),
        ("set security address-book global address r range-address 198.18.0.9 to 198.18.0.1\n", 1, "is empty"),
        ("frobnicate everything\n", 1, "not a set command"),
    ],
)  # fmt: skip
def test_device_rejected_input_is_exit_2_with_line(text: str, line: int, what: str) -> None:
    with pytest.raises(InputError) as e:
        parse(text, "bad.conf")
    assert e.value.file == "bad.conf" and e.value.line == line and what in e.value.message


def test_unknown_statement_is_reported() -> None:
    dev = parse(
        "set security zones security-zone a interfaces ge-0/0/0.0\nset security frobnicate x\nset routing-options static route 0.0.0.0/0 next-hop 192.0.2.1\n"
    )
    assert [(loc.line, m.split(":")[0]) for loc, m in dev.warnings] == [(2, "not understood")]
    assert dev.incomplete


def test_top_level_groups_are_expanded() -> None:
    base = (GOLDEN / "three-tier.set").read_text(encoding="utf-8")
    grouped = base + (
        "set groups extra security policies from-zone lgwan to-zone trust policy smb match source-address lgwan-net\n"
        "set groups extra security policies from-zone lgwan to-zone trust policy smb match destination-address any\n"
        "set groups extra security policies from-zone lgwan to-zone trust policy smb match application junos-smb\n"
        "set groups extra security policies from-zone lgwan to-zone trust policy smb then permit\n"
        "set groups unused security policies default-policy permit-all\n"
        "set groups node0 interfaces <ge-*> description x\n"
        "set apply-groups extra\n"
    )
    dev = parse(grouped)
    assert verdict(dev, "198.18.20.7", "198.18.10.5", TCP, 445, iif=LGWAN, oif=TRUST) == {"accept"}
    assert verdict(dev, "198.18.20.7", "198.18.10.5", TCP, 80, iif=LGWAN, oif=TRUST) == {
        "drop"
    }  # 'unused' not applied
    assert not dev.warnings  # node0 is not applied: nothing to report


def test_logical_systems_are_reported_once_not_ignored() -> None:
    dev = parse(
        "set security zones security-zone a interfaces ge-0/0/0.0\n"
        "set logical-systems ls1 security zones security-zone x interfaces ge-0/0/5.0\n"
        "set logical-systems ls1 security policies default-policy permit-all\n"
    )
    assert [(loc.line, m.split(":")[0]) for loc, m in dev.warnings] == [(2, "logical-systems ls1")]


HIER_EDGE = """/* multi-line
   comment { not a block } */
## Last changed: 2026-11-30
security {
    # a comment line
    address-book {
        global {
            address "a b" 198.18.20.0/24;   # quoted name with a space
            address c 198.18.21.0/24;
        }
    }
    protect: zones {
        security-zone x { interfaces { ge-0/0/0.0; } }
        security-zone y { interfaces { ge-0/0/1.0; } }
    }
    policies {
        from-zone x to-zone y {
            policy p1 {
                description "allow { braces } in text; ok";
                match { source-address [ "a b" c ]; destination-address any; application [ junos-http junos-https ]; }
                then { permit; }
            }
            policy p2 {
                match { source-address any; destination-address any; application any; }
                then { inactive: permit; deny; }
            }
        }
    }
}
"""


def test_hierarchical_syntax_edge_cases() -> None:
    dev = parse(HIER_EDGE, "edge.conf")
    p1 = next(r for r in dev.rules if r.origin.name == "p1")
    assert p1.origin.location.line == 18 and p1.action == "accept"
    assert verdict(
        dev, "198.18.21.5", "192.0.2.1", TCP, 443, iif="ge-0/0/0.0", oif="ge-0/0/1.0"
    ) == {"accept"}
    # p2's "permit" is inactive: only "deny" applies
    assert verdict(
        dev, "198.18.22.5", "192.0.2.1", TCP, 443, iif="ge-0/0/0.0", oif="ge-0/0/1.0"
    ) == {"drop"}
    assert next(r for r in dev.rules if r.origin.name == "p2").action == "drop"
    assert not dev.warnings


def test_static_nat_by_address_book_names() -> None:
    dev = parse(
        "set security address-book global address pub 203.0.113.80/32\n"
        "set security address-book global address web 198.18.30.80/32\n"
        "set security zones security-zone untrust interfaces ge-0/0/1.0\n"
        "set security zones security-zone dmz interfaces ge-0/0/3.0\n"
        "set security nat static rule-set s from zone untrust\n"
        "set security nat static rule-set s rule r match destination-address-name pub\n"
        "set security nat static rule-set s rule r then static-nat prefix-name web\n"
        "set security nat static rule-set s rule r then static-nat prefix-name routing-instance default\n"
        "set security policies from-zone untrust to-zone dmz policy p match source-address any\n"
        "set security policies from-zone untrust to-zone dmz policy p match destination-address web\n"
        "set security policies from-zone untrust to-zone dmz policy p match application junos-https\n"
        "set security policies from-zone untrust to-zone dmz policy p then permit\n"
    )
    assert not dev.warnings
    v = evaluate(dev, Packet("192.0.2.7", "203.0.113.80", TCP, 40000, 443, iif=UNTRUST, oif=DMZ))
    assert v.possible == {"accept"} and v.nat is not None and v.nat.to_address == "198.18.30.80"
