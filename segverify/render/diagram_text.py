"""Text exports of a diagram for the user's own tooling: Graphviz DOT and Mermaid.

Same content as the drawn diagram: zones as clusters (subgraphs) in lane order, hosts
inside them, gateways joined to every zone they sit in, declared links, sanctioned paths
with services and allow-rule ids, structural findings in red with their rule, and the
configuration and observed layers when given.
"""

from __future__ import annotations

from segverify.i18n import t
from segverify.render import safe
from segverify.render.diagram_layout import (
    AMBER,
    BLUE,
    GREEN,
    PURPLE,
    RED,
    TIER_COLOURS,
    config_arrows,
)
from segverify.render.diagram_model import DiagramData


def dot_quote(text: str) -> str:
    """A DOT double-quoted string (escapes backslash, quote and newlines; controls visible)."""
    clean = safe.xml_text(text, keep_newlines=True)
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _zone_v(zone: str) -> str:
    return dot_quote("zone:" + zone)


def _node_v(node: str) -> str:
    return dot_quote("node:" + node)


def _title(d: DiagramData) -> str:
    parts = [
        " — ".join(x for x in (d.organisation, d.title) if x),
        f"{t('diagram.model', d.lang)} {d.model}",
    ]
    if d.topology_hash:
        parts.append(f"{t('diagram.hash', d.lang)} {d.topology_hash}")
    if d.date:
        parts.append(d.date)
    return " · ".join(parts)


def _v(d: DiagramData, ident: str) -> str:
    return _zone_v(ident) if ident in d.lane_index() else _node_v(ident)


