"""Zone reachability diagram in Graphviz DOT (and SVG/PNG through the `dot` program).

Zones are boxes coloured by tier; an arrow is drawn for every allowed (solid) or restricted
(dashed, labelled with gateways and services) direction. Forbidden directions have no arrow.
"""

from __future__ import annotations

import shutil
import subprocess

from segverify.checks.matrix import Cell
from segverify.errors import InputError
from segverify.i18n import t
from segverify.topology.model import Topology

TIER_COLOURS = {
    "mynumber": "#f4cccc",
    "lgwan": "#d9ead3",
    "inet": "#cfe2f3",
    "lgwan-wan": "#b6d7a8",
    "security-cloud": "#fff2cc",
    "internet": "#eeeeee",
    "gov-cloud": "#d9d2e9",
    "juki-net": "#fce5cd",
}


def quote(text: str) -> str:
    """A DOT double-quoted string (escapes backslash, quote and newlines)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(topology: Topology, cells: list[Cell], lang: str = "en") -> str:
    lines = [
        "digraph reachability {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="sans-serif"];',
        '  edge [fontname="sans-serif", fontsize=9];',
        f"  label={quote(topology.name + ' (' + topology.policy.model + ')')};",
    ]
    for z in topology.zones.values():
        text = f"{z.id}\n{t('tier.' + z.tier, lang)}"
        if z.prefixes:
            text += "\n" + "\n".join(str(p) for p in z.prefixes[:3])
        lines.append(
            f"  {quote(z.id)} [label={quote(text)}, fillcolor={quote(TIER_COLOURS.get(z.tier, '#ffffff'))}];"
        )
    for c in cells:
        if c.verdict == "allowed":
            lines.append(f'  {quote(c.src)} -> {quote(c.dst)} [color="#38761d"];')
        elif c.verdict == "restricted":
            label = (
                ", ".join(c.via[:3])
                + ("…" if len(c.via) > 3 else "")
                + "\n"
                + ", ".join(c.services[:4])
            )
            lines.append(
                f'  {quote(c.src)} -> {quote(c.dst)} [style=dashed, color="#b45f06", label={quote(label)}];'
            )
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_diagram(
    topology: Topology, cells: list[Cell], fmt: str, lang: str = "en"
) -> str | bytes:
    dot = to_dot(topology, cells, lang)
    if fmt == "dot":
        return dot
    exe = shutil.which("dot")
    if exe is None:
        raise InputError(
            f"--format {fmt} needs Graphviz's `dot` program (apt-get install graphviz); use --format dot"
        )
    proc = subprocess.run(
        [exe, f"-T{fmt}"], input=dot.encode(), capture_output=True, timeout=60, check=False
    )
    if proc.returncode != 0:
        raise InputError(f"dot failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode() if fmt == "svg" else proc.stdout
