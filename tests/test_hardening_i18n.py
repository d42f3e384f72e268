"""The hardening errors speak the user's language (--lang ja) through the catalogue, and stay
one escaped line in both languages."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import segverify.cli.topology_cmd as topology_cmd
from segverify.cli.main import cli
from segverify.i18n import _catalogue
from tests.conftest import TOPOLOGIES

ALPHA = str(TOPOLOGIES / "alpha.yaml")
KEYS = (
    "error.no_such_file",
    "error.is_directory",
    "error.permission",
    "error.cannot_read",
    "error.too_large",
    "error.not_utf8",
    "error.yaml_character",
    "error.yaml_depth",
    "error.yaml_aliases",
    "error.yaml_values",
    "error.mixed_families",
    "error.too_large_input",
    "error.internal_bug",
)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stderr


@pytest.mark.parametrize("key", KEYS)
def test_every_hardening_message_has_both_languages(key: str) -> None:
    entry = _catalogue()[key]
    assert entry["en"] and entry["ja"] and entry["en"] != entry["ja"]


def test_japanese_errors(tmp_path: Path) -> None:
    esc = tmp_path / "esc.yaml"
    esc.write_text('segverify: 1\nname: "a\x1bb"\n', encoding="utf-8")
    code, err = run("--lang", "ja", "topology", "check", str(esc))
    assert code == 2
    assert (
        err == f"segverify: {esc}:2:9: YAML が不正です: 文字 U+001B（ESC）は YAML では使えません\n"
    )
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 100 + "]" * 100 + "\n", encoding="utf-8")
    code, err = run("--lang", "ja", "topology", "check", str(deep))
    assert code == 2 and "入れ子が 64 段を超えています" in err
    code, err = run("--lang", "ja", "topology", "check", str(tmp_path / "none.yaml"))
    assert code == 2 and err.endswith("none.yaml: ファイルがありません\n")
    code, err = run(
        "--lang", "ja", "explain", "-t", ALPHA, "--src", "198.18.10.10", "--dst", "2001:db8::1"
    )
    assert code == 2
    assert err == (
        "segverify: 送信元 198.18.10.10 は IPv4、宛先 2001:db8::1 は IPv6 です。"
        "1 つの通信のアドレスファミリーは 1 つです\n"
    )


def test_japanese_size_limit(tmp_path: Path) -> None:
    link = tmp_path / "zero.txt"
    link.symlink_to("/dev/zero")
    code, err = run("--lang", "ja", "policy", "check", str(link), "-t", ALPHA)
    assert code == 2
    assert (
        err
        == f"segverify: {link}: 基本方針のテキストが上限 16 MiB を超えています（docs/security.md 参照）\n"
    )


def test_japanese_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_a: object) -> None:
        raise KeyError("x")

    monkeypatch.delenv("SEGVERIFY_DEBUG", raising=False)
    monkeypatch.setattr(topology_cmd, "check_topology", boom)
    code, err = run("--lang", "ja", "topology", "check", ALPHA)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("segverify: 内部エラー（入力ではなく segverify の不具合です）: KeyError")
