"""The audit report (`segverify report`): one self-contained HTML file for the audit file
(情報セキュリティ監査, 自己点検).

Sections: verdict per rule R1–R5 with the guideline's clause and the municipality's own;
findings from every layer, grouped by rule and zone pair; the diagrams; design vs
configuration vs observation; what a network tool cannot check; inputs with SHA-256,
tool version, time and command line. Printable (A4, page breaks, details opened)."""

from __future__ import annotations

from dataclasses import dataclass

from segverify.checks.audit import LAYERS, LayerComparison, compare_layers, rule_verdicts
from segverify.checks.configured import PermitPair
from segverify.checks.matrix import Cell
from segverify.checks.observed import PairTraffic
from segverify.findings.model import Finding, Report
from segverify.i18n import t
from segverify.render.diagram_layout import design_mark, lanes_scene, matrix_scene
from segverify.render.diagram_model import DiagramData
from segverify.render.html_findings import findings_block, kv_table, list_block, warnings_block
from segverify.render.html_out import RunInfo, banner, inputs_block
from segverify.render.html_page import page
from segverify.render.safe import html as h
from segverify.render.scene_svg import to_svg
from segverify.topology.model import Topology

DEFAULT_MANUAL = ("manual.terminal", "manual.edr", "manual.physical")


@dataclass(frozen=True)
class AuditData:
    topology: Topology
    diagram: DiagramData
    design: Report
    observed: Report | None = None
    config: Report | None = None
    policy: Report | None = None
    run: RunInfo | None = None


def layer_entries(a: AuditData) -> list[tuple[str, Finding]]:
    out: list[tuple[str, Finding]] = [("design", f) for f in a.design.findings]
    for src, rep in (("config", a.config), ("observed", a.observed), ("policy", a.policy)):
        if rep is not None:
            out.extend((src, f) for f in rep.findings)
    return out


def _reports(a: AuditData) -> list[Report]:
    return [r for r in (a.design, a.config, a.observed, a.policy) if r is not None]


def layer_reports(a: AuditData) -> dict[str, Report | None]:
    return {"design": a.design, "config": a.config, "observed": a.observed}


VERDICT_CLASS = {"pass": "v-pass", "fail": "v-fail", "na": "v-na", "incomplete": "v-incomplete"}


def rules_block(a: AuditData, lang: str) -> str:
    heads = [
        t("report.col.rule_title", lang),
        t("report.col.guideline", lang),
        t("report.col.own_clause", lang),
        *(t(f"report.col.{k}", lang) for k in LAYERS),
        t("report.col.verdict", lang),
    ]
    out = ['<table id="rules-table"><thead><tr>']
    out.extend(f"<th>{h(x)}</th>" for x in heads)
    out.append("</tr></thead><tbody>")
    for v in rule_verdicts(a.topology, layer_reports(a), layer_entries(a)):
        title = v.title_ja if lang == "ja" else v.title_en
        cells = []
        for layer in LAYERS:
            n, warned = v.errors[layer], v.warnings[layer]
            if n is None:
                cells.append('<td class="muted">—</td>')
                continue
            extra = (
                f'<span class="muted"> ({h(t("report.warnings_count", lang, count=warned))})</span>'
                if warned
                else ""
            )
            cells.append(
                f'<td class="num" data-rule="{h(v.id)}" data-layer="{layer}">{n}{extra}</td>'
            )
        verdict = t(f"report.verdict.{v.verdict}", lang)
        out.append(
            f'<tr id="rule-{h(v.id)}"><td><b>{h(v.id)}</b> {h(title)}</td>'
            f"<td>{'<br>'.join(h(c) for c in v.guideline) or '—'}</td>"
            f"<td>{'<br>'.join(h(c) for c in v.clauses) or '—'}</td>"
            + "".join(cells)
            + f'<td><span class="verdict {VERDICT_CLASS[v.verdict]}">{h(verdict)}</span></td></tr>'
        )
    out.append("</tbody></table>")
    return "".join(out)


