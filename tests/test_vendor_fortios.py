"""FortiOS: every trap listed for FortiGate in issue 9, on hand-written configurations,
evaluated with the one concrete evaluator (segverify.firewall.ir.evaluate)."""

from __future__ import annotations

from pathlib import Path

import pytest

from segverify.errors import InputError
from segverify.firewall.formats import get_format, sniff_format
from segverify.firewall.fortios import parse_fortios
from segverify.firewall.ir import Device, Packet, evaluate
from segverify.firewall.ir.dump import render_expr

DATA = Path(__file__).parent / "data" / "vendors" / "fortios"
TCP, UDP, ICMP = 6, 17, 1


@pytest.fixture(scope="module")
def traps() -> Device:
    path = DATA / "traps.conf"
    return parse_fortios(path.read_text(encoding="utf-8"), str(path))


def pkt(
    src: str, dst: str, proto: int = TCP, dport: int = 443, iif: str = "", oif: str = "", **kw
) -> Packet:
    return Packet(src, dst, proto, 40000, dport, iif=iif, oif=oif, **kw)


def deciding_policy(dev: Device, p: Packet, path: str = "forward") -> str | None:
    v = evaluate(dev, p, path)
    step = v.deciding
    return None if step is None or step.rule is None else step.rule.origin.id


def test_policies_follow_table_order_after_move_not_policy_id(traps: Device) -> None:
    ids = [r.origin.id for r in traps.stages[0].rules if r.origin.kind == "policy"]
    assert ids == ["10", "30", "20", "40", "50", "60", "70", "80"]
    # 198.18.10.105 is in admin-pc: policy 10 (deny, moved before 30) decides
    v = evaluate(traps, pkt("198.18.10.105", "198.18.30.9", iif="port1", oif="port2"))
    assert v.possible == {"reject"} and v.deciding.rule.origin.id == "10"
    v = evaluate(traps, pkt("198.18.10.5", "198.18.30.9", iif="port1", oif="port2"))
    assert v.possible == {"accept"} and v.deciding.rule.origin.id == "30"


def test_move_reorders_by_table_position_batfish_example() -> None:
    text = "config firewall address\n edit all\n next\nend\nconfig firewall service custom\n"
    text += " edit S\n set tcp-portrange 1-65535\n next\nend\nconfig firewall policy\n"
    for i in range(1, 6):
        text += f" edit {i}\n set srcintf any\n set dstintf any\n set srcaddr all\n"
        text += " set dstaddr all\n set service S\n next\n"
    text += " move 5 before 1\n move 4 after 2\nend\n"
    dev = parse_fortios(text, "move.conf")
    assert [r.origin.id for r in dev.stages[0].rules] == ["5", "1", "2", "4", "3"]


def test_all_is_an_ordinary_object(traps: Device) -> None:
    # "all" is 198.18.0.0/16 in this file: 192.0.2.1 is not in it, so policy 80 (source
    # "all") does not match and the implicit deny decides
    v = evaluate(traps, pkt("192.0.2.1", "198.18.10.9", dport=22, iif="port3", oif="port1"))
    assert v.possible == {"drop"} and v.deciding.rule is None
    v = evaluate(traps, pkt("198.18.20.1", "198.18.10.9", dport=22, iif="port3", oif="port1"))
    assert v.possible == {"accept"} and v.deciding.rule.origin.id == "80"
    # "ALL" is tcp/1-1024 here (policy 20 names it)
    rule20 = next(r for r in traps.rules if r.origin.id == "20")
    assert "service 'ALL'=(proto{6} and dport{1-1024})" in render_expr(rule20.match)


def test_status_disable_is_skipped(traps: Device) -> None:
    rule20 = next(r for r in traps.rules if r.origin.id == "20")
    assert not rule20.enabled
    # it would accept this packet (any → any, all → all, tcp/80) if it were enabled
    v = evaluate(traps, pkt("198.18.20.5", "198.18.21.5", dport=80, iif="port3", oif="port1"))
    assert "20" not in [s.rule.origin.id for s in v.steps if s.rule is not None]