def to_dot(d: DiagramData) -> str:
    lines = [
        "digraph reachability {",
        "  rankdir=LR; newrank=true; compound=true;",
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="IPAexGothic,sans-serif"];',
        '  edge [fontname="IPAexGothic,sans-serif", fontsize=9];',
        f"  label={dot_quote(_title(d))}; labelloc=t;",
    ]
    single = {nb.zones[0]: [] for nb in d.nodes if len(nb.zones) == 1}
    for nb in d.nodes:
        if len(nb.zones) == 1:
            single[nb.zones[0]].append(nb)
    for lane in d.lanes:
        colour = TIER_COLOURS.get(lane.tier, "#ffffff")
        lines.append(f"  subgraph {dot_quote('cluster_' + lane.zone)} {{")
        lines.append(
            f"    label={dot_quote(lane.label + chr(10) + lane.zone)}; style=filled; fillcolor={dot_quote(colour)};"
        )
        text = "\n".join([lane.zone, *lane.prefixes])
        lines.append(
            f'    {_zone_v(lane.zone)} [label={dot_quote(text)}, shape=plaintext, style=""];'
        )
        for nb in single.get(lane.zone, []):
            shape = "box3d" if nb.gateway else "box"
            lines.append(
                f"    {_node_v(nb.id)} [label={dot_quote(nb.label + chr(10) + nb.id)}, shape={shape}];"
            )
        lines.append("  }")
    for nb in d.nodes:
        if len(nb.zones) > 1:
            lines.append(
                f'  {_node_v(nb.id)} [label={dot_quote(nb.label + chr(10) + nb.id + " (" + nb.role + ")")}, shape=box3d, fillcolor="#fff8e1"];'
            )
            for z in nb.zones:
                lines.append(
                    f'  {_node_v(nb.id)} -> {_zone_v(z)} [dir=none, color="#333333", penwidth=2];'
                )
    for a, b, flagged in d.links:
        colour = RED if flagged else "#666666"
        lines.append(
            f'  {_v(d, a)} -> {_v(d, b)} [dir=none, color="{colour}", penwidth=2, label="link"];'
        )
    for p in d.paths:
        label = ", ".join(p.services) or "any"
        if p.rules:
            label += " [" + ", ".join(p.rules) + "]"
        style = "dashed" if p.verdict == "restricted" else "solid"
        colour = AMBER if p.verdict == "restricted" else GREEN
        lines.append(
            f'  {_zone_v(p.src)} -> {_zone_v(p.dst)} [style={style}, color="{colour}", label={dot_quote(label)}];'
        )
    for f in d.findings:
        zones = [h for h in f.hops if h in d.lane_index()]
        if len(zones) >= 2:
            lines.append(
                f'  {_zone_v(zones[0])} -> {_zone_v(zones[-1])} [color="{RED}", penwidth=3, fontcolor="{RED}", label={dot_quote(f"[{f.number}] {f.rule}")}];'
            )
    for kind, src, dst, label in config_arrows(d):
        colour = {"permit": GREEN, "forbidden": RED, "blocked": PURPLE}[kind]
        style = "solid" if kind == "permit" else "dotted"
        lines.append(
            f'  {_zone_v(src)} -> {_zone_v(dst)} [color="{colour}", style={style}, label={dot_quote("fw " + label)}];'
        )
    for o in d.observed:
        colour = RED if o.forbidden else BLUE
        style = "dashed" if o.unanswered == o.flows else "bold"
        label = f"seen {o.flows}" + (f" ✗{o.forbidden}" if o.forbidden else "")
        lines.append(
            f'  {_zone_v(o.src)} -> {_zone_v(o.dst)} [color="{colour}", style={style}, label={dot_quote(label)}];'
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def mermaid_label(text: str) -> str:
    """A Mermaid quoted label: quotes and angle brackets as entity codes, controls visible."""
    clean = safe.terminal(text)
    for raw, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        clean = clean.replace(raw, code)
    return '"' + clean + '"'


def to_mermaid(d: DiagramData) -> str:
    ids: dict[str, str] = {}

    def mid(kind: str, ident: str) -> str:
        key = f"{kind}:{ident}"
        if key not in ids:
            ids[key] = f"{kind[0]}{len(ids)}"
        return ids[key]

    def v(ident: str) -> str:
        return mid("zone", ident) if ident in d.lane_index() else mid("node", ident)

    lines = ["---", f"title: {mermaid_label(_title(d))}", "---", "flowchart LR"]
    for lane in d.lanes:
        lines.append(
            f"  subgraph {mid('sub', lane.zone)}[{mermaid_label(lane.label + ' / ' + lane.zone)}]"
        )
        lines.append(f"    {mid('zone', lane.zone)}([{mermaid_label(lane.zone)}])")
        for nb in d.nodes:
            if len(nb.zones) == 1 and nb.zones[0] == lane.zone:
                lines.append(f"    {mid('node', nb.id)}[{mermaid_label(nb.label + ' / ' + nb.id)}]")
        lines.append("  end")
        lines.append(
            f"  style {mid('sub', lane.zone)} fill:{TIER_COLOURS.get(lane.tier, '#ffffff')}"
        )
    links: list[str] = []
    for nb in d.nodes:
        if len(nb.zones) > 1:
            lines.append(f"  {mid('node', nb.id)}{{{{{mermaid_label(nb.label + ' / ' + nb.id)}}}}}")
            for z in nb.zones:
                links.append(f"  {mid('node', nb.id)} --- {mid('zone', z)}")
    styles: list[tuple[int, str]] = []
    for a, b, flagged in d.links:
        if flagged:
            styles.append((len(links), RED))
        links.append(f"  {v(a)} === {v(b)}")
    for p in d.paths:
        label = ", ".join(p.services) or "any"
        if p.rules:
            label += " [" + ", ".join(p.rules) + "]"
        op = "-.->" if p.verdict == "restricted" else "-->"
        styles.append((len(links), AMBER if p.verdict == "restricted" else GREEN))
        links.append(f"  {mid('zone', p.src)} {op}|{mermaid_label(label)}| {mid('zone', p.dst)}")
    for f in d.findings:
        zones = [h for h in f.hops if h in d.lane_index()]
        if len(zones) >= 2:
            styles.append((len(links), RED))
            links.append(
                f"  {mid('zone', zones[0])} ==>|{mermaid_label(f'[{f.number}] {f.rule}')}| {mid('zone', zones[-1])}"
            )
    for kind, src, dst, label in config_arrows(d):
        styles.append((len(links), {"permit": GREEN, "forbidden": RED, "blocked": PURPLE}[kind]))
        op = "-->" if kind == "permit" else "-.->"
        links.append(
            f"  {mid('zone', src)} {op}|{mermaid_label('fw ' + label)}| {mid('zone', dst)}"
        )
    for o in d.observed:
        styles.append((len(links), RED if o.forbidden else BLUE))
        label = f"seen {o.flows}" + (f" ✗{o.forbidden}" if o.forbidden else "")
        links.append(f"  {mid('zone', o.src)} ==>|{mermaid_label(label)}| {mid('zone', o.dst)}")
    lines.extend(links)
    lines.extend(f"  linkStyle {i} stroke:{colour}" for i, colour in styles)
    return "\n".join(lines) + "\n"
