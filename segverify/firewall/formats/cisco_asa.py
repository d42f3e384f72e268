"""Cisco ASA ``show running-config`` (8.3 and later)."""

from __future__ import annotations

import re

from segverify.firewall.asa import parse_asa
from segverify.firewall.ir import Device, Format, ParseContext

_HINTS = re.compile(
    r"^(access-list \S+ extended |access-group \S+ (in|out) interface |object-group network |same-security-traffic |\s+nameif |\s+security-level )",
    re.M,
)


def _sniff(text: str) -> float:
    head = text[:4000]
    if re.search(r"^ASA Version \d", head, re.M):
        return 0.95
    return 0.7 if len(_HINTS.findall(text[:20000])) >= 2 else 0.0


def _parse(text: str, ctx: ParseContext) -> Device:
    return parse_asa(text, ctx.file)


FORMAT = Format(
    name="cisco-asa",
    aliases=("asa", "cisco_asa"),
    sniff=_sniff,
    parse=_parse,
    description="Cisco ASA 'show running-config' (8.3 and later)",
)
