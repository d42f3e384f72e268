"""RTX mnemonics (data/firewall_yamaha_rtx.yaml)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml


@lru_cache(maxsize=1)
def rtx_tables() -> dict[str, Any]:
    text = resources.files("segverify.data").joinpath("firewall_yamaha_rtx.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data
