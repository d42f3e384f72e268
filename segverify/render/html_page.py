"""The shell of every HTML page segverify writes: one self-contained file, no network.

Inline CSS and JavaScript are allowed by a strict Content-Security-Policy that names their
SHA-256 hashes (nothing else may run or load: ``default-src 'none'``). The script only sorts
and filters tables and opens every ``<details>`` before printing; it never builds markup
from data. Print CSS gives a clean A4 document (controls hidden, page breaks between
sections).
"""

from __future__ import annotations

import base64
import hashlib

from segverify.render import safe

STYLE = """
:root{--bad:#b00020;--ok:#1e7d32;--warn:#8a6d00;--muted:#5f6368;--line:#d0d4d9}
*{box-sizing:border-box}
body{font-family:system-ui,'IPAexGothic','Noto Sans CJK JP','Hiragino Sans',Meiryo,sans-serif;margin:0;color:#1f2328;line-height:1.45}
header.top{padding:1.2em 2em;border-bottom:4px solid #1c4587;background:#f6f8fa}
header.top h1{margin:0 0 .2em;font-size:1.5em}
.meta{color:var(--muted);font-size:.9em;margin:0}
main{padding:0 2em 2em;max-width:1500px}
section{margin-top:1.6em}
h2{font-size:1.2em;border-bottom:1px solid var(--line);padding-bottom:.2em}
h3{font-size:1.05em}
table{border-collapse:collapse;width:100%;margin:.6em 0;font-size:.88em}
th,td{border:1px solid var(--line);padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eef1f4}
th.sortable{cursor:pointer;white-space:nowrap}
th.sortable::after{content:" \\2195";color:var(--muted)}
th[aria-sort=ascending]::after{content:" \\2191"}
th[aria-sort=descending]::after{content:" \\2193"}
td.num,th.num{text-align:right}
.verdict{display:inline-block;padding:.1em .6em;border-radius:1em;font-weight:bold;font-size:.85em;white-space:nowrap}
.v-pass{background:#e6f4ea;color:var(--ok)}.v-fail{background:#fce8e6;color:var(--bad)}
.v-na{background:#f1f3f4;color:var(--muted)}.v-incomplete{background:#fef7e0;color:var(--warn)}
tr.sev-error td.sev{color:var(--bad);font-weight:bold}
tr.sev-warning td.sev{color:var(--warn);font-weight:bold}
.banner{margin:1em 0;padding:.8em 1em;border-radius:6px;font-size:1.05em}
.banner.fail{background:#fce8e6;border-left:6px solid var(--bad)}
.banner.pass{background:#e6f4ea;border-left:6px solid var(--ok)}
.banner.incomplete{background:#fef7e0;border-left:6px solid var(--warn)}
.controls{display:flex;flex-wrap:wrap;gap:.6em;align-items:center;margin:.6em 0}
.controls input,.controls select,.controls button{font:inherit;padding:.2em .4em}
.groups button{font:inherit;border:0;background:none;color:#1c4587;text-decoration:underline;cursor:pointer;padding:0}
details summary{cursor:pointer;color:#1c4587}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.1em .8em;margin:.4em 0}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;word-break:break-all}
figure{margin:1em 0;break-inside:avoid}
figure svg{max-width:100%;height:auto;border:1px solid var(--line)}
figcaption{color:var(--muted);font-size:.85em}
code{font-size:.9em;word-break:break-all}
ul.plain{padding-left:1.2em}
.muted{color:var(--muted)}
@page{size:A4 landscape;margin:12mm}
@media print{
 header.top{background:none}
 .controls,.groups button,.noprint{display:none}
 main{padding:0;max-width:none}
 section{break-before:page}
 section.first{break-before:auto}
 tr,figure{break-inside:avoid}
 tr[hidden]{display:table-row}
 a{color:inherit;text-decoration:none}
}
""".strip()

SCRIPT = """
(function () {
  "use strict";
  function cellKey(row, i) {
    var c = row.cells[i];
    if (!c) { return ""; }
    var k = c.getAttribute("data-sort");
    return k !== null ? k : c.textContent.trim();
  }
  function compare(a, b) {
    var na = Number(a), nb = Number(b);
    if (a !== "" && b !== "" && !isNaN(na) && !isNaN(nb)) { return na - nb; }
    return a.localeCompare(b, undefined, {numeric: true});
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, i) {
      if (!th.classList.contains("sortable")) { return; }
      th.tabIndex = 0;
      function sort() {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (x, y) {
          var r = compare(cellKey(x, i), cellKey(y, i));
          return asc ? r : -r;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
    });
  });
  var table = document.getElementById("findings-table");
  if (table) {
    var text = document.getElementById("filter-text");
    var selects = Array.prototype.slice.call(document.querySelectorAll("select[data-filter]"));
    var shown = document.getElementById("shown-count");
    var apply = function () {
      var q = text ? text.value.trim().toLowerCase() : "";
      var n = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var ok = !q || row.textContent.toLowerCase().indexOf(q) >= 0;
        selects.forEach(function (s) {
          if (s.value && row.getAttribute("data-" + s.getAttribute("data-filter")) !== s.value) { ok = false; }
        });
        row.hidden = !ok;
        if (ok) { n += 1; }
      });
      if (shown) { shown.textContent = String(n); }
    };
    if (text) { text.addEventListener("input", apply); }
    selects.forEach(function (s) { s.addEventListener("change", apply); });
    document.querySelectorAll("button[data-group-rule]").forEach(function (b) {
      b.addEventListener("click", function () {
        selects.forEach(function (s) {
          var key = s.getAttribute("data-filter");
          s.value = key === "rule" ? b.getAttribute("data-group-rule") :
                    key === "pair" ? b.getAttribute("data-group-pair") : "";
        });
        if (text) { text.value = ""; }
        apply();
        table.scrollIntoView();
      });
    });
    var reset = document.getElementById("filter-reset");
    if (reset) {
      reset.addEventListener("click", function () {
        selects.forEach(function (s) { s.value = ""; });
        if (text) { text.value = ""; }
        apply();
      });
    }
  }
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
})();
""".strip()


def csp_hash(text: str) -> str:
    """The CSP source expression allowing exactly this inline script or style."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def content_security_policy() -> str:
    return (
        f"default-src 'none'; style-src {csp_hash(STYLE)}; script-src {csp_hash(SCRIPT)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


def page(title: str, lang: str, header: str, body: str) -> str:
    """A complete document: ``header`` and ``body`` are already-escaped HTML."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{safe.html(lang)}"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{content_security_policy()}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{safe.html(title)}</title>\n<style>{STYLE}</style>\n</head><body>\n"
        f'<header class="top">{header}</header>\n<main>\n{body}\n</main>\n'
        f"<script>{SCRIPT}</script>\n</body></html>\n"
    )
