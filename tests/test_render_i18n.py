"""The message catalogue: every key, in both languages, is complete and usable. Generic on
purpose: keys other helpers add are walked the same way."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
import yaml

from segverify.i18n import LANGS, t

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = yaml.safe_load((ROOT / "segverify/data/messages.yaml").read_text(encoding="utf-8"))
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_key_in_both_languages(key: str) -> None:
    entry = CATALOGUE[key]
    assert isinstance(entry, dict) and set(LANGS) <= set(entry), key
    en, ja = entry["en"], entry["ja"]
    assert isinstance(en, str) and en.strip() and isinstance(ja, str) and ja.strip()
    assert fields(en) == fields(ja), key  # the same placeholders
    # Japanese text is Japanese, or the same proper name in both (LGWAN, DNS)
    assert CJK.search(ja) or ja == en, key
    params = {name: f"<{name}>" for name in fields(en)}
    for lang in LANGS:
        assert t(key, lang, **params) == entry[lang].format(**params)


def test_unknown_key_falls_back_to_the_key() -> None:
    assert t("no.such.key", "ja") == "no.such.key"


@pytest.mark.parametrize("model", ["alpha", "alpha-prime", "beta", "beta-prime", "two-tier"])
def test_init_comments_follow_the_language(model: str, tmp_path: Path) -> None:
    """`init`'s comments come from the catalogue: Japanese with --lang ja, and the file
    stays a valid topology in both languages."""
    from click.testing import CliRunner

    from segverify.cli.main import cli
    from segverify.topology.loader import load_topology

    runner = CliRunner()
    for lang in LANGS:
        out = tmp_path / f"{lang}.yaml"
        assert (
            runner.invoke(cli, ["--lang", lang, "init", "--model", model, "-o", str(out)]).exit_code
            == 0
        )
        load_topology(str(out))
        comments = [
            line.split("#", 1)[1] for line in out.read_text("utf-8").splitlines() if "#" in line
        ]
        assert comments and "#%" not in out.read_text("utf-8")
        english = [c for c in comments if re.search(r"\b(the|is|are|with|your)\b", c)]
        if lang == "ja":
            assert not english, english
            assert any("マイナンバー利用事務系" in c for c in comments)
        else:
            assert english
