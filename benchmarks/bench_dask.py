"""`--engine dask`: 1 vs N Dask workers on a generated capture; speed-up, peak memory per
worker, the merge's share; a paper estimate of a prefecture-scale day from the rates.

    .venv/bin/python benchmarks/bench_dask.py --size-gb 2 --runs 3

The capture is ``benchmarks/gen_pcap.py --size-gb`` (the 1M-packet mix repeated). Each
worker count gets a fresh ``LocalCluster`` (processes, one thread each, 127.0.0.1, no
dashboard); its start-up is reported apart. Every run's table is checked against the
one-process table (flows and accounting equal).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

TB = 1e12


def worker_peak_mb() -> float:
    """Peak RSS of this process's address space (VmHWM: unlike ru_maxrss it does not carry
    the parent's peak across fork + exec)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def warm(path: str, start: int, stop: int) -> int:
    """Load the compiled reader in a worker (numba's cache) before timing."""
    from segverify.capture.fast import read_range

    return read_range(path, start, stop)[1]


def ensure(size_gb: float, out: Path) -> Path:
    if not out.exists() or out.stat().st_size < size_gb * (1 << 30):
        import gen_pcap

        gen_pcap.main(["--size-gb", str(size_gb), "--out", str(out)])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size-gb", type=float, default=2.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--range-mb", type=int, default=128)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    path = ensure(args.size_gb, args.out or HERE / "out" / f"bench-{args.size_gb:g}g.pcap")
    size = path.stat().st_size

    from distributed import Client

    from segverify.capture import read_flows
    from segverify.capture.progress import Progress
    from segverify.distributed.engine import _run, combine, local_cluster, plan

    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        one = read_flows([str(path)])
        times.append(time.perf_counter() - t)
    base = statistics.median(times)
    records = one.accounting.records
    print(f"file {path} {size / 1e9:.2f} GB, {records:,} records, {len(one.columns):,} flows")
    print(f"load average at start: {os.getloadavg()}")
    print(
        "| engine | workers | median s | GB/s | records/s | speed-up vs 1 worker | merge s "
        "(share) | peak RSS per worker MB | cluster start s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| one process (`read_flows`) | – | {base:.2f} | {size / base / 1e9:.2f} | "
        f"{records / base:,.0f} | – | – | – | – |"
    )
    results = {}
    for w in args.workers:
        t = time.perf_counter()
        cluster = local_cluster(w)
        client = Client(cluster)
        start = time.perf_counter() - t
        try:
            tasks = plan([str(path)], "fast", args.range_mb << 20, w)
            first = tasks[0][0]
            client.run(warm, first.path, first.start, min(first.stop, 8 << 20))  # numba cache
            walls, merges = [], []
            for _ in range(args.runs):
                bar = Progress(len(tasks[0]), False)
                t0 = time.perf_counter()
                parts = _run(client, tasks, "fast", 65536, bar)
                t1 = time.perf_counter()
                table = combine([str(path)], parts)
                t2 = time.perf_counter()
                walls.append(t2 - t0)
                merges.append(t2 - t1)
                assert table.accounting.as_dict() == one.accounting.as_dict()
                assert len(table.columns) == len(one.columns)
                del parts, table
            peaks = client.run(worker_peak_mb)
        finally:
            client.close()
            cluster.close()
        wall, merge = statistics.median(walls), statistics.median(merges)
        results[w] = wall
        speed = results[args.workers[0]] / wall
        peak = max(peaks.values())
        print(
            f"| dask ({len(tasks[0])} ranges) | {w} | {wall:.2f} | {size / wall / 1e9:.2f} | "
            f"{records / wall:,.0f} | {speed:.2f} | {merge:.3f} ({merge / wall:.1%}) | "
            f"{peak:.0f} | {start:.1f} |"
        )
    w1 = results[args.workers[0]] * args.workers[0]  # core-seconds per file on one worker
    rate = size / w1  # bytes per core-second
    print(f"\nper-core rate (1 worker): {rate / 1e6:.0f} MB/s, {records / w1:,.0f} records/s")
    print("Paper estimate, 5 TB of captures in a day (perfect scaling from the per-core rate):")
    for n in (8, 32, 128):
        print(f"  {n:4d} workers: {5 * TB / (rate * n) / 3600:.1f} h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