def test_srcaddr_negate(traps: Device) -> None:
    # policy 40: from port2 to zone lgwan, source NOT lan, to mail-srv tcp/25
    out = pkt("203.0.113.7", "198.18.20.25", dport=25, iif="port2", oif="port3")
    assert evaluate(traps, out).possible == {"accept"}
    lan = pkt("198.18.10.7", "198.18.20.25", dport=25, iif="port2", oif="port3")
    assert evaluate(traps, lan).possible == {"drop"}


def test_service_negate(traps: Device) -> None:
    # policy 80: everything but ping from port3 to lan
    ssh = pkt("198.18.20.9", "198.18.10.9", dport=22, iif="port3", oif="port1")
    assert deciding_policy(traps, ssh) == "80"
    ping = Packet("198.18.20.9", "198.18.10.9", ICMP, icmp_type=8, iif="port3", oif="port1")
    assert evaluate(traps, ping).possible == {"drop"}
    reply = Packet("198.18.20.9", "198.18.10.9", ICMP, icmp_type=0, iif="port3", oif="port1")
    assert evaluate(traps, reply).possible == {"accept"}


def test_dstaddr_negate_and_group_exclusion() -> None:
    text = (
        (DATA / "traps.conf")
        .read_text(encoding="utf-8")
        .replace("        set srcaddr-negate enable\n", "        set dstaddr-negate enable\n")
    )
    dev = parse_fortios(text, "neg.conf")
    # policy 40 now: source lan, destination NOT mail-srv
    assert (
        deciding_policy(dev, pkt("198.18.10.7", "198.18.20.26", dport=25, iif="port2", oif="port3"))
        == "40"
    )
    assert evaluate(
        dev, pkt("198.18.10.7", "198.18.20.25", dport=25, iif="port2", oif="port3")
    ).possible == {"drop"}


def test_schedule_other_than_always_may_match(traps: Device) -> None:
    v = evaluate(
        traps, pkt("198.18.10.5", "192.0.2.50", dport=53, proto=UDP, iif="port1", oif="port2")
    )
    # policy 50 (office-hours, FQDN destination) may accept, else the implicit deny
    assert v.possible == {"accept", "drop"}
    assert {a.kind for a in v.opaque} >= {"schedule", "fqdn"}


def test_internet_service_may_match_never_matches_nothing(traps: Device) -> None:
    # policy 60: lan-but-admins to the ISDB entry "Microsoft-Outlook": no dstaddr and no
    # service, yet it may accept anything from the group
    v = evaluate(traps, pkt("198.18.10.5", "192.0.2.77", dport=993, iif="port1", oif="port2"))
    assert "accept" in v.possible
    assert any("Microsoft-Outlook" in a.text for a in v.opaque)
    # an admin PC is excluded from the group (exclude-member)
    v = evaluate(traps, pkt("198.18.10.105", "192.0.2.77", dport=993, iif="port1", oif="port2"))
    assert "accept" not in v.possible


def test_vip_policy_matches_external_address_and_forwards_to_mapped(traps: Device) -> None:
    v = evaluate(traps, pkt("192.0.2.9", "203.0.113.80", dport=443, iif="port2", oif="port3"))
    assert v.possible == {"accept"}
    assert v.deciding.rule.origin.id == "70"
    assert v.packet.dst == "198.18.20.80" and v.packet.dport == 8443
    # the mapped address itself is not published
    v = evaluate(traps, pkt("192.0.2.9", "198.18.20.80", dport=8443, iif="port2", oif="port3"))
    assert v.possible == {"drop"}


