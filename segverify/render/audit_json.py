"""The audit report as JSON (`segverify report --format json`, schema segverify/audit/1,
docs/schema/audit.schema.json): the same judgements as the HTML page, for scripts."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from segverify import __version__
from segverify.checks.audit import compare_layers, rule_verdicts
from segverify.findings.serialise import finding_dict, jsonable
from segverify.render.audit_html import DEFAULT_MANUAL, AuditData, layer_entries, layer_reports


def audit_dict(a: AuditData) -> dict[str, Any]:
    topo = a.topology
    d = a.diagram
    entries = layer_entries(a)
    cmp = compare_layers(
        d.cells,
        list(d.observed) if d.has_observed else None,
        list(d.permits) if d.has_permits else None,
        topo,
        a.config,
    )

    def pairs(items: list | None) -> list[dict[str, Any]] | None:
        return None if items is None else [jsonable(asdict(x)) for x in items]

    reports = [r for r in (a.design, a.config, a.observed, a.policy) if r is not None]
    errors = sum(1 for _, f in entries if f.severity == "error")
    incomplete = any(r.incomplete for r in reports)
    run = a.run
    return {
        "schema": "segverify/audit/1",
        "tool": {"name": "segverify", "version": run.version if run else __version__},
        "organisation": topo.organisation,
        "prefecture": topo.prefecture,
        "topology": topo.name,
        "model": topo.policy.model,
        "date": d.date,
        "exit_code": 1 if errors else (3 if incomplete else 0),
        "incomplete": incomplete,
        "rules": [asdict(v) for v in rule_verdicts(topo, layer_reports(a), entries)],
        "findings": [{"source": src, **finding_dict(f)} for src, f in entries],
        "layers": {
            "given": {
                "design": True,
                "config": a.config is not None,
                "observed": a.observed is not None,
                "policy": a.policy is not None,
            },
            "forbidden_seen": pairs(cmp.forbidden_seen),
            "unused_paths": pairs(cmp.unused_paths),
            "answered_not_permitted": pairs(cmp.answered_not_permitted),
            "permits_unseen": pairs(cmp.permits_unseen),
            "blocked_sanctioned": pairs(cmp.blocked_sanctioned),
        },
        "not_checked": list(dict.fromkeys([*DEFAULT_MANUAL, *topo.manual_items])),
        "warnings": [str(w) for r in reports for w in r.warnings],
        "inputs": [asdict(f) for f in run.inputs] if run else [],
        "time": run.time if run else "",
        "command_line": run.command_line if run else "",
    }


def render_audit_json(a: AuditData) -> str:
    return json.dumps(audit_dict(a), ensure_ascii=False, indent=2) + "\n"