def _pair_rows(
    cells: tuple[Cell, ...], traffic: dict, permits: dict, has_permits: bool, lang: str
) -> list[str]:
    rows = []
    for c in cells:
        if c.verdict in ("intra", "external"):
            continue
        o: PairTraffic | None = traffic.get((c.src, c.dst))
        p: PermitPair | None = permits.get((c.src, c.dst))
        if c.verdict == "forbidden" and o is None and p is None:
            continue
        design = f"{design_mark(c)} {t('verdict.' + c.verdict, lang) if c.verdict != 'restricted' else ''}"
        if c.allow_rules:
            design += " [" + ", ".join(c.allow_rules) + "]"
        config = (
            ("0" if has_permits else "—")
            if p is None
            else t(
                "diagram.permits.forbidden", lang, count=p.forbidden, rules=", ".join(p.rules[:4])
            )
        )
        if o is None:
            seen = "—"
        else:
            seen = t("diagram.observed.flows", lang, flows=o.flows, packets=o.packets)
            if o.forbidden:
                seen += " · " + t(
                    "diagram.observed.forbidden",
                    lang,
                    count=o.forbidden,
                    rules=", ".join(f"{r}×{n}" for r, n in sorted(o.rules.items())),
                )
        bad = bool(o and o.forbidden) or bool(p and p.forbidden)
        rows.append(
            f'<tr class="{"sev-error" if bad else ""}"><td>{h(c.src)}</td><td>{h(c.dst)}</td>'
            f'<td>{h(design)}</td><td>{h(config)}</td><td class="sev">{h(seen)}</td></tr>'
        )
    return rows


def _rules(counts: dict[str, int]) -> str:
    return ", ".join(f"{r}×{n}" for r, n in sorted(counts.items()))


def layers_block(a: AuditData, lang: str) -> str:
    d = a.diagram
    traffic = {(o.src, o.dst): o for o in d.observed}
    permits = {(p.src, p.dst): p for p in d.permits}
    out = [f"<h3>{h(t('report.layers.matrix', lang))}</h3>"]
    out.append(
        '<table class="sortable" id="layers-table"><thead><tr>'
        f'<th class="sortable">{h(t("explain.src", lang))}</th>'
        f'<th class="sortable">{h(t("explain.dst", lang))}</th>'
        f'<th class="sortable">{h(t("report.col.design", lang))}</th>'
        f'<th class="sortable">{h(t("report.col.config", lang))}</th>'
        f'<th class="sortable">{h(t("report.col.observed", lang))}</th></tr></thead><tbody>'
    )
    out.extend(_pair_rows(d.cells, traffic, permits, d.has_permits, lang))
    out.append("</tbody></table>")
    cmp = comparison(a)

    def listing(key: str, name: str, items: list[str] | None) -> None:
        out.append(f"<h3>{h(t(key, lang))}</h3>")
        if items is None:
            out.append(
                f'<p class="muted">{h(t("report.layers.needs_" + cmp.needs[name], lang))}</p>'
            )
        elif not items:
            out.append(f"<p>{h(t('report.layers.none', lang))}</p>")
        else:
            out.append('<ul class="plain">' + "".join(f"<li>{h(x)}</li>" for x in items) + "</ul>")

    def pairs(items: list | None, text) -> list[str] | None:  # noqa: ANN001
        return None if items is None else [f"{x.src} → {x.dst}: {text(x)}" for x in items]

    listing(
        "report.layers.forbidden_seen",
        "forbidden_seen",
        pairs(
            cmp.forbidden_seen,
            lambda o: t(
                "diagram.observed.forbidden", lang, count=o.forbidden, rules=_rules(o.rules)
            ),
        ),
    )
    listing(
        "report.layers.unused",
        "unused_paths",
        pairs(
            cmp.unused_paths,
            lambda c: f"{', '.join(c.services) or 'any'} [{', '.join(c.allow_rules)}]",
        ),
    )
    listing(
        "report.layers.fw_should_block",
        "answered_not_permitted",
        pairs(cmp.answered_not_permitted, lambda o: str(o.forbidden - o.forbidden_unanswered)),
    )
    listing(
        "report.layers.permit_unseen",
        "permits_unseen",
        pairs(cmp.permits_unseen, lambda p: f"{p.forbidden} ({', '.join(p.rules[:6])})"),
    )
    listing(
        "report.layers.blocked_sanctioned",
        "blocked_sanctioned",
        pairs(cmp.blocked_sanctioned, lambda b: f"[{b.allow_rules}] {b.example}".strip()),
    )
    return "\n".join(out)


