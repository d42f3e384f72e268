"""HTML blocks shared by every report page: the findings table (sortable, filterable,
details expandable), its groups by rule and zone pair with counts, warnings, the "not
checked" list and the inputs table. Every value goes through ``render.safe.html``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from segverify.findings.model import Finding, InputWarning
from segverify.findings.serialise import RESERVED, finding_dict
from segverify.i18n import t
from segverify.render.junit_out import zone_pair
from segverify.render.safe import html as h
from segverify.render.text_out import rule_label

# the common fields of a finding are shown in the table; the rest in its details
COMMON = frozenset(RESERVED)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return h("true" if v else "false")
    if isinstance(v, (list, tuple)):
        return "<br>".join(h(x) for x in v) if v else "—"
    if isinstance(v, dict):
        return "<br>".join(f"{h(k)}: {h(x)}" for k, x in v.items())
    return "—" if v is None or v == "" else h(v)


def field_label(key: str, lang: str) -> str:
    """A finding field's label in ``lang`` (its JSON name when the catalogue has none)."""
    text = t(f"field.{key}", lang)
    return key if text == f"field.{key}" else text


def _details(f: Finding, lang: str) -> str:
    d = finding_dict(f)
    items = []
    if f.evidence:
        items.append((t("finding.evidence", lang), h(" → ".join(f.evidence))))
    remedy = f.remedy_text(lang)
    if remedy:
        items.append((t("finding.remedy", lang), h(remedy)))
    items.extend((field_label(k, lang), _value(v)) for k, v in d.items() if k not in COMMON)
    rows = "".join(f"<dt>{h(k)}</dt><dd>{v}</dd>" for k, v in items)
    return (
        f"<details><summary>{h(t('report.details', lang))}</summary>"
        f'<dl class="kv">{rows}</dl></details>'
    )


ROWS_PER_GROUP = 200  # findings listed per (rule, zone pair, source); counts stay complete


