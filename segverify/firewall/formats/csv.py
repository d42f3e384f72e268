"""The segverify firewall CSV (docs/firewall-formats.md)."""

from __future__ import annotations

from segverify.firewall import csv_export as _parser
from segverify.firewall.ir import Device, Format, ParseContext
from segverify.firewall.ruleset_ir import lower_ruleset


def _sniff(text: str) -> float:
    for line in text.splitlines()[:50]:
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        cols = {c.strip().lower() for c in s.split(",")}
        return 0.8 if "action" in cols and ({"src", "dst"} & cols or "dport" in cols) else 0.0
    return 0.0


def _parse(text: str, ctx: ParseContext) -> Device:
    return lower_ruleset(_parser.parse_csv(text, ctx.file))


FORMAT = Format(
    name="csv",
    aliases=(),
    sniff=_sniff,
    parse=_parse,
    description="segverify firewall CSV",
)
