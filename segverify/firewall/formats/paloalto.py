"""Palo Alto PAN-OS (XML from ``show config running`` or the exported file, ``set``
commands, or the brace form)."""

from __future__ import annotations

import re

from segverify.firewall.ir import Device, Format, ParseContext
from segverify.firewall.paloalto import parse_paloalto

_XML = re.compile(r"<config\b[^>]*>|<devices>\s*<entry name=\"localhost\.localdomain\"", re.S)
_SET = re.compile(
    r"^set (config )?(deviceconfig|network interface|zone|rulebase security|address|service"
    r"|vsys|shared|device-group|devices localhost\.localdomain|policy panorama) ",
    re.M,
)

_BRACE = re.compile(r"^\s*(deviceconfig|rulebase|devices|vsys|config|policy)\s*\{", re.M)


def _sniff(text: str) -> float:
    head = text[:100_000]
    if "RANCID-CONTENT-TYPE: paloalto" in head[:500]:
        return 1.0
    if head.lstrip().startswith("<") and _XML.search(head):
        return 0.9
    if _SET.search(head):
        return 0.8
    if _BRACE.search(head) and re.search(r"^\s*(rulebase|deviceconfig|zone)\s*\{", head, re.M):
        return 0.7
    return 0.0


def _parse(text: str, ctx: ParseContext) -> Device:
    return parse_paloalto(text, ctx.file)


FORMAT = Format(
    name="paloalto",
    aliases=("panos", "pan-os", "palo-alto"),
    sniff=_sniff,
    parse=_parse,
    description="Palo Alto PAN-OS configuration (XML, set or brace form)",
)
