"""The configuration layer: what firewall exports permit between zones that the policy
forbids, per zone pair, read from the firewall check's findings (kind ``firewall-permit``,
which carry ``src_zone``, ``dst_zone`` and the export's file:line); every zone pair they
permit at all (``ConfiguredPair``, from ``checks.firewall.permitted_pairs``); and the
sanctioned paths a firewall blocks (``network-blocked`` findings of the network check)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath

from segverify.findings.model import Finding


@dataclass(frozen=True)
class PermitPair:
    """Forbidden permits of firewall exports from zone ``src`` to zone ``dst``."""

    src: str
    dst: str
    forbidden: int
    rules: tuple[str, ...]  # export file:line of each permitting rule


@dataclass(frozen=True)
class ConfiguredPair:
    """New connections from zone ``src`` to zone ``dst`` that a firewall export permits
    (sanctioned or not), with the file:line of each accepting rule."""

    src: str
    dst: str
    rules: tuple[str, ...]
    device: str = ""


@dataclass(frozen=True)
class BlockedPair:
    """A sanctioned zone-to-zone path no firewall path carries (``network-blocked``)."""

    src: str
    dst: str
    allow_rules: tuple[str, ...]  # the topology's allow rules that sanction it
    where: tuple[str, ...]  # device and export file:line of the blocking rule(s)


def merge_configured(pairs: Iterable[ConfiguredPair]) -> list[ConfiguredPair]:
    """One entry per zone pair over several exports (rules in order, no repeats)."""
    merged: dict[tuple[str, str], list[str]] = {}
    for p in pairs:
        rules = merged.setdefault((p.src, p.dst), [])
        rules.extend(r for r in p.rules if r not in rules)
    return [ConfiguredPair(a, b, tuple(merged[(a, b)])) for a, b in sorted(merged)]


def blocked_pairs(findings: Iterable[Finding]) -> list[BlockedPair]:
    """``network-blocked`` findings as zone pairs, sorted by (src, dst)."""
    out: dict[tuple[str, str], BlockedPair] = {}
    for f in findings:
        if f.kind != "network-blocked":
            continue
        src, dst = f.data.get("src_zone"), f.data.get("dst_zone")
        if not isinstance(src, str) or not isinstance(dst, str):
            continue
        where = []
        for stop in f.data.get("stopped_by", ()):
            ref = stop.get("firewall_rule", {}) if isinstance(stop, dict) else {}
            line = ref.get("line") if isinstance(ref, dict) else None
            file = ref.get("file") if isinstance(ref, dict) else None
            at = f"{PurePath(file).name}:{line}" if file and line else "default"
            item = f"{stop.get('device', '')} {at}".strip()
            if item not in where:
                where.append(item)
        allow = tuple(str(r) for r in f.data.get("allow_rules", ()))
        out[(src, dst)] = BlockedPair(src, dst, allow, tuple(where))
    return [out[k] for k in sorted(out)]


def permit_pairs(findings: Iterable[Finding]) -> list[PermitPair]:
    """Forbidden permits grouped by zone pair, sorted by (src, dst)."""
    counts: dict[tuple[str, str], int] = {}
    rules: dict[tuple[str, str], list[str]] = {}
    for f in findings:
        if f.kind != "firewall-permit" or f.severity != "error":
            continue
        src, dst = f.data.get("src_zone"), f.data.get("dst_zone")
        if not isinstance(src, str) or not isinstance(dst, str):
            continue
        key = (src, dst)
        counts[key] = counts.get(key, 0) + 1
        where = f"{PurePath(f.location.file).name}:{f.location.line}" if f.location else f.rule
        if where not in rules.setdefault(key, []):
            rules[key].append(where)
    return [PermitPair(a, b, counts[(a, b)], tuple(rules[(a, b)])) for a, b in sorted(counts)]
