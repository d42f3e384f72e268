"""The commented starter topology behind `segverify init` (data/starter.yaml, filtered by model)."""

from __future__ import annotations

from importlib import resources


def _comment(line: str, lang: str) -> list[str]:
    """``#% key`` lines and ``value  #% key`` endings become comments in ``lang`` (the
    text lives in the message catalogue)."""
    from segverify.i18n import t

    head, _, key = line.partition("#%")
    lines = t(key.strip(), lang).splitlines()
    if head.strip():
        return [f"{head}# {' '.join(lines)}"]
    return [f"{head}# {text}" for text in lines]


def starter_text(model: str, lang: str = "en") -> str:
    """Keep lines in ``#@m1,m2`` … ``#@end`` blocks only when ``model`` is listed; comments
    in ``lang``."""
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
            out.extend(_comment(line, lang) if "#%" in line else [line])
    text = "\n".join(out) + "\n"
    if model in ("beta", "beta-prime"):
        text = text.replace("policy:\n  allow: []\n", "policy:\n")
    return text.replace("{model}", model)
