"""Ground truth of a lab run: every flow attempted, what the kernel did, what the policy says."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from segverify.errors import InputError
from segverify.i18n import Msg

FORMAT = 1


@dataclass
class TruthFlow:
    id: str
    src_host: str
    dst_host: str
    src: str
    dst: str
    proto: str
    proto_number: int
    sport: int | None
    dport: int | None
    app: str
    names: list[str]
    passed: bool  # the kernel let it through: TCP established, UDP/ICMP answered
    outcome: str  # established | answered | refused | timeout | unreachable | no-answer…
    allowed: bool  # the three-tier policy verdict (PolicyEvaluator)
    decided_by: str
    rule: str | None
    clauses: list[str]
    reason: str
    expect: str | None = None
    exercises: str | None = None  # the tier rule the profile says the flow exercises
    description: str = ""

    @property
    def violation(self) -> bool:
        """Forbidden by the policy and let through by the kernel."""
        return self.passed and not self.allowed


@dataclass
class GroundTruth:
    profile: str
    topology: str
    model: str
    capture: str
    link_type: str
    ruleset: dict[str, str]
    flows: list[TruthFlow] = field(default_factory=list)
    packets_captured: int | None = None
    packets_dropped: int | None = None  # by the kernel before tcpdump read them (must be 0)

    def summary(self) -> dict[str, int]:
        return {
            "attempted": len(self.flows),
            "passed": sum(f.passed for f in self.flows),
            "forbidden": sum(not f.allowed for f in self.flows),
            "violations": sum(f.violation for f in self.flows),
            "blocked_forbidden": sum(not f.allowed and not f.passed for f in self.flows),
            "blocked_allowed": sum(f.allowed and not f.passed for f in self.flows),
        }

    def violations(self) -> list[TruthFlow]:
        return [f for f in self.flows if f.violation]

    def to_json(self) -> str:
        data = asdict(self)
        data = {"segverify_lab_truth": FORMAT, **data, "summary": self.summary()}
        for out, flow in zip(data["flows"], self.flows, strict=True):
            out["violation"] = flow.violation
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    def write(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")


def load_truth(path: str | Path) -> GroundTruth:
    file = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(Msg("error.no_such_file"), file) from None
    except (OSError, ValueError) as exc:
        raise InputError(Msg("error.lab.truth.not_ground_truth_file", reason=exc), file) from None
    if not isinstance(data, dict) or data.get("segverify_lab_truth") != FORMAT:
        raise InputError(Msg("error.lab.truth.not_segverify_lab_ground_truth"), file)
    names = set(TruthFlow.__dataclass_fields__)
    try:
        flows = [TruthFlow(**{k: v for k, v in f.items() if k in names}) for f in data["flows"]]
        return GroundTruth(
            profile=data["profile"],
            topology=data["topology"],
            model=data["model"],
            capture=data["capture"],
            link_type=data["link_type"],
            ruleset=data["ruleset"],
            flows=flows,
            packets_captured=data.get("packets_captured"),
            packets_dropped=data.get("packets_dropped"),
        )
    except (KeyError, TypeError) as exc:
        raise InputError(
            Msg("error.lab.truth.malformed_ground_truth_file", reason=exc), file
        ) from None


@dataclass(frozen=True)
class Change:
    id: str
    what: str  # "kernel", "policy", "added", "removed"
    old: str
    new: str
    violation_old: bool
    violation_new: bool


def _state(f: TruthFlow) -> str:
    return f"{'passed' if f.passed else 'blocked'} ({f.outcome})"


def diff(old: GroundTruth, new: GroundTruth) -> list[Change]:
    """What changed between two runs of a profile, flow by flow (by flow id)."""
    before = {f.id: f for f in old.flows}
    after = {f.id: f for f in new.flows}
    out: list[Change] = []
    for fid, a in before.items():
        b = after.get(fid)
        if b is None:
            out.append(Change(fid, "removed", _state(a), "-", a.violation, False))
            continue
        if a.passed != b.passed:
            out.append(Change(fid, "kernel", _state(a), _state(b), a.violation, b.violation))
        if a.allowed != b.allowed:
            pol = {True: "allowed", False: "forbidden"}
            out.append(
                Change(fid, "policy", pol[a.allowed], pol[b.allowed], a.violation, b.violation)
            )
    for fid, b in after.items():
        if fid not in before:
            out.append(Change(fid, "added", "-", _state(b), False, b.violation))
    return out
