"""Cisco ASA: every trap of issue 9, evaluated with the IR's one concrete evaluator."""

from __future__ import annotations

from pathlib import Path

import pytest

from segverify.errors import InputError
from segverify.firewall.formats import get_format, sniff_format
from segverify.firewall.ir import Packet, ParseContext, evaluate
from segverify.firewall.ir.device import Device

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "firewall" / "cisco-asa" / "three-tier.cfg"
TCP, UDP, ICMP, GRE = 6, 17, 1, 47


def parse(text: str, file: str = "asa.cfg") -> Device:
    return get_format("cisco-asa").parse(text, ParseContext(file))


@pytest.fixture(scope="module")
def fw() -> Device:
    return parse(GOLDEN.read_text(encoding="utf-8"), str(GOLDEN))


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
    pkt = Packet(src, dst, proto, sport=kw.pop("sport", 40000), dport=dport, iif=iif, oif=oif, **kw)
    return evaluate(dev, pkt, path).possible


def test_sniffed_and_named(fw: Device) -> None:
    assert sniff_format(GOLDEN.read_text(encoding="utf-8")).name == "cisco-asa"
    assert fw.name == "fw-lgwan" and set(fw.interfaces) == {
        "inside",
        "lgwan",
        "outside",
        "dmz",
        "mgmt",
    }
    assert not fw.incomplete  # routing and logging lines are understood as not filtering


def test_post_83_acl_matches_the_real_address(fw: Device) -> None:
    # outside → mapped 203.0.113.80:80 is translated to 198.18.30.80 before the ACL:
    # line 70 (real address) permits it; line 71 names the mapped address and matches nothing
    v = evaluate(fw, Packet("192.0.2.99", "203.0.113.80", TCP, 40000, 80, iif="outside", oif="dmz"))
    assert v.possible == {"accept"}
    assert v.packet is not None and v.nat is not None and v.nat.to_address == "198.18.30.80"
    deciding = [s for s in v.steps if s.rule is not None and s.rule.action == "accept"]
    assert deciding[0].rule.origin.location.line == 70
    # port 8080 on the mapped address: not in web-ports, and line 71's mapped address never matches
    assert verdict(fw, "192.0.2.99", "203.0.113.80", dport=8080, iif="outside", oif="dmz") == {
        "drop"
    }


def test_interface_acl_before_global(fw: Device) -> None:
    # outside_in ends with "deny ip any any": the global DNS permit is never reached
    assert verdict(fw, "192.0.2.99", "198.18.30.53", UDP, 53, iif="outside", oif="dmz") == {"drop"}
    # lgwan_in matches nothing for DNS → the global ACL permits it
    assert verdict(fw, "198.18.20.7", "198.18.10.53", UDP, 53, iif="lgwan", oif="inside") == {
        "accept"
    }
    # inside has no interface ACL: the global ACL alone (then its implicit deny), not security levels
    assert verdict(fw, "198.18.10.7", "203.0.113.9", UDP, 53, iif="inside", oif="outside") == {
        "accept"
    }
    assert verdict(fw, "198.18.10.7", "203.0.113.9", TCP, 443, iif="inside", oif="outside") == {
        "drop"
    }


def test_nested_groups_and_inline_service_objects(fw: Device) -> None:
    # lgwan-side > relays > name mail-relay / object sanitiser; service group mail = object + inline
    assert verdict(fw, "198.18.20.25", "198.18.30.10", TCP, 25, iif="lgwan", oif="dmz") == {
        "accept"
    }
    assert verdict(fw, "198.18.21.4", "198.18.30.10", TCP, 587, iif="lgwan", oif="dmz") == {
        "accept"
    }
    assert verdict(fw, "198.18.20.26", "198.18.30.10", TCP, 25, iif="lgwan", oif="dmz") == {"drop"}
    assert verdict(fw, "198.18.20.25", "198.18.30.10", UDP, 25, iif="lgwan", oif="dmz") == {"drop"}


