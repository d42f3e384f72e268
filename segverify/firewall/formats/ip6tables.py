"""ip6tables-save (IPv6)."""

from __future__ import annotations

from segverify.firewall import iptables as _parser
from segverify.firewall.ir import Device, Format, ParseContext
from segverify.firewall.ruleset_ir import lower_ruleset


def _parse(text: str, ctx: ParseContext) -> Device:
    return lower_ruleset(_parser.parse_iptables(text, ctx.file, 6, ctx.options.get("ipsets")))


FORMAT = Format(
    name="ip6tables",
    aliases=("ip6tables-save",),
    sniff=lambda text: 0.0,  # indistinguishable from iptables-save: give --vendor ip6tables
    parse=_parse,
    description="ip6tables-save output",
    options=("ipsets",),
)
