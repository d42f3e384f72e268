"""ASA keyword tables (data/firewall_cisco_asa.yaml): protocols, port and ICMP names."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml


@lru_cache(maxsize=1)
def tables() -> dict[str, Any]:
    text = resources.files("segverify.data").joinpath("firewall_cisco_asa.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    data["not_filtering"] = frozenset(data["not_filtering"])
    return data


def protocol_number(word: str) -> int | None:
    """``tcp`` → 6, ``47`` → 47; None for ``ip`` and for unknown words."""
    if word.isdigit():
        n = int(word)
        return n if 0 <= n <= 255 else None
    return tables()["protocols"].get(word)


def port_number(word: str) -> int | None:
    if word.isdigit():
        n = int(word)
        return n if 0 <= n <= 65535 else None
    return tables()["ports"].get(word)


def icmp_type(word: str, v6: bool = False) -> int | None:
    if word.isdigit():
        n = int(word)
        return n if 0 <= n <= 255 else None
    return tables()["icmp6_types" if v6 else "icmp_types"].get(word)
