"""`segverify pcap` end to end: exit codes, output formats, errors as one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from conftest import REPO, TOPOLOGIES

ALPHA = str(TOPOLOGIES / "alpha.yaml")
CAP = REPO / "captures"
PCAP_SCHEMA = json.loads((REPO / "docs" / "schema" / "pcap.schema.json").read_text("utf-8"))


def run(*args: str, lang: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "segverify"]
    if lang:
        cmd += ["--lang", lang]
    cmd += ["pcap", *args]
    if "--help" not in args:
        cmd += ["--no-progress"]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300)


@pytest.mark.parametrize(
    ("capture", "code"),
    [
        ("alpha-clean.pcap", 0),
        ("alpha-violations.pcap", 1),
        ("alpha-incomplete.pcap", 3),
        ("hostile-names.pcap", 1),
    ],
)
def test_exit_codes(capture: str, code: int) -> None:
    proc = run(str(CAP / capture), "-t", ALPHA, "--backend", "scapy")
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr


def test_json_schema(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = run(
        str(CAP / "alpha-violations.pcapng"),
        "-t",
        ALPHA,
        "--backend",
        "scapy",
        "--format",
        "json",
        "-o",
        str(out),
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(out.read_text("utf-8"))
    jsonschema.Draft202012Validator(PCAP_SCHEMA).validate(doc)
    assert doc["schema"] == "segverify/pcap/1" and doc["incomplete"] is False
    assert doc["summary"]["records"] == 111 and doc["summary"]["forbidden_flows"] == 5
    for bucket in ("analysed", "non_ip", "unsupported_link", "malformed", "truncated"):
        assert bucket in doc["summary"]
    expected = json.loads((CAP / "alpha-violations.pcapng.expected.json").read_text("utf-8"))
    got = sorted((f["src"], f["dst"], f["proto"], f["dport"], f["rule"]) for f in doc["findings"])
    assert got == sorted((e["src"], e["dst"], e["proto"], e["dport"], e["rule"]) for e in expected)
    f = doc["findings"][0]
    for key in (
        "kind",
        "severity",
        "message",
        "clauses",
        "src_zone",
        "dst_zone",
        "sport",
        "first_seen",
        "community_id",
        "names",
        "vlan",
    ):
        assert key in f
    assert f["first_seen"].endswith("Z") and f["vlan"] in (10, 20, 30)


def test_text_output_bilingual() -> None:
    en = run(str(CAP / "alpha-violations.pcap"), "-t", ALPHA, "--backend", "scapy")
    assert (
        "Forbidden flows: 5" in en.stdout
        and "R1" in en.stdout
        and "update.example.com" in en.stdout
    )
    ja = run(str(CAP / "alpha-violations.pcap"), "-t", ALPHA, "--backend", "scapy", lang="ja")
    assert "禁止された通信: 5 件" in ja.stdout and "マイナンバー利用事務系" in ja.stdout


def test_text_output_escapes_hostile_names() -> None:
    proc = run(str(CAP / "hostile-names.pcap"), "-t", ALPHA, "--backend", "scapy")
    assert proc.returncode == 1
    assert "line1\\nline2" in proc.stdout  # the newline inside a name is shown escaped
    assert "\r" not in proc.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["nope.pcap"], "nope.pcap: no such file"),
        ([str(REPO / "README.md")], "not a pcap or pcapng file"),
    ],
)
def test_bad_input_one_line_exit_2(args: list[str], needle: str) -> None:
    proc = run(*args, "-t", ALPHA, "--backend", "scapy")
    assert proc.returncode == 2
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_topology_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "t.yaml"
    bad.write_text("zones: [", encoding="utf-8")
    proc = run(str(CAP / "alpha-clean.pcap"), "-t", str(bad))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_fast_backend_default_and_other_formats(tmp_path: Path) -> None:
    for fmt in ("csv", "sarif", "junit"):
        proc = run(str(CAP / "alpha-violations.pcap"), "-t", ALPHA, "--format", fmt)
        assert proc.returncode == 1, proc.stderr
        assert proc.stdout.strip()


def test_help_is_a_reference() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    for word in (
        "--topology",
        "--backend",
        "fast",
        "scapy",
        "pyshark",
        "--jobs",
        "--format",
        "--output",
        "--no-progress",
        "--fail-on",
        "--strict",
        "--rows",
        "Exit codes",
    ):
        assert word in proc.stdout


@pytest.mark.parametrize(
    "capture", ["alpha-clean.pcap", "alpha-violations.pcap", "alpha-incomplete.pcap",
                "hostile-names.pcap", "alpha-violations.pcapng"],
)  # fmt: skip
def test_json_of_every_bundled_capture_follows_the_schema(capture: str) -> None:
    proc = run(str(CAP / capture), "-t", ALPHA, "--format", "json")
    doc = json.loads(proc.stdout)
    jsonschema.Draft202012Validator(PCAP_SCHEMA).validate(doc)
    assert doc["exit_code"] == proc.returncode
    assert doc["summary"]["forbidden_flows"] == len(
        [f for f in doc["findings"] if f["kind"] == "flow"]
    )


def test_fail_on_choices_match_the_checks() -> None:
    from segverify.checks.flows import FAIL_ON as CHECKS
    from segverify.cli.pcap_cmd import FAIL_ON

    assert FAIL_ON == CHECKS


def test_text_renderer_lives_in_render_and_uses_the_catalogue() -> None:
    import segverify.cli.pcap_cmd as cli_module
    from segverify.i18n import t

    assert not hasattr(cli_module, "text_report") and not hasattr(cli_module, "HEAD")
    ja = run(str(CAP / "alpha-violations.pcap"), "-t", ALPHA, lang="ja")
    for key in ("pcap.groups", "pcap.incomplete"):
        assert t(key, "ja") != t(key, "en")
    assert t("pcap.groups", "ja") in ja.stdout
    assert t("pcap.bucket.non_ip", "ja") in ja.stdout


def test_cli_backend_names_match_the_capture_registry() -> None:
    from segverify.capture.api import BACKENDS as REGISTRY
    from segverify.cli.pcap_cmd import BACKENDS

    assert set(BACKENDS) == set(REGISTRY)


def test_html_is_the_shared_report_page_with_groups_and_escaped_names(tmp_path: Path) -> None:
    """pcap's HTML is the shared report page (render/html_out.py; its browser tests are in
    tests/test_report_browser.py): grouped, with capture strings escaped."""
    page = tmp_path / "r.html"
    proc = run(str(CAP / "hostile-names.pcap"), "-t", ALPHA, "--format", "html", "-o", str(page))
    assert proc.returncode == 1, proc.stderr
    html = page.read_text("utf-8")
    assert 'id="groups-table"' in html and "R3" in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;.example" in html
    assert "Content-Security-Policy" in html and "hostile-names.pcap" in html


def test_pcap_command_does_not_import_the_other_commands() -> None:
    code = (
        "import sys\n"
        "from segverify.cli.main import cli\n"
        "try:\n"
        f"    cli.main(['pcap', {str(CAP / 'alpha-clean.pcap')!r}, '-t', {ALPHA!r},"
        " '--no-progress'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('networkx', 'segverify.checks.structure', "
        "'segverify.engine.analysis', 'scapy') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout + proc.stderr
