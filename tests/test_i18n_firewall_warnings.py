"""Firewall input warnings in Japanese: text, JSON and HTML under ``--lang ja`` carry the
catalogue's Japanese for every warning (the vendor syntax quoted from the export stays as is),
and the summary names its fields in Japanese."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from segverify.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
TOPOLOGY = str(ROOT / "topologies" / "alpha.yaml")
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")

# an iptables-save export with constructs segverify reads but does not model: each one is a
# warning with its line (nat rule, a queue target, an unknown match, a run-time set update)
EXPORT = (
    "*nat\n:PREROUTING ACCEPT [0:0]\n"
    "-A PREROUTING -d 198.51.100.1 -j DNAT --to-destination 198.18.30.5\nCOMMIT\n"
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
    "-A FORWARD -s 198.18.30.0/24 -j NFQUEUE --queue-num 1\n"
    "-A FORWARD -s 198.18.30.0/24 -m foo --bar 1 -j ACCEPT\n"
    "-A FORWARD -j SET --add-set x src\nCOMMIT\n"
)
# English words of the warning templates that must not survive in the Japanese output
ENGLISH = (
    "not evaluated",
    "treated as",
    "not modelled",
    "verdict decided",
    "unrecognised match",
    "unknown verdict",
)


def firewall(tmp_path: Path, *extra: str) -> tuple[int, str]:
    export = tmp_path / "rules.v4"
    export.write_text(EXPORT, encoding="utf-8")
    args = ["--lang", "ja", "firewall", str(export), "-t", TOPOLOGY, "--device", "fw-inet"]
    result = CliRunner().invoke(cli, [*args, "--vendor", "iptables", *extra])
    return result.exit_code, result.stdout


def test_json_warnings_have_japanese(tmp_path: Path) -> None:
    code, out = firewall(tmp_path, "--format", "json")
    assert code in (1, 3)
    doc = json.loads(out)
    warnings = doc["warnings"]
    assert len(warnings) == 5
    assert {w["line"] for w in warnings} == {3, 9, 10, 11}
    for w in warnings:
        assert CJK.search(w["message_ja"]), w
        assert w["message_ja"] != w["message"]
        assert not any(word in w["message_ja"] for word in ENGLISH), w
    # the vendor syntax quoted from the export is kept verbatim in both languages
    quoted = [w for w in warnings if "`-m foo --bar 1`" in w["message"]]
    assert quoted and "`-m foo --bar 1`" in quoted[0]["message_ja"]


def test_text_warnings_and_summary_are_japanese(tmp_path: Path) -> None:
    code, out = firewall(tmp_path)
    assert code in (1, 3)
    warning_lines = [line for line in out.splitlines() if line.startswith("  警告: ")]
    assert len(warning_lines) == 5
    for line in warning_lines:
        assert re.match(r"  警告: .*rules\.v4:\d+:\d+: ", line), line
        assert not any(word in line for word in ENGLISH), line
    summary = next(line for line in out.splitlines() if line.startswith("概要: "))
    for english_key in ("device=", "vendor=", "stages=", "forbidden_permits=", "exact="):
        assert english_key not in summary
    assert "装置=fw-inet" in summary and "厳密=いいえ" in summary
    assert "[警告 到達しないルール]" in out  # a check id shown in Japanese


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_html_warnings_follow_the_language(tmp_path: Path, lang: str) -> None:
    export = tmp_path / "rules.v4"
    export.write_text(EXPORT, encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["--lang", lang, "firewall", str(export), "-t", TOPOLOGY, "--device", "fw-inet"]
        + ["--vendor", "iptables", "--format", "html"],
    )
    page = result.stdout
    if lang == "ja":
        assert "nat テーブルのルールは評価していません" in page
        assert not any(word in page for word in ENGLISH)
    else:
        assert "nat table rule not evaluated" in page
