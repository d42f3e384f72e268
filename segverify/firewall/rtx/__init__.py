"""YAMAHA RTX ``show config``: vendor model (model.py), parser (parse.py), lowering (lower.py)."""

from __future__ import annotations

from segverify.firewall.ir import Device
from segverify.firewall.rtx.lower import lower_rtx
from segverify.firewall.rtx.parse import parse_rtx_config


def parse_rtx(text: str, file: str = "<string>") -> Device:
    return lower_rtx(parse_rtx_config(text, file))


__all__ = ["lower_rtx", "parse_rtx", "parse_rtx_config"]
