"""Scene → PNG or PDF with matplotlib (Agg/PDF backends, no system Graphviz or fonts).

Japanese text uses IPAexGothic, the font the ``japanize-matplotlib`` package ships (IPA
Font License); PDF embeds it as a TrueType subset. IPAexGothic has no bold face: bold
text gets a thin outline of its own colour instead. Output is deterministic: no creation
dates or software versions in the metadata. PDF pages are A4 landscape width.
"""

from __future__ import annotations

import importlib.util
import io
from functools import lru_cache
from pathlib import Path

from segverify.errors import InputError
from segverify.i18n import t
from segverify.render.scene import Line, Polygon, Rect, Scene, Text

A4_LANDSCAPE_WIDTH_IN = 11.69
PNG_SCALE = 1.5  # PNG pixels per scene pixel


@lru_cache(maxsize=2)
def font_path(lang: str = "en") -> str:
    """The bundled Japanese font (IPAexGothic from japanize-matplotlib)."""
    spec = importlib.util.find_spec("japanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise InputError(t("error.raster_packages", lang))
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / "ipaexg.ttf"
    if not path.is_file():
        raise InputError(t("error.raster_packages", lang), file=str(path))
    return str(path)


def _families(fname: str) -> list[str]:
    """IPAexGothic first, then DejaVu Sans (ships with matplotlib) for symbols IPAexGothic
    lacks (✗, arrows)."""
    from matplotlib import font_manager

    name = font_manager.FontProperties(fname=fname).get_name()
    if name not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(fname)
    return [name, "DejaVu Sans"]


def render_raster(scene: Scene, fmt: str, lang: str = "en") -> bytes:
    """``scene`` as PNG or PDF bytes."""
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import FancyBboxPatch
        from matplotlib.patches import Polygon as MplPolygon
        from matplotlib.patheffects import withStroke as bold
    except ImportError:  # pragma: no cover - dependency of the package
        raise InputError(t("error.raster_packages", lang)) from None
    if fmt not in ("png", "pdf"):
        raise ValueError(f"unknown raster format {fmt!r}")
    fname = font_path(lang)
    width_in = A4_LANDSCAPE_WIDTH_IN
    ppi = scene.width / width_in  # scene pixels per inch
    pt = 72.0 / ppi  # points per scene pixel
    rc = {"pdf.fonttype": 42, "svg.hashsalt": "segverify", "path.simplify": False}
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(width_in, scene.height / ppi))
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, scene.width)
        ax.set_ylim(scene.height, 0)
        ax.set_axis_off()
        family = _families(fname)
        for s in scene.shapes:
            if isinstance(s, Rect):
                style = f"round,pad=0,rounding_size={s.radius}" if s.radius else "square,pad=0"
                ax.add_patch(
                    FancyBboxPatch(
                        (s.x, s.y),
                        s.w,
                        s.h,
                        boxstyle=style,
                        facecolor=s.fill,
                        edgecolor=s.stroke,
                        linewidth=s.width * pt if s.stroke != "none" else 0,
                        linestyle=(0, (6, 4)) if s.dash else "solid",
                        mutation_aspect=1,
                    )
                )
            elif isinstance(s, Text):
                ha = {"start": "left", "middle": "center", "end": "right"}[s.anchor]
                ax.text(
                    s.x,
                    s.y,
                    s.text,
                    fontfamily=family,
                    fontsize=s.size * pt,
                    ha=ha,
                    va="baseline",
                    color=s.colour,
                    path_effects=[bold(linewidth=0.5 * s.size * pt / 7, foreground=s.colour)]
                    if s.bold
                    else None,
                )
            elif isinstance(s, Line):
                xs = [p[0] for p in s.points]
                ys = [p[1] for p in s.points]
                ax.plot(
                    xs,
                    ys,
                    color=s.colour,
                    linewidth=s.width * pt,
                    linestyle=(0, (4, 3)) if s.dash else "solid",
                    solid_capstyle="butt",
                )
            elif isinstance(s, Polygon):
                ax.add_patch(MplPolygon(list(s.points), closed=True, facecolor=s.fill, linewidth=0))
        buf = io.BytesIO()
        if fmt == "png":
            fig.savefig(buf, format="png", dpi=ppi * PNG_SCALE, metadata={"Software": None})
        else:
            fig.savefig(
                buf,
                format="pdf",
                metadata={"Creator": None, "Producer": None, "CreationDate": None},
            )
    return buf.getvalue()
