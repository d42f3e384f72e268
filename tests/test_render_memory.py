"""Memory of the streamed renderers (issue 11): CSV, SARIF and JUnit of a capture analysis
write each finding as it comes, so rendering 100,000 forbidden flows adds next
to nothing to the memory the flow table and its analysis already hold. Building the
whole report first (every ``Finding``, then one string) added 490–740 MB here (0.9–1.5 GB at 200,000) for the same
table. Run in a child process under an address-space limit; peak RSS is what the kernel
measured, before and after rendering."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO

CHILD = """
import json, os, resource, sys
limit = {limit}
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sys.path.insert(0, {tests!r})
from flowgen import peak_mb, scan_table
from segverify.checks.flows import analyse_table
from segverify.render import write_analysis
from segverify.topology.loader import load_topology

analysis = analyse_table(scan_table({n}, forbidden_share=1.0), load_topology({topo!r}))
analysis.forbidden_rows()
before = peak_mb()
for fmt in {fmts!r}:
    with open(os.devnull, "w", encoding="utf-8") as out:
        write_analysis(analysis, fmt, out)
print(json.dumps({{
    "before_mb": before,
    "rss_mb": peak_mb(),
    "forbidden": analysis.counts()["forbidden_flows"],
}}))
"""
GB = 1 << 30
FORMATS = ("csv", "sarif", "junit")


def measure(
    fmts: tuple[str, ...], n: int, limit: int = 3 * GB, timeout: int = 900
) -> dict[str, float]:
    """Peak RSS before and after rendering ``fmts`` one after the other in one child."""
    code = CHILD.format(
        limit=limit,
        tests=str(REPO / "tests"),
        n=n,
        topo=str(REPO / "topologies" / "alpha.yaml"),
        fmts=fmts,
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=timeout
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("fmt", FORMATS)
def test_rendering_100k_findings_adds_little_memory(fmt: str) -> None:
    result = measure((fmt,), 100_000)
    assert result["forbidden"] == 100_000
    # streamed: ~1 MB measured; the whole report as objects and one string: +490 MB or more
    assert result["rss_mb"] - result["before_mb"] < 64, result


@pytest.mark.slow
def test_a_million_forbidden_flows_in_every_format_under_one_gigabyte() -> None:
    result = measure(FORMATS, 1_000_000)
    assert result["forbidden"] == 1_000_000
    assert result["rss_mb"] < 1024, result
    assert result["rss_mb"] - result["before_mb"] < 64, result
