"""`--engine dask`: a real distributed.LocalCluster (2 worker processes) gives exactly the
flow table one process gives, on captures with flows spanning files and on a large pcap
split into byte ranges; every record is counted once across ranges."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, TOPOLOGIES

from segverify.capture import read_flows
from segverify.capture.fast import read_range
from segverify.distributed.ranges import split_pcap
from segverify.flows.columns import COLUMN_NAMES
from segverify.flows.model import BUCKETS, FlowTable

distributed = pytest.importorskip("distributed", reason="needs segverify[dask] (distributed)")
sys.path.insert(0, str(REPO / "benchmarks"))
from gen_pcap import generate  # noqa: E402

from segverify.distributed.engine import read_flows_dask  # noqa: E402

CAP = REPO / "captures"
ALPHA = str(TOPOLOGIES / "alpha.yaml")
RANGE = 2 << 20  # ranges of 2 MB: the generated capture (about 12 MB) splits into 6


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    from segverify.distributed.engine import local_cluster

    cluster = local_cluster(2)  # a real LocalCluster: 2 worker processes, 1 thread each
    assert len(cluster.workers) == 2
    c = distributed.Client(cluster, timeout="60s")
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def records(data: bytes) -> list[bytes]:
    """The records of a little-endian microsecond pcap (header excluded)."""
    out, p = [], 24
    while p < len(data):
        caplen = struct.unpack_from("<I", data, p + 8)[0]
        out.append(data[p : p + 16 + caplen])
        p += 16 + caplen
    return out


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("dask")
    data = generate(32000, 1500, seed=3)
    big = d / "big.pcap"
    big.write_bytes(data)
    recs = records(data)
    half = len(recs) // 2  # every flow continues from the first file into the second
    (d / "part1.pcap").write_bytes(data[:24] + b"".join(recs[:half]))
    (d / "part2.pcap").write_bytes(data[:24] + b"".join(recs[half:]))
    bad = bytearray(data)
    cut = 24 + sum(len(r) for r in recs[: len(recs) * 2 // 3])
    bad[cut + 8 : cut + 12] = struct.pack("<I", 0x7FFFFFFF)  # an impossible captured length
    (d / "corrupt.pcap").write_bytes(bytes(bad))
    return {name: str(d / f"{name}.pcap") for name in ("big", "part1", "part2", "corrupt")}


def assert_same(a: FlowTable, b: FlowTable) -> None:
    ca, cb = a.columns, b.columns
    assert len(ca) == len(cb) > 0
    assert ca.files == cb.files
    for name in COLUMN_NAMES:
        assert np.array_equal(getattr(ca, name), getattr(cb, name)), name
    assert ca.names == cb.names
    assert ca.tunnels == cb.tunnels
    assert a.accounting.as_dict() == b.accounting.as_dict()


def test_large_file_splits_into_ranges_that_balance(captures: dict[str, str]) -> None:
    big = captures["big"]
    ranges = split_pcap(big, RANGE)
    assert len(ranges) >= 3
    whole = read_flows([big]).accounting
    total = {b: 0 for b in ("records", *BUCKETS)}
    for r in ranges:
        table, end = read_range(r.path, r.start, r.stop)
        assert end == r.stop  # each range ends exactly where the next begins
        acct = table.accounting
        assert acct.balanced() and not acct.cut_short
        for b in total:
            total[b] += getattr(acct, b)
    assert total == {b: getattr(whole, b) for b in total}
    assert ranges[0].start == 24 and ranges[-1].final
    assert all(a.stop == b.start for a, b in zip(ranges, ranges[1:], strict=False))


def test_dask_equals_one_process_on_ranges_and_files(
    client: object, captures: dict[str, str]
) -> None:
    paths = [
        str(CAP / "alpha-violations.pcap"),  # names, tunnels
        captures["part1"],
        str(CAP / "alpha-violations.pcapng"),  # pcapng: a whole-file task
        captures["part2"],  # flows of part1 continue here
        captures["big"],  # split into ranges
        str(CAP / "alpha-incomplete.pcap"),  # malformed and truncated records
        str(CAP / "hostile-names.pcap"),
    ]
    assert len(split_pcap(captures["big"], RANGE)) >= 3
    one = read_flows(paths)
    spread = read_flows_dask(paths, client=client, range_bytes=RANGE)
    assert_same(one, spread)
    # the files share flows: the merge joined them (fewer flows than the parts hold)
    part_flows = len(read_flows([captures["part1"]]).columns) + len(
        read_flows([captures["part2"]]).columns
    )
    assert len(read_flows([captures["part1"], captures["part2"]]).columns) < part_flows


def test_single_large_file_equals_one_process(client: object, captures: dict[str, str]) -> None:
    big = captures["big"]
    assert_same(read_flows([big]), read_flows_dask([big], client=client, range_bytes=RANGE))


def test_corrupt_record_in_a_range_reads_the_file_whole(
    client: object, captures: dict[str, str]
) -> None:
    """A corrupt record stops one process there; a range reader stopping early must not
    let the later ranges add records the one process never reads."""
    path = captures["corrupt"]
    one = read_flows([path])
    assert one.accounting.cut_short
    spread = read_flows_dask([path], client=client, range_bytes=RANGE)
    assert_same(one, spread)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_worker_progress_reaches_the_client(client: object, captures: dict[str, str]) -> None:
    out = Terminal()
    table = read_flows_dask(
        [captures["big"]], client=client, range_bytes=RANGE, progress=True, stream=out
    )
    lines = [line for line in out.getvalue().strip().split("\r") if line]
    tasks = len(split_pcap(captures["big"], RANGE))
    assert f"files {tasks}/{tasks}  records {table.accounting.records:,}" in lines[-1]
    # lines drawn before the end carry the records the workers reported as they read
    shown = [int(line.split("records ")[1].split()[0].replace(",", "")) for line in lines]
    assert any(n > 0 for n in shown[:-1])
    assert shown == sorted(shown)


def test_cli_engine_dask_equals_default(captures: dict[str, str]) -> None:
    base = [sys.executable, "-m", "segverify", "pcap", captures["part1"], captures["part2"],
            str(CAP / "alpha-violations.pcap"), "-t", ALPHA, "--format", "json", "--no-progress"]  # fmt: skip
    one = subprocess.run(base, capture_output=True, text=True, cwd=REPO, timeout=300)
    spread = subprocess.run(
        [*base, "--engine", "dask", "--workers", "2"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert spread.returncode == one.returncode == 1, spread.stderr
    a, b = json.loads(one.stdout), json.loads(spread.stdout)
    for doc in (a, b):
        doc.pop("generated", None)
        doc.pop("run", None)
    assert a["summary"] == b["summary"]
    assert a["findings"] == b["findings"]


def test_default_path_does_not_import_dask() -> None:
    code = (
        "import sys; from segverify.cli.pcap_cmd import analyse; "
        f"analyse(({str(CAP / 'alpha-violations.pcap')!r},), {ALPHA!r}); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'dask', 'distributed'}))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_unreachable_scheduler_is_one_line_exit_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "segverify", "pcap", str(CAP / "alpha-clean.pcap"), "-t", ALPHA,
         "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9", "--no-progress"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "tcp://127.0.0.1:9" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_compressed_pcapng_and_other_backends_are_whole_file_tasks(
    client: object, captures: dict[str, str], tmp_path: Path
) -> None:
    import gzip

    from segverify.distributed.engine import plan

    gz = tmp_path / "big.pcap.gz"
    gz.write_bytes(gzip.compress(Path(captures["big"]).read_bytes(), compresslevel=1))
    ng = str(CAP / "alpha-violations.pcapng")
    tasks = plan([str(gz), ng, captures["big"]], "fast", RANGE, 2)
    assert [len(t) for t in tasks[:2]] == [1, 1] and tasks[0][0].stop == -1
    assert len(tasks[2]) >= 3
    assert all(len(t) == 1 for t in plan([captures["big"]], "scapy", RANGE, 2))
    paths = [str(CAP / "alpha-violations.pcap"), ng]
    assert_same(
        read_flows(paths, backend="scapy"),
        read_flows_dask(paths, client=client, backend="scapy", range_bytes=RANGE),
    )


def test_local_cluster_listens_on_loopback_only(client: object) -> None:
    import psutil

    procs = [psutil.Process(), *psutil.Process().children(recursive=True)]
    listening = [
        c.laddr.ip
        for p in procs
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert listening  # the scheduler and both workers listen somewhere
    assert set(listening) == {"127.0.0.1"}, listening


def tcp_record(ts: int, src: bytes, dst: bytes, sport: int, dport: int, flags: int) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 1, 0x50, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH", 0x45, 0, 40, 1, 0x4000, 64, 6, 0) + src + dst
    frame = bytes.fromhex("020000000001020000000002") + b"\x08\x00" + ip + tcp
    frame += bytes(60 - len(frame))
    return struct.pack("<IIII", ts, 0, len(frame), len(frame)) + frame


def test_flow_oriented_by_a_syn_in_a_later_range(client: object, tmp_path: Path) -> None:
    """A flow first seen midstream (an ACK, both ports high) whose pure SYN, from the other
    side, comes ranges later: one process orients it by that SYN; so must the ranges,
    though the first range alone saw only the ACK."""
    a, b = bytes([203, 0, 113, 250]), bytes([198, 51, 100, 7])
    filler = generate(20000, 800, seed=5)
    data = (
        filler[:24]
        + tcp_record(1_699_999_990, a, b, 40000, 50000, 0x10)
        + filler[24:]
        + tcp_record(1_700_000_100, b, a, 50000, 40000, 0x02)
        + tcp_record(1_700_000_101, a, b, 40000, 50000, 0x12)
    )
    path = tmp_path / "late-syn.pcap"
    path.write_bytes(data)
    ranges = split_pcap(str(path), RANGE)
    assert len(ranges) >= 3

    def src_of(table: FlowTable) -> str:
        cols = table.columns
        row = next(i for i in range(len(cols)) if 40000 in (cols.sport[i], cols.dport[i]))
        return cols.src_text(row)

    first_range, _ = read_range(str(path), ranges[0].start, ranges[0].stop)
    assert src_of(first_range) == "203.0.113.250"  # the first range alone: the ACK's sender
    one = read_flows([str(path)])
    assert src_of(one) == "198.51.100.7"  # the whole file: the sender of the SYN
    assert_same(one, read_flows_dask([str(path)], client=client, range_bytes=RANGE))
