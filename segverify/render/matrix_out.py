"""Renderers for the zone matrix (text grid, JSON, CSV)."""

from __future__ import annotations

import json
from dataclasses import asdict

from segverify.checks.matrix import Cell
from segverify.i18n import t
from segverify.render.csv_out import BOM, wants_bom
from segverify.render.safe import csv_row

SYMBOL = {"intra": "·", "allowed": "✓", "restricted": "~", "forbidden": "✗", "external": "-"}


def render_matrix(cells: list[Cell], fmt: str, lang: str = "en", excel: bool = False) -> str:
    if fmt == "json":
        return (
            json.dumps(
                {"schema": "segverify/matrix/1", "cells": [asdict(c) for c in cells]},
                ensure_ascii=False,
                indent=2,
            )
            + "\n"
        )
    if fmt == "csv":
        header = ["from", "to", "verdict", "rule", "via", "services", "allow_rules"]
        rows = [csv_row(header)]
        for c in cells:
            rows.append(
                csv_row(
                    [
                        c.src,
                        c.dst,
                        c.verdict,
                        c.rule,
                        list(c.via),
                        list(c.services),
                        list(c.allow_rules),
                    ]
                )
            )
        return (BOM if wants_bom(lang, excel) else "") + "".join(rows)
    if fmt != "text":
        raise ValueError(f"unknown matrix format {fmt!r}")
    zones: list[str] = []
    for c in cells:
        if c.src not in zones:
            zones.append(c.src)
    grid = {(c.src, c.dst): c for c in cells}
    width = max(len(z) for z in zones) + 1
    lines = [t("matrix.title", lang), ""]
    lines.append(" " * width + " ".join(f"{z[:width]:>{width}}" for z in zones))
    for a in zones:
        row = []
        for b in zones:
            c = grid[(a, b)]
            mark = SYMBOL[c.verdict] + (
                c.rule[-1] if c.verdict == "forbidden" and c.rule and c.rule.startswith("R") else ""
            )
            row.append(f"{mark:>{width}}")
        lines.append(f"{a:<{width}}" + " ".join(row))
    lines.append("")
    lines.append(t("matrix.legend", lang))
    restricted = [c for c in cells if c.verdict == "restricted"]
    if restricted:
        lines.append("")
        for c in restricted:
            lines.append(
                f"  {c.src} → {c.dst}: "
                + t(
                    "verdict.restricted", lang, via=", ".join(c.via), services=", ".join(c.services)
                )
                + f"  [{', '.join(c.allow_rules)}]"
            )
    return "\n".join(lines) + "\n"
