"""Capture readers: pcap/pcapng/gzip, link-layer and tunnel decoding, three backends.

Public entry point: :func:`read_flows` (from :mod:`segverify.capture.api`, loaded on first
use so that ``segverify.flows`` can import the column layout without a cycle).
"""

from __future__ import annotations

from typing import Any

__all__ = ["BACKENDS", "backend_reader", "merge_tables", "read_flows"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from segverify.capture import api

        return getattr(api, name)
    raise AttributeError(f"module 'segverify.capture' has no attribute {name!r}")
