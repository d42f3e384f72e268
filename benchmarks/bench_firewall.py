"""Benchmark: parse + full analysis of generated iptables-save exports against alpha/fw-inet.

    .venv/bin/python benchmarks/bench_firewall.py [--sizes 1000 10000 50000] [--order grouped]
    .venv/bin/python benchmarks/bench_firewall.py --generator distinct --sizes 10000 100000 \
        --before /tmp/fw-old --before-sizes 10000      # before/after in one run (issue 8)
    .venv/bin/python benchmarks/bench_firewall.py --generator distinct --sizes 10000 \
        --before /work/main --runs 3                    # medians of 3, alternating

``--generator distinct``: every rule has its own address objects (hosts and small subnets
from every zone), ~30% multiport, ~8% drops. ``--before TREE``: the same measurement run
in a subprocess on another checkout (e.g. ``git worktree add --detach /tmp/fw-old <rev>``).

Prints one line per size: rules, parse s, analysis s (compile, permits, shadow/redundant),
total s, findings by kind, and the BDD node count of the permitted set.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_firewall_gen import generate, generate_distinct  # noqa: E402

from segverify.checks.firewall import check_firewall  # noqa: E402
from segverify.firewall.registry import parse_export  # noqa: E402
from segverify.topology.loader import load_topology  # noqa: E402


def run(size: int, order: str, backend: str | None, shadow: bool) -> dict:
    topology = load_topology(ROOT / "topologies" / "alpha.yaml")
    with tempfile.TemporaryDirectory(prefix="svfw-bench-") as tmp:
        path = Path(tmp) / f"fw-{size}.rules"
        path.write_text(generate(size))
        t0 = time.perf_counter()
        ruleset = parse_export(str(path), "iptables", topology, "fw-inet")
        t1 = time.perf_counter()
        report = check_firewall(
            topology, ruleset, "fw-inet", shadow=shadow, backend=backend, order=order
        )
        t2 = time.perf_counter()
    kinds: dict[str, int] = {}
    for f in report.findings:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    return {
        "size": size,
        "rules": report.summary["rules"],
        "parse": t1 - t0,
        "analysis": t2 - t1,
        "compile": report.summary["seconds_compile"],
        "permits": report.summary["seconds_permits"],
        "shadow": report.summary["seconds_shadow"],
        "total": t2 - t0,
        "findings": kinds,
    }


TREE_SCRIPT = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from segverify.topology.loader import load_topology
from segverify.firewall.registry import parse_export
from segverify.checks.firewall import check_firewall
topology = load_topology(sys.argv[1] + "/topologies/alpha.yaml")
c0 = time.process_time()
t0 = time.perf_counter()
ruleset = parse_export(sys.argv[2], "iptables", topology, "fw-inet")
t1 = time.perf_counter()
report = check_firewall(topology, ruleset, "fw-inet", shadow=sys.argv[3] == "1")
t2 = time.perf_counter()
kinds = {}
for f in report.findings:
    kinds[f.kind] = kinds.get(f.kind, 0) + 1
s = report.summary
print(json.dumps({"rules": s["rules"], "parse": t1 - t0, "analysis": t2 - t1,
    "compile": s["seconds_compile"], "permits": s["seconds_permits"],
    "shadow": s["seconds_shadow"], "total": t2 - t0, "cpu": time.process_time() - c0,
    "findings": kinds}))
"""


