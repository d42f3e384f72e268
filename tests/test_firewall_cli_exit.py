"""``segverify firewall`` / ``segverify diff``: exit codes, formats, --test-flow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from segverify.cli.main import cli

ALPHA = str(Path(__file__).resolve().parents[1] / "topologies" / "alpha.yaml")
HEAD = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n"
CLEAN = (
    HEAD
    + "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
    + "-A FORWARD -i eth0 -o eth1 -s 198.18.30.0/24 -d 203.0.113.10/32 -p tcp -m tcp --dport 8080 -j ACCEPT\n"
    + "-A FORWARD -i eth0 -o eth1 -s 198.18.30.0/24 -d 203.0.113.53/32 -p udp -m udp --dport 53 -j ACCEPT\n"
)
OPEN = CLEAN + "-A FORWARD -i eth0 -o eth1 -s 198.18.30.0/24 -p tcp -m tcp --dport 443 -j ACCEPT\n"
UNKNOWN = (
    CLEAN
    + "-A FORWARD -i eth0 -o eth1 -s 198.18.30.0/24 -d 203.0.113.10/32 -p tcp -m tcp --dport 8080 -m weirdmatch --foo 1 -j ACCEPT\n"
)


def _write(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(body + "COMMIT\n")
    return str(path)


def _run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_firewall_cli_clean_exits_0(tmp_path: Path) -> None:
    res = _run(
        "firewall",
        _write(tmp_path, "clean.rules", CLEAN),
        "--topology",
        ALPHA,
        "--device",
        "fw-inet",
    )
    assert res.exit_code == 0, res.output


def test_firewall_cli_forbidden_permit_exits_1_with_json_example(tmp_path: Path) -> None:
    path = _write(tmp_path, "open.rules", OPEN)
    res = _run("firewall", path, "--topology", ALPHA, "--device", "fw-inet", "--format", "json")
    assert res.exit_code == 1, res.output
    doc = json.loads(res.output)
    permits = [f for f in doc["findings"] if f["kind"] == "firewall-permit"]
    assert permits
    f = next(f for f in permits if f["dst_zone"] == "internet")
    assert f["example"]["dport"] == 443 and f["example"]["proto"] == 6
    assert f["location"]["line"] == 8 and f["firewall_rule"]["line"] == 8
    assert f["rule"] == "R3"


def test_firewall_cli_unknown_syntax_without_findings_exits_3(tmp_path: Path) -> None:
    res = _run(
        "firewall",
        _write(tmp_path, "unk.rules", UNKNOWN),
        "--topology",
        ALPHA,
        "--device",
        "fw-inet",
        "--no-shadow",
    )
    assert res.exit_code == 3, res.output


@pytest.mark.parametrize("fmt", ["text", "csv", "sarif", "junit"])
def test_firewall_cli_formats(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"out.{fmt}"
    res = _run(
        "firewall",
        _write(tmp_path, "open.rules", OPEN),
        "--topology",
        ALPHA,
        "--device",
        "fw-inet",
        "--format",
        fmt,
        "-o",
        str(out),
    )
    assert res.exit_code == 1, res.output
    assert "198.18.30" in out.read_text()


def test_firewall_cli_bad_input_exits_2(tmp_path: Path) -> None:
    path = _write(tmp_path, "clean.rules", CLEAN)
    assert (
        _run(
            "firewall", str(tmp_path / "missing.rules"), "--topology", ALPHA, "--device", "fw-inet"
        ).exit_code
        == 2
    )
    # three firewalls in alpha: --device is required
    assert _run("firewall", path, "--topology", ALPHA).exit_code == 2
    assert (
        _run(
            "firewall",
            path,
            "--topology",
            ALPHA,
            "--device",
            "fw-inet",
            "--test-flow",
            "1.2.3.4,x,tcp,80",
        ).exit_code
        == 2
    )


def test_firewall_cli_test_flow(tmp_path: Path) -> None:
    path = _write(tmp_path, "open.rules", OPEN)
    res = _run(
        "firewall",
        path,
        "--topology",
        ALPHA,
        "--device",
        "fw-inet",
        "--test-flow",
        "198.18.30.7,198.51.100.7,tcp,443",
        "--format",
        "json",
    )
    assert res.exit_code == 1, res.output
    f = json.loads(res.output)["findings"][0]
    assert f["action"] == "accept" and f["firewall_rule"]["line"] == 8 and f["path"] == "forward"
    assert f["policy"]["allowed"] is False and f["policy"]["decided_by"] == "R3"
    res = _run(
        "firewall",
        path,
        "--topology",
        ALPHA,
        "--device",
        "fw-inet",
        "--test-flow",
        "198.18.30.7,203.0.113.10,tcp,8080",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    f = json.loads(res.output)["findings"][0]
    assert (
        f["action"] == "accept"
        and f["firewall_rule"]["line"] == 6
        and f["policy"]["allowed"] is True
    )
    res = _run(
        "firewall",
        path,
        "--topology",
        ALPHA,
        "--device",
        "fw-inet",
        "--test-flow",
        "198.18.30.7,198.51.100.7,udp,53",
        "--format",
        "json",
    )
    f = json.loads(res.output)["findings"][0]
    assert f["action"] == "drop" and f["firewall_rule"].get("default") is True


def test_firewall_cli_diff(tmp_path: Path) -> None:
    old, new = _write(tmp_path, "old.rules", CLEAN), _write(tmp_path, "new.rules", OPEN)
    res = _run("diff", old, new, "--topology", ALPHA, "--device", "fw-inet", "--format", "json")
    assert res.exit_code == 1, res.output
    doc = json.loads(res.output)
    bad = [f for f in doc["findings"] if f["severity"] == "error"]
    assert bad and all(f["change"] == "permitted" and f["forbidden"] for f in bad)
    assert bad[0]["rules_new"][0]["line"] == 8
    res = _run("diff", new, old, "--topology", ALPHA, "--device", "fw-inet", "--format", "json")
    assert res.exit_code == 0, res.output
    assert {f["change"] for f in json.loads(res.output)["findings"]} == {"blocked"}
    assert _run("diff", old, old, "--topology", ALPHA, "--device", "fw-inet").exit_code == 0
