"""Flow-log inputs: Zeek conn.log, FortiGate and Palo Alto traffic logs, NetFlow v5/v9 and
IPFIX exports, nfdump CSV; read into the same ``FlowTable`` the capture path produces.

``read_flow_log(path, fmt="auto")`` reads one file; ``read_flow_logs(paths, fmt)`` reads
several and merges them. Formats: :data:`segverify.flowlogs.registry.FORMATS`.
"""

from __future__ import annotations

from segverify.flowlogs.api import read_flow_log, read_flow_logs

__all__ = ["read_flow_log", "read_flow_logs"]
