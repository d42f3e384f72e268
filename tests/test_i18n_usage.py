"""click's usage errors under --lang ja: rebuilt in Japanese from the exception (the
parameter, option or command it names); English output stays click's own."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from segverify.cli.main import cli

ALPHA = "topologies/alpha.yaml"
CASES = [
    (["pcap"], "引数 'CAPTURES...' が指定されていません", "Missing argument 'CAPTURES...'"),
    (
        ["pcap", "x.pcap", "-t", ALPHA, "--format", "bogus"],
        "'--format' の値が不正です: 'bogus' は 'text'",
        "Invalid value for '--format': 'bogus' is not one of",
    ),
    (
        ["pcap", "x.pcap", "-t"],
        "オプション '-t' には値が必要です",
        "Option '-t' requires an argument",
    ),
    (["pcapp"], "コマンド 'pcapp' はありません", "No such command 'pcapp'"),
    (["pcap", "--bogus"], "オプション '--bogus' はありません", "No such option '--bogus'"),
    (
        ["pcap", "a", "-t", ALPHA, "--jobs", "x"],
        "'x' は整数ではありません",
        "'x' is not a valid integer",
    ),
    (
        ["topology", "check", "a", "b"],
        "余分な引数があります（b）",
        "Got unexpected extra argument (b)",
    ),
]
ENGLISH = re.compile(r"\b(Error|Missing|Invalid|No such|Usage|Try|requires|unexpected)\b")


@pytest.mark.parametrize(("args", "ja", "en"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_usage_errors_in_japanese(args: list[str], ja: str, en: str) -> None:
    r = CliRunner().invoke(cli, ["--lang", "ja", *args])
    assert r.exit_code == 2 and not r.stdout
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("エラー: ") and ja in last, r.stderr
    assert not ENGLISH.search(r.stderr), r.stderr  # usage line and hint translated too
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2 and en in r.stderr and "Error: " in r.stderr