def test_vip_policy_service_is_matched_on_the_mapped_port() -> None:
    # Fortinet KB 262988: a VIP policy allowing the external port (443) matches nothing;
    # the traffic falls to the implicit deny
    text = (DATA / "traps.conf").read_text(encoding="utf-8")
    text = text.replace('        set service "WEB-8443"', '        set service "HTTPS"')
    dev = parse_fortios(text, "vip443.conf")
    v = evaluate(dev, pkt("192.0.2.9", "203.0.113.80", dport=443, iif="port2", oif="port3"))
    assert v.possible == {"drop"} and v.deciding.rule is None


def test_vip_translates_only_when_a_policy_uses_it() -> None:
    text = (DATA / "traps.conf").read_text(encoding="utf-8")
    text = text.replace('        set dstaddr "vip-web"\n', '        set dstaddr "web-srv"\n')
    assert parse_fortios(text, "novip.conf").dnat == []


def test_zone_intrazone_allow_and_deny(traps: Device) -> None:
    # lgwan (port3, port4) has intrazone allow: no policy needed
    assert evaluate(
        traps, pkt("198.18.20.5", "198.18.21.5", dport=80, iif="port3", oif="port4")
    ).possible == {"accept"}
    denied = (
        (DATA / "traps.conf")
        .read_text(encoding="utf-8")
        .replace("set intrazone allow", "set intrazone deny")
    )
    dev = parse_fortios(denied, "deny.conf")
    assert evaluate(
        dev, pkt("198.18.20.5", "198.18.21.5", dport=80, iif="port3", oif="port4")
    ).possible == {"drop"}


def test_implicit_deny(traps: Device) -> None:
    v = evaluate(traps, pkt("203.0.113.9", "198.18.10.5", dport=22, iif="port2", oif="port1"))
    assert v.possible == {"drop"}
    assert v.deciding.rule is None and v.deciding.stage.default == "drop"


def test_send_deny_packet_is_reject(traps: Device) -> None:
    assert next(r for r in traps.rules if r.origin.id == "10").action == "reject"


def test_allowaccess_is_to_the_device_only_on_that_interface(traps: Device) -> None:
    ssh = pkt("198.18.10.5", "198.18.10.1", dport=22, iif="port1")
    assert evaluate(traps, ssh, "input").possible == {"accept"}
    ssh_wan = pkt("192.0.2.5", "203.0.113.1", dport=22, iif="port2")
    assert evaluate(traps, ssh_wan, "input").possible == {"drop"}


VDOMS = """\
config vdom
edit root
next
edit lgwan
next
end
config global
config system interface
    edit "port1"
        set vdom "root"
        set ip 198.18.10.1 255.255.255.0
    next
    edit "port2"
        set vdom "root"
        set ip 198.18.30.1 255.255.255.0
    next
    edit "port5"
        set vdom "lgwan"
        set ip 198.18.20.1 255.255.255.0
    next
    edit "port6"
        set vdom "lgwan"
        set ip 198.18.21.1 255.255.255.0
    next
end
end
config vdom
edit root
config firewall address
    edit "all"
    next
end
config firewall service custom
    edit "ALL"
        set protocol IP
    next
end
config firewall policy
    edit 1
        set srcintf "any"
        set dstintf "any"
        set srcaddr "all"
        set dstaddr "all"
        set action accept
        set service "ALL"
    next
end
next
edit lgwan
config firewall address
    edit "all"
    next
end
config firewall service custom
    edit "ALL"
        set protocol IP
    next
end
config firewall policy
    edit 1
        set srcintf "port5"
        set dstintf "port6"
        set srcaddr "all"
        set dstaddr "all"
        set action deny
        set service "ALL"
    next
end
next
end
"""


def test_vdoms_are_separate_policy_tables() -> None:
    dev = parse_fortios(VDOMS, "vdoms.conf")
    # root's any→any accept covers root's interfaces only
    assert evaluate(dev, pkt("198.18.10.5", "198.18.30.5", iif="port1", oif="port2")).possible == {
        "accept"
    }
    assert evaluate(dev, pkt("198.18.20.5", "198.18.21.5", iif="port5", oif="port6")).possible == {
        "drop"
    }
    assert evaluate(dev, pkt("198.18.21.5", "198.18.20.5", iif="port6", oif="port5")).possible == {
        "drop"
    }
    contexts = {r.origin.context for r in dev.rules}
    assert contexts == {"vdom root", "vdom lgwan"}


