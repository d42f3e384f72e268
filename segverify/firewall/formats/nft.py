"""nft list ruleset (text)."""

from __future__ import annotations

from segverify.firewall import nftables_text as _parser
from segverify.firewall.formats.netfilter_common import looks_nft_text
from segverify.firewall.ir import Device, Format, ParseContext
from segverify.firewall.ruleset_ir import lower_ruleset


def _parse(text: str, ctx: ParseContext) -> Device:
    return lower_ruleset(_parser.parse_nft_text(text, ctx.file))


FORMAT = Format(
    name="nft",
    aliases=("nftables", "nft-text"),
    sniff=lambda text: 0.9 if looks_nft_text(text) else 0.0,
    parse=_parse,
    description="nft list ruleset",
)
