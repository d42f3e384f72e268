"""Interface names of an export mapped through the topology's firewall node (``aliases``),
the same as ``--interface-map``; a disagreement between the two, or an alias naming two
interfaces, is bad input (exit 2) — which one was meant cannot be guessed."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from segverify.cli.main import cli

REPO = Path(__file__).resolve().parents[1]
ALPHA = REPO / "topologies" / "alpha.yaml"
CSV = (
    "kind,device,stage,hook,order,name,enabled,action,src,dst,service,proto,sport,dport,"
    "icmp_type,in_interface,out_interface,in_zone,out_zone,ct_state,comment,members\n"
    "rule,fw-inet,fwd,forward,10,leak,yes,accept,198.18.30.0/24,any,,tcp,,443,,port1,port2,,,,,\n"
    "rule,fw-inet,fwd,forward,default,,,drop,,,,,,,,,,,,,,\n"
)
FW_INET = """      eth0: {zone: inet, addresses: [198.18.30.1/24]}
      eth1: {zone: security-cloud, addresses: [203.0.113.1/26]}
"""


def topology(tmp_path: Path, eth0: str = "[port1]", eth1: str = "[port2]") -> Path:
    text = ALPHA.read_text(encoding="utf-8")
    assert FW_INET in text
    aliased = (
        f"      eth0: {{zone: inet, addresses: [198.18.30.1/24], aliases: {eth0}}}\n"
        f"      eth1: {{zone: security-cloud, addresses: [203.0.113.1/26], aliases: {eth1}}}\n"
    )
    p = tmp_path / "alpha-aliases.yaml"
    p.write_text(text.replace(FW_INET, aliased), encoding="utf-8")
    return p


def run(topo: Path, export: Path, *extra: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(
        cli,
        [
            "firewall",
            str(export),
            "-t",
            str(topo),
            "--device",
            "fw-inet",
            "--format",
            "json",
            "--no-shadow",
            *extra,
        ],
    )
    return r.exit_code, r.stdout, r.stderr


def pairs(out: str) -> set[tuple[str, str, str]]:
    doc = json.loads(out)
    return {
        (f["src_zone"], f["dst_zone"], f["firewall_rule"]["line"])
        for f in doc["findings"]
        if f["kind"] == "firewall-permit"
    }


def test_topology_aliases_map_like_interface_map(tmp_path: Path) -> None:
    export = tmp_path / "fw.csv"
    export.write_text(CSV)
    code_plain, _, err = run(ALPHA, export)
    assert code_plain == 2 and "port1" in err  # unmapped names: still an input error
    code_cli, out_cli, _ = run(ALPHA, export, "--interface-map", "port1=eth0,port2=eth1")
    code_topo, out_topo, err = run(topology(tmp_path), export)
    assert code_cli == code_topo == 1, err
    assert pairs(out_topo) == pairs(out_cli)
    assert ("inet", "internet", 2) in pairs(out_topo)
    # the same map given both ways agrees: accepted
    code_both, out_both, _ = run(
        topology(tmp_path), export, "--interface-map", "port1=eth0,port2=eth1"
    )
    assert code_both == 1 and pairs(out_both) == pairs(out_topo)


def test_interface_map_disagreeing_with_aliases_is_bad_input(tmp_path: Path) -> None:
    export = tmp_path / "fw.csv"
    export.write_text(CSV)
    code, out, err = run(topology(tmp_path), export, "--interface-map", "port1=eth1,port2=eth0")
    assert code == 2 and not out
    line = err.strip().splitlines()
    assert len(line) == 1 and "'port1'" in line[0] and "fw-inet" in line[0], err
    r = CliRunner().invoke(
        cli,
        [
            "--lang",
            "ja",
            "firewall",
            str(export),
            "-t",
            str(topology(tmp_path)),
            "--device",
            "fw-inet",
            "--interface-map",
            "port1=eth1",
        ],
    )
    assert r.exit_code == 2 and "別名" in r.stderr, r.stderr


def test_alias_naming_another_interface_is_rejected_with_its_line(tmp_path: Path) -> None:
    topo = topology(tmp_path, eth0="[port1]", eth1="[port1]")
    export = tmp_path / "fw.csv"
    export.write_text(CSV)
    code, out, err = run(topo, export)
    assert code == 2 and not out
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"segverify: {topo}:") and "alias 'port1'" in line, err
    assert "eth0" in line
