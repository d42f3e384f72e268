"""Flow-log and Parquet benchmark: a generated Zeek conn.log read into a flow table,
the table written as Parquet, and DuckDB queries over the file; peers in the same run.

    .venv/bin/python benchmarks/bench_flowlogs.py --rows 200000 --runs 3

Measured (medians of --runs): segverify's conn.log reader (``read_flow_log``: parse,
aggregate per 5-tuple, columnar table), column-wise (pyarrow) and line by line; DuckDB's ``read_csv`` of the same TSV (peer: a
C++ CSV reader, no flow semantics); ``write_parquet`` of the table; ``read_parquet`` back
to a flow table; a DuckDB query over the Parquet file (flows and bytes per state and protocol of the
unanswered or completed flows) and the same query with pyarrow.compute over the table
already in memory (peer; no file read).
The conn.log is written to benchmarks/out/ from a fixed seed: addresses in
topologies/alpha.yaml's zones, TEST-NET servers, 1 in 10 rows a repeat of a 5-tuple.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\t"
    "orig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\t"
    "orig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\t"
    "bool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n"
)


def generate(path: Path, rows: int, seed: int = 12) -> None:
    rnd = random.Random(seed)
    nets = [
        "198.18.10",
        "198.18.20",
        "198.18.30",
        "198.19.100",
        "203.0.113",
        "198.51.100",
        "192.0.2",
    ]
    states = [("SF", "ShADadFf"), ("S0", "S"), ("REJ", "Sr"), ("S1", "ShAD"), ("RSTO", "ShADR")]
    last = None
    with path.open("w") as out:
        out.write(HEADER)
        for i in range(rows):
            if last is not None and rnd.random() < 0.1:
                src, sport, dst, dport, proto = last
            else:
                src = f"{rnd.choice(nets[:3])}.{rnd.randrange(1, 255)}"
                dst = f"{rnd.choice(nets)}.{rnd.randrange(1, 255)}"
                proto = rnd.choice(("tcp", "tcp", "tcp", "udp"))
                sport, dport = rnd.randrange(1024, 65536), rnd.choice((53, 80, 443, 445, 3389, 25))
                last = (src, sport, dst, dport, proto)
            state, hist = rnd.choice(states) if proto == "tcp" else ("SF", "Dd")
            op, rp = rnd.randrange(1, 40), (0 if state == "S0" else rnd.randrange(1, 40))
            out.write(
                f"{1775034000 + i * 0.01:.6f}\tC{i}\t{src}\t{sport}\t{dst}\t{dport}\t{proto}\t-\t"
                f"{rnd.random():.6f}\t{op * 100}\t{rp * 100}\t{state}\tT\tF\t0\t{hist}\t{op}\t"
                f"{op * 140}\t{rp}\t{rp * 140}\t-\n"
            )


def median_time(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import duckdb
    import pyarrow.compute as pc

    from segverify.flowlogs import read_flow_log
    from segverify.flowlogs.parquet import read_parquet, to_arrow, write_parquet

    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / f"conn-{args.rows}.log"
    if not log.is_file():
        generate(log, args.rows)
    parquet = OUT / f"flows-{args.rows}.parquet"
    rows = []

    t_read, table = median_time(lambda: read_flow_log(str(log)), args.runs)
    flows = len(table)  # type: ignore[arg-type]
    rows.append(
        ("segverify read_flow_log (conn.log → flow table)", t_read, args.rows / t_read, "rows/s")
    )
    from segverify.flowlogs.build import build_table
    from segverify.flowlogs.zeek_conn import collect_tsv

    t_lines, _ = median_time(
        lambda: build_table([collect_tsv(str(log), columnar=False)]), args.runs
    )
    rows.append(("the same, line reader only (no pyarrow)", t_lines, args.rows / t_lines, "rows/s"))
    con = duckdb.connect()
    t_duck_csv, _ = median_time(
        lambda: con.execute(
            f"SELECT count(*) FROM read_csv('{log}', delim='\\t', comment='#', header=false)"
        ).fetchone(),
        args.runs,
    )
    rows.append(
        (
            "DuckDB read_csv of the same TSV (count only)",
            t_duck_csv,
            args.rows / t_duck_csv,
            "rows/s",
        )
    )
    t_write, _ = median_time(lambda: write_parquet(table, str(parquet)), args.runs)  # type: ignore[arg-type]
    rows.append(("write_parquet (flow table → file)", t_write, flows / t_write, "flows/s"))
    t_back, _ = median_time(lambda: read_parquet(str(parquet)), args.runs)
    rows.append(("read_parquet (file → flow table)", t_back, flows / t_back, "flows/s"))
    query = (
        "SELECT conn_state, proto, sum(bytes_fwd + bytes_rev) AS b, count(*) AS n "
        f"FROM read_parquet('{parquet}') WHERE NOT answered OR conn_state = 'SF' GROUP BY ALL"
    )
    t_q, result = median_time(lambda: con.execute(query).fetchall(), args.runs)
    rows.append(("DuckDB query over the Parquet file", t_q, flows / t_q, "flows/s"))
    arrow = to_arrow(table)  # type: ignore[arg-type]

    def arrow_query() -> object:
        state = arrow["conn_state"].cast("string")
        t = arrow.filter(pc.or_(pc.invert(arrow["answered"]), pc.equal(state, "SF")))
        t = t.set_column(
            t.schema.get_field_index("conn_state"), "conn_state", t["conn_state"].cast("string")
        )
        return t.group_by(["conn_state", "proto"]).aggregate(
            [("bytes_fwd", "sum"), ("bytes_rev", "sum"), ("row", "count")]
        )

    t_arrow, _ = median_time(arrow_query, args.runs)
    rows.append(
        ("pyarrow.compute filter + group (in memory, peer)", t_arrow, flows / t_arrow, "flows/s")
    )
    size = parquet.stat().st_size
    print(
        f"{args.rows:,} conn.log rows ({log.stat().st_size / 1e6:.1f} MB) → {flows:,} flows; "
        f"Parquet {size / 1e6:.2f} MB; query groups: {len(result)}; medians of {args.runs} runs"
    )  # type: ignore[arg-type]
    print("| step | median s | rate |")
    print("|---|---:|---:|")
    for name, t, rate, unit in rows:
        print(f"| {name} | {t:.3f} | {rate:,.0f} {unit} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