def test_unknown_policy_setting_is_reported_with_its_line_and_may_match() -> None:
    text = (
        (DATA / "traps.conf")
        .read_text(encoding="utf-8")
        .replace(
            '        set name "block-admins"\n',
            '        set name "block-admins"\n        set frobnicate yes\n',
        )
    )
    dev = parse_fortios(text, "unk.conf")
    assert dev.incomplete
    [atom] = dev.unknown_atoms
    line = text[: text.index("set frobnicate")].count("\n") + 1
    assert atom.text == "set frobnicate yes" and atom.origin.location.line == line
    # the deny now only may match: it may not block
    v = evaluate(dev, pkt("198.18.10.105", "198.18.30.9", iif="port1", oif="port2"))
    assert v.possible == {"reject", "accept"}


def test_unmodelled_filtering_table_makes_the_analysis_incomplete() -> None:
    text = "config firewall DoS-policy\n    edit 1\n        set interface port1\n    next\nend\n"
    dev = parse_fortios(text, "dos.conf")
    assert dev.incomplete and dev.warnings[0][0].line == 1
    assert "DoS policy" in dev.warnings[0][1]


def test_local_in_policy_deny_restricts_management() -> None:
    # allowaccess admits https/ssh on port1; a local-in deny for everyone but admin-pc
    text = (DATA / "traps.conf").read_text(encoding="utf-8") + (
        'config firewall local-in-policy\n    edit 1\n        set intf "port1"\n'
        '        set srcaddr "admin-pc"\n        set srcaddr-negate enable\n'
        '        set dstaddr "everywhere"\n        set action deny\n        set service "HTTPS"\n'
        '        set schedule "always"\n    next\nend\n'
    )
    dev = parse_fortios(text, "lip.conf")
    assert not dev.incomplete
    https = evaluate(dev, pkt("198.18.10.5", "198.18.10.1", dport=443, iif="port1"), "input")
    assert https.possible == {"drop"} and https.deciding.rule.origin.kind == "local-in-policy"
    admin = evaluate(dev, pkt("198.18.10.105", "198.18.10.1", dport=443, iif="port1"), "input")
    assert admin.possible == {"accept"}  # allowaccess https
    ssh = evaluate(dev, pkt("198.18.10.5", "198.18.10.1", dport=22, iif="port1"), "input")
    assert ssh.possible == {"accept"}  # the deny is for HTTPS only
    # an accept entry opens nothing that allowaccess does not
    opened = text.replace("        set action deny\n", "        set action accept\n")
    telnet = pkt("198.18.10.5", "198.18.10.1", dport=23, iif="port1")
    assert evaluate(parse_fortios(opened, "lip2.conf"), telnet, "input").possible == {"drop"}


def test_garbage_line_is_reported_not_dropped() -> None:
    dev = parse_fortios("config system global\n    frob\nend\n", "g.conf")
    assert dev.warnings and dev.warnings[0][0].line == 2


@pytest.mark.parametrize(
    "old,new,message",
    [
        (
            '        set dstaddr "mail-srv"\n',
            '        set dstaddr "nope"\n',
            "address 'nope' is not defined",
        ),
        (
            '        set service "SMTP"\n',
            '        set service "NOPE"\n',
            "service 'NOPE' is not defined",
        ),
        (
            '        set dstintf "lgwan"\n',
            '        set dstintf "port9"\n',
            "'port9' is not defined (known: lgwan,",
        ),
        (
            '        set schedule "office-hours"\n',
            '        set schedule "night"\n',
            "'night' is not defined",
        ),
    ],
)
def test_undefined_references_are_input_errors_with_their_line(
    old: str, new: str, message: str
) -> None:
    text = (DATA / "traps.conf").read_text(encoding="utf-8")
    assert old in text
    line = text[: text.index(old)].count("\n") + 1
    with pytest.raises(InputError) as exc:
        parse_fortios(text.replace(old, new, 1), "ref.conf")
    assert message in str(exc.value) and exc.value.line == line


