"""Memory per forbidden flow (issue 13, item 8): findings stream, so a scan-like table of
a million forbidden flows renders as JSON in well under 1 GB. Run in a child process
under an address-space limit; peak RSS is what the kernel measured."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO

CHILD = """
import json, os, resource, sys, time
limit = {limit}
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sys.path.insert(0, {tests!r})
from flowgen import peak_mb, scan_table
from segverify.checks.flows import analyse_table
from segverify.render import pcap_json
from segverify.topology.loader import load_topology

table = scan_table({n}, forbidden_share=1.0)
t = time.perf_counter()
analysis = analyse_table(table, load_topology({topo!r}))
with open(os.devnull, "wb") as out:
    pcap_json.write(analysis, out)
print(json.dumps({{
    "rss_mb": peak_mb(),
    "seconds": time.perf_counter() - t,
    "forbidden": analysis.counts()["forbidden_flows"],
}}))
"""
GB = 1 << 30


def measure(n: int, limit: int = 3 * GB, timeout: int = 600) -> dict[str, float]:
    code = CHILD.format(
        limit=limit, tests=str(REPO / "tests"), n=n, topo=str(REPO / "topologies" / "alpha.yaml")
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=timeout
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_memory_does_not_grow_with_the_findings_written() -> None:
    # both sizes past jit.COMPILE_FROM_ROWS, so both load compiled kernels (numba, a fixed
    # ~100 MB, or the module built ahead of time): the
    # difference is what each further finding costs
    small = measure(60_000)
    large = measure(600_000)
    assert small["forbidden"] == 60_000 and large["forbidden"] == 600_000
    # ten times the findings: the flow columns grow (~250 bytes/flow measured), the written
    # findings do not stay (a whole-report build cost ~15 KB per flow)
    per_flow = (large["rss_mb"] - small["rss_mb"]) * (1 << 20) / 540_000
    assert per_flow < 400, (small, large, per_flow)
    assert large["rss_mb"] < 1024


@pytest.mark.slow
def test_a_million_forbidden_flows_as_json_under_one_gigabyte() -> None:
    result = measure(1_000_000)
    assert result["forbidden"] == 1_000_000
    assert result["rss_mb"] < 1024, result
