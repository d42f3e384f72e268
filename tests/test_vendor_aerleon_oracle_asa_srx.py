"""aerleon as an independent oracle for the Cisco ASA and Juniper SRX parsers.

Three-tier policies are written once in aerleon's policy format and rendered by aerleon
(a generator someone else wrote) to iptables (``speedway``), Cisco ASA (``ciscoasa``) and
Juniper SRX (``srx``). aerleon emits the policy only (an ACL / a ``security`` block), so
each fragment is wrapped into a whole export the way the device shows it: ASA interfaces
with nameif and security levels and ``access-group`` bindings; SRX interfaces, security
zones and default policy. segverify must give the same verdicts for every rendering: the
same forbidden permits (rule and zone pair) and the same shadowed rules. The iptables
rendering is checked against the kernel by tests/test_vendor_aerleon_kernel.py.

aerleon has no YAMAHA RTX target: RTX is covered by its trap tests only.
"""

from __future__ import annotations

import ipaddress
import json
import re
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
}
SERVICES = {
    "PROXY": [{"port": 8080, "protocol": "tcp"}],
    "SMTP": [{"port": 25, "protocol": "tcp"}],
    "DNS": [{"port": 53, "protocol": "udp"}],
    "HTTPS": [{"port": 443, "protocol": "tcp"}],
    "JUKI": [{"port": "700-701", "protocol": "tcp"}],
}


def _term(
    name: str, action: str, proto: str = "", src: str = "", dst: str = "", port: str = ""
) -> dict:
    t: dict = {"name": name, "action": action}
    for key, value in (
        ("protocol", proto),
        ("source-address", src),
        ("destination-address", dst),
        ("destination-port", port),
    ):
        if value:
            t[key] = value
    return t


# name: (firewall node, [(from interface, to interface, terms)], forbidden permits, shadowed)
POLICIES = {
    "egress-leak-shadow": (
        "fw-inet",
        [("eth0", "eth1", [
            _term("to-proxy", "accept", "tcp", "INET_NET", "SC_PROXY", "PROXY"),
            _term("mail-relay", "accept", "tcp", "INET_MAIL", "SC_MAIL", "SMTP"),
            _term("dns", "accept", "udp", "INET_NET", "SC_DNS", "DNS"),
            _term("direct-https", "accept", "tcp", "INET_NET", "", "HTTPS"),  # the leak
            _term("mail-https", "accept", "tcp", "INET_MAIL", "SC_PROXY", "HTTPS"),  # shadowed
            _term("deny-rest", "deny"),
        ])],
        {"direct-https"},
        {"mail-https"},
    ),
    "security-cloud-egress-clean": (
        "fw-inet",
        [("eth0", "eth1", [
            _term("to-proxy", "accept", "tcp", "INET_NET", "SC_PROXY", "PROXY"),
            _term("mail-relay", "accept", "tcp", "INET_MAIL", "SC_MAIL", "SMTP"),
            _term("deny-rest", "deny"),
        ])],
        set(),
        set(),
    ),
    "mynumber-exceptions-and-leak": (
        "fw-mynumber",
        [
            ("eth0", "eth1", [
                _term("atena-to-chukan", "accept", "tcp", "ATENA", "CHUKAN", "HTTPS"),
                _term("mynumber-web", "accept", "tcp", "MYNUMBER_NET", "", "HTTPS"),  # the leak
                _term("atena-again", "accept", "tcp", "ATENA", "CHUKAN", "HTTPS"),  # shadowed
                _term("deny-rest", "deny"),
            ]),
            ("eth0", "eth2", [
                _term("juki", "accept", "tcp", "JUKI_CS", "JUKI_SERVER", "JUKI"),
                _term("deny-rest-juki", "deny"),
            ]),
        ],
        {"mynumber-web"},
        {"atena-again"},
    ),
}  # fmt: skip

NODE_ADDR = {
    "fw-inet": {"eth0": "198.18.30.1/24", "eth1": "203.0.113.1/26"},
    "fw-mynumber": {
        "eth0": "198.18.10.1/24",
        "eth1": "198.19.100.254/24",
        "eth2": "198.19.110.254/24",
    },
}
ASA_NAMEIF = {"eth0": "inside", "eth1": "outside", "eth2": "juki"}
SRX_IF = {"eth0": "ge-0/0/0.0", "eth1": "ge-0/0/1.0", "eth2": "ge-0/0/2.0"}


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


def _acl(a: str, b: str) -> str:
    return f"{ASA_NAMEIF[b]}_out_from_{ASA_NAMEIF[a]}"


def _render(target: str, node: str, sections) -> str:
    filters = []
    for a, b, terms in sections:
        if target == "speedway":
            terms = [dict(t, **{"source-interface": a, "destination-interface": b}) for t in terms]
            header = {"speedway": "FORWARD DROP"}
        elif target == "ciscoasa":
            header = {"ciscoasa": _acl(a, b)}
        else:
            header = {"srx": f"from-zone z-{a} to-zone z-{b}"}
        filters.append({"header": {"targets": header}, "terms": terms})
    out = aerleon_api.Generate([{"filename": node, "filters": filters}], _defs())
    assert len(out) == 1
    return str(next(iter(out.values())))


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