def test_protocol_and_icmp_groups_any4_any6(fw: Device) -> None:
    # icmp-type group 'pings' from any4: echo yes, unreachable no, IPv6 source no
    assert verdict(
        fw, "192.0.2.5", "198.18.30.9", ICMP, 0, iif="outside", oif="dmz", icmp_type=8
    ) == {"accept"}
    assert verdict(
        fw, "192.0.2.5", "198.18.30.9", ICMP, 0, iif="outside", oif="dmz", icmp_type=3
    ) == {"drop"}
    # protocol group 'tunnels' to any6: GRE to an IPv6 address yes, to IPv4 no
    assert verdict(fw, "2001:db8:1::5", "2001:db8:30::9", GRE, 0, iif="outside", oif="dmz") == {
        "accept"
    }
    assert verdict(fw, "192.0.2.5", "198.18.30.9", GRE, 0, iif="outside", oif="dmz") == {"drop"}


def test_time_range_may_match_and_inactive_is_skipped(fw: Device) -> None:
    # ssh from lgwan inside office hours: permitted only then → may accept, may drop (the
    # inactive "permit ip any any" below it does not count)
    v = evaluate(
        fw, Packet("198.18.20.7", "198.18.10.5", TCP, 40000, 22, iif="lgwan", oif="inside")
    )
    assert v.possible == {"accept", "drop"}
    assert [a.kind for a in v.opaque] == ["schedule"]
    rules = [r for s in fw.stages for r in s.rules if r.origin.name == "lgwan_in"]
    assert [r.enabled for r in rules] == [True, True, False]


def test_remarks_and_line_numbers(fw: Device) -> None:
    r = next(r for r in fw.rules if r.origin.name == "outside_in")
    assert r.comment.startswith("web server") and r.origin.id == "2"  # the remark is line 1
    assert r.origin.via and r.origin.via[0].line == 82  # the access-group binding


def test_outbound_acl_after_inbound(fw: Device) -> None:
    # outside_in permits web-srv:443 (real address), dmz_out then denies https
    assert verdict(fw, "192.0.2.9", "203.0.113.80", TCP, 443, iif="outside", oif="dmz") == {"drop"}
    assert verdict(fw, "198.18.10.7", "198.18.30.5", UDP, 53, iif="inside", oif="dmz") == {"accept"}


def test_same_security_and_management_only(fw: Device) -> None:
    # intra-interface is permitted: hairpin on inside follows the ACLs
    assert verdict(fw, "198.18.10.7", "198.18.10.8", UDP, 53, iif="inside", oif="inside") == {
        "accept"
    }
    # inside and mgmt are both level 100 (no inter-interface), and mgmt is management-only
    assert verdict(fw, "192.0.2.7", "198.18.10.8", UDP, 53, iif="mgmt", oif="inside") == {"drop"}
    assert verdict(fw, "198.18.10.8", "192.0.2.7", UDP, 53, iif="inside", oif="mgmt") == {"drop"}


def test_to_the_box(fw: Device) -> None:
    assert verdict(fw, "192.0.2.7", "192.0.2.1", TCP, 22, iif="mgmt", path="input") == {"accept"}
    assert verdict(fw, "198.18.10.7", "198.18.10.1", TCP, 8443, iif="inside", path="input") == {
        "accept"
    }
    assert verdict(fw, "198.18.10.7", "198.18.10.1", TCP, 22, iif="inside", path="input") == {
        "drop"
    }
    # management answers only on the address of the interface the packet came in on
    assert verdict(fw, "198.18.10.7", "192.0.2.1", TCP, 22, iif="inside", path="input") == {"drop"}
    assert verdict(fw, "198.51.100.7", "203.0.113.1", ICMP, 0, iif="outside", path="input") == {
        "drop"
    }
    assert verdict(fw, "198.18.20.7", "198.18.20.1", ICMP, 0, iif="lgwan", path="input") == {
        "accept"
    }


LEVELS = """ASA Version 9.9
hostname lv
interface g0
 nameif inside
 ip address 198.18.10.1 255.255.255.0
interface g1
 nameif dmz
 security-level 50
 ip address 198.18.30.1 255.255.255.0
interface g2
 nameif dmz2
 security-level 50
 ip address 198.18.31.1 255.255.255.0
interface g3
 nameif outside
 security-level 0
 ip address 203.0.113.1 255.255.255.0
{extra}
"""


