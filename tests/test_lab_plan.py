"""Lab plan, lab topologies and traffic profiles: no root needed."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from segverify.checks.policy import PolicyEvaluator
from segverify.cli.main import cli
from segverify.errors import InputError
from segverify.lab.collapse import collapse_yaml
from segverify.lab.plan import is_safe, plan_lab
from segverify.lab.profile import load_profile
from segverify.lab.rules import detect_vendor
from segverify.lab.state import NS_RE, fw_ns, host_ns
from segverify.lab.truth import GroundTruth, TruthFlow, diff
from segverify.topology.loader import load_topology

REPO = Path(__file__).resolve().parents[1]
LAB = REPO / "topologies" / "lab"
LAB_TOPOLOGIES = sorted(LAB.glob("*/topology.yaml"))
PROFILES = sorted(LAB.glob("*/*.profile.yaml"))


@pytest.mark.parametrize("path", LAB_TOPOLOGIES, ids=lambda p: p.parent.name)
def test_lab_topology_is_the_collapsed_preset(path: Path) -> None:
    preset = REPO / "topologies" / f"{path.parent.name}.yaml"
    assert path.read_text(encoding="utf-8") == collapse_yaml(preset), (
        f"regenerate: python -m segverify.lab.collapse {preset.relative_to(REPO)} > "
        f"{path.relative_to(REPO)}"
    )
    lab_plan, preset_plan = plan_lab(load_topology(path)), plan_lab(load_topology(preset))
    assert lab_plan.hosts == preset_plan.hosts
    assert lab_plan.fw_interfaces == preset_plan.fw_interfaces


@pytest.mark.parametrize("path", LAB_TOPOLOGIES, ids=lambda p: p.parent.name)
def test_plan_uses_only_lab_ranges_and_unique_addresses(path: Path) -> None:
    plan = plan_lab(load_topology(path))
    addresses = [i.address for h in plan.hosts for i in h.interfaces]
    addresses += [f.address for f in plan.fw_interfaces]
    assert all(is_safe(a) for a in addresses)
    assert len(addresses) == len(set(addresses))
    assert len({f.name for f in plan.fw_interfaces}) == len(plan.fw_interfaces)
    assert all(len(f.name) <= 15 for f in plan.fw_interfaces)
    # every zone has a firewall interface and a generic host classified into it
    topo = load_topology(path)
    evaluator = PolicyEvaluator(topo)
    for zone in topo.zones:
        host = plan.host(f"{zone}-host")
        assert evaluator.index.classify(str(host.address)).zone == zone


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_profile_expectations_match_the_policy(path: Path) -> None:
    profile = load_profile(path)
    topo = load_topology(profile.topology)
    plan = plan_lab(topo)
    evaluator = PolicyEvaluator(topo)
    for f in profile.flows:
        src = plan.host(f.src_host).address_in(f.src_zone)
        dst = plan.host(f.dst_host).address_in(f.dst_zone)
        v = evaluator.evaluate(str(src), str(dst), f.proto_number, f.dport, f.names)
        assert f.expect is not None, f.id
        assert v.allowed == (f.expect == "allowed"), f"{f.id}: {v.decided_by} {v.reason}"
        if f.expect == "forbidden" and f.rule:
            assert v.rule == f.rule, f"{f.id}: governed by {v.rule}, profile says {f.rule}"


def test_profile_errors_are_one_line_input_errors(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text(
        "segverify-lab: 1\nname: x\ntopology: t.yaml\nflows:\n"
        "  - {id: a, from: h1, to: h2, app: gopher}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        load_profile(bad)
    assert "unknown app 'gopher'" in str(err.value)
    assert err.value.line == 5
    with pytest.raises(InputError):
        load_profile(tmp_path / "missing.yaml")


def test_cli_plan_and_bad_topology(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["lab", "plan", str(REPO / "topologies" / "alpha.yaml")])
    assert res.exit_code == 0, res.output
    assert "lab-fw (collapsed: fw-mynumber, fw-lgwan, fw-inet)" in res.output
    assert "198.18.20.129 (lgwan, eth0)" in res.output


def test_namespace_names_match_the_cleanup_pattern() -> None:
    for name in (
        fw_ns("r1"),
        host_ns("r1", "mail-sanitiser"),
        host_ns("abc", "juki-net-198-19-110-10"),
    ):
        assert NS_RE.match(name)
    assert not NS_RE.match("sv-UPPER-fw")
    assert not NS_RE.match("other-r1-fw")


def test_vendor_detection() -> None:
    assert detect_vendor("# x\n*filter\n:INPUT ACCEPT [0:0]\n") == "iptables"
    assert detect_vendor("#!/usr/sbin/nft -f\nflush ruleset\ntable ip filter {}\n") == "nft"
    assert detect_vendor("config firewall policy\n") is None


def _flow(fid: str, passed: bool, allowed: bool) -> TruthFlow:
    return TruthFlow(
        fid,
        "a",
        "b",
        "198.18.0.1",
        "198.18.0.2",
        "tcp",
        6,
        1000,
        80,
        "http",
        [],
        passed,
        "x",
        allowed,
        "R3",
        "R3",
        [],
        "r",
    )


def test_truth_diff_reports_new_violations() -> None:
    old = GroundTruth("p", "t", "alpha", "c.pcap", "LINUX_SLL2", {}, [_flow("a", False, False)])
    new = GroundTruth("p", "t", "alpha", "c.pcap", "LINUX_SLL2", {}, [_flow("a", True, False)])
    (change,) = diff(old, new)
    assert change.what == "kernel" and change.violation_new and not change.violation_old
    assert diff(old, old) == []


def test_profile_for_another_topology_or_host_is_refused(tmp_path: Path) -> None:
    from segverify.lab.control import Lab
    from segverify.lab.runner import check_profile
    from segverify.lab.state import LabState

    topo = load_topology(LAB / "alpha" / "topology.yaml")
    lab = Lab(
        LabState("x", str(LAB / "alpha" / "topology.yaml"), [], {}, "", {}), topo, plan_lab(topo)
    )
    check_profile(load_profile(LAB / "alpha" / "violations.profile.yaml"), lab)
    with pytest.raises(InputError, match="written for topology 'beta-preset'"):
        check_profile(load_profile(LAB / "beta" / "violations.profile.yaml"), lab)
    odd = tmp_path / "odd.profile.yaml"
    odd.write_text(
        f"segverify-lab: 1\nname: odd\ntopology: {LAB / 'alpha' / 'topology.yaml'}\nflows:\n"
        "  - {id: a, from: nobody, to: internet-host, app: tls}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="no lab host 'nobody'"):
        check_profile(load_profile(odd), lab)
