"""The live lab: real namespaces, real kernel netfilter, real sockets, real tcpdump.

Needs root, iproute2, iptables, nft and tcpdump (skipped otherwise). Every lab is torn
down by its fixture, also when a test fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from segverify.lab import control
from segverify.lab.profile import load_profile
from segverify.lab.runner import run_profile
from segverify.lab.system import LabError, run
from segverify.lab.verify import Unavailable, check_capture, check_firewall, truth_key

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[1]
LAB = REPO / "topologies" / "lab"
LAB_DIRS = sorted(p.parent for p in LAB.glob("*/topology.yaml"))
FQDN_ONLY = "fqdn-not-allowed"
LEAK_LINE = "-A FORWARD -i inet -o internet -p tcp -m tcp --dport 443 -j ACCEPT"
TOOLS = ("ip", "iptables-restore", "nft", "tcpdump", "sysctl")


def _need_lab() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces / netfilter)")
    for tool in TOOLS:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (CI installs it via .ci/run)")


def _run_id(tag: str) -> str:
    return f"{tag}{os.getpid() % 100000}"[:12]


@pytest.fixture(scope="module", params=LAB_DIRS, ids=lambda p: p.name)
def lab(request: pytest.FixtureRequest) -> Iterator[control.Lab]:
    _need_lab()
    rid = _run_id("pt")
    control.down(rid)
    try:
        yield control.up(
            str(request.param / "topology.yaml"), rid, str(request.param / "compliant.iptables")
        )
    finally:
        control.down(rid)


def _play(lab: control.Lab, profile: Path, tmp_path: Path, name: str):
    pcap = tmp_path / f"{name}.pcap"
    truth = run_profile(lab, load_profile(profile), pcap)
    assert truth.packets_dropped == 0
    return pcap, truth


def _capture_view(truth, pcap, topology):
    try:
        return check_capture(truth, pcap, topology)
    except Unavailable as exc:
        pytest.skip(str(exc))


def _firewall_view(truth, ruleset, topology):
    try:
        return check_firewall(truth, ruleset, topology)
    except Unavailable as exc:
        pytest.skip(str(exc))


def test_profiles_under_the_compliant_ruleset(lab: control.Lab, tmp_path: Path) -> None:
    lab_dir = Path(lab.state.topology).parent
    ruleset = lab_dir / "compliant.iptables"
    control.load(lab.state.run_id, str(ruleset), None, None)
    for profile in sorted(lab_dir.glob("*.profile.yaml")):
        pcap, truth = _play(lab, profile, tmp_path, profile.stem)
        # the compliant firewall lets every allowed flow through and no forbidden one, except
        # what only names can tell (α' FQDN allow-list: header filtering cannot enforce it)
        for f in truth.flows:
            if f.reason == FQDN_ONLY:
                continue
            assert f.passed == f.allowed, f"{profile.name} {f.id}: {f.outcome}"
        assert all(f.reason == FQDN_ONLY for f in truth.violations())
        cap = _capture_view(truth, pcap, lab.topology)
        assert cap.ok, (profile.name, cap.missed, cap.false_alarms, cap.missing_in_capture)
        fw = _firewall_view(truth, ruleset, lab.topology)
        assert fw.disagree == [], profile.name


def test_leaky_ruleset_shows_in_all_three_views(lab: control.Lab, tmp_path: Path) -> None:
    lab_dir = Path(lab.state.topology).parent
    leaky = lab_dir / "leaky.iptables"
    control.load(lab.state.run_id, str(leaky), None, None)
    try:
        pcap, truth = _play(lab, lab_dir / "violations.profile.yaml", tmp_path, "leaky")
    finally:
        control.load(lab.state.run_id, str(lab_dir / "compliant.iptables"), None, None)
    # ground truth: forbidden flows the kernel let through
    leaked = {f.id for f in truth.violations() if f.reason != FQDN_ONLY}
    assert leaked, "the leaky ruleset let nothing forbidden through"
    if lab_dir.name == "alpha":
        assert leaked == {"r3-direct-https"}
    # capture analysis: the same flows flagged, with answers seen
    cap = _capture_view(truth, pcap, lab.topology)
    assert cap.ok
    assert {truth_key(f) for f in truth.flows if f.id in leaked} <= cap.flagged_established
    # firewall analysis: the engine permits exactly those, and the full check reports the leak
    fw = _firewall_view(truth, leaky, lab.topology)
    assert fw.disagree == []
    assert set(fw.forbidden_permitted) == {f.id for f in truth.violations()}
    from segverify.checks.firewall import check_firewall as full_check
    from segverify.firewall import parse_export

    permits = {}
    for name in ("compliant.iptables", "leaky.iptables"):
        report = full_check(lab.topology, parse_export(str(lab_dir / name), topology=lab.topology))
        permits[name] = [
            f.message
            for f in report.findings
            if f.kind == "firewall-permit" and "FQDN" not in f.message
        ]
    assert permits["compliant.iptables"] == []
    assert permits["leaky.iptables"] and all(LEAK_LINE in m for m in permits["leaky.iptables"])


NFT_CASES = [
    (d, n) for d in LAB_DIRS for n in ("compliant.nft", "compliant.nft.json") if (d / n).exists()
]


@pytest.mark.parametrize(
    ("lab", "name"), NFT_CASES, indirect=["lab"], ids=[f"{d.name}-{n}" for d, n in NFT_CASES]
)
def test_other_formats_behave_like_the_iptables_twin(
    lab: control.Lab, tmp_path: Path, name: str
) -> None:
    """nft text goes in with ``nft -f``; nft JSON is parsed by segverify and compiled from the
    normalised model to nftables (``compile_nft``) before loading."""
    lab_dir = Path(lab.state.topology).parent
    ruleset = lab_dir / name
    control.load(lab.state.run_id, str(ruleset), None, None)
    try:
        for profile in sorted(lab_dir.glob("*.profile.yaml")):
            _pcap, truth = _play(lab, profile, tmp_path, f"{name}-{profile.stem}")
            assert all(f.passed == f.allowed for f in truth.flows), (name, profile.name)
            fw = _firewall_view(truth, ruleset, lab.topology)
            assert fw.disagree == [], (name, profile.name)
    finally:
        control.load(lab.state.run_id, str(lab_dir / "compliant.iptables"), None, None)


def test_down_removes_leftovers_of_a_crashed_run() -> None:
    _need_lab()
    rid = _run_id("cr")
    names = [f"sv-{rid}-fw", f"sv-{rid}-h-orphan"]
    try:
        for name in names:
            run(["ip", "netns", "add", name])
        assert control.down(rid) == 2
        listed = run(["ip", "netns", "list"]).stdout
        assert not any(name in listed for name in names)
    finally:
        for name in names:
            run(["ip", "netns", "del", name], check=False)


def test_up_refuses_a_taken_run_id_and_bad_input(lab: control.Lab) -> None:
    with pytest.raises(LabError):
        control.up(str(LAB / "alpha" / "topology.yaml"), lab.state.run_id)
    with pytest.raises(LabError):
        control.up(str(LAB / "alpha" / "topology.yaml"), "Bad_Id")


def test_cli_refuses_non_root_with_one_line() -> None:
    _need_lab()
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv not installed")
    proc = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            sys.executable,
            "-m",
            "segverify",
            "lab",
            "up",
            str(LAB / "alpha" / "topology.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert "needs root" in proc.stderr


def test_up_with_a_rejected_ruleset_leaves_nothing(tmp_path: Path) -> None:
    _need_lab()
    bad = tmp_path / "bad.iptables"
    bad.write_text("*filter\n:FORWARD DROP [0:0]\n-A FORWARD -m nosuchmatch -j ACCEPT\nCOMMIT\n")
    rid = _run_id("rj")
    try:
        with pytest.raises(LabError, match="rejected the ruleset"):
            control.up(str(LAB / "alpha" / "topology.yaml"), rid, str(bad))
        assert f"sv-{rid}-" not in run(["ip", "netns", "list"]).stdout
    finally:
        control.down(rid)


def test_cli_end_to_end_rehearsal(tmp_path: Path) -> None:
    """``segverify lab up/status/run/load/run/diff/down`` as a user types them."""
    _need_lab()
    rid = _run_id("cli")
    alpha = LAB / "alpha"

    def sv(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "segverify", *args],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    try:
        up = sv("lab", "up", str(alpha / "topology.yaml"), "--ruleset",
                str(alpha / "compliant.iptables"), "--run-id", rid)  # fmt: skip
        assert up.returncode == 0, up.stderr
        assert f"lab {rid} up: 19 hosts" in up.stdout
        assert rid in sv("lab", "status").stdout
        old, new = tmp_path / "old.json", tmp_path / "new.json"
        profile = str(alpha / "violations.profile.yaml")
        res = sv("lab", "run", profile, "--run-id", rid, "--capture", str(tmp_path / "old.pcap"),
                 "--ground-truth", str(old))  # fmt: skip
        assert res.returncode == 0, res.stderr
        assert sv("lab", "load", str(alpha / "leaky.iptables"), "--run-id", rid).returncode == 0
        res = sv("lab", "run", profile, "--run-id", rid, "--capture", str(tmp_path / "new.pcap"),
                 "--ground-truth", str(new))  # fmt: skip
        assert res.returncode == 1, res.stderr
        assert "r3-direct-https" in res.stdout and "<-- violation" in res.stdout
        diff = sv("lab", "diff", str(old), str(new))
        assert diff.returncode == 1
        assert diff.stdout.split()[:2] == ["r3-direct-https", "kernel"]
        assert "NEW VIOLATION" in diff.stdout
    finally:
        down = sv("lab", "down", "--run-id", rid)
    assert down.returncode == 0 and "removed 21 namespace(s)" in down.stdout
