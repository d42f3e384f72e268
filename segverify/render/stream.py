"""What the streaming renderers (CSV, SARIF, JUnit) read: findings as records, one at a time.

A record is the JSON shape of a finding (:func:`segverify.findings.serialise.finding_dict`).
What a format must know before its first finding — CSV's columns, SARIF's rule list,
JUnit's test cases and their counts — comes from the source up front, so the renderers
write each finding as it comes and never hold the whole report as a string. A ``Report``
(every command) is one source; a capture analysis (``render.pcap_source``) is another, made
from the columnar flow table in batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from segverify.findings.model import Finding, InputWarning, Report
from segverify.findings.serialise import finding_dict


@dataclass(frozen=True)
class Case:
    """One JUnit test case: the findings of one rule for one zone pair."""

    rule: str
    pair: str  # ``src→dst`` or ``-``
    kind: str  # the kind of its first finding
    count: int
    failing: bool  # at least one finding of severity ``error``


class FindingSource(Protocol):
    """Findings and report facts, in the order every format writes them."""

    command: str
    inputs: tuple[str, ...]
    incomplete: bool
    manual_items: tuple[str, ...]

    def summary(self) -> dict[str, Any]: ...

    def warnings(self) -> tuple[InputWarning, ...]: ...

    def exit_code(self) -> int: ...

    def records(self) -> Iterator[dict[str, Any]]:
        """Every finding as a record, in report order."""
        ...

    def data_keys(self) -> list[str]:
        """The data keys of the findings (beyond the common fields), first seen first."""
        ...

    def rules(self) -> list[str]:
        """The rules of the findings, first seen first."""
        ...

    def cases(self) -> list[Case]:
        """The findings by (rule, zone pair), sorted."""
        ...

    def case_records(self, case: Case) -> Iterator[dict[str, Any]]:
        """The records of one case, in report order."""
        ...


def zone_pair(data: dict[str, Any]) -> str:
    """``src→dst`` for a finding's data (or record), or ``-`` when it concerns no zone pair."""
    if data.get("src_zone") is not None and data.get("dst_zone") is not None:
        return f"{data['src_zone']}→{data['dst_zone']}"
    zones = data.get("zones")
    if isinstance(zones, (list, tuple)) and len(zones) == 2:
        return f"{zones[0]}→{zones[1]}"
    return "-"


@dataclass(frozen=True)
class ReportSource:
    """A materialised ``Report`` as a finding source."""

    report: Report

    @property
    def command(self) -> str:
        return self.report.command

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.report.inputs

    @property
    def incomplete(self) -> bool:
        return self.report.incomplete

    @property
    def manual_items(self) -> tuple[str, ...]:
        return self.report.manual_items

    def summary(self) -> dict[str, Any]:
        return self.report.summary

    def warnings(self) -> tuple[InputWarning, ...]:
        return self.report.warnings

    def exit_code(self) -> int:
        return self.report.exit_code()

    def records(self) -> Iterator[dict[str, Any]]:
        return map(finding_dict, self.report.findings)

    def data_keys(self) -> list[str]:
        keys: dict[str, None] = {}
        for f in self.report.findings:
            keys.update(dict.fromkeys(f.data))
        return list(keys)

    def rules(self) -> list[str]:
        return list(dict.fromkeys(f.rule for f in self.report.findings))

    @cached_property
    def _groups(self) -> dict[tuple[str, str], list[Finding]]:
        groups: dict[tuple[str, str], list[Finding]] = {}
        for f in self.report.findings:
            groups.setdefault((f.rule, zone_pair(f.data)), []).append(f)
        return groups

    def cases(self) -> list[Case]:
        return [
            Case(rule, pair, fs[0].kind, len(fs), any(f.severity == "error" for f in fs))
            for (rule, pair), fs in sorted(self._groups.items())
        ]

    def case_records(self, case: Case) -> Iterator[dict[str, Any]]:
        return map(finding_dict, self._groups.get((case.rule, case.pair), []))