def _wrap_asa(fragment: str, node: str, sections) -> str:
    """``show running-config`` around aerleon's ACLs: the source interface has the highest
    security level (so its traffic leaves by any lower one) and each section's ACL is bound
    outbound on its egress interface (ASA ACLs cannot name the egress interface); the
    other interfaces share level 0 (so nothing else crosses). ``clear configure`` is a
    command, not configuration."""
    sources = {a for a, _, _ in sections}
    out = ["ASA Version 9.12(4)", f"hostname {node}", "!"]
    for k, (i, addr) in enumerate(NODE_ADDR[node].items()):
        iface = ipaddress.ip_interface(addr)
        level = 100 if i in sources else 0
        out += [f"interface GigabitEthernet0/{k}", f" nameif {ASA_NAMEIF[i]}", f" security-level {level}",
                f" ip address {iface.ip} {iface.network.netmask}", "!"]  # fmt: skip
    out += [
        ln for ln in fragment.splitlines() if ln.strip() and not ln.startswith("clear configure")
    ]
    out += [f"access-group {_acl(a, b)} out interface {ASA_NAMEIF[b]}" for a, b, _ in sections]
    return "\n".join(out) + "\n"


def _wrap_srx(fragment: str, node: str) -> str:
    """``show configuration`` around aerleon's security block: system, interfaces, zones.
    ``replace:`` is a load-time marker the device does not show."""
    body = fragment.replace("replace: ", "")
    ifaces = "".join(
        f"    {SRX_IF[i].split('.')[0]} {{\n        unit 0 {{\n            family inet {{\n"
        f"                address {addr};\n            }}\n        }}\n    }}\n"
        for i, addr in NODE_ADDR[node].items()
    )
    zones = "".join(
        f"        security-zone z-{i} {{\n            interfaces {{\n                {SRX_IF[i]};\n            }}\n        }}\n"
        for i in NODE_ADDR[node]
    )
    head = f"## Last commit: 2026-11-30 09:00:00 JST by admin\nversion 21.4R3;\nsystem {{\n    host-name {node};\n}}\ninterfaces {{\n{ifaces}}}\n"
    zone_block = f"security {{\n    zones {{\n{zones}    }}\n}}\n"
    return head + zone_block + body


# What a written policy line is called in each vendor's finding (the rest are the
# vendor's built-in behaviour, e.g. an ASA interface's security level).
POLICY_KINDS = {"iptables": None, "cisco-asa": "access-list", "juniper-srx": "policy"}


def _term_name(rule: dict, vendor: str, remarks: dict[int, str]) -> str:
    if vendor == "iptables":
        return re.sub(r"^.*F_", "", rule.get("chain", ""))
    if vendor == "cisco-asa":  # aerleon names the term in the remark above the entry
        return remarks.get(rule.get("line") or 0, "")
    return rule.get("name", "")


def _remarks(path: Path) -> dict[int, str]:
    """ASA: line number of each ACL entry → the term name in aerleon's remark before it."""
    out: dict[int, str] = {}
    last = ""
    for n, line in enumerate(path.read_text().splitlines(), 1):
        m = re.match(r"access-list \S+ remark (\S+)$", line)
        if m:
            last = m.group(1)
        elif " extended " in line:
            out[n] = last
    return out


def _verdicts(path: Path, vendor: str, node: str) -> tuple[set, set, int]:
    imap = {"cisco-asa": ASA_NAMEIF, "juniper-srx": SRX_IF}.get(vendor)
    args = [
        "firewall",
        str(path),
        "-t",
        ALPHA,
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
    remarks = _remarks(path) if vendor == "cisco-asa" else {}
    kind = POLICY_KINDS[vendor]
    written = [f for f in findings if kind is None or f["firewall_rule"].get("kind") == kind]
    builtin = [
        f for f in findings if f not in written and f["kind"] in ("firewall-permit", "shadowed")
    ]
    # the only other contributors: an ASA source interface without an inbound ACL, whose
    # security level lets the packet on to the outbound ACL
    assert all(f["firewall_rule"].get("kind") == "security-level" for f in builtin), builtin
    permits = {
        (_term_name(f["firewall_rule"], vendor, remarks), f["src_zone"], f["dst_zone"])
        for f in written
        if f["kind"] == "firewall-permit"
    }
    shadowed = {
        _term_name(f["firewall_rule"], vendor, remarks) for f in written if f["kind"] == "shadowed"
    }
    return permits, shadowed, res.exit_code


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    out: dict[tuple[str, str], Path] = {}
    d = tmp_path_factory.mktemp("aerleon")
    for name, (node, sections, _, _) in POLICIES.items():
        ipt = d / f"{name}.ipt"
        ipt.write_text(_as_iptables_save(_render("speedway", node, sections)))
        asa = d / f"{name}.asa"
        asa.write_text(_wrap_asa(_render("ciscoasa", node, sections), node, sections))
        srx = d / f"{name}.srx"
        srx.write_text(_wrap_srx(_render("srx", node, sections), node))
        out[(name, "iptables")], out[(name, "cisco-asa")], out[(name, "juniper-srx")] = (
            ipt,
            asa,
            srx,
        )
    return out


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_iptables_rendering_gives_the_expected_verdicts(policy: str, rendered) -> None:
    node, _, forbidden, shadowed = POLICIES[policy]
    permits, shadow, code = _verdicts(rendered[(policy, "iptables")], "iptables", node)
    assert {p[0] for p in permits} == forbidden
    assert shadow == shadowed
    assert code == (1 if forbidden else 0)


@pytest.mark.parametrize("vendor", ["cisco-asa", "juniper-srx"])
@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_vendor_rendering_agrees_with_iptables(policy: str, vendor: str, rendered) -> None:
    node = POLICIES[policy][0]
    want = _verdicts(rendered[(policy, "iptables")], "iptables", node)
    got = _verdicts(rendered[(policy, vendor)], vendor, node)
    assert got == want
