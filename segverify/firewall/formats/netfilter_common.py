"""Sniffers shared by the netfilter format modules (no ``FORMAT`` here)."""

from __future__ import annotations

import json
import re


def looks_iptables(text: str) -> bool:
    return bool(re.search(r"(?m)^\s*\*(filter|mangle|raw|nat|security)\s*$", text))


def looks_nft_text(text: str) -> bool:
    return bool(re.search(r"(?m)^\s*table\s+(ip|ip6|inet|arp|bridge|netdev)\s+\S+\s*\{", text))


def looks_nft_json(text: str) -> bool:
    s = text.lstrip()
    if not s.startswith("{"):
        return False
    try:
        doc = json.loads(s)
    except (ValueError, RecursionError):
        return '"nftables"' in s[:4096]
    return isinstance(doc, dict) and "nftables" in doc


def ip6tables_family(text: str) -> bool:
    """An iptables-save file whose addresses are IPv6 (ip6tables-save)."""
    return bool(re.search(r"(?m)^-A .*(-[sd] [0-9a-fA-F]*:[0-9a-fA-F:]*[/ ])", text))
