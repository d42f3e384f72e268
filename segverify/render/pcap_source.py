"""A capture analysis as a finding source for the streaming renderers (CSV, SARIF, JUnit).

Finding records are made from the columnar flow table in batches
(:meth:`FlowAnalysis.iter_finding_dicts`); what the formats need up front — columns, rules
and the JUnit cases with their counts — is computed on the columns (one stable sort of the
forbidden rows by rule and zone pair), so no finding is held longer than it takes to write.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from segverify.findings.model import Finding, InputWarning
from segverify.findings.serialise import RESERVED, finding_dict
from segverify.render.stream import Case

if TYPE_CHECKING:
    from segverify.checks.flows import FlowAnalysis

UNDECLARED_RULE = "undeclared-internal"


@dataclass
class _Members:
    rows: np.ndarray  # forbidden flow rows, capture order
    outer: list[int] = field(default_factory=list)  # forbidden tunnel outer flows
    undeclared: list[Finding] = field(default_factory=list)


@dataclass
class AnalysisSource:
    """The findings of ``analysis``, in the order of :meth:`FlowAnalysis.iter_findings`."""

    analysis: FlowAnalysis
    command: str = "pcap"
    manual_items: tuple[str, ...] = ()
    _members: dict[tuple[str, str], _Members] | None = None
    _undeclared: list[Finding] | None = None

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.analysis.inputs

    @property
    def incomplete(self) -> bool:
        return self.analysis.incomplete

    def summary(self) -> dict[str, Any]:
        return self.analysis.summary()

    def warnings(self) -> tuple[InputWarning, ...]:
        return self.analysis.input_warnings()

    def exit_code(self) -> int:
        return self.analysis.exit_code()

    def records(self) -> Iterator[dict[str, Any]]:
        return self.analysis.iter_finding_dicts()

    def undeclared(self) -> list[Finding]:
        if self._undeclared is None:
            self._undeclared = self.analysis.undeclared_findings()
        return self._undeclared

    def data_keys(self) -> list[str]:
        a = self.analysis
        samples: list[dict[str, Any]] = []
        rows = a.forbidden_rows()
        if len(rows):
            samples.append(next(a.records().records(rows[:1])))  # every flow has the same keys
        outer = a.outer_forbidden()
        if len(outer):
            samples.append(finding_dict(a.outer_finding(int(outer[0]))))
        samples.extend(finding_dict(f) for f in self.undeclared())
        keys: dict[str, None] = {}
        for record in samples:
            keys.update(dict.fromkeys(k for k in record if k not in RESERVED))
        return list(keys)

    def _rule_of_rows(self, rows: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Rule names, and for each row the index of its rule."""
        v = self.analysis.verdicts
        names = sorted({r.decided_by for r in v.rows})
        index = {n: k for k, n in enumerate(names)}
        of_verdict = np.array([index[r.decided_by] for r in v.rows] or [0], dtype=np.int64)
        return names, of_verdict[v.verdict[rows]]

    def _outer_rule_pair(self, g: int) -> tuple[str, str]:
        a = self.analysis
        o = a.outer
        assert o.verdicts is not None
        rule = o.verdicts.rows[int(o.verdicts.verdict[g])].decided_by
        src, dst = a.classes[int(o.src_cls[g])].zone, a.classes[int(o.dst_cls[g])].zone
        return rule, f"{src}→{dst}"

    def rules(self) -> list[str]:
        a = self.analysis
        rows = a.forbidden_rows()
        names, rule_of = self._rule_of_rows(rows)
        _, first = np.unique(rule_of, return_index=True)
        out = [names[int(rule_of[i])] for i in sorted(first.tolist())]
        out.extend(self._outer_rule_pair(g)[0] for g in a.outer_forbidden().tolist())
        if self.undeclared():
            out.append(UNDECLARED_RULE)
        return list(dict.fromkeys(out))

    def members(self) -> dict[tuple[str, str], _Members]:
        """Findings by (rule, zone pair): flow rows, outer flows, undeclared ranges."""
        if self._members is not None:
            return self._members
        a = self.analysis
        rows = a.forbidden_rows()
        names, rule_of = self._rule_of_rows(rows)
        zones = sorted({c.zone for c in a.classes})
        zone_id = {z: k for k, z in enumerate(zones)}
        cls_zone = np.array([zone_id[c.zone] for c in a.classes] or [0], dtype=np.int64)
        nz = max(len(zones), 1)
        key = (rule_of * nz + cls_zone[a.src_cls[rows]]) * nz + cls_zone[a.dst_cls[rows]]
        order = np.argsort(key, kind="stable")  # capture order kept inside a group
        keys, starts = np.unique(key[order], return_index=True)
        bounds = [*starts.tolist(), len(order)]
        out: dict[tuple[str, str], _Members] = {}
        for k, (lo, hi) in zip(keys.tolist(), zip(bounds, bounds[1:], strict=False), strict=True):
            rest, dz = divmod(k, nz)
            r, sz = divmod(rest, nz)
            out[(names[r], f"{zones[sz]}→{zones[dz]}")] = _Members(rows[order[lo:hi]])
        empty = np.zeros(0, dtype=np.int64)
        for g in a.outer_forbidden().tolist():
            out.setdefault(self._outer_rule_pair(g), _Members(empty)).outer.append(g)
        for f in self.undeclared():
            out.setdefault((f.rule, "-"), _Members(empty)).undeclared.append(f)
        self._members = dict(sorted(out.items()))
        return self._members

    def cases(self) -> list[Case]:
        a = self.analysis
        answered = np.asarray(a.cols.answered, dtype=bool)
        attempt_fails = a.fail_on == "attempt"
        out = []
        for (rule, pair), m in self.members().items():
            failing = attempt_fails and bool(len(m.rows) or m.outer)
            failing = failing or bool(answered[m.rows].any())
            failing = failing or any(bool(answered[a.outer.inner[g]].any()) for g in m.outer)
            failing = failing or any(f.severity == "error" for f in m.undeclared)
            kind = "flow" if len(m.rows) or m.outer else m.undeclared[0].kind
            count = len(m.rows) + len(m.outer) + len(m.undeclared)
            out.append(Case(rule, pair, kind, count, failing))
        return out

    def case_records(self, case: Case) -> Iterator[dict[str, Any]]:
        a = self.analysis
        m = self.members()[(case.rule, case.pair)]
        if len(m.rows):
            yield from a.records().records(m.rows)
        for g in m.outer:
            yield finding_dict(a.outer_finding(g))
        for f in m.undeclared:
            yield finding_dict(f)
