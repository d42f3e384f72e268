"""Every user-facing error and input warning goes through the catalogue.

An AST walk of segverify/ finds the places that raise an error or record a warning and fails
when one passes a bare English string (a literal or an f-string) instead of a catalogue
message (``segverify.i18n.Msg`` or ``key=``); every ``Msg("key", …)`` names a key the
catalogue has, in both languages, with exactly the placeholders the call fills in. Then real
bad inputs through the CLI under ``--lang ja``: one Japanese line with file:line, exit 2.
"""

from __future__ import annotations

import ast
import gzip
import pickle
import string
from pathlib import Path

import pytest
from click.testing import CliRunner

from segverify.cli.main import cli
from segverify.errors import InputError
from segverify.findings.model import InputWarning
from segverify.i18n import Msg, _catalogue, message_of

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "segverify"
TOPOLOGY = str(ROOT / "topologies" / "alpha.yaml")

# constructors whose first argument is the message
CONSTRUCTORS = {
    "InputError",
    "InputWarning",
    "LabError",
    "RecordError",
    "ServiceError",
    "UsageError",
    "BadParameter",
    "ClickException",
}
# helpers whose second argument is the message: parser.error(n, msg), device.warn(loc, msg),
# lower.err(loc, msg), collector._problem(truncated, msg, at), reader._cut(at, reason)
SECOND_ARG = {"error", "warn", "err", "_problem", "_cut", "cut_short"}
# helpers whose first argument is the message
FIRST_ARG = {"malformed", "truncated"}


def _is_text(node: ast.AST | None) -> bool:
    """A bare English string: a literal, an f-string, or text glued with + or %."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _is_text(node.left) or _is_text(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        # "…".format(…), f"…".rstrip()
        return _is_text(node.func.value)
    return False


def _message_arg(call: ast.Call) -> ast.AST | None:
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name in CONSTRUCTORS:
        if call.args:
            return call.args[0]
        return next((kw.value for kw in call.keywords if kw.arg == "message"), None)
    if isinstance(func, ast.Name) and name in ("problem", "_problem", "warn", "_warn"):
        return call.args[1] if len(call.args) >= 2 else None  # problem(line, msg)
    if isinstance(func, ast.Attribute):
        if name in ("err", "error", "warn") and call.args and _is_text(call.args[0]):
            return call.args[0]  # reader.err(msg, loc): the message first
        if name in SECOND_ARG and len(call.args) >= 2:
            if isinstance(func.value, ast.Name) and func.value.id in ("logging", "warnings"):
                return None
            return call.args[1]
        if name in FIRST_ARG and call.args:
            return call.args[0]
        if name in ("append", "extend") and call.args:
            target = ast.unparse(func.value)
            arg = call.args[0]
            if "cut_short" in target:
                return arg
            if (
                ("warnings" in target or "problems" in target)
                and isinstance(arg, ast.Tuple)
                and len(arg.elts) == 2
            ):
                return arg.elts[1]
    return None


def bare_messages(source: str) -> list[int]:
    """Line numbers where ``source`` raises or records a message as a bare string."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        if any(kw.arg == "key" for kw in node.keywords):
            continue  # InputError(message, …, key=…, params=…): the catalogue renders it
        if _is_text(_message_arg(node)):
            out.append(node.lineno)
    return sorted(out)


def msg_calls(source: str) -> list[tuple[int, str | None, set[str] | None]]:
    """Each ``Msg(…)`` call: line, literal key (None if not literal), keyword names (None
    if ``**`` is used)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Msg":
            first = node.args[0] if node.args else None
            key = first.value if isinstance(first, ast.Constant) else None
            names = {kw.arg for kw in node.keywords}
            out.append((node.lineno, key, None if None in names else names))  # type: ignore[arg-type]
    return out


# modules that build Msg from a key held in data (checked below) rather than a literal
COMPUTED_KEYS = {"i18n.py", "topology/yamlsrc.py"}


def test_computed_keys_are_in_the_catalogue() -> None:
    from segverify.topology.yamlsrc import _YAML_PROBLEMS

    catalogue = _catalogue()
    for key in set(_YAML_PROBLEMS.values()):
        assert catalogue[key]["en"] and catalogue[key]["ja"] and not fields(catalogue[key]["en"])


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_the_walk_sees_bare_strings() -> None:
    """The detector itself: each shape of bare message is caught, catalogue forms are not."""
    bad = (
        'raise InputError("no such zone", path, 3)\n'
        'raise InputError(f"unknown zone {z!r}", path)\n'
        'raise lines.error(n, f"unexpected {tok!r}")\n'
        'self.warn(loc, "not modelled")\n'
        'self.warnings.append((loc, f"not understood: {s}"))\n'
        'raise click.UsageError("give a file")\n'
        'col.malformed("bad " + text, line=3)\n'
        'acct.cut_short.append(f"{p}: stopped")\n'
        'out.append(InputWarning(f"odd {x}", loc))\n'
        'raise self.err(f"bad address {part!r}", loc)\n'
        'problem(line, f"not closed: {x}")\n'
        'tree.problems.append((ln, "not understood"))\n'
    )
    assert bare_messages(bad) == list(range(1, 13))
    good = (
        'raise InputError(Msg("error.x", zone=z), path, 3)\n'
        'raise InputError(message, path, key="error.y", params={})\n'
        'raise lines.error(n, Msg("error.z"))\n'
        "self.warn(loc, msg)\n"
        'raise ValueError(f"internal {x}")\n'
    )
    assert bare_messages(good) == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_bare_english_message(path: Path) -> None:
    lines = bare_messages(path.read_text(encoding="utf-8"))
    where = ", ".join(f"{path.relative_to(ROOT)}:{n}" for n in lines)
    assert not lines, f"user-facing message not from the catalogue at {where}"


def test_every_msg_key_is_in_the_catalogue_with_its_placeholders() -> None:
    catalogue = _catalogue()
    seen = 0
    problems = []
    for path in SOURCES:
        for line, key, names in msg_calls(path.read_text(encoding="utf-8")):
            where = f"{path.relative_to(ROOT)}:{line}"
            if key is None:
                if path.relative_to(PACKAGE).as_posix() not in COMPUTED_KEYS:
                    problems.append(f"{where}: Msg key is not a literal")
                continue
            entry = catalogue.get(key)
            if not entry or not entry.get("en") or not entry.get("ja"):
                problems.append(f"{where}: {key} missing in the catalogue or a language")
                continue
            if fields(entry["en"]) != fields(entry["ja"]):
                problems.append(f"{where}: {key}: en and ja placeholders differ")
            if names is not None and names != fields(entry["en"]):
                problems.append(
                    f"{where}: {key}: call gives {sorted(names)}, text has "
                    f"{sorted(fields(entry['en']))}"
                )
            seen += 1
    assert seen > 400  # the walk found the messages (about 480 sites)
    assert not problems, "\n".join(problems)


def test_lab_messages_are_catalogue_entries() -> None:
    """The lab's ``msg("key", lang, …)`` reads ``lab.<key>`` from the same catalogue."""
    catalogue = _catalogue()
    seen = 0
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "msg"):
                continue
            first = node.args[0] if node.args else None
            if not isinstance(first, ast.Constant):
                continue
            entry = catalogue.get(f"lab.{first.value}")
            assert entry and entry["en"] and entry["ja"], (path, first.value)
            names = {kw.arg for kw in node.keywords}
            if None not in names:
                assert names == fields(entry["en"]), (path, first.value)
            seen += 1
    assert seen >= 10


