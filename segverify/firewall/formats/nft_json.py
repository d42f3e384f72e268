"""nft -j list ruleset (JSON)."""

from __future__ import annotations

from segverify.firewall import nftables_json as _parser
from segverify.firewall.formats.netfilter_common import looks_nft_json
from segverify.firewall.ir import Device, Format, ParseContext
from segverify.firewall.ruleset_ir import lower_ruleset


def _parse(text: str, ctx: ParseContext) -> Device:
    return lower_ruleset(_parser.parse_nft_json(text, ctx.file))


FORMAT = Format(
    name="nft-json",
    aliases=("nftables-json", "nft_json", "json"),
    sniff=lambda text: 0.95 if looks_nft_json(text) else 0.0,
    parse=_parse,
    description="nft -j list ruleset",
)
