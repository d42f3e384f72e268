"""Capture analysis benchmark: packets/s end to end (file → flows → findings) for the fast
backend, next to peers measured in the same run on the same file.

    .venv/bin/python benchmarks/gen_pcap.py                 # benchmarks/out/bench-1m.pcap
    .venv/bin/python benchmarks/bench_pcap.py --runs 5
    .venv/bin/python benchmarks/bench_pcap.py --memory-gb 2  # peak RSS on a 2 GB capture

End to end = read_flows() on the file, then every flow classified and evaluated with
segverify.checks.policy.PolicyEvaluator against topologies/alpha.yaml. Peers: tcpdump -r
FILE -w /dev/null (libpcap read floor), tshark -T fields (5 fields), dpkt (Ethernet → IP
→ ports loop), scapy PcapReader (on the first 100k packets). Medians of --runs runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
TOPOLOGY = ROOT / "topologies" / "alpha.yaml"
SCAPY_SLICE = 100_000


def end_to_end(path: str, chunk_records: int | None = None) -> tuple[int, int, int]:
    """(records, flows, forbidden flows) for one file, file → flows → verdicts."""
    from segverify.capture import read_flows
    from segverify.checks.policy import PolicyEvaluator
    from segverify.topology.loader import load_topology

    evaluator = PolicyEvaluator(load_topology(TOPOLOGY))
    kwargs = {"chunk_records": chunk_records} if chunk_records else {}
    table = read_flows([path], **kwargs)
    classify = evaluator.index.classify
    endpoints: dict[str, object] = {}
    forbidden = 0
    for f in table.flows:
        s = endpoints.get(f.src) or endpoints.setdefault(f.src, classify(f.src))
        d = endpoints.get(f.dst) or endpoints.setdefault(f.dst, classify(f.dst))
        if not evaluator.evaluate_endpoints(s, d, f.proto, f.dport, f.names).allowed:  # type: ignore[arg-type]
            forbidden += 1
    return table.accounting.records, len(table.flows), forbidden


def dpkt_loop(path: str) -> int:
    import dpkt

    n = 0
    with open(path, "rb") as fh:
        for _ts, buf in dpkt.pcap.Reader(fh):
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if isinstance(ip, (dpkt.ip.IP, dpkt.ip6.IP6)):
                l4 = ip.data
                if isinstance(l4, (dpkt.tcp.TCP, dpkt.udp.UDP)):
                    _ = (ip.src, ip.dst, l4.sport, l4.dport)
            n += 1
    return n


def scapy_loop(path: str, limit: int = SCAPY_SLICE) -> int:
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.utils import PcapReader

    n = 0
    with PcapReader(path) as reader:
        for pkt in reader:
            ip = pkt.getlayer(IP) or pkt.getlayer(IPv6)
            if ip is not None:
                l4 = pkt.getlayer(TCP) or pkt.getlayer(UDP)
                _ = (ip.src, ip.dst, l4.sport if l4 else None)
            n += 1
            if n >= limit:
                break
    return n


def timed(fn: Callable[[], int], runs: int) -> tuple[float, int]:
    times, n = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        n = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), n


def run_cmd(cmd: list[str]) -> Callable[[], int]:
    def go() -> int:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return 0

    return go


def peak_rss(path: str) -> tuple[float, float, int]:
    """(seconds, peak RSS in MB, records) of end_to_end(path) in a fresh process."""
    code = (
        "import json, resource, sys, time\n"
        f"sys.path.insert(0, {str(ROOT / 'benchmarks')!r})\n"
        "from bench_pcap import end_to_end\n"
        "t = time.perf_counter()\n"
        f"records, flows, forbidden = end_to_end({path!r})\n"
        "el = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps([el, rss, records]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    el, rss, records = json.loads(out.stdout.strip().splitlines()[-1])
    return el, rss, records


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--file", type=Path, default=OUT / "bench-1m.pcap")
    ap.add_argument("--runs", type=int, default=5, help="runs of the fast backend and tcpdump")
    ap.add_argument("--peer-runs", type=int, default=3, help="runs of tshark, dpkt, scapy")
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--memory-gb", type=float, default=0.0, help="also measure a capture this big")
    args = ap.parse_args(argv)
    path = str(args.file)
    if not args.file.exists():
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gen_pcap.py"), "--out", path],
                       check=True)  # fmt: skip
    end_to_end(path)  # warm-up: numba's cache, page cache
    rows: list[tuple[str, float, int]] = []
    t, (records, flows, forbidden) = _timed_e2e(path, args.runs)
    rows.append(("segverify fast, end to end", t, records))
    print(f"file {path}: {records:,} records, {flows:,} flows, {forbidden:,} forbidden")
    if not args.skip_peers:
        if shutil.which("tcpdump"):
            t, _ = timed(run_cmd(["tcpdump", "-r", path, "-w", "/dev/null"]), args.runs)
            rows.append(("tcpdump -r FILE -w /dev/null", t, records))
        if shutil.which("tshark"):
            fields = ["-e", "ip.src", "-e", "ip.dst", "-e", "ipv6.src", "-e", "tcp.srcport",
                      "-e", "udp.srcport"]  # fmt: skip
            cmd = ["tshark", "-n", "-r", path, "-T", "fields", *fields]
            t, _ = timed(run_cmd(cmd), args.peer_runs)
            rows.append(("tshark -T fields (5 fields)", t, records))
        t, n = timed(lambda: dpkt_loop(path), args.peer_runs)
        rows.append(("dpkt Ethernet→IP→ports", t, n))
        t, n = timed(lambda: scapy_loop(path), args.peer_runs)
        rows.append((f"scapy PcapReader ({n // 1000}k slice)", t, n))
    fast_rate = rows[0][2] / rows[0][1]
    print(f"{'reader':44} {'median s':>9} {'packets/s':>12} {'fast ÷ this':>12}")
    for name, t, n in rows:
        rate = n / t
        print(f"{name:44} {t:9.3f} {rate:12,.0f} {fast_rate / rate:12.2f}")
    if args.memory_gb:
        big = OUT / f"bench-{args.memory_gb:g}g.pcap"
        if not big.exists():
            subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gen_pcap.py"),
                            "--size-gb", str(args.memory_gb), "--out", str(big)], check=True)  # fmt: skip
        el, rss, n = peak_rss(str(big))
        size = big.stat().st_size / 1e9
        print(f"{big.name}: {size:.2f} GB, {n:,} records in {el:.1f} s "
              f"({n / el:,.0f} packets/s), peak RSS {rss:.0f} MB")  # fmt: skip
    return 0


def _timed_e2e(path: str, runs: int) -> tuple[float, tuple[int, int, int]]:
    times, result = [], (0, 0, 0)
    for _ in range(runs):
        t = time.perf_counter()
        result = end_to_end(path)
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


if __name__ == "__main__":
    sys.exit(main())
