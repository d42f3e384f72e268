"""PAN-OS: every trap listed for Palo Alto in issue 9, on hand-written configurations in
the XML and set forms, evaluated with the one concrete evaluator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from segverify.errors import InputError
from segverify.firewall.formats import get_format, sniff_format
from segverify.firewall.ir import Device, Packet, evaluate
from segverify.firewall.ir.dump import dump_device, render_expr
from segverify.firewall.paloalto import parse_paloalto

DATA = Path(__file__).parent / "data" / "vendors" / "paloalto"
TCP, UDP = 6, 17
TRUST, UNTRUST, DMZ_A, DMZ_B = "ethernet1/1", "ethernet1/2", "ethernet1/3", "ethernet1/4"


def _load(name: str) -> Device:
    path = DATA / name
    return parse_paloalto(path.read_text(encoding="utf-8"), str(path))


@pytest.fixture(scope="module", params=["traps.xml", "traps.set"])
def traps(request: pytest.FixtureRequest) -> Device:
    return _load(request.param)


def pkt(
    src: str, dst: str, dport: int = 443, iif: str = TRUST, oif: str = UNTRUST, proto: int = TCP
) -> Packet:
    return Packet(src, dst, proto, 40000, dport, iif=iif, oif=oif)


def rule_of(v) -> str | None:
    s = v.deciding
    return None if s is None or s.rule is None else s.rule.origin.name


def test_xml_and_set_forms_give_the_same_model() -> None:
    def strip(d: Device) -> str:
        return re.sub(r"traps\.(xml|set):\d+", "LOC", dump_device(d))

    assert strip(_load("traps.xml")) == strip(_load("traps.set"))


def test_default_rules_intrazone_allow_interzone_deny(traps: Device) -> None:
    v = evaluate(traps, pkt("198.18.21.5", "198.18.22.5", dport=22, iif=DMZ_A, oif=DMZ_B))
    assert v.possible == {"accept"} and v.deciding.rule is None  # intrazone-default
    v = evaluate(traps, pkt("203.0.113.40", "198.18.20.5", dport=22, iif=UNTRUST, oif=TRUST))
    assert v.possible == {"drop"} and v.deciding.rule is None  # interzone-default


def test_default_rule_overrides() -> None:
    dev = _load("panorama.set")
    # intrazone-default overridden to deny, interzone-default to allow
    assert evaluate(
        dev, pkt("198.18.30.5", "198.18.30.6", 22, "ethernet1/1", "ethernet1/1")
    ).possible == {"drop"}
    assert evaluate(
        dev, pkt("198.18.30.5", "203.0.113.6", 22, "ethernet1/1", "ethernet1/2")
    ).possible == {"accept"}


def test_pre_local_post_rulebase_order() -> None:
    dev = _load("panorama.set")
    assert [r.origin.name for r in dev.rules] == ["ALLOW-1", "DENY-12", "ALLOW-23"]
    out, into = "ethernet1/1", "ethernet1/2"
    # 1001: pre-rule allows before the local deny; 1002: local deny before the post allow
    assert rule_of(evaluate(dev, pkt("198.18.30.5", "203.0.113.9", 1001, out, into))) == "ALLOW-1"
    v = evaluate(dev, pkt("198.18.30.5", "203.0.113.9", 1002, out, into))
    assert v.possible == {"drop"} and rule_of(v) == "DENY-12"
    assert rule_of(evaluate(dev, pkt("198.18.30.5", "203.0.113.9", 1003, out, into))) == "ALLOW-23"


def test_panorama_rules_resolve_panorama_then_device_objects() -> None:
    # as Batfish resolves them: the Panorama namespace first, then the vsys, then shared
    text = (DATA / "panorama.set").read_text(encoding="utf-8")
    local = text.replace("set policy panorama address inet-net", "set address inet-net")
    dev = parse_paloalto(local, "p.set")
    assert "198.18.30.0/24" in render_expr(dev.rules[0].match)
    both = local + "set policy panorama address inet-net ip-netmask 198.18.31.0/24\n"
    dev = parse_paloalto(both, "p.set")
    assert "198.18.31.0/24" in render_expr(dev.rules[0].match)
    gone = text.replace("set policy panorama address inet-net ip-netmask 198.18.30.0/24\n", "")
    with pytest.raises(InputError, match="address 'inet-net' is not defined") as exc:
        parse_paloalto(gone, "p.set")
    assert exc.value.line == gone[: gone.index("ALLOW-1 source inet-net")].count("\n") + 1


def test_panorama_pre_nat_before_vsys_nat_before_post_nat() -> None:
    text = (DATA / "panorama.set").read_text(encoding="utf-8")
    for where, name, to in (
        ("policy panorama post-rulebase", "post", "203.0.113.3"),
        ("rulebase", "local", "203.0.113.2"),
        ("policy panorama pre-rulebase", "pre", "203.0.113.1"),
    ):
        text += f"set {where} nat rules {name} from any\nset {where} nat rules {name} to any\n"
        text += f"set {where} nat rules {name} source any\nset {where} nat rules {name} destination 192.0.2.80\n"
        text += f"set {where} nat rules {name} destination-translation translated-address {to}\n"
    dev = parse_paloalto(text, "nat.set")
    assert [n.origin.name for n in dev.dnat] == ["pre", "local", "post"]


def test_rule_types_intrazone_and_interzone(traps: Device) -> None:
    # no-intrazone-untrust: intrazone drop for untrust → untrust
    v = evaluate(traps, pkt("203.0.113.20", "203.0.113.30", 80, UNTRUST, UNTRUST))
    assert v.possible == {"drop"} and rule_of(v) == "no-intrazone-untrust"
    # interzone-from-dmz: from dmz to any zone but dmz itself
    v = evaluate(traps, pkt("198.18.21.5", "198.18.20.5", 22, DMZ_A, TRUST))
    assert rule_of(v) == "interzone-from-dmz"
    v = evaluate(traps, pkt("198.18.21.5", "198.18.22.5", 22, DMZ_A, DMZ_B))
    assert v.deciding.rule is None  # not the interzone rule: the intrazone default


def test_negate_source_and_destination(traps: Device) -> None:
    # not-admins-to-servers: everyone but admin PCs to the servers on smtp
    assert (
        rule_of(evaluate(traps, pkt("198.18.20.5", "198.18.21.25", 25, TRUST, DMZ_A)))
        == "not-admins-to-servers"
    )
    v = evaluate(traps, pkt("198.18.20.105", "198.18.21.25", 25, TRUST, DMZ_A))
    assert v.possible == {"drop"}
    # anything-but-servers: admin PCs to everything in dmz except the servers
    assert (
        rule_of(evaluate(traps, pkt("198.18.20.105", "198.18.21.99", 22, TRUST, DMZ_A)))
        == "anything-but-servers"
    )


def test_disabled_rule_never_matches(traps: Device) -> None:
    old = next(r for r in traps.rules if r.origin.name == "old-any")
    assert not old.enabled
    v = evaluate(traps, pkt("203.0.113.40", "198.18.20.5", 22, UNTRUST, TRUST))
    assert "old-any" not in [s.rule.origin.name for s in v.steps if s.rule]


def test_static_group_exact_dynamic_group_may_match(traps: Device) -> None:
    # the dynamic group's members depend on tags registered at run time: the deny may
    # match anything, so it may not block — and the lan → proxy allow still may permit
    v = evaluate(traps, pkt("198.18.20.5", "203.0.113.10", 8080))
    assert v.possible == {"drop", "accept"}
    assert any("dynamic address group" in a.text for a in v.opaque)
    assert rule_of(v) == "lan-to-proxy"


def test_service_group(traps: Device) -> None:
    assert "accept" in evaluate(traps, pkt("198.18.20.5", "203.0.113.10", 587)).possible
    v = evaluate(traps, pkt("198.18.20.5", "203.0.113.10", 8081))
    assert "lan-to-proxy" not in [s.rule.origin.name for s in v.steps if s.rule]


def test_app_id_allow_may_permit_on_the_apps_default_ports(traps: Device) -> None:
    # web-app: ssl + web-browsing on application-default → tcp/443 and tcp/80 may pass
    v = evaluate(traps, pkt("198.18.20.5", "192.0.2.10", 443))
    assert "accept" in v.possible and any(a.kind == "application" for a in v.opaque)
    # tcp/8443 is not a default port of ssl or web-browsing: web-app cannot permit it;
    # only rules whose apps' ports are unknown (custom-app) may
    v = evaluate(traps, pkt("198.18.20.5", "192.0.2.10", 8443))
    assert "web-app" not in [s.rule.origin.name for s in v.steps if s.rule]
    assert "custom-app" in [s.rule.origin.name for s in v.steps if s.rule]


def test_app_id_deny_may_not_block(traps: Device) -> None:
    # block-bittorrent denies an application: for a packet it only may match, so a
    # later allow still may permit it
    v = evaluate(traps, pkt("198.18.20.5", "192.0.2.10", 6881))
    assert {"reject", "accept"} <= v.possible
    step = next(s for s in v.steps if s.rule and s.rule.origin.name == "block-bittorrent")
    assert step.may


def test_destination_nat_policy_matches_pre_nat_address_post_nat_zone(traps: Device) -> None:
    v = evaluate(traps, pkt("192.0.2.7", "203.0.113.80", 443, UNTRUST, DMZ_A))
    assert v.possible == {"accept"} and rule_of(v) == "published-web"
    assert v.packet.dst == "198.18.21.80" and v.packet.dport == 8443


def test_unknown_rule_setting_is_reported_and_may_match() -> None:
    text = (DATA / "traps.set").read_text(encoding="utf-8")
    text += "set rulebase security rules block-quarantined frobnicate yes\n"
    dev = parse_paloalto(text, "u.set")
    assert dev.incomplete
    [atom] = dev.unknown_atoms
    assert atom.origin.location.line == text.count("\n")


def test_garbage_line_is_reported_with_its_line() -> None:
    dev = parse_paloalto("set deviceconfig system hostname x\nfoo@bar#\n", "g.set")
    assert dev.warnings and dev.warnings[0][0].line == 2


@pytest.mark.parametrize(
    "old,new,message",
    [
        (
            "rules lan-to-proxy destination sc-proxy",
            "rules lan-to-proxy destination nope",
            "address 'nope'",
        ),
        (
            "rules lan-to-proxy service proxy-and-mail",
            "rules lan-to-proxy service nope",
            "service 'nope'",
        ),
        (
            "rules lan-to-proxy from trust",
            "rules lan-to-proxy from nowhere",
            "zone 'nowhere' is not defined",
        ),
    ],
)
def test_undefined_references_are_input_errors(old: str, new: str, message: str) -> None:
    text = (DATA / "traps.set").read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(InputError, match=message) as exc:
        parse_paloalto(text.replace(old, new), "r.set")
    assert exc.value.line == text[: text.index(old)].count("\n") + 1


def test_malformed_xml_is_an_input_error_with_line() -> None:
    with pytest.raises(InputError, match="not well-formed") as exc:
        parse_paloalto("<config>\n<devices>\n</config>\n", "bad.xml")
    assert exc.value.line == 3


def test_sniffed_in_each_form() -> None:
    for name in ("traps.xml", "traps.set", "panorama.set"):
        assert sniff_format((DATA / name).read_text(encoding="utf-8")).name == "paloalto"
    assert get_format("panos").name == "paloalto"
    brace = "deviceconfig {\n  system {\n    hostname x;\n  }\n}\nrulebase {\n}\n"
    assert sniff_format(brace).name == "paloalto"


MULTI_VSYS = """\
set network interface ethernet ethernet1/1 layer3 ip 198.18.10.1/24
set network interface ethernet ethernet1/2 layer3 ip 198.18.20.1/24
set network interface ethernet ethernet1/3 layer3 ip 198.18.30.1/24
set network interface ethernet ethernet1/4 layer3 ip 198.18.40.1/24
set vsys vsys1 zone a network layer3 ethernet1/1
set vsys vsys1 zone b network layer3 ethernet1/2
set vsys vsys2 zone a network layer3 ethernet1/3
set vsys vsys2 zone b network layer3 ethernet1/4
set vsys vsys1 rulebase security rules allow-all from any
set vsys vsys1 rulebase security rules allow-all to any
set vsys vsys1 rulebase security rules allow-all source any
set vsys vsys1 rulebase security rules allow-all destination any
set vsys vsys1 rulebase security rules allow-all application any
set vsys vsys1 rulebase security rules allow-all service any
set vsys vsys1 rulebase security rules allow-all action allow
"""


def test_each_vsys_has_its_own_zones_and_rules() -> None:
    dev = parse_paloalto(MULTI_VSYS, "mv.set")
    assert set(dev.zones) == {"vsys1:a", "vsys1:b", "vsys2:a", "vsys2:b"}
    assert evaluate(
        dev, pkt("198.18.10.5", "198.18.20.5", 22, "ethernet1/1", "ethernet1/2")
    ).possible == {"accept"}
    # vsys1's allow-all does not reach vsys2: its interzone default denies
    assert evaluate(
        dev, pkt("198.18.30.5", "198.18.40.5", 22, "ethernet1/3", "ethernet1/4")
    ).possible == {"drop"}


MGMT = """\
set network profiles interface-management-profile allow-ping ping yes
set network profiles interface-management-profile admin https yes
set network profiles interface-management-profile admin ssh yes
set network profiles interface-management-profile admin permitted-ip 198.18.20.0/28
set network interface ethernet ethernet1/1 layer3 ip 198.18.20.1/24
set network interface ethernet ethernet1/1 layer3 interface-management-profile admin
set network interface ethernet ethernet1/2 layer3 ip 203.0.113.1/26
set network interface ethernet ethernet1/2 layer3 interface-management-profile allow-ping
set network interface ethernet ethernet1/3 layer3 ip 198.18.21.1/24
set zone trust network layer3 ethernet1/1
set zone untrust network layer3 ethernet1/2
set zone dmz network layer3 ethernet1/3
"""


def test_traffic_to_the_firewall_needs_an_interface_management_profile() -> None:
    dev = parse_paloalto(MGMT, "m.set")

    def to_fw(src: str, dst: str, dport: int, iif: str, proto: int = TCP) -> frozenset[str]:
        return evaluate(dev, Packet(src, dst, proto, 40000, dport, iif=iif), "input").possible

    assert to_fw("198.18.20.5", "198.18.20.1", 443, TRUST) == {"accept"}
    assert to_fw("198.18.20.50", "198.18.20.1", 443, TRUST) == {"drop"}  # not a permitted-ip
    assert to_fw("192.0.2.5", "203.0.113.1", 443, UNTRUST) == {"drop"}
    ping = Packet("192.0.2.5", "203.0.113.1", 1, icmp_type=8, iif=UNTRUST)
    assert evaluate(dev, ping, "input").possible == {"accept"}
    assert to_fw("198.18.21.5", "198.18.21.1", 22, DMZ_A) == {"drop"}  # no profile


def test_cli_end_to_end_on_the_alpha_preset() -> None:
    import json

    from click.testing import CliRunner

    from segverify.cli.main import cli

    alpha = str(Path(__file__).resolve().parents[1] / "topologies" / "alpha.yaml")
    args = [
        "firewall",
        str(DATA / "pa-inet.set"),
        "-t",
        alpha,
        "--device",
        "fw-inet",
        "--format",
        "json",
    ]
    args += ["--interface-map", "ethernet1/1=eth0,ethernet1/2=eth1"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1, res.output
    permits = [f for f in json.loads(res.output)["findings"] if f["kind"] == "firewall-permit"]
    # the App-ID allow to any destination on ssl's default port: a may-permit, said so
    assert {f["firewall_rule"].get("name") for f in permits} == {"direct-web"}
    assert all(f["certain"] is False for f in permits)
    assert {f["dst_zone"] for f in permits} == {"internet", "security-cloud"}


def test_interfaces_in_no_zone_need_no_binding() -> None:
    text = MGMT + "set network interface ethernet ethernet1/9 layer3 ip 192.0.2.1/24\n"
    dev = parse_paloalto(text, "z.set")
    assert set(dev.interfaces) == {TRUST, UNTRUST, DMZ_A}


@pytest.mark.parametrize(
    "prefix",
    ["", "vsys vsys1 ", "config devices localhost.localdomain vsys vsys1 ", "config "],
)
def test_set_spellings_of_the_vsys_level_are_one_model(prefix: str) -> None:
    # `set zone …`, `set vsys vsys1 zone …` and `set config devices … vsys vsys1 zone …`
    # say the same on a single-vsys firewall
    body = [
        "zone a network layer3 ethernet1/1",
        "zone b network layer3 ethernet1/2",
        "rulebase security rules r from a",
        "rulebase security rules r to b",
        "rulebase security rules r source 192.0.2.0/24",
        "rulebase security rules r destination any",
        "rulebase security rules r application any",
        "rulebase security rules r service any",
        "rulebase security rules r action allow",
    ]
    net = "set network interface ethernet ethernet1/1 layer3 ip 192.0.2.1/24\n"
    net += "set network interface ethernet ethernet1/2 layer3 ip 198.51.100.1/24\n"
    dev = parse_paloalto(net + "".join(f"set {prefix}{b}\n" for b in body), "s.set")
    assert set(dev.zones) == {"a", "b"}
    assert [r.origin.name for r in dev.rules] == ["r"]
    v = evaluate(dev, pkt("192.0.2.9", "198.51.100.9", 22, "ethernet1/1", "ethernet1/2"))
    assert v.possible == {"accept"}


def test_unknown_object_key_is_reported_with_its_line() -> None:
    text = (DATA / "traps.set").read_text(encoding="utf-8") + "set address lan frobnicate yes\n"
    dev = parse_paloalto(text, "k.set")
    assert dev.incomplete
    assert [loc.line for loc, _ in dev.warnings] == [text.count("\n")]


@pytest.mark.parametrize("directory,vendor", [("palo_alto", "paloalto"), ("fortios", "fortios")])
def test_every_batfish_config_is_sniffed_as_its_vendor(
    fixtures_dir: Path, directory: str, vendor: str
) -> None:
    d = fixtures_dir / "firewall" / "batfish" / directory
    if not d.is_dir():
        pytest.skip(f"no Batfish fixtures at {d}")
    wrong = []
    for f in sorted(d.iterdir()):
        if f.name == "BUILD.bazel":
            continue
        try:
            got = sniff_format(f.read_text(encoding="utf-8", errors="replace")).name
        except InputError:
            got = "none"
        if got != vendor:
            wrong.append((f.name, got))
    assert not wrong


def test_empty_zone_matches_nothing_even_when_named_like_a_topology_zone() -> None:
    text = MGMT + "set zone inet network layer3\n"
    for k, v in (("from", "inet"), ("to", "any"), ("source", "any"), ("destination", "any")):
        text += f"set rulebase security rules r {k} {v}\n"
    text += (
        "set rulebase security rules r application any\nset rulebase security rules r service any\n"
    )
    text += "set rulebase security rules r action allow\n"
    dev = parse_paloalto(text, "e.set")
    assert "inet" not in dev.zones
    v = evaluate(dev, pkt("198.18.20.5", "203.0.113.5", 80, TRUST, UNTRUST))
    assert v.possible == {"drop"}
