"""The configuration layer: what firewall exports permit between zones that the policy
forbids, per zone pair, read from the firewall check's findings (kind ``firewall-permit``,
which carry ``src_zone``, ``dst_zone`` and the export's file:line)."""

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
