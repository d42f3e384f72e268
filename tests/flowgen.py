"""Generated columnar flow tables (no capture file): scan-like tables of many flows for
the memory and scaling tests of the stages after the packet loop."""

from __future__ import annotations

import numpy as np

from segverify.flows.columns import COLUMNS, FlowColumns
from segverify.flows.model import Accounting, FlowTable

T0 = 1_775_034_000 * 1_000_000_000
INET = (198 << 24) | (18 << 16) | (30 << 8)  # 198.18.30.0/24: internet zone of alpha.yaml
TESTNET1 = (192 << 24) | (0 << 16) | (2 << 8)  # 192.0.2.0/24: declared internet
PROXY = (203 << 24) | (0 << 16) | (113 << 8) | 10  # sc-proxy


def scan_table(n: int, forbidden_share: float = 0.5, seed: int = 1) -> FlowTable:
    """``n`` distinct TCP flows from the inet zone: a share to internet hosts on 445 (R3,
    forbidden; a third of them answered), the rest to the security-cloud proxy (allowed)."""
    rng = np.random.default_rng(seed)
    forbidden = rng.random(n) < forbidden_share
    src = INET + rng.integers(2, 250, n)
    dst = np.where(forbidden, TESTNET1 + rng.integers(1, 255, n), PROXY)
    sport = (np.arange(n) % 60000) + 1024
    answered = rng.random(n) < 0.33
    pkts_rev = np.where(answered, 3, 0)
    arrays = {name: np.zeros(n, dtype=dt) for name, dt in COLUMNS}
    arrays.update(
        ver=np.full(n, 4), src_lo=src, dst_lo=dst, proto=np.full(n, 6), sport=sport,
        dport=np.where(forbidden, 445, 8080), vlan=np.full(n, -1), pkts_fwd=np.full(n, 3),
        pkts_rev=pkts_rev, bytes_fwd=np.full(n, 200), bytes_rev=pkts_rev * 60,
        first_ns=T0 + np.arange(n) * 1000, last_ns=T0 + np.arange(n) * 1000 + 500,
        first_frame=np.arange(n) * 4 + 1, flags_fwd=np.full(n, 0x12 | 0x08),
        flags_rev=np.where(answered, 0x12, 0),
    )  # fmt: skip
    # distinct 5-tuples: spread sport over the source hosts
    arrays["sport"] = (np.arange(n) // 250) % 64000 + 1024
    arrays["src_lo"] = INET + 2 + np.arange(n) % 248
    del arrays["state"], arrays["answered"]
    cols = FlowColumns.from_arrays(arrays, ["generated.pcap"])
    packets = int((cols.pkts_fwd + cols.pkts_rev).sum())
    return FlowTable(columns=cols, accounting=Accounting(packets, packets, files=1))


def peak_mb() -> float:
    """This process's peak resident memory in MiB. ``VmHWM``: Linux keeps ``ru_maxrss``
    across exec, so a child forked from a big test worker would report the worker's peak."""
    import resource

    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