def test_msg_is_its_english_text_and_renders_japanese() -> None:
    msg = Msg("error.topology.loader.unknown_zone", name="dmz")
    assert msg == "unknown zone 'dmz'" and isinstance(msg, str)
    assert msg.render("ja") == "不明な領域 'dmz'"
    err = InputError(msg, "topo.yaml", 7, 3)
    assert str(err) == "topo.yaml:7:3: unknown zone 'dmz'"
    assert err.render("ja") == "topo.yaml:7:3: 不明な領域 'dmz'"
    # a message quoted inside another speaks the same language
    outer = Msg("error.checks.firewall_flow.test_flow", text="a,b", reason=msg)
    assert outer.render("ja") == "--test-flow 'a,b': 不明な領域 'dmz'"
    # warnings take their Japanese from the message
    warning = InputWarning(Msg("warn.common.not_understood", line="frob"))
    assert warning.text("ja") == "解釈できません: frob"
    assert warning.text("en") == "not understood: frob"
    # survives pickling (the distributed engine ships errors between processes)
    again = pickle.loads(pickle.dumps(err))
    assert again.render("ja") == err.render("ja")
    assert message_of(ValueError(msg)) is msg


def run_ja(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--lang", "ja", *args])
    return result.exit_code, result.stderr


def _one_japanese_line(err: str, where: str) -> None:
    assert err.startswith(f"segverify: {where}"), err
    assert err.count("\n") == 1 and "Traceback" not in err
    body = err[len(f"segverify: {where}") :]
    assert any("\u3040" <= ch <= "\u9fff" for ch in body), err
    assert not any(w in body for w in ("invalid", "unknown", "not a ", "cannot")), err


def test_ja_bad_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("segverify: 1\nname: x\nzones: [a, b\n", encoding="utf-8")
    code, err = run_ja("topology", "check", str(bad))
    assert code == 2
    _one_japanese_line(err, f"{bad}:4:1: ")
    assert "YAML が不正です" in err and "']'" in err


def test_ja_unknown_zone_of_an_interface(tmp_path: Path) -> None:
    text = (ROOT / "topologies" / "alpha.yaml").read_text(encoding="utf-8")
    needle = "zone: lgwan\n"
    assert needle in text
    broken = tmp_path / "topo.yaml"
    broken.write_text(text.replace(needle, "zone: no-such-zone\n", 1), encoding="utf-8")
    line = text[: text.index(needle)].count("\n") + 1
    code, err = run_ja("topology", "check", str(broken))
    assert code == 2
    _one_japanese_line(err, f"{broken}:{line}:")
    assert "不明な領域 'no-such-zone'" in err


def test_ja_corrupt_capture(tmp_path: Path) -> None:
    cap = tmp_path / "corrupt.pcap"
    cap.write_bytes(gzip.compress(b"not a capture at all"))
    code, err = run_ja("pcap", "-t", TOPOLOGY, str(cap))
    assert code == 2
    _one_japanese_line(err, f"{cap}: ")


def test_ja_unknown_firewall_syntax(tmp_path: Path) -> None:
    export = tmp_path / "fw.conf"
    export.write_text("frobnicate all the things\n", encoding="utf-8")
    code, err = run_ja("firewall", str(export), "-t", TOPOLOGY)
    assert code == 2
    _one_japanese_line(err, f"{export}: ")
    assert "形式を判別できません" in err


def test_ja_firewall_parse_error_names_the_line(tmp_path: Path) -> None:
    export = tmp_path / "rules.v4"
    export.write_text(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A FORWARD -s 198.18.0.0/15 -j ACCEPT\n-A FORWARD -s 198.18.0.0/33 -j DROP\nCOMMIT\n",
        encoding="utf-8",
    )
    code, err = run_ja(
        "firewall", str(export), "-t", TOPOLOGY, "--device", "fw-inet", "--vendor", "iptables"
    )
    assert code == 2
    _one_japanese_line(err, f"{export}:6")
