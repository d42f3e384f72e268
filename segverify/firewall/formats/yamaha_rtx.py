"""YAMAHA RTX ``show config``."""

from __future__ import annotations

import re

from segverify.firewall.ir import Device, Format, ParseContext
from segverify.firewall.rtx import parse_rtx

_HEADER = re.compile(r"^#\s*(RTX|NVR|RT|FWX)\w*\s+Rev\.", re.M)
_LINES = re.compile(
    r"^\s*(ip(v6)? filter (dynamic )?\d+ |ip(v6)? \S+ secure filter (in|out) |pp select \d+|ip lan\d+ address )",
    re.M,
)


def _sniff(text: str) -> float:
    head = text[:20000]
    if _HEADER.search(head):
        return 0.95
    return 0.8 if len(_LINES.findall(head)) >= 2 else 0.0


def _parse(text: str, ctx: ParseContext) -> Device:
    return parse_rtx(text, ctx.file)


FORMAT = Format(
    name="yamaha-rtx",
    aliases=("rtx", "yamaha"),
    sniff=_sniff,
    parse=_parse,
    description="YAMAHA RTX 'show config'",
)
