"""Hostile topology YAML (issue 13 items 9, 13): one line naming file and line, exit 2, in
bounded memory and CPU (each command runs in a child under RLIMIT_AS / RLIMIT_CPU)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from segverify.limits import YAML_MAX_ALIAS_VALUES, YAML_MAX_DEPTH
from segverify.topology.loader import parse_topology
from tests.adversarial import MiB, assert_fails_closed, run_batch, run_limited
from tests.conftest import TOPOLOGIES

ALPHA = (TOPOLOGIES / "alpha.yaml").read_text(encoding="utf-8")

# 9 levels of 9 aliases: 9**9 ≈ 387 million strings once expanded (478 bytes on disk).
LAUGHS = (
    "segverify: 1\nmodel: alpha\n"
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "zones: {}\n"
)


def _write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_billion_laughs_refused_quickly_with_file_and_line(tmp_path: Path) -> None:
    f = _write(tmp_path, "laughs.yaml", LAUGHS)
    out = run_limited(["topology", "check", f], mem=1024 * MiB, cpu=20)
    assert_fails_closed(out)
    line = _one_line(out.stderr)
    assert out.code == 2
    assert re.match(rf"segverify: {re.escape(f)}:\d+:\d+: invalid YAML: aliases expand", line)
    assert str(YAML_MAX_ALIAS_VALUES) in line


def test_modest_aliases_still_load() -> None:
    text = ALPHA.replace("vlans: [10]", "vlans: &v [10]").replace("vlans: [20]", "vlans: *v")
    topo = parse_topology(text, "alpha.yaml")
    assert topo.zones["lgwan"].vlans == (10,)


@pytest.mark.parametrize(
    ("char", "name"),
    [
        ("\x00", "NUL"),
        ("\x1b", "ESC"),
        ("\x7f", "DEL"),
        ("\x08", "BS"),
        ("\ufffe", "non-character"),
    ],
)
def test_forbidden_characters_name_line_and_column(tmp_path: Path, char: str, name: str) -> None:
    lines = ALPHA.splitlines(keepends=True)
    n = next(i for i, line in enumerate(lines) if line.startswith("name:"))
    lines[n] = f'name: "ab{char}c"\n'
    f = _write(tmp_path, "ctl.yaml", "".join(lines))
    out = run_limited(["topology", "check", f], cpu=20)
    assert_fails_closed(out)
    assert out.code == 2
    code = f"U+{ord(char):04X}"
    assert _one_line(out.stderr) == (
        f"segverify: {f}:{n + 1}:10: invalid YAML: character {code} ({name}) is not allowed in YAML text"
    )


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("flow", "a: " + "[" * 100 + "]" * 100 + "\n", f"nested deeper than {YAML_MAX_DEPTH}"),
        (
            "block",
            "a:\n" + "".join(" " * i + "k:\n" for i in range(1, 200)) + " " * 200 + "x: 1\n",
            f"nested deeper than {YAML_MAX_DEPTH}",
        ),
        ("json-100k", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}\n", "nest"),
        ("mapping-5000", "{a: " * 5000 + "1" + "}" * 5000 + "\n", "nest"),
    ],
)
def test_deep_nesting_is_one_line(tmp_path: Path, name: str, text: str, message: str) -> None:
    f = _write(tmp_path, f"{name}.yaml", text)
    out = run_limited(["topology", "check", f], cpu=30)
    assert_fails_closed(out)
    assert out.code == 2
    line = _one_line(out.stderr)
    assert re.match(rf"segverify: {re.escape(f)}:\d+:\d+: invalid YAML: .*{message}", line), line


def test_hostile_batch_in_one_bounded_child(tmp_path: Path) -> None:
    """The same inputs through the batch harness: peak memory stays far below the limit."""
    files = [
        _write(tmp_path, "a.yaml", LAUGHS),
        _write(tmp_path, "b.yaml", "a: " + "[" * 999 + "]" * 999 + "\n"),
        _write(tmp_path, "c.yaml", b"segverify: 1\nmodel: alpha\x00\n"),
        _write(tmp_path, "d.yaml", b"\xff\xfe\x00s"),
    ]
    outs = run_batch([["topology", "check", f] for f in files], mem=1024 * MiB, cpu=60)
    for out in outs:
        assert_fails_closed(out)
        assert out.code == 2
    assert outs[0].peak_rss_kib < 400 * 1024


def test_hostile_key_in_an_error_message_stays_one_escaped_line(tmp_path: Path) -> None:
    """Found by the adversarial suite: an unknown key holding a newline, ESC and a bidi
    override split the one-line error and reached the terminal raw."""
    lines = ALPHA.splitlines(keepends=True)
    n = next(i for i, line in enumerate(lines) if line.startswith("  mynumber:"))
    lines.insert(n + 1, '    "x\\ny\\e[2J\\u202e": 1\n')
    f = _write(tmp_path, "key.yaml", "".join(lines))
    out = run_limited(["topology", "check", f], cpu=20)
    assert_fails_closed(out)
    assert out.code == 2
    line = _one_line(out.stderr)
    assert line.endswith("zones.mynumber: unknown key(s): x\\x0ay\\x1b[2J\\u202e")
    assert "\x1b" not in out.stderr and "\u202e" not in out.stderr


def test_huge_value_in_an_error_message_is_shortened(tmp_path: Path) -> None:
    text = ALPHA.replace("tier: lgwan\n", f"tier: {'x' * 100_000}\n", 1)
    f = _write(tmp_path, "huge.yaml", text)
    out = run_limited(["topology", "check", f], cpu=20)
    assert_fails_closed(out)
    assert out.code == 2
    line = _one_line(out.stderr)
    assert len(line) < 600 and "more characters)" in line


def test_integer_and_string_unknown_keys(tmp_path: Path) -> None:
    """Found by the adversarial suite: unknown keys of mixed types (1: and x:) made the
    error message sort fail ("internal error: TypeError")."""
    text = ALPHA.replace("segverify: 1\n", "segverify: 1\n1: a\nx: b\n", 1)
    f = _write(tmp_path, "keys.yaml", text)
    out = run_limited(["topology", "check", f], cpu=20)
    assert_fails_closed(out)
    assert out.code == 2 and _one_line(out.stderr).endswith("document: unknown key(s): 1, x")


def test_non_string_keys_are_the_text_written() -> None:
    from segverify.topology.yamlsrc import load_located

    doc = load_located('1: a\non: b\n1.50: c\n"2": d\n', "k.yaml").data
    assert doc == {"1": "a", "on": "b", "1.50": "c", "2": "d"}
