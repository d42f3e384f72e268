"""Self-contained HTML for one command's report (``pcap``, ``firewall``, ``diff``,
``topology check`` with ``--format html``): verdict banner, findings grouped by rule and
zone pair with counts, a sortable and filterable table with expandable details, warnings,
what was not checked, the summary, and the inputs (with SHA-256, tool version, time and
command line when the caller passes a ``RunInfo``).

``render(report, lang)`` keeps the signature every renderer has; commands that know their
inputs call ``render(report, lang, run=RunInfo(...))``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from segverify import __version__
from segverify.findings.model import Report
from segverify.i18n import t
from segverify.render.html_findings import findings_block, kv_table, list_block, warnings_block
from segverify.render.html_page import page
from segverify.render.safe import html as h
from segverify.render.text_out import summary_key, summary_value


@dataclass(frozen=True)
class InputFile:
    role: str  # topology | capture | firewall | policy | …
    path: str
    sha256: str = ""
    size: int | None = None


@dataclass(frozen=True)
class RunInfo:
    """Provenance printed in every report: inputs with hashes, tool version, time, command."""

    inputs: tuple[InputFile, ...] = ()
    command_line: str = ""
    time: str = ""
    version: str = __version__


def banner(errors: int, incomplete: bool, lang: str) -> str:
    if errors:
        return f'<div class="banner fail" id="verdict">{h(t("report.banner.fail", lang, count=errors))}</div>'
    if incomplete:
        return f'<div class="banner incomplete" id="verdict">{h(t("report.banner.incomplete", lang))}</div>'
    return f'<div class="banner pass" id="verdict">{h(t("report.banner.pass", lang))}</div>'


def inputs_block(run: RunInfo | None, fallback: Sequence[str], lang: str) -> str:
    rows = []
    files = run.inputs if run else tuple(InputFile("", p) for p in fallback)
    rows.append(
        '<table id="inputs-table"><thead><tr>'
        f"<th>{h(t('report.col.role', lang))}</th><th>{h(t('report.col.file', lang))}</th>"
        f"<th class='num'>{h(t('report.col.size', lang))}</th><th>SHA-256</th></tr></thead><tbody>"
    )
    for f in files:
        role = t(f"report.role.{f.role}", lang) if f.role else ""
        size = "" if f.size is None else str(f.size)
        rows.append(
            f"<tr><td>{h(role)}</td><td><code>{h(f.path)}</code></td>"
            f'<td class="num">{h(size)}</td><td><code>{h(f.sha256)}</code></td></tr>'
        )
    rows.append("</tbody></table>")
    meta = [(t("report.tool", lang), f"segverify {run.version if run else __version__}")]
    if run and run.time:
        meta.append((t("report.time", lang), run.time))
    if run and run.command_line:
        meta.append((t("report.command_line", lang), run.command_line))
    return "".join(rows) + kv_table(meta, lang, code=(t("report.command_line", lang),))


def render(report: Report, lang: str = "en", run: RunInfo | None = None) -> str:
    """The page for one command's report."""
    command = t(f"report.command.{report.command}", lang)
    if command == f"report.command.{report.command}":
        command = report.command
    title = f"segverify — {command}"
    errors = sum(1 for f in report.findings if f.severity == "error")
    meta = [f"segverify {run.version if run else __version__}"]
    if run and run.time:
        meta.append(run.time)
    header = f"<h1>{h(title)}</h1><p class='meta'>{h(' · '.join(meta))}</p>"
    body = [banner(errors, report.incomplete, lang)]
    body.append(
        f'<section class="first" id="findings"><h2>{h(t("report.findings", lang))} '
        f"({len(report.findings)})</h2>"
    )
    body.append(findings_block([(report_source(report.command), f) for f in report.findings], lang))
    body.append(warnings_block(report.warnings, lang))
    body.append("</section>")
    if report.manual_items:
        body.append(
            f'<section id="not-checked"><h2>{h(t("report.not_checked", lang))}</h2>'
            f"<p>{h(t('manual.header', lang))}</p>{list_block(report.manual_items, lang)}</section>"
        )
    if report.summary:
        rows = [(summary_key(k, lang), summary_value(v, lang)) for k, v in report.summary.items()]
        body.append(
            f'<section id="summary"><h2>{h(t("text.summary", lang))}</h2>{kv_table(rows, lang)}</section>'
        )
    body.append(
        f'<section id="inputs"><h2>{h(t("report.inputs", lang))}</h2>'
        f"{inputs_block(run, report.inputs, lang)}</section>"
    )
    return page(title, lang, header, "\n".join(body))


def report_source(command: str) -> str:
    """Which layer a command's findings belong to: design, configuration or observed."""
    if command in ("pcap",):
        return "observed"
    if command in ("firewall", "diff", "firewall-diff"):
        return "config"
    if command in ("policy-check", "policy"):
        return "policy"
    return "design"