@pytest.mark.parametrize(
    "extra,inter,intra",
    [("", False, False), ("same-security-traffic permit inter-interface", True, False),
     ("same-security-traffic permit intra-interface", False, True),
     ("same-security-traffic permit inter-interface\nsame-security-traffic permit intra-interface", True, True)],
)  # fmt: skip
def test_security_levels_without_acls(extra: str, inter: bool, intra: bool) -> None:
    dev = parse(LEVELS.format(extra=extra))
    ok, no = {"accept"}, {"drop"}
    assert verdict(dev, "198.18.10.5", "203.0.113.9", iif="inside", oif="outside") == ok  # 100 → 0
    assert verdict(dev, "198.18.10.5", "198.18.30.9", iif="inside", oif="dmz") == ok  # 100 → 50
    assert verdict(dev, "203.0.113.9", "198.18.10.5", iif="outside", oif="inside") == no  # 0 → 100
    assert verdict(dev, "198.18.30.9", "198.18.10.5", iif="dmz", oif="inside") == no  # 50 → 100
    assert verdict(dev, "198.18.30.9", "198.18.31.9", iif="dmz", oif="dmz2") == (
        ok if inter else no
    )
    assert verdict(dev, "198.18.30.9", "198.18.30.8", iif="dmz", oif="dmz") == (ok if intra else no)


def test_inside_defaults_to_level_100_others_to_0() -> None:
    dev = parse(LEVELS.format(extra="").replace(" security-level 0\n", ""))
    assert verdict(dev, "198.18.10.5", "203.0.113.9", iif="inside", oif="outside") == {"accept"}
    assert verdict(dev, "198.18.30.5", "203.0.113.9", iif="dmz", oif="outside") == {"accept"}


def test_acl_on_interface_overrides_security_levels() -> None:
    dev = parse(
        LEVELS.format(
            extra="access-list o extended permit tcp any host 198.18.10.5 eq 443\naccess-group o in interface outside"
        )
    )
    assert verdict(dev, "203.0.113.9", "198.18.10.5", dport=443, iif="outside", oif="inside") == {
        "accept"
    }
    assert verdict(dev, "203.0.113.9", "198.18.10.5", dport=80, iif="outside", oif="inside") == {
        "drop"
    }


@pytest.mark.parametrize(
    "line,where,what",
    [
        (
            "access-list a extended permit ip object nosuch any",
            2,
            "network object 'nosuch' is not defined",
        ),
        ("access-list a extended permit tcp any any eq wwww", 2, "unknown port 'wwww'"),
        ("access-list a extended permit ip 10.0.0.0 255.0.0.300 any", 2, "not an address and mask"),
        ("access-list a extended permit tcp any any time-range nosuch", 2, "time-range 'nosuch'"),
        ("access-group nosuch in interface inside", 2, "access-list 'nosuch' is not defined"),
        ("access-list a extended permit ip any any\naccess-group a in interface nope", 3, "'nope'"),
        (
            "object-group network g\n group-object g\naccess-list a extended permit ip object-group g any",
            2,
            "contains itself",
        ),
    ],
)
def test_device_rejected_syntax_is_exit_2_with_line(line: str, where: int, what: str) -> None:
    text = "ASA Version 9.9\n" + line + "\ninterface g0\n nameif inside\n"
    with pytest.raises(InputError) as e:
        parse(text, "bad.cfg")
    assert e.value.file == "bad.cfg" and e.value.line == where and what in e.value.message


def test_unknown_command_is_reported_not_dropped() -> None:
    dev = parse("ASA Version 9.9\nfrobnicate everything\nstatic (inside,outside) 1.1.1.1 2.2.2.2\n")
    assert [(loc.line, msg.split(":")[0]) for loc, msg in dev.warnings] == [
        (2, "not understood"),
        (3, "pre-8.3 command not modelled"),
    ]
    assert dev.incomplete
