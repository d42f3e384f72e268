"""FortiOS (FortiGate ``show full-configuration`` or a configuration backup file)."""

from __future__ import annotations

import re

from segverify.firewall.fortios import parse_fortios
from segverify.firewall.ir import Device, Format, ParseContext

_HEADER = re.compile(r"^#config-version=FG", re.M)
_SECTION = re.compile(
    r"^\s*config (firewall (policy|address|service custom)|system (interface|global|zone))\s*$",
    re.M,
)


def _sniff(text: str) -> float:
    head = text[:200_000]
    if _HEADER.search(head[:2000]):
        return 1.0
    if _SECTION.search(head) and re.search(r"^\s*(edit|set) ", head, re.M):
        return 0.9
    return 0.0


def _parse(text: str, ctx: ParseContext) -> Device:
    return parse_fortios(text, ctx.file)


FORMAT = Format(
    name="fortios",
    aliases=("fortigate", "fortinet"),
    sniff=_sniff,
    parse=_parse,
    description="FortiGate 'show full-configuration' or backup file (FortiOS 6/7)",
)
