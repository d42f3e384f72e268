"""Cisco ASA (8.3+) running configuration: vendor model (model.py), parser (parse.py) and
the lowering to the IR (lower.py)."""

from __future__ import annotations

from segverify.firewall.asa.lower import lower_asa
from segverify.firewall.asa.parse import parse_asa_config
from segverify.firewall.ir import Device


def parse_asa(text: str, file: str = "<string>") -> Device:
    return lower_asa(parse_asa_config(text, file))


__all__ = ["lower_asa", "parse_asa", "parse_asa_config"]
