"""aerleon as an independent oracle for the FortiOS, PAN-OS and nftables parsers.

Three-tier policies are written once in aerleon's policy format and rendered by aerleon
(a generator someone else wrote) to iptables (``speedway``), nftables, FortiGate and Palo
Alto. aerleon emits policy sections only, so each fragment is wrapped into a whole export
the way the device shows it (interfaces, zones, predefined objects; for netfilter the
input and output hooks). segverify must then give the same verdicts for every rendering:
the same forbidden permits (rule name and zone pair) and the same shadowed rules. The
iptables and nftables renderings are also loaded into the kernel and probed
(tests/test_vendor_aerleon_kernel.py).

Cases: security-cloud egress (clean, and with a leak and a shadowed rule) on alpha's
fw-inet; My Number exceptions with a leak on fw-mynumber; the sanitiser exceptions with a
leak on a firewall between the LGWAN and internet zones (alpha plus fw-split). aerleon
does not render FortiOS VIPs or PAN-OS App-ID, so those are covered by the trap tests.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

aerleon_api = pytest.importorskip("aerleon.api")
naming = pytest.importorskip("aerleon.lib.naming")

from click.testing import CliRunner  # noqa: E402

from segverify.cli.main import cli  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ALPHA = str(REPO / "topologies" / "alpha.yaml")

NETWORKS = {
    "INET_NET": "198.18.30.0/24",
    "INET_MAIL": "198.18.30.25/32",
    "SC_PROXY": "203.0.113.10/32",
    "SC_MAIL": "203.0.113.25/32",
    "SC_DNS": "203.0.113.53/32",
    "ATENA": "198.18.10.10/32",
    "JUKI_CS": "198.18.10.20/32",
    "MYNUMBER_NET": "198.18.10.0/24",
    "CHUKAN": "198.19.100.50/32",
    "JUKI_SERVER": "198.19.110.10/32",
    "LGWAN_NET": "198.18.20.0/24",
    "LGWAN_MAIL": "198.18.20.25/32",
    "SANITISER_IN": "198.18.30.30/32",
}
SERVICES = {
    "PROXY": [{"port": 8080, "protocol": "tcp"}],
    "SMTP": [{"port": 25, "protocol": "tcp"}],
    "DNS": [{"port": 53, "protocol": "udp"}],
    "HTTPS": [{"port": 443, "protocol": "tcp"}],
    "JUKI": [{"port": "700-701", "protocol": "tcp"}],
    "MAIL": [{"port": 25, "protocol": "tcp"}, {"port": 587, "protocol": "tcp"}],
}


def _term(
    name: str, action: str, proto: str = "", src: str = "", dst: str = "", port: str = ""
) -> dict:
    t: dict = {"name": name, "action": action}
    if proto:
        t["protocol"] = proto
    if src:
        t["source-address"] = src
    if dst:
        t["destination-address"] = dst
    if port:
        t["destination-port"] = port
    return t


# (firewall node, [(from interface, to interface, terms)], expected forbidden-permit
# rule names, expected shadowed rule names)
POLICIES = {
    "egress-leak-shadow": (
        "fw-inet",
        [
            (
                "eth0",
                "eth1",
                [
                    _term("to-proxy", "accept", "tcp", "INET_NET", "SC_PROXY", "PROXY"),
                    _term("mail-relay", "accept", "tcp", "INET_MAIL", "SC_MAIL", "SMTP"),
                    _term("dns", "accept", "udp", "INET_NET", "SC_DNS", "DNS"),
                    _term("direct-https", "accept", "tcp", "INET_NET", "", "HTTPS"),
                    _term("mail-https", "accept", "tcp", "INET_MAIL", "SC_PROXY", "HTTPS"),
                    _term("deny-rest", "deny"),
                ],
            )
        ],
        {"direct-https"},
        {"mail-https"},
    ),
    "security-cloud-egress-clean": (
        "fw-inet",
        [
            (
                "eth0",
                "eth1",
                [
                    _term("to-proxy", "accept", "tcp", "INET_NET", "SC_PROXY", "PROXY"),
                    _term("mail-relay", "accept", "tcp", "INET_MAIL", "SC_MAIL", "SMTP"),
                    _term("deny-rest", "deny"),
                ],
            )
        ],
        set(),
        set(),
    ),
    # alpha with a firewall between the LGWAN and internet zones (fw-split): only the
    # sanitised mail path (SMTP to and from the sanitiser host) may cross it
    "sanitiser-exceptions-and-leak": (
        "fw-split",
        [
            (
                "eth0",
                "eth1",
                [
                    _term(
                        "mail-to-sanitiser", "accept", "tcp", "LGWAN_MAIL", "SANITISER_IN", "MAIL"
                    ),
                    _term("lgwan-web", "accept", "tcp", "LGWAN_NET", "INET_NET", "HTTPS"),
                    _term("smtp-again", "accept", "tcp", "LGWAN_MAIL", "SANITISER_IN", "SMTP"),
                    _term("deny-out", "deny"),
                ],
            ),
            (
                "eth1",
                "eth0",
                [
                    _term(
                        "sanitiser-to-mail", "accept", "tcp", "SANITISER_IN", "LGWAN_MAIL", "SMTP"
                    ),
                    _term("deny-in", "deny"),
                ],
            ),
        ],
        {"lgwan-web"},
        {"smtp-again"},
    ),
    "mynumber-exceptions-and-leak": (
        "fw-mynumber",
        [
            (
                "eth0",
                "eth1",
                [
                    _term("atena-to-chukan", "accept", "tcp", "ATENA", "CHUKAN", "HTTPS"),
                    _term("mynumber-web", "accept", "tcp", "MYNUMBER_NET", "", "HTTPS"),
                    _term("atena-again", "accept", "tcp", "ATENA", "CHUKAN", "HTTPS"),
                    _term("deny-rest", "deny"),
                ],
            ),
            (
                "eth0",
                "eth2",
                [
                    _term("juki", "accept", "tcp", "JUKI_CS", "JUKI_SERVER", "JUKI"),
                    _term("deny-rest-juki", "deny"),
                ],
            ),
        ],
        {"mynumber-web"},
        {"atena-again"},
    ),
}

PORTS = {"eth0": "port1", "eth1": "port2", "eth2": "port3"}
PAN_IF = {"eth0": "ethernet1/1", "eth1": "ethernet1/2", "eth2": "ethernet1/3"}
NODE_ADDR = {
    "fw-inet": {"eth0": "198.18.30.1/24", "eth1": "203.0.113.1/26"},
    "fw-mynumber": {
        "eth0": "198.18.10.1/24",
        "eth1": "198.19.100.254/24",
        "eth2": "198.19.110.254/24",
    },
    "fw-split": {"eth0": "198.18.20.2/24", "eth1": "198.18.30.2/24"},
}


def _defs():
    d = naming.Naming()
    d.ParseDefinitionsObject(
        {
            "networks": {k: {"values": [{"address": v}]} for k, v in NETWORKS.items()},
            "services": SERVICES,
        },
        "defs",
    )
    return d


def _render(target: str, node: str, sections, counter: bool = False) -> str:
    """aerleon's rendering of one policy. nftables: one filter (one base chain on the
    forward hook) holding every section's terms with their interfaces, as speedway's one
    FORWARD chain; a filter per section would be a base chain per section, each with its
    own drop policy, and a packet would have to pass them all. ``counter`` adds a named
    counter to every term (nftables prints ``counter`` in each term's chain)."""
    if target == "nftables":
        terms = [
            dict(t, **{"source-interface": a, "destination-interface": b})
            | ({"counter": t["name"]} if counter else {})
            for a, b, ts in sections
            for t in ts
        ]
        filters = [{"header": {"targets": {"nftables": "inet FORWARD"}}, "terms": terms}]
        out = aerleon_api.Generate([{"filename": node, "filters": filters}], _defs())
        return str(next(iter(out.values())))
    filters = []
    for a, b, terms in sections:
        if target == "speedway":
            # one FORWARD chain; the zone pair becomes -i/-o on every term
            terms = [dict(t, **{"source-interface": a, "destination-interface": b}) for t in terms]
            header = {"speedway": "FORWARD DROP"}
        elif target == "fortigate":
            header = {"fortigate": f"from-zone {PORTS[a]} to-zone {PORTS[b]}"}
        else:
            header = {"paloalto": f"from-zone z-{a} to-zone z-{b}"}
        filters.append({"header": {"targets": header}, "terms": terms})
    out = aerleon_api.Generate([{"filename": node, "filters": filters}], _defs())
    assert len(out) == 1
    return str(next(iter(out.values())))


def _wrap_fortigate(fragment: str, node: str) -> str:
    """What `show full-configuration` adds around aerleon's sections: the header, the
    interfaces, and the predefined "all" addresses, "ALL" service, "always" schedule."""
    ifaces = "".join(
        f'    edit "{PORTS[i]}"\n        set vdom "root"\n        set ip {_mask(a)}\n'
        "        set type physical\n    next\n"
        for i, a in NODE_ADDR[node].items()
    )
    head = (
        "#config-version=FG100F-7.2.5-FW-build1517-230606:opmode=0:vdom=0:user=admin\n"
        f'config system global\n    set hostname "{node}"\nend\n'
        f"config system interface\n{ifaces}end\n"
    )
    predefined_addr = '    edit "all"\n        set subnet 0.0.0.0 0.0.0.0\n    next\n'
    body = fragment.replace(
        "config firewall address\n", "config firewall address\n" + predefined_addr, 1
    )
    if predefined_addr not in body:
        body = f"config firewall address\n{predefined_addr}end\n" + body
    extra = (
        'config firewall address6\n    edit "all"\n    next\nend\n'
        'config firewall service custom\n    edit "ALL"\n        set protocol IP\n    next\nend\n'
        'config firewall schedule recurring\n    edit "always"\n'
        "        set day sunday monday tuesday wednesday thursday friday saturday\n    next\nend\n"
    )
    # predefined service and schedule sections come before the policy table
    cut = body.index("config firewall policy")
    return head + body[:cut] + extra + body[cut:]


def _as_iptables_save(restore: str) -> str:
    """speedway writes iptables-restore input (``-N CHAIN``, a ``:FORWARD`` line per
    filter); the device shows ``iptables-save``: each built-in chain's policy once (INPUT
    dropped, as a FortiGate without allowaccess and a PAN-OS interface without a management
    profile), every user chain declared once before the rules. (Declaring a chain again
    after its rules would flush them: iptables-nft's semantics, which segverify follows.)"""
    lines = restore.splitlines()
    chains = [ln.split()[1] for ln in lines if ln.startswith("-N ")]
    forward = next(ln for ln in lines if ln.startswith(":FORWARD "))
    head = ["*filter", ":INPUT DROP [0:0]", forward, ":OUTPUT ACCEPT [0:0]"]
    head += [f":{c} - [0:0]" for c in chains]
    rules = [ln for ln in lines if ln.startswith("-A ")]
    return "\n".join(head + rules + ["COMMIT"]) + "\n"


def _wrap_nft(fragment: str) -> str:
    """aerleon writes the ``table ip filtering_policies`` with the forward hook only; the
    device's ``nft list ruleset`` also has its input and output hooks (input dropped, as
    the iptables wrapping). The fragment's trailing blank lines are not part of a listing."""
    body = fragment.rstrip()
    assert body.endswith("}")
    hooks = (
        "    chain input {\n        type filter hook input priority 0; policy drop;\n    }\n"
        "    chain output {\n        type filter hook output priority 0; policy accept;\n    }\n"
    )
    return body[:-1] + hooks + "}\n"


def _mask(cidr: str) -> str:
    import ipaddress

    i = ipaddress.ip_interface(cidr)
    return f"{i.ip} {i.network.netmask}"


def _wrap_paloalto(fragment: str, node: str) -> str:
    """Add the interfaces and zones the device has around aerleon's vsys sections."""
    root = ET.fromstring(fragment.split("?>", 1)[-1])
    dev = root.find("devices/entry")
    network = ET.SubElement(dev, "network")
    eth = ET.SubElement(ET.SubElement(network, "interface"), "ethernet")
    for i, addr in NODE_ADDR[node].items():
        e = ET.SubElement(eth, "entry", name=PAN_IF[i])
        ip = ET.SubElement(ET.SubElement(e, "layer3"), "ip")
        ET.SubElement(ip, "entry", name=addr)
    vsys = dev.find("vsys/entry")
    zone = ET.SubElement(vsys, "zone")
    for i in NODE_ADDR[node]:
        z = ET.SubElement(zone, "entry", name=f"z-{i}")
        ET.SubElement(ET.SubElement(ET.SubElement(z, "network"), "layer3"), "member").text = PAN_IF[
            i
        ]
    return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode")


def _term_name(rule: dict, vendor: str) -> str:
    if vendor == "iptables":
        return re.sub(r"^.*F_", "", rule.get("chain", ""))
    if vendor == "nft":  # aerleon puts each term in a chain of its name, jumped to in order
        return rule.get("chain", "").rsplit(">", 1)[-1]
    return rule.get("name", "")


def _topology(node: str, tmp: Path) -> str:
    """alpha, plus fw-split between the LGWAN and internet zones when the case needs it."""
    if node != "fw-split":
        return ALPHA
    import yaml

    d = yaml.safe_load(Path(ALPHA).read_text(encoding="utf-8"))
    d["name"] = "alpha-split"
    d["nodes"]["fw-split"] = {
        "role": "firewall",
        "interfaces": {
            "eth0": {"zone": "lgwan", "addresses": ["198.18.20.2/24"]},
            "eth1": {"zone": "inet", "addresses": ["198.18.30.2/24"]},
        },
    }
    path = tmp / "alpha-split.yaml"
    path.write_text(yaml.safe_dump(d, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(path)


def _verdicts(path: Path, vendor: str, node: str) -> tuple[set, set, int]:
    imap = {"fortios": PORTS, "paloalto": PAN_IF}.get(vendor)
    args = [
        "firewall",
        str(path),
        "-t",
        _topology(node, path.parent),
        "--device",
        node,
        "--vendor",
        vendor,
        "--format",
        "json",
    ]
    if imap:
        args += [
            "--interface-map",
            ",".join(f"{v}={k}" for k, v in imap.items() if k in NODE_ADDR[node]),
        ]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code in (0, 1), res.output
    findings = json.loads(res.output)["findings"]
    permits = {
        (_term_name(f["firewall_rule"], vendor), f["src_zone"], f["dst_zone"])
        for f in findings
        if f["kind"] == "firewall-permit"
    }
    shadowed = {_term_name(f["firewall_rule"], vendor) for f in findings if f["kind"] == "shadowed"}
    return permits, shadowed, res.exit_code


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    out: dict[tuple[str, str], Path] = {}
    d = tmp_path_factory.mktemp("aerleon")
    for name, (node, sections, _, _) in POLICIES.items():
        ipt = d / f"{name}.ipt"
        ipt.write_text(_as_iptables_save(_render("speedway", node, sections)))
        fgt = d / f"{name}.conf"
        fgt.write_text(_wrap_fortigate(_render("fortigate", node, sections), node))
        pan = d / f"{name}.xml"
        pan.write_text(_wrap_paloalto(_render("paloalto", node, sections), node))
        nft = d / f"{name}.nft"
        nft.write_text(_wrap_nft(_render("nftables", node, sections)))
        out[(name, "iptables")] = ipt
        out[(name, "nft")] = nft
        out[(name, "fortios")] = fgt
        out[(name, "paloalto")] = pan
    return out


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_iptables_rendering_gives_the_expected_verdicts(policy: str, rendered) -> None:
    node, _, forbidden, shadowed = POLICIES[policy]
    permits, shadow, code = _verdicts(rendered[(policy, "iptables")], "iptables", node)
    assert {p[0] for p in permits} == forbidden
    assert shadow == shadowed
    assert code == (1 if forbidden else 0)


@pytest.mark.parametrize("vendor", ["nft", "fortios", "paloalto"])
@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_vendor_rendering_agrees_with_iptables(policy: str, vendor: str, rendered) -> None:
    node = POLICIES[policy][0]
    want = _verdicts(rendered[(policy, "iptables")], "iptables", node)
    got = _verdicts(rendered[(policy, vendor)], vendor, node)
    assert got == want
