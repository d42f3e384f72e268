"""Juniper SRX: ``show configuration`` (hierarchical) or ``show configuration | display set``."""

from __future__ import annotations

import re

from segverify.firewall.ir import Device, Format, ParseContext
from segverify.firewall.junos import parse_junos

_SET = re.compile(
    r"^set (security|system|interfaces|applications|firewall|policy-options|routing-options|version) ",
    re.M,
)
_TREE = re.compile(r"^(security|system|interfaces|applications)\s*\{", re.M)


def _sniff(text: str) -> float:
    head = text[:20000]
    if re.search(r"^set security (policies|zones|address-book) ", head, re.M):
        return 0.95
    if _TREE.search(head) and re.search(
        r"^\s*(security-zone|from-zone|policies|host-name)\b", head, re.M
    ):
        return 0.9
    if len(_SET.findall(head)) >= 2 or re.search(r"^## Last (commit|changed)", head, re.M):
        return 0.8
    return 0.0


def _parse(text: str, ctx: ParseContext) -> Device:
    return parse_junos(text, ctx.file)


FORMAT = Format(
    name="juniper-srx",
    aliases=("srx", "junos", "juniper"),
    sniff=_sniff,
    parse=_parse,
    description="Juniper SRX 'show configuration' (hierarchical or '| display set')",
)
