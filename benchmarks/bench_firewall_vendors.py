"""Benchmark: parse + full analysis of generated 10k-policy FortiGate and PAN-OS XML exports
against alpha/fw-inet (generators: bench_vendor_gen.py; runner: bench_firewall.run_vendor).

    .venv/bin/python benchmarks/bench_firewall_vendors.py [--sizes 10000] [--runs 3]

Prints one line per vendor and size with the median of ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_firewall import run_vendor  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000])
    ap.add_argument("--vendors", nargs="+", default=["fortios", "paloalto"])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    print(
        "vendor    size  rules  MB   parse_s  compile_s  permits_s  shadow_s  total_s  cpu_s  findings"
    )
    for vendor in args.vendors:
        for size in args.sizes:
            runs = [run_vendor(vendor, size) for _ in range(args.runs)]
            med = {
                k: statistics.median(r[k] for r in runs)
                for k in ("parse", "compile", "permits", "shadow", "total")
            }
            r = runs[0]
            print(
                f"{vendor:8} {size:>6} {r['rules']:>6} {r['bytes'] / 1e6:4.1f} {med['parse']:8.2f}"
                f" {med['compile']:10.2f} {med['permits']:10.2f} {med['shadow']:9.2f} {med['total']:8.2f}"
                f"  {r['findings']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
