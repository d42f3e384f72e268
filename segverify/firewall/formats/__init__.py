"""The format registry: every module in this package that defines ``FORMAT`` is a format.

``formats()`` lists them, ``get_format(name)`` resolves a name or alias, ``sniff_format``
implements ``--vendor auto``. A vendor author adds one module here (and golden files);
nothing else needs editing.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from segverify.errors import InputError
from segverify.firewall.ir.format import Format
from segverify.i18n import Msg

AUTO = "auto"
SNIFF_THRESHOLD = 0.5


@lru_cache(maxsize=1)
def formats() -> tuple[Format, ...]:
    out: list[Format] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        mod = importlib.import_module(f"{__name__}.{info.name}")
        fmt = getattr(mod, "FORMAT", None)
        if isinstance(fmt, Format):
            out.append(fmt)
    names: dict[str, str] = {}
    for f in out:
        for n in (f.name, *f.aliases):
            if n.lower() in names:
                raise RuntimeError(f"format name {n!r} claimed by {names[n.lower()]} and {f.name}")
            names[n.lower()] = f.name
    return tuple(out)


def format_names() -> tuple[str, ...]:
    return tuple(f.name for f in formats())


def get_format(name: str) -> Format:
    """The format called ``name`` (or one of its aliases), case-insensitive."""
    key = name.lower()
    for f in formats():
        if key == f.name.lower() or key in (a.lower() for a in f.aliases):
            return f
    raise InputError(
        Msg(
            "error.firewall.formats.unknown_vendor_one_auto",
            name=name,
            formats=", ".join(format_names()),
        )
    )


def sniff_format(text: str, file: str = "<string>") -> Format:
    """The single format whose ``sniff`` scores highest (≥ 0.5); exit-2 error otherwise."""
    scored = sorted(((f.sniff(text), f.name, f) for f in formats()), key=lambda t: -t[0])
    if not scored or scored[0][0] < SNIFF_THRESHOLD:
        raise InputError(
            Msg(
                "error.firewall.formats.cannot_tell_export_format_give",
                formats=", ".join(format_names()),
            ),
            file,
        )
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        raise InputError(
            Msg(
                "error.firewall.formats.export_looks_like_both_give",
                first=scored[0][1],
                second=scored[1][1],
            ),
            file,
        )
    return scored[0][2]