def run_tree(tree: Path, path: Path, shadow: bool, timeout: float) -> dict | None:
    """Parse + analysis of one export by the code in ``tree`` (a fresh process)."""
    import json
    import os
    import subprocess

    env = dict(os.environ, PYTHONPATH=str(tree))
    try:
        p = subprocess.run(
            [sys.executable, "-c", TREE_SCRIPT, str(tree), str(path), "1" if shadow else "0"],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-2000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def main_distinct(args: argparse.Namespace) -> None:
    """Before/after rows per size; with ``--runs N`` each (code, size) runs N times,
    before and after alternating, and the row shows the medians (wall and process CPU)."""
    import statistics

    keys = ("parse", "compile", "permits", "shadow", "total", "cpu")
    print(
        "code    size   rules  parse_s  compile_s  permits_s  shadow_s  total_s   cpu_s  findings"
    )
    with tempfile.TemporaryDirectory(prefix="svfw-bench-") as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"distinct-{size}.rules"
            path.write_text(generate_distinct(size))
            trees = [("after", ROOT)]
            if args.before and size in (args.before_sizes or args.sizes):
                trees.insert(0, ("before", Path(args.before)))
            results: dict[str, list[dict]] = {label: [] for label, _ in trees}
            for _ in range(args.runs):
                for label, tree in trees:
                    r = run_tree(tree, path, not args.no_shadow, args.timeout)
                    if r is not None:
                        results[label].append(r)
            for label, _ in trees:
                rs = results[label]
                if not rs:
                    print(
                        f"{label:6} {size:>6}  did not finish within {args.timeout:.0f} s",
                        flush=True,
                    )
                    continue
                m = {k: statistics.median(r.get(k, float("nan")) for r in rs) for k in keys}
                r = rs[0]
                print(
                    f"{label:6} {size:>6} {r['rules']:>7} {m['parse']:8.2f} {m['compile']:10.2f}"
                    f" {m['permits']:10.2f} {m['shadow']:9.2f} {m['total']:8.2f} {m['cpu']:7.2f}"
                    f"  {r['findings']}  (median of {len(rs)})",
                    flush=True,
                )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    ap.add_argument("--order", default="grouped")
    ap.add_argument("--backend", default=None)
    ap.add_argument("--no-shadow", action="store_true")
    ap.add_argument("--generator", choices=("reuse", "distinct"), default="reuse")
    ap.add_argument("--before", default=None, help="checkout of the code to compare with")
    ap.add_argument("--before-sizes", type=int, nargs="+", default=None)
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--runs", type=int, default=1, help="runs per (code, size): medians")
    args = ap.parse_args()
    if args.generator == "distinct":
        main_distinct(args)
        return
    print("size  rules  parse_s  compile_s  permits_s  shadow_s  total_s  findings")
    for size in args.sizes:
        r = run(size, args.order, args.backend, not args.no_shadow)
        print(
            f"{r['size']:>5} {r['rules']:>6} {r['parse']:8.2f} {r['compile']:10.2f} {r['permits']:10.2f}"
            f" {r['shadow']:9.2f} {r['total']:8.2f}  {r['findings']}",
            flush=True,
        )


if __name__ == "__main__":
    main()


# ---------------------------------------------------------------------------------------
# Vendor exports (helper vendA): a generated 10k-policy FortiGate configuration and PAN-OS
# XML through the same entry point as the CLI (format registry + topology binding).
# Driven by benchmarks/bench_firewall_vendors.py.


def run_vendor(vendor: str, size: int, backend: str | None = None, shadow: bool = True) -> dict:
    """Parse + full analysis of a generated ``vendor`` export ("fortios" / "paloalto")."""
    from bench_vendor_gen import fortigate, paloalto_xml

    from segverify.firewall.registry import load_device

    topology = load_topology(ROOT / "topologies" / "alpha.yaml")
    text = fortigate(size) if vendor == "fortios" else paloalto_xml(size)
    imap = {"port1": "eth0", "port2": "eth1"}
    if vendor == "paloalto":
        imap = {"ethernet1/1": "eth0", "ethernet1/2": "eth1"}
    with tempfile.TemporaryDirectory(prefix="svfw-bench-") as tmp:
        path = Path(tmp) / f"fw-{size}.{'conf' if vendor == 'fortios' else 'xml'}"
        path.write_text(text)
        t0 = time.perf_counter()
        c0 = time.process_time()
        device = load_device(str(path), vendor, topology, "fw-inet", None, imap)
        t1 = time.perf_counter()
        report = check_firewall(topology, device, "fw-inet", shadow=shadow, backend=backend)
        t2 = time.perf_counter()
        c2 = time.process_time()
    kinds: dict[str, int] = {}
    for f in report.findings:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    return {
        "vendor": vendor,
        "size": size,
        "bytes": len(text.encode()),
        "rules": report.summary["rules"],
        "parse": t1 - t0,
        "compile": report.summary["seconds_compile"],
        "permits": report.summary["seconds_permits"],
        "shadow": report.summary["seconds_shadow"],
        "analysis": t2 - t1,
        "total": t2 - t0,
        "cpu": c2 - c0,
        "findings": kinds,
    }
