"""Cisco ASA, Juniper SRX and YAMAHA RTX exports through ``segverify firewall`` on the α
preset's internet-side firewall (eth0 = inet, eth1 = security cloud)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from segverify.cli.main import cli

ALPHA = str(Path(__file__).resolve().parents[1] / "topologies" / "alpha.yaml")

RTX = """# RTX830 Rev.15.02.26 (Mon Jan 30 10:00:00 2023)
ip lan1 address 198.18.30.1/24
ip lan1 secure filter in 1010 1020 1099
ip lan2 address 203.0.113.1/26
ip filter 1010 pass 198.18.30.0/24 203.0.113.10 tcp * 8080
ip filter 1020 pass 198.18.30.0/24 * tcp * https
ip filter 1099 reject * * * * *
"""
RTX_CLEAN = """# RTX830 Rev.15.02.26 (Mon Jan 30 10:00:00 2023)
ip lan1 address 198.18.30.1/24
ip lan1 secure filter in 1010 1099
ip lan2 address 203.0.113.1/26
ip lan2 secure filter in 1099
ip filter 1010 pass 198.18.30.0/24 203.0.113.10 tcp * 8080
ip filter 1099 reject * * * * *
ip filter set web in 1010
"""
ASA = """ASA Version 9.12(4)
hostname fw-inet
interface GigabitEthernet0/0
 nameif inside
 security-level 100
 ip address 198.18.30.1 255.255.255.0
interface GigabitEthernet0/1
 nameif outside
 security-level 0
 ip address 203.0.113.1 255.255.255.192
object network sc-proxy
 host 203.0.113.10
access-list inside_in extended permit tcp 198.18.30.0 255.255.255.0 object sc-proxy eq 8080
access-list inside_in extended permit tcp 198.18.30.0 255.255.255.0 any eq https
access-list inside_in extended deny ip any any
access-group inside_in in interface inside
icmp deny any outside
icmp deny any inside
"""
SRX = """set system host-name fw-inet
set interfaces ge-0/0/0 unit 0 family inet address 198.18.30.1/24
set interfaces ge-0/0/1 unit 0 family inet address 203.0.113.1/26
set security zones security-zone inet interfaces ge-0/0/0.0
set security zones security-zone cloud interfaces ge-0/0/1.0
set security address-book global address sc-proxy 203.0.113.10/32
set security address-book global address inet-net 198.18.30.0/24
set security policies from-zone inet to-zone cloud policy to-proxy match source-address inet-net
set security policies from-zone inet to-zone cloud policy to-proxy match destination-address sc-proxy
set security policies from-zone inet to-zone cloud policy to-proxy match application junos-http
set security policies from-zone inet to-zone cloud policy to-proxy then permit
set security policies from-zone inet to-zone cloud policy web-direct match source-address inet-net
set security policies from-zone inet to-zone cloud policy web-direct match destination-address any
set security policies from-zone inet to-zone cloud policy web-direct match application junos-https
set security policies from-zone inet to-zone cloud policy web-direct then permit
"""
MAPS = {
    "rtx": "lan1=eth0,lan2=eth1",
    "asa": "inside=eth0,outside=eth1",
    "srx": "ge-0/0/0.0=eth0,ge-0/0/1.0=eth1",
}


def run(tmp_path: Path, text: str, imap: str, *extra: str) -> tuple[int, dict]:
    p = tmp_path / "export.txt"
    p.write_text(text, encoding="utf-8")
    args = [
        "firewall",
        str(p),
        "-t",
        ALPHA,
        "--device",
        "fw-inet",
        "--interface-map",
        imap,
        "--format",
        "json",
        *extra,
    ]
    res = CliRunner().invoke(cli, args)
    try:
        return res.exit_code, json.loads(res.output)
    except json.JSONDecodeError:
        return res.exit_code, {"output": res.output}


def permits(doc: dict) -> set[tuple[str, str, str]]:
    return {
        (str(f["firewall_rule"].get("line")), f["src_zone"], f["dst_zone"])
        for f in doc["findings"]
        if f["kind"] == "firewall-permit"
    }


@pytest.mark.parametrize(
    "vendor,text,leak_line", [("rtx", RTX, 6), ("asa", ASA, 14), ("srx", SRX, 12)]
)
def test_leak_found_by_sniffing_and_named_by_its_line(
    tmp_path: Path, vendor: str, text: str, leak_line: int
) -> None:
    code, doc = run(tmp_path, text, MAPS[vendor])  # no --vendor: sniffed
    assert code == 1, doc
    got = permits(doc)
    assert (str(leak_line), "inet", "internet") in got
    assert (str(leak_line), "inet", "security-cloud") in got


def test_rtx_interface_without_in_list_is_a_reported_leak(tmp_path: Path) -> None:
    # lan2 has no "secure filter in": the internet reaches inet; the finding names the
    # missing list (it used to be accepted by "no stage" and reported by nothing)
    code, doc = run(tmp_path, RTX, MAPS["rtx"])
    rules = {
        f["firewall_rule"]["stage"]
        for f in doc["findings"]
        if f["kind"] == "firewall-permit"
        and f["src_zone"] == "internet"
        and f["dst_zone"] == "inet"
    }
    assert rules == {"ip lan2 secure filter in (none)"}


def test_asa_security_levels_block_inbound_without_acl(tmp_path: Path) -> None:
    code, doc = run(tmp_path, ASA, MAPS["asa"])
    inbound = [
        f
        for f in doc["findings"]
        if f["kind"] == "firewall-permit" and f["src_zone"] in ("internet", "security-cloud")
    ]
    assert inbound == []


def test_unmapped_interface_is_exit_2(tmp_path: Path) -> None:
    code, doc = run(tmp_path, ASA, "inside=eth0")
    assert code == 2 and "outside" in doc["output"]


def test_unknown_line_without_findings_is_exit_3(tmp_path: Path) -> None:
    code, doc = run(tmp_path, RTX_CLEAN, MAPS["rtx"])
    assert code == 3, doc
    assert permits(doc) == set()
