"""Bad topology input: one clear line naming file:line:column and the bad value, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from segverify.cli.main import cli

GOOD = """\
segverify: 1
model: alpha
zones:
  lgwan:
    tier: lgwan
    prefixes: [198.18.20.0/24, 198.18.21.0/24, 198.18.22.0/24]
  inet:
    tier: inet
    prefixes: [198.18.30.0/24]
nodes:
  pc:
    role: terminal
    zone: lgwan
    addresses: [198.18.20.10]
policy:
  allow:
    - id: r1
      from: {node: pc}
      to: {prefix: 198.18.21.0/24}
      services: [rdp]
      justification: test
"""

CASES = {
    "invalid-yaml": (GOOD.replace("tier: inet\n", "tier: [inet\n"), 9, "invalid YAML"),
    "bad-prefix": (
        GOOD.replace("198.18.22.0/24", "10.0.0.0/33"),
        6,
        "zones.lgwan.prefixes[2]: 10.0.0.0/33 is not a prefix",
    ),
    "host-bits": (
        GOOD.replace("198.18.22.0/24", "198.18.22.1/24"),
        6,
        "has host bits set (did you mean 198.18.22.0/24?)",
    ),
    "unknown-role": (
        GOOD.replace("role: terminal", "role: router"),
        12,
        "nodes.pc.role: unknown role 'router'",
    ),
    "unknown-tier": (
        GOOD.replace("tier: inet", "tier: dmz"),
        8,
        "zones.inet.tier: unknown tier 'dmz'",
    ),
    "wrong-type": (
        GOOD.replace("addresses: [198.18.20.10]", "addresses: 198.18.20.10"),
        14,
        "nodes.pc.addresses: '198.18.20.10' is not of type",
    ),
    "duplicate-key": (
        GOOD.replace("  inet:\n", "  lgwan:\n"),
        7,
        "zones.lgwan: duplicate key 'lgwan' (first defined on line 4)",
    ),
    "unknown-zone": (
        GOOD.replace("zone: lgwan\n", "zone: lgwn\n"),
        13,
        "nodes.pc.zone: unknown zone 'lgwn'",
    ),
    "unknown-service": (
        GOOD.replace("[rdp]", "[rdpp]"),
        20,
        "policy.allow[0].services[0]: unknown service 'rdpp'",
    ),
    "unknown-key": (
        GOOD.replace("    tier: lgwan\n", "    tier: lgwan\n    colour: red\n"),
        6,
        "unknown key(s): colour",
    ),
    "missing-justification": (
        GOOD.replace("      justification: test\n", ""),
        17,
        "'justification' is required",
    ),
    "bad-address": (
        GOOD.replace("198.18.20.10]", "198.18.20.300]"),
        14,
        "nodes.pc.addresses[0]: 198.18.20.300 is not a prefix",
    ),
    "bad-port": (
        GOOD.replace("[rdp]", "[{proto: tcp, ports: ['70000']}]"),
        20,
        "is not a port range within 0-65535",
    ),
    "unknown-node-in-selector": (
        GOOD.replace("from: {node: pc}", "from: {node: pcx}"),
        18,
        "policy.allow[0].from.node: unknown node 'pcx'",
    ),
    "not-a-mapping": ("- just\n- a list\n", 1, "a topology must be a YAML mapping"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_line_exit_2(name: str, tmp_path: Path) -> None:
    text, line, fragment = CASES[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["topology", "check", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"segverify: {path}:{line}:"), lines[0]
    assert fragment in lines[0]
    assert "Traceback" not in result.output


def test_good_input_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD, encoding="utf-8")
    result = CliRunner().invoke(cli, ["topology", "check", str(path)])
    assert result.exit_code == 0, result.output


def test_real_process_prints_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(CASES["duplicate-key"][0], encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "segverify", "topology", "check", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_missing_file_and_binary_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["topology", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "no such file" in result.stderr
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    result = CliRunner().invoke(cli, ["topology", "check", str(binary)])
    assert result.exit_code == 2 and "not UTF-8" in result.stderr


def test_usage_error_exit_2() -> None:
    result = CliRunner().invoke(cli, ["topology", "check"])
    assert result.exit_code == 2