def test_group_cycle_is_an_input_error() -> None:
    text = """config firewall addrgrp
    edit "a"
        set member "b"
    next
    edit "b"
        set member "a"
    next
end
config firewall service custom
    edit "S"
        set tcp-portrange 1
    next
end
config firewall policy
    edit 1
        set srcintf any
        set dstintf any
        set srcaddr a
        set dstaddr a
        set service S
    next
end
"""
    with pytest.raises(InputError, match="nests too deep"):
        parse_fortios(text, "cyc.conf")


def test_rename_updates_references() -> None:
    text = """config firewall address
    edit "old"
        set subnet 192.0.2.0 255.255.255.0
    next
    rename old to new
end
config firewall service custom
    edit "S"
        set tcp-portrange 80
    next
end
config firewall policy
    edit 1
        set srcintf any
        set dstintf any
        set srcaddr new
        set dstaddr new
        set service S
        set action accept
    next
end
"""
    dev = parse_fortios(text, "ren.conf")
    assert evaluate(dev, pkt("192.0.2.1", "192.0.2.2", dport=80)).possible == {"accept"}


def test_sniffed_as_fortios_and_named_by_alias() -> None:
    text = (DATA / "traps.conf").read_text(encoding="utf-8")
    assert sniff_format(text).name == "fortios"
    assert get_format("fortigate").name == "fortios"
    headerless = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    assert sniff_format(headerless).name == "fortios"


def test_admin_ports_from_system_global() -> None:
    text = (
        (DATA / "traps.conf")
        .read_text(encoding="utf-8")
        .replace(
            '    set hostname "fgt-traps"\n',
            '    set hostname "fgt-traps"\n    set admin-sport 8443\n',
        )
    )
    dev = parse_fortios(text, "adm.conf")
    assert evaluate(
        dev, pkt("198.18.10.5", "198.18.10.1", dport=8443, iif="port1"), "input"
    ).possible == {"accept"}
    assert evaluate(
        dev, pkt("198.18.10.5", "198.18.10.1", dport=443, iif="port1"), "input"
    ).possible == {"drop"}


ALPHA = str(Path(__file__).resolve().parents[1] / "topologies" / "alpha.yaml")
GOLDEN = Path(__file__).parent / "golden" / "firewall" / "fortios"