def comparison(a: AuditData) -> LayerComparison:
    d = a.diagram
    return compare_layers(
        d.cells,
        list(d.observed) if d.has_observed else None,
        list(d.permits) if d.has_permits else None,
        a.topology,
        a.config,
    )


def render_audit(a: AuditData, lang: str = "en") -> str:
    """The complete audit page."""
    topo = a.topology
    title = t("report.title", lang)
    org = " — ".join(x for x in (topo.organisation, topo.name) if x)
    meta = [
        (t("report.organisation", lang), topo.organisation or "—"),
        (t("report.prefecture", lang), topo.prefecture or "—"),
        (t("report.model", lang), topo.policy.model),
    ]
    if a.diagram.date:
        meta.append((t("report.date", lang), a.diagram.date))
    header = (
        f"<h1>{h(title)}: {h(org)}</h1><p class='meta'>"
        + " · ".join(f"{h(k)}: {h(v)}" for k, v in meta)
        + "</p>"
    )
    entries = layer_entries(a)
    errors = sum(1 for _, f in entries if f.severity == "error")
    incomplete = any(r.incomplete for r in _reports(a))
    body = [banner(errors, incomplete, lang)]
    body.append(
        f'<section class="first" id="rules"><h2>{h(t("report.rules", lang))}</h2>{rules_block(a, lang)}</section>'
    )
    warnings = [w for r in _reports(a) for w in r.warnings]
    body.append(
        f'<section id="findings"><h2>{h(t("report.findings", lang))} ({len(entries)})</h2>'
        f"{findings_block(entries, lang)}{warnings_block(warnings, lang)}</section>"
    )
    body.append(
        f'<section id="diagrams"><h2>{h(t("report.diagrams", lang))}</h2>'
        f'<figure id="diagram-lanes">{to_svg(lanes_scene(a.diagram), standalone=False)}'
        f"<figcaption>{h(t('report.diagram.lanes', lang))}</figcaption></figure>"
        f'<figure id="diagram-matrix">{to_svg(matrix_scene(a.diagram), standalone=False)}'
        f"<figcaption>{h(t('report.diagram.matrix', lang))}</figcaption></figure></section>"
    )
    body.append(
        f'<section id="layers"><h2>{h(t("report.layers", lang))}</h2>{layers_block(a, lang)}</section>'
    )
    manual = list(dict.fromkeys([*DEFAULT_MANUAL, *topo.manual_items]))
    not_given = []
    if a.observed is None:
        not_given.append("report.not_given.capture")
    if a.config is None:
        not_given.append("report.not_given.firewall")
    if a.policy is None:
        not_given.append("report.not_given.policy")
    body.append(
        f'<section id="not-checked"><h2>{h(t("report.not_checked", lang))}</h2>'
        f"<p>{h(t('manual.header', lang))}</p>{list_block(manual, lang)}"
        + (list_block(not_given, lang) if not_given else "")
        + "</section>"
    )
    summary = [
        (t("report.source." + s, lang), len([1 for src, _ in entries if src == s]))
        for s in ("design", "config", "observed", "policy")
    ]
    body.append(
        f'<section id="inputs"><h2>{h(t("report.inputs", lang))}</h2>'
        f"{inputs_block(a.run, a.design.inputs, lang)}{kv_table(summary, lang)}</section>"
    )
    return page(f"{title}: {org}", lang, header, "\n".join(body))
