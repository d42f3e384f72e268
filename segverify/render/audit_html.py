"""The audit report (`segverify report`): one self-contained HTML file for the audit file
(情報セキュリティ監査, 自己点検).

Sections: verdict per rule R1–R5 with the guideline's clause and the municipality's own;
findings from every layer, grouped by rule and zone pair; the diagrams; design vs
configuration vs observation; what a network tool cannot check; inputs with SHA-256,
tool version, time and command line. Printable (A4, page breaks, details opened)."""

from __future__ import annotations

from dataclasses import dataclass

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


def _entries(a: AuditData) -> list[tuple[str, Finding]]:
    out: list[tuple[str, Finding]] = [("design", f) for f in a.design.findings]
    for src, rep in (("config", a.config), ("observed", a.observed), ("policy", a.policy)):
        if rep is not None:
            out.extend((src, f) for f in rep.findings)
    return out


def _reports(a: AuditData) -> list[Report]:
    return [r for r in (a.design, a.config, a.observed, a.policy) if r is not None]


def rules_block(a: AuditData, lang: str) -> str:
    entries = _entries(a)
    layers = [("design", a.design), ("config", a.config), ("observed", a.observed)]
    heads = [
        t("report.col.rule_title", lang),
        t("report.col.guideline", lang),
        t("report.col.own_clause", lang),
        *(t(f"report.col.{k}", lang) for k, _ in layers),
        t("report.col.verdict", lang),
    ]
    out = ['<table id="rules-table"><thead><tr>']
    out.extend(f"<th>{h(x)}</th>" for x in heads)
    out.append("</tr></thead><tbody>")
    for rid, rule in a.topology.policy.rules.items():
        title = rule.title_ja if lang == "ja" else rule.title_en
        cells = []
        errors = 0
        incomplete = False
        for key, rep in layers:
            if rep is None:
                cells.append('<td class="muted">—</td>')
                continue
            mine = [f for src, f in entries if src == key and f.rule == rid]
            n = sum(1 for f in mine if f.severity == "error")
            warned = len(mine) - n
            errors += n
            incomplete = incomplete or rep.incomplete
            extra = (
                f'<span class="muted"> ({h(t("report.warnings_count", lang, count=warned))})</span>'
                if warned
                else ""
            )
            cells.append(f'<td class="num" data-rule="{h(rid)}" data-layer="{key}">{n}{extra}</td>')
        if not rule.enforced:
            verdict, cls = t("report.verdict.na", lang), "v-na"
        elif errors:
            verdict, cls = t("report.verdict.fail", lang), "v-fail"
        elif incomplete:
            verdict, cls = t("report.verdict.incomplete", lang), "v-incomplete"
        else:
            verdict, cls = t("report.verdict.pass", lang), "v-pass"
        out.append(
            f'<tr id="rule-{h(rid)}"><td><b>{h(rid)}</b> {h(title)}</td>'
            f"<td>{'<br>'.join(h(c) for c in rule.guideline) or '—'}</td>"
            f"<td>{'<br>'.join(h(c) for c in rule.clauses) or '—'}</td>"
            + "".join(cells)
            + f'<td><span class="verdict {cls}">{h(verdict)}</span></td></tr>'
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


def _permitted(permits: dict, src: str, dst: str) -> bool:
    """True when a firewall export permits something forbidden from ``src`` to ``dst``."""
    p = permits.get((src, dst))
    return bool(p and p.forbidden)


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

    def listing(key: str, items: list[str] | None, needs: str | None) -> None:
        out.append(f"<h3>{h(t(key, lang))}</h3>")
        if needs:
            out.append(f'<p class="muted">{h(t(needs, lang))}</p>')
        elif not items:
            out.append(f"<p>{h(t('report.layers.none', lang))}</p>")
        else:
            out.append('<ul class="plain">' + "".join(f"<li>{h(x)}</li>" for x in items) + "</ul>")

    no_cap = "report.layers.needs_capture" if not d.has_observed else None
    no_fw = "report.layers.needs_firewall" if not d.has_permits else None
    seen_bad = [
        f"{o.src} → {o.dst}: "
        + t(
            "diagram.observed.forbidden",
            lang,
            count=o.forbidden,
            rules=", ".join(f"{r}×{n}" for r, n in sorted(o.rules.items())),
        )
        for o in d.observed
        if o.forbidden
    ]
    listing("report.layers.forbidden_seen", seen_bad, no_cap)
    unused = [
        f"{p.src} → {p.dst}: {', '.join(p.services) or 'any'} [{', '.join(p.rules)}]"
        for p in d.paths
        if (p.src, p.dst) not in traffic
    ]
    listing("report.layers.unused", unused, no_cap)
    # forbidden flows that were answered (so got through) where no export permits them
    fw_should = [
        f"{o.src} → {o.dst}: {o.forbidden - o.forbidden_unanswered}"
        for o in d.observed
        if o.forbidden > o.forbidden_unanswered and not _permitted(permits, o.src, o.dst)
    ]
    listing("report.layers.fw_should_block", fw_should, no_fw or no_cap)
    unseen = [
        f"{p.src} → {p.dst}: {p.forbidden} ({', '.join(p.rules[:6])})"
        for p in d.permits
        if p.forbidden and (p.src, p.dst) not in traffic
    ]
    listing("report.layers.permit_unseen", unseen, no_fw or no_cap)
    # needs the permitted space per zone pair from the firewall engine (model v2)
    listing("report.layers.blocked_sanctioned", None, "report.layers.needs_engine")
    return "\n".join(out)


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
    entries = _entries(a)
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