def test_cli_end_to_end_names_the_policy_and_its_objects() -> None:
    from click.testing import CliRunner

    from segverify.cli.main import cli

    args = ["firewall", str(GOLDEN / "fgt-inet.conf"), "-t", ALPHA, "--device", "fw-inet"]
    args += ["--vendor", "auto", "--interface-map", "port1=eth0,port2=eth1", "--format", "json"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1, res.output
    import json

    findings = json.loads(res.output)["findings"]
    permits = {
        (f["firewall_rule"]["text"].split(":")[0], f["dst_zone"])
        for f in findings
        if f["kind"] == "firewall-permit"
    }
    assert ("edit 5", "internet") in permits  # the direct-HTTPS leak
    assert not any(t.startswith("edit 2") for t, _ in permits)  # the mail relay is allowed
    shadowed = [f for f in findings if f["kind"] == "shadowed"]
    assert [f["firewall_rule"]["text"].split(":")[0] for f in shadowed] == ["edit 4"]


def test_cli_unmapped_interface_is_exit_2() -> None:
    from click.testing import CliRunner

    from segverify.cli.main import cli

    args = ["firewall", str(GOLDEN / "fgt-inet.conf"), "-t", ALPHA, "--device", "fw-inet"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2 and "port1" in res.output


def test_address_and_address6_are_separate_namespaces() -> None:
    # found by the aerleon oracle: "all" exists as an IPv4 and an IPv6 object
    text = """config firewall address
    edit "all"
    next
end
config firewall address6
    edit "all"
    next
end
config firewall service custom
    edit "ALL"
        set protocol IP
    next
end
config firewall policy
    edit 1
        set srcintf any
        set dstintf any
        set srcaddr "all"
        set dstaddr "all"
        set srcaddr6 "all"
        set dstaddr6 "all"
        set action accept
        set service "ALL"
    next
end
"""
    dev = parse_fortios(text, "ns.conf")
    assert evaluate(dev, pkt("192.0.2.1", "198.51.100.1")).possible == {"accept"}
    assert evaluate(dev, pkt("2001:db8::1", "2001:db8::2")).possible == {"accept"}
    only4 = text.replace('        set srcaddr6 "all"\n        set dstaddr6 "all"\n', "")
    dev = parse_fortios(only4, "ns4.conf")
    assert evaluate(dev, pkt("2001:db8::1", "2001:db8::2")).possible == {"drop"}


def test_quoting_multiline_and_escapes() -> None:
    from segverify.firewall.fortios.tree import parse_tree

    text = (
        'config system replacemsg admin "pre"\n'
        '  set buffer "line one\nline \\"two\\"" \n'
        "end\n"
        "config firewall address\n    edit \"new\"_name\n        set comment 'it\\'s'\n    next\nend\n"
        "config firewall addrgrp\n    edit g\n        set member a\\\nb\n    next\nend\n"
    )
    tree = parse_tree(text)
    assert not tree.problems
    [msg, addr, grp] = tree.root.configs
    assert msg.settings["buffer"].values == ['line one\nline "two"']
    assert list(addr.edits) == ["new_name"] and addr.edits["new_name"].value("comment") == "it's"
    assert addr.edits["new_name"].line == 6
    assert grp.edits["g"].values("member") == ["a\nb"]


@pytest.mark.parametrize(
    "sdwan",
    [
        # FortiOS 6.x
        "config system virtual-wan-link\n    set status enable\n    config members\n"
        '        edit 1\n            set interface "port2"\n        next\n'
        '        edit 2\n            set interface "port3"\n        next\n    end\nend\n',
        # FortiOS 7.x
        'config system sdwan\n    set status enable\n    config zone\n        edit "virtual-wan-link"\n'
        "        next\n    end\n    config members\n"
        '        edit 1\n            set interface "port2"\n            set zone "virtual-wan-link"\n        next\n'
        '        edit 2\n            set interface "port3"\n        next\n    end\nend\n',
    ],
)
def test_sdwan_zone_in_policies(sdwan: str) -> None:
    text = (
        "config system interface\n"
        + "".join(
            f'    edit "port{i}"\n        set ip 198.18.{i}.1 255.255.255.0\n    next\n'
            for i in (1, 2, 3)
        )
        + "end\n"
        + sdwan
        + 'config firewall address\n    edit "all"\n    next\nend\n'
        + 'config firewall service custom\n    edit "ALL"\n        set protocol IP\n    next\nend\n'
        + 'config firewall policy\n    edit 1\n        set srcintf "port1"\n'
        + '        set dstintf "virtual-wan-link"\n        set srcaddr "all"\n        set dstaddr "all"\n'
        + '        set action accept\n        set service "ALL"\n    next\nend\n'
    )
    dev = parse_fortios(text, "sdwan.conf")
    assert dev.zones["virtual-wan-link"].interfaces == ("port2", "port3")
    assert evaluate(dev, pkt("198.18.1.5", "192.0.2.1", iif="port1", oif="port3")).possible == {
        "accept"
    }
    assert evaluate(dev, pkt("198.18.2.5", "192.0.2.1", iif="port2", oif="port3")).possible == {
        "drop"
    }


def test_interfaces_nothing_refers_to_need_no_binding() -> None:
    # a full configuration lists every port; only the ones a policy, zone, VIP or
    # allowaccess uses are in the model (and must map onto the topology)
    text = (
        (DATA / "traps.conf")
        .read_text(encoding="utf-8")
        .replace(
            "config system interface\n",
            'config system interface\n    edit "port9"\n        set vdom "root"\n        set type physical\n    next\n'
            '    edit "port10"\n        set vdom "root"\n        set ip 192.0.2.1 255.255.255.0\n    next\n',
        )
    )
    dev = parse_fortios(text, "unused.conf")
    assert set(dev.interfaces) == {"port1", "port2", "port3", "port4"}


def test_cli_maps_only_used_interfaces(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from segverify.cli.main import cli

    text = (GOLDEN / "fgt-inet.conf").read_text(encoding="utf-8")
    unused = '    edit "port9"\n        set vdom "root"\n        set type physical\n    next\n'
    path = tmp_path / "fgt.conf"
    path.write_text(text.replace("config system interface\n", "config system interface\n" + unused))
    args = [
        "firewall",
        str(path),
        "-t",
        ALPHA,
        "--device",
        "fw-inet",
        "--interface-map",
        "port1=eth0,port2=eth1",
    ]
    assert CliRunner().invoke(cli, args).exit_code == 1
    # an addressed interface with management access must be bound: exit 2, named
    mgmt = '    edit "mgmt"\n        set ip 198.18.99.1 255.255.255.0\n        set allowaccess https ssh\n    next\n'
    path.write_text(text.replace("config system interface\n", "config system interface\n" + mgmt))
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2 and "mgmt" in res.output


def test_unknown_object_setting_is_reported_with_its_line() -> None:
    text = (
        (DATA / "traps.conf")
        .read_text(encoding="utf-8")
        .replace(
            "        set subnet 198.18.20.25 255.255.255.255\n",
            "        set subnet 198.18.20.25 255.255.255.255\n        set frobnicate on\n",
        )
    )
    dev = parse_fortios(text, "obj.conf")
    line = text[: text.index("set frobnicate")].count("\n") + 1
    assert dev.incomplete and [loc.line for loc, _ in dev.warnings] == [line]


def test_vip_src_filter_limits_the_translation() -> None:
    text = (
        (DATA / "traps.conf")
        .read_text(encoding="utf-8")
        .replace(
            '        set extintf "port2"\n',
            '        set extintf "port2"\n        set src-filter "192.0.2.0/28"\n',
        )
    )
    dev = parse_fortios(text, "srcf.conf")
    inside = evaluate(dev, pkt("192.0.2.9", "203.0.113.80", dport=443, iif="port2", oif="port3"))
    assert inside.possible == {"accept"} and inside.packet.dst == "198.18.20.80"
    outside = evaluate(dev, pkt("192.0.2.99", "203.0.113.80", dport=443, iif="port2", oif="port3"))
    assert outside.possible == {"drop"}


def test_full_configuration_defaults_are_understood() -> None:
    # `show full-configuration` lists every setting with its default: none of them may
    # make the analysis incomplete or the policy "may match"
    path = DATA / "full-policy.conf"
    dev = parse_fortios(path.read_text(encoding="utf-8"), str(path))
    assert not dev.incomplete and not dev.warnings
    [rule] = dev.stages[0].rules
    assert rule.exact
    assert evaluate(dev, pkt("198.18.30.5", "192.0.2.1", iif="port1", oif="port2")).possible == {
        "accept"
    }
    assert evaluate(
        dev, pkt("2001:db8::5", "2001:db8:1::1", iif="port1", oif="port2")
    ).possible == {"accept"}
    on = path.read_text(encoding="utf-8").replace(
        "set internet-service6 disable", "set internet-service6 enable"
    )
    dev = parse_fortios(on, "isdb6.conf")
    assert any("internet service" in a.text for a in dev.stages[0].rules[0].opaque)
    learning = path.read_text(encoding="utf-8").replace(
        "set sgt-check disable", "set learning-mode enable"
    )
    assert parse_fortios(learning, "lm.conf").incomplete
