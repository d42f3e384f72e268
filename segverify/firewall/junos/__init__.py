"""Juniper SRX (Junos) configuration, hierarchical or ``display set``: set-statement
reader (setlines.py), vendor model (model.py), parser (parse.py), lowering (lower.py)."""

from __future__ import annotations

from segverify.firewall.ir import Device
from segverify.firewall.junos.lower import lower_junos
from segverify.firewall.junos.parse import parse_junos_config


def parse_junos(text: str, file: str = "<string>") -> Device:
    return lower_junos(parse_junos_config(text, file))


__all__ = ["lower_junos", "parse_junos", "parse_junos_config"]
