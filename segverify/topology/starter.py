"""The commented starter topology behind `segverify init` (data/starter.yaml, filtered by model)."""

from __future__ import annotations

from importlib import resources


def starter_text(model: str) -> str:
    """Keep lines in ``#@m1,m2`` … ``#@end`` blocks only when ``model`` is listed."""
    raw = resources.files("segverify.data").joinpath("starter.yaml").read_text("utf-8")
    out: list[str] = []
    keep = True
    for line in raw.splitlines():
        if line.startswith("#@end"):
            keep = True
            continue
        if line.startswith("#@"):
            keep = model in line[2:].split(",")
            continue
        if keep:
            out.append(line)
    text = "\n".join(out) + "\n"
    if model in ("beta", "beta-prime"):
        text = text.replace("policy:\n  allow: []\n", "policy:\n")
    return text.replace("{model}", model)
