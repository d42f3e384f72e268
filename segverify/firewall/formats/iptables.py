"""iptables-save (IPv4, or both families when addresses say so)."""

from __future__ import annotations

from segverify.firewall import iptables as _parser
from segverify.firewall.formats.netfilter_common import looks_iptables
from segverify.firewall.ir import Device, Format, ParseContext
from segverify.firewall.ruleset_ir import lower_ruleset


def _sniff(text: str) -> float:
    return 0.9 if looks_iptables(text) else 0.0


def _parse(text: str, ctx: ParseContext) -> Device:
    return lower_ruleset(_parser.parse_iptables(text, ctx.file, None, ctx.options.get("ipsets")))


FORMAT = Format(
    name="iptables",
    aliases=("iptables-save",),
    sniff=_sniff,
    parse=_parse,
    description="iptables-save output",
    options=("ipsets",),
)
