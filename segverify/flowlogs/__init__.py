"""Flow-log inputs: Zeek conn.log, FortiGate and Palo Alto traffic logs, NetFlow v5/v9 and
IPFIX exports, nfdump CSV; read into the same ``FlowTable`` the capture path produces.

``read_flow_log(path, fmt="auto")`` reads one file; ``read_flow_logs(paths, fmt)`` reads
several and merges them. Formats: :data:`segverify.flowlogs.registry.FORMATS`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["read_flow_log", "read_flow_logs"]


def __getattr__(name: str) -> Any:
    """The readers load on first use: a capture run that only asks the registry whether a
    file is a capture does not import them."""
    if name in __all__:
        from segverify.flowlogs import api

        return getattr(api, name)
    raise AttributeError(f"module 'segverify.flowlogs' has no attribute {name!r}")