def findings_block(
    entries: Sequence[tuple[str, Finding]], lang: str, per_group: int = ROWS_PER_GROUP
) -> str:
    """Groups (rule × zone pair, with counts) and the findings table, listing at most
    ``per_group`` findings of each group (a scan-like capture must not make a page of
    millions of rows; every finding is in the JSON/CSV output)."""
    if not entries:
        return f"<p>{h(t('report.no_findings', lang))}</p>"
    groups = Counter((f.rule, zone_pair(f), src) for src, f in entries)
    listed: Counter[tuple[str, str, str]] = Counter()
    rows: list[tuple[int, str, Finding]] = []
    for i, (src, f) in enumerate(entries, 1):
        key = (f.rule, zone_pair(f), src)
        if listed[key] < per_group:
            listed[key] += 1
            rows.append((i, src, f))
    rules = sorted({f.rule for _, f in entries})
    pairs = sorted({zone_pair(f) for _, f in entries})
    sources = sorted({src for src, _ in entries})
    out = [f"<h3>{h(t('report.groups', lang))}</h3>"]
    out.append(
        '<table class="sortable groups" id="groups-table"><thead><tr>'
        f'<th class="sortable">{h(t("finding.rule", lang))}</th>'
        f'<th class="sortable">{h(t("report.col.pair", lang))}</th>'
        f'<th class="sortable">{h(t("report.col.source", lang))}</th>'
        f'<th class="sortable num">{h(t("report.col.count", lang))}</th>'
        "</tr></thead><tbody>"
    )
    for (rule, pair, src), n in sorted(groups.items()):
        out.append(
            f"<tr><td>{h(rule_label(rule, lang))}</td><td>"
            f'<button type="button" data-group-rule="{h(rule)}" data-group-pair="{h(pair)}">'
            f"{h(pair)}</button></td><td>{h(t('report.source.' + src, lang))}</td>"
            f'<td class="num" data-sort="{n}">{n}</td></tr>'
        )
    out.append("</tbody></table>")

    def options(key: str, values: list[str], label: str, text: Any = None) -> str:
        opts = "".join(
            f'<option value="{h(v)}">{h(text(v) if text else v)}</option>' for v in values
        )
        return (
            f'<label>{h(label)} <select data-filter="{key}" id="filter-{key}">'
            f'<option value="">{h(t("report.all", lang))}</option>{opts}</select></label>'
        )

    out.append(
        '<div class="controls noprint">'
        f'<label>{h(t("report.filter", lang))} <input type="search" id="filter-text"></label>'
        + options("rule", rules, t("finding.rule", lang), lambda r: rule_label(r, lang))
        + options("pair", pairs, t("report.col.pair", lang))
        + options(
            "source", sources, t("report.col.source", lang), lambda s: t("report.source." + s, lang)
        )
        + f'<button type="button" id="filter-reset">{h(t("report.reset", lang))}</button>'
        f'<span>{h(t("report.shown", lang))}: <b id="shown-count">{len(rows)}</b> / {len(rows)}</span>'
        "</div>"
    )
    if len(rows) < len(entries):
        out.append(
            f'<p class="muted" id="rows-limited">'
            f"{h(t('report.rows_limited', lang, shown=len(rows), total=len(entries), per_group=per_group))}</p>"
        )
    heads = [
        ("#", "num"),
        (t("report.col.source", lang), ""),
        (t("report.col.severity", lang), ""),
        (t("finding.rule", lang), ""),
        (t("report.col.pair", lang), ""),
        (t("report.col.message", lang), ""),
        (t("finding.clauses", lang), ""),
        (t("finding.where", lang), ""),
    ]
    out.append('<table class="sortable" id="findings-table"><thead><tr>')
    out.extend(f'<th class="sortable {cls}">{h(text)}</th>' for text, cls in heads)
    out.append(f"<th>{h(t('report.details', lang))}</th></tr></thead><tbody>")
    for i, src, f in rows:
        pair = zone_pair(f)
        where = str(f.location) if f.location else _frame(f)
        out.append(
            f'<tr class="finding sev-{h(f.severity)}" data-rule="{h(f.rule)}" '
            f'data-pair="{h(pair)}" data-source="{h(src)}">'
            f'<td class="num" data-sort="{i}">{i}</td>'
            f"<td>{h(t('report.source.' + src, lang))}</td>"
            f'<td class="sev">{h(t("severity." + f.severity, lang))}</td>'
            f"<td>{h(rule_label(f.rule, lang))}</td><td>{h(pair)}</td><td>{h(f.text(lang))}</td>"
            f"<td>{_value(list(f.clauses))}</td><td><code>{h(where)}</code></td>"
            f"<td>{_details(f, lang)}</td></tr>"
        )
    out.append("</tbody></table>")
    return "\n".join(out)


def _frame(f: Finding) -> str:
    d = f.data
    if d.get("file") and d.get("first_frame") is not None:
        return f"{d['file']}#{d['first_frame']}"
    return ""


def warnings_block(warnings: Sequence[InputWarning], lang: str) -> str:
    if not warnings:
        return ""
    items = "".join(f"<li><code>{h(w.text(lang))}</code></li>" for w in warnings)
    return (
        f'<h3>{h(t("report.warnings", lang))}</h3><ul class="plain" id="warnings-list">{items}</ul>'
    )


def list_block(items: Sequence[str], lang: str) -> str:
    return '<ul class="plain">' + "".join(f"<li>{h(t(i, lang))}</li>" for i in items) + "</ul>"


def kv_table(rows: Sequence[tuple[str, Any]], lang: str, code: Sequence[str] = ()) -> str:
    """A two-column table; values of the keys in ``code`` are shown as code."""
    body = "".join(
        f"<tr><th>{h(k)}</th><td>{f'<code>{h(v)}</code>' if k in code else _value(v)}</td></tr>"
        for k, v in rows
    )
    return f'<table class="kv">{body}</table>'
