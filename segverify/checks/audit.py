"""The audit's judgements, shared by the HTML and JSON audit reports: a verdict per tier
rule across the layers (design, configuration, observed), and the comparisons between
layers (design vs configuration vs observation)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from segverify.checks.configured import PermitPair
from segverify.checks.matrix import Cell
from segverify.checks.observed import PairTraffic
from segverify.findings.model import Finding, Report
from segverify.topology.model import Topology

LAYERS = ("design", "config", "observed")
VERDICTS = ("pass", "fail", "na", "incomplete")


@dataclass(frozen=True)
class RuleVerdict:
    id: str
    title_en: str
    title_ja: str
    guideline: tuple[str, ...]
    clauses: tuple[str, ...]  # the municipality's own
    enforced: bool
    errors: dict[str, int | None]  # per layer; None: layer not given
    warnings: dict[str, int | None]
    verdict: str  # pass | fail | na | incomplete


@dataclass(frozen=True)
class BlockedPath:
    """A sanctioned zone pair the firewalls block on every path (``network-blocked``)."""

    src: str
    dst: str
    allow_rules: str
    example: str


@dataclass(frozen=True)
class LayerComparison:
    """Each list is None when the inputs it needs were not given."""

    forbidden_seen: list[PairTraffic] | None
    unused_paths: list[Cell] | None
    answered_not_permitted: list[PairTraffic] | None  # bypass or stale export
    permits_unseen: list[PermitPair] | None
    blocked_sanctioned: list[BlockedPath] | None = None
    needs: dict[str, str] = field(default_factory=dict)  # list name → missing input


def rule_verdicts(
    topology: Topology, layers: dict[str, Report | None], entries: Sequence[tuple[str, Finding]]
) -> list[RuleVerdict]:
    """One verdict per tier rule: fail on any error finding of the rule in any layer given;
    incomplete when a layer's analysis was; not applicable when the model does not enforce it."""
    out = []
    for rid, rule in topology.policy.rules.items():
        errors: dict[str, int | None] = {}
        warnings: dict[str, int | None] = {}
        incomplete = False
        for layer in LAYERS:
            rep = layers.get(layer)
            if rep is None:
                errors[layer] = warnings[layer] = None
                continue
            mine = [f for src, f in entries if src == layer and f.rule == rid]
            errors[layer] = sum(1 for f in mine if f.severity == "error")
            warnings[layer] = len(mine) - errors[layer]
            incomplete = incomplete or rep.incomplete
        failed = sum(n or 0 for n in errors.values())
        if not rule.enforced:
            verdict = "na"
        elif failed:
            verdict = "fail"
        elif incomplete:
            verdict = "incomplete"
        else:
            verdict = "pass"
        out.append(
            RuleVerdict(
                rid,
                rule.title_en,
                rule.title_ja,
                tuple(rule.guideline),
                tuple(rule.clauses),
                rule.enforced,
                errors,
                warnings,
                verdict,
            )
        )
    return out


def blocked_paths(config: Report | None) -> list[BlockedPath] | None:
    """The whole-network check's ``network-blocked`` findings of a configuration report."""
    if config is None:
        return None
    out = []
    for f in config.findings:
        if f.kind != "network-blocked":
            continue
        src, dst = f.data.get("src_zone"), f.data.get("dst_zone")
        example = f.data.get("example")
        out.append(BlockedPath(str(src), str(dst), f.rule, "" if example is None else str(example)))
    return out


def compare_layers(
    cells: Sequence[Cell],
    observed: Sequence[PairTraffic] | None,
    permits: Sequence[PermitPair] | None,
    topology: Topology,
    config: Report | None = None,
) -> LayerComparison:
    """Design vs configuration vs observation, per zone pair."""
    traffic = {(o.src, o.dst): o for o in observed or ()}
    forbidden_permits = {(p.src, p.dst): p for p in permits or () if p.forbidden}
    sanctioned = [
        c
        for c in cells
        if c.verdict in ("allowed", "restricted")
        and topology.zones[c.src].tier != topology.zones[c.dst].tier
    ]
    needs: dict[str, str] = {}
    if observed is None:
        for name in ("forbidden_seen", "unused_paths", "answered_not_permitted", "permits_unseen"):
            needs[name] = "capture"
    if permits is None:
        for name in ("answered_not_permitted", "permits_unseen", "blocked_sanctioned"):
            needs.setdefault(name, "firewall")
    return LayerComparison(
        forbidden_seen=None if observed is None else [o for o in observed if o.forbidden],
        unused_paths=None
        if observed is None
        else [c for c in sanctioned if (c.src, c.dst) not in traffic],
        answered_not_permitted=None
        if observed is None or permits is None
        else [
            o
            for o in observed
            if o.forbidden > o.forbidden_unanswered and (o.src, o.dst) not in forbidden_permits
        ],
        permits_unseen=None
        if observed is None or permits is None
        else [p for p in forbidden_permits.values() if (p.src, p.dst) not in traffic],
        blocked_sanctioned=None if permits is None else blocked_paths(config),
        needs=needs,
    )
