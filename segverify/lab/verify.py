"""Cross-checks of a lab run: the capture analysis and the firewall analysis against the
ground truth (used by the tests and ``segverify lab check``).

* capture: ``segverify pcap``'s library path (``read_flows`` + ``flow_findings``) must flag
  exactly the forbidden flows, and mark as established exactly those the kernel let through;
* firewall: the engine's verdict for each attempted flow (first packet, state new) must be
  what the kernel did.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from segverify.lab.plan import LabPlan, plan_lab
from segverify.lab.truth import GroundTruth, TruthFlow
from segverify.topology.model import Topology

FlowKey = tuple[str, str, int, int | None]


class Unavailable(Exception):
    """A module another part of segverify provides is not there (yet)."""


def _key(src: str, dst: str, proto: int, sport: int | None) -> FlowKey:
    return (src, dst, proto, sport if proto in (6, 17) else None)


def truth_key(f: TruthFlow) -> FlowKey:
    return _key(f.src, f.dst, f.proto_number, f.sport)


@dataclass
class CaptureCheck:
    flagged: set[FlowKey] = field(default_factory=set)  # forbidden flows the analysis reports
    flagged_established: set[FlowKey] = field(default_factory=set)
    expected: set[FlowKey] = field(default_factory=set)  # forbidden per ground truth
    expected_violations: set[FlowKey] = field(default_factory=set)  # forbidden and let through
    missing_in_capture: set[FlowKey] = field(default_factory=set)  # attempted, not captured
    incomplete: bool = False

    @property
    def missed(self) -> set[FlowKey]:
        return self.expected_violations - self.flagged_established

    @property
    def false_alarms(self) -> set[FlowKey]:
        return self.flagged_established - self.expected_violations

    @property
    def ok(self) -> bool:
        return (
            not self.missed
            and not self.false_alarms
            and self.flagged == self.expected
            and not self.missing_in_capture
        )


def check_capture(truth: GroundTruth, capture: str | Path, topology: Topology) -> CaptureCheck:
    try:
        flow_findings = importlib.import_module("segverify.checks.flows").flow_findings
        capture_pkg = importlib.import_module("segverify.capture")
        if hasattr(capture_pkg, "read_flows"):
            table = capture_pkg.read_flows([str(capture)], backend="fast")
        else:  # before the package exports read_flows: its fast backend directly
            table = importlib.import_module("segverify.capture.fast").read_file(str(capture))
    except (ImportError, AttributeError) as exc:
        raise Unavailable(f"capture analysis not available: {exc}") from None
    report = flow_findings(table, topology)
    out = CaptureCheck(incomplete=bool(report.incomplete))
    for finding in report.findings:
        d = finding.data
        key = _key(d["src"], d["dst"], d["proto_number"], d["sport"])
        out.flagged.add(key)
        if d.get("established"):
            out.flagged_established.add(key)
    seen = {_key(f.src, f.dst, f.proto, f.sport) for f in table.flows}
    for f in truth.flows:
        k = truth_key(f)
        if not f.allowed:
            out.expected.add(k)
        if f.violation:
            out.expected_violations.add(k)
        if k not in seen:
            out.missing_in_capture.add(k)
    return out


@dataclass
class FirewallCheck:
    agree: list[str] = field(default_factory=list)
    disagree: list[tuple[str, bool, str]] = field(default_factory=list)  # id, kernel passed, engine
    forbidden_permitted: list[str] = field(default_factory=list)  # engine accepts, policy forbids
    unmodelled: list[str] = field(default_factory=list)  # intra-zone hairpins the engine skips

    @property
    def ok(self) -> bool:
        return not self.disagree


def _iface(plan: LabPlan, address: str) -> str | None:
    host = plan.host_for_address(address)
    if host is None:
        return None
    zone = next(i.zone for i in host.interfaces if str(i.address) == address)
    return plan.fw_iface(zone).name


def check_firewall(
    truth: GroundTruth, ruleset_path: str | Path, topology: Topology, vendor: str | None = None
) -> FirewallCheck:
    """Ask the firewall engine about every attempted flow; compare with the kernel."""
    try:
        parse_export = importlib.import_module("segverify.firewall").parse_export
        build_analysis = importlib.import_module("segverify.engine.analysis").build_analysis
        decide_flow = importlib.import_module("segverify.checks.firewall_flow").decide_flow
    except (ImportError, AttributeError) as exc:
        raise Unavailable(f"firewall analysis not available: {exc}") from None
    ruleset = parse_export(str(ruleset_path), vendor=vendor, topology=topology)
    analysis = build_analysis(topology, ruleset)
    plan = plan_lab(topology)
    out = FirewallCheck()
    for f in truth.flows:
        dport = (8 << 8) if f.proto_number == 1 else (f.dport or 0)
        decisions = decide_flow(analysis, f.src, f.dst, f.proto_number, dport)
        # the kernel's path: in on the source host's zone interface, out on the destination's
        path = (_iface(plan, f.src), _iface(plan, f.dst))
        on_path = [d for d in decisions if (d.packet.in_interface, d.packet.out_interface) == path]
        if not on_path and path[0] == path[1]:
            # intra-zone traffic hairpins through the lab firewall only; a real network keeps
            # it on the zone's LAN, and the engine does not model same-interface forwarding
            out.unmodelled.append(f.id)
            continue
        decisions = on_path or decisions
        actions = {d.action for d in decisions}
        accepted = actions == {"accept"}
        if accepted == f.passed and len(actions) == 1:
            out.agree.append(f.id)
        else:
            out.disagree.append((f.id, f.passed, ",".join(sorted(actions)) or "none"))
        if accepted and not f.allowed:
            out.forbidden_permitted.append(f.id)
    return out
