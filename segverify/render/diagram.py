"""Reachability diagrams in every format, from one ``DiagramData``.

``svg`` (own writer), ``png``/``pdf`` (matplotlib with a bundled Japanese font), ``dot``
(Graphviz text) and ``mmd`` (Mermaid text): none needs a system Graphviz. ``html`` wraps
both views in a small self-contained page. Views: ``lanes`` (zones as lanes, gateways,
paths and findings) and ``matrix`` (zone × zone with design / configuration / observed).
"""

from __future__ import annotations

from segverify.render import safe
from segverify.render.diagram_layout import lanes_scene, matrix_scene
from segverify.render.diagram_model import DiagramData
from segverify.render.diagram_text import to_dot, to_mermaid
from segverify.render.scene import Scene
from segverify.render.scene_svg import to_svg

DIAGRAM_FORMATS = ("svg", "png", "pdf", "dot", "mmd", "html")
VIEWS = ("lanes", "matrix")


def scene_for(data: DiagramData, view: str = "lanes") -> Scene:
    if view == "lanes":
        return lanes_scene(data)
    if view == "matrix":
        return matrix_scene(data)
    raise ValueError(f"unknown view {view!r} (known: {', '.join(VIEWS)})")


def render_diagram(data: DiagramData, fmt: str, view: str = "lanes") -> str | bytes:
    """The diagram as text (svg, dot, mmd, html) or bytes (png, pdf)."""
    if fmt == "dot":
        return to_dot(data)
    if fmt == "mmd":
        return to_mermaid(data)
    if fmt == "svg":
        return to_svg(scene_for(data, view))
    if fmt in ("png", "pdf"):
        from segverify.render.scene_raster import render_raster  # matplotlib loads lazily

        return render_raster(scene_for(data, view), fmt, data.lang)
    if fmt == "html":
        return diagram_page(data)
    raise ValueError(f"unknown diagram format {fmt!r} (known: {', '.join(DIAGRAM_FORMATS)})")


def diagram_page(data: DiagramData) -> str:
    """Both views inline in one page (the report's shell: strict CSP, print CSS)."""
    from segverify.i18n import t
    from segverify.render.html_page import page

    title = " — ".join(x for x in (data.organisation, data.title) if x)
    body = (
        f'<section class="first" id="diagram-lanes"><figure>'
        f"{to_svg(scene_for(data, 'lanes'), standalone=False)}"
        f"<figcaption>{safe.html(t('report.diagram.lanes', data.lang))}</figcaption></figure>"
        f'</section><section id="diagram-matrix"><figure>'
        f"{to_svg(scene_for(data, 'matrix'), standalone=False)}"
        f"<figcaption>{safe.html(t('report.diagram.matrix', data.lang))}</figcaption></figure>"
        "</section>"
    )
    return page(title, data.lang, f"<h1>{safe.html(title)}</h1>", body)
