"""Walks run ahead: over a mapped file with compiled loops, the fast reader walks the next
window in a worker thread while the reading thread aggregates the last one (two row
arrays between them). The table, names and accounting are those of the one-thread plain
read on many small chunks, pcapng sections and a corrupt record included; an error on
either side ends the read with that error and leaves no thread behind; and the compiled
entry points (numba's JIT and the module built ahead of time) do let the GIL go."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_capture_kernels import _everything, _many_flows_pcap
from test_capture_readers import epb, idb, pcap_bytes, shb, tcp, write

from segverify.capture import fast
from segverify.capture.fast import FileReader, read_file
from segverify.capture.source import MappedWindow
from segverify.capture.walk import walk_pcap
from segverify.flows.ingest import FlowIngest
from segverify.jit import PLAIN, Kernels, jitted

WORKER = "segverify-walk"


@pytest.fixture(params=["jit", "aot"])
def compiled(request: pytest.FixtureRequest, aot_kernels: Kernels) -> Kernels:
    return jitted() if request.param == "jit" else aot_kernels


@pytest.fixture
def walk_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the threads the walks of each read ran in."""
    seen: list[str] = []
    for name in ("_read_pcap", "_read_pcapng"):
        original = getattr(FileReader, name)

        def recording(self: FileReader, *args: Any, _original: Any = original) -> Iterator[Any]:
            seen.append(threading.current_thread().name)
            yield from _original(self, *args)

        monkeypatch.setattr(FileReader, name, recording)
    return seen


def _no_worker_left() -> bool:
    return not any(t.name == WORKER for t in threading.enumerate())


def test_walks_run_ahead_and_give_the_plain_table(
    tmp_path: Path, compiled: Kernels, walk_threads: list[str]
) -> None:
    path = _many_flows_pcap(tmp_path, 4000)
    ahead = _everything(read_file(path, chunk_records=97, kernels=compiled))
    plain = _everything(read_file(path, chunk_records=97, kernels=PLAIN))
    assert walk_threads == [WORKER, threading.current_thread().name]
    assert ahead == plain
    assert ahead[1]["records"] == 4000
    assert _no_worker_left()


def test_small_windows_released_behind_and_mapped_ahead(
    tmp_path: Path, compiled: Kernels, walk_threads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many window fills, pages released behind the aggregation (never behind a chunk
    still waiting for it) and mapped ahead by the reading thread: the plain table."""
    path = _many_flows_pcap(tmp_path, 4000)
    monkeypatch.setattr(fast, "WINDOW_BYTES", 3 * 4096)
    monkeypatch.setattr(MappedWindow, "RELEASE_STEP", 4096)
    released: list[tuple[int, int]] = []
    fill = MappedWindow.fill

    def recording(self: MappedWindow) -> bool:
        before = self._released
        out = fill(self)
        if self._released != before:
            released.append((self._released, self.held if self.held is not None else -1))
        return out

    monkeypatch.setattr(MappedWindow, "fill", recording)
    ahead = _everything(read_file(path, chunk_records=97, kernels=compiled))
    assert walk_threads == [WORKER]
    assert len(released) > 10
    assert all(edge <= held for edge, held in released)  # nothing released past ``held``
    assert ahead == _everything(read_file(path, chunk_records=97, kernels=PLAIN))


def test_pcapng_sections_and_interfaces_between_chunks(
    tmp_path: Path, compiled: Kernels, walk_threads: list[str]
) -> None:
    """Section headers and interface blocks (handled in Python by the walking thread)
    between many chunks: the same table as the one-thread plain read."""
    data = b""
    for section in range(3):
        data += shb() + idb(1) + idb(1, tsresol=9)
        for i in range(300):
            frame = tcp(f"198.18.{section}.{1 + i % 200}", "203.0.113.9", 1024 + i, 443, "S")
            data += epb(i % 2, (1_700_000_000 + i) * 10**6, frame)
    path = write(tmp_path, "sections.pcapng", data)
    ahead = _everything(read_file(path, chunk_records=13, kernels=compiled))
    assert walk_threads == [WORKER]
    assert ahead == _everything(read_file(path, chunk_records=13, kernels=PLAIN))
    assert ahead[1]["records"] == 900


def test_a_corrupt_record_mid_file_is_reported_alike(tmp_path: Path, compiled: Kernels) -> None:
    frames = [tcp("198.18.10.5", "203.0.113.9", 1024 + i, 443, "S") for i in range(500)]
    data = bytearray(pcap_bytes(frames))
    rec = 16 + len(frames[0])
    at = 24 + 321 * rec  # record 322's captured length: impossible
    data[at + 8 : at + 12] = (1 << 30).to_bytes(4, "little")
    path = write(tmp_path, "corrupt.pcap", bytes(data))
    ahead = _everything(read_file(path, chunk_records=50, kernels=compiled))
    plain = _everything(read_file(path, chunk_records=50, kernels=PLAIN))
    assert ahead == plain
    assert ahead[1]["records"] == 321 and ahead[1]["cut_short"]


def test_an_error_while_aggregating_stops_the_walks(
    tmp_path: Path, compiled: Kernels, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _many_flows_pcap(tmp_path, 4000)
    calls: list[int] = []
    add = FlowIngest.add

    def failing(self: FlowIngest, rows: np.ndarray, n: int, buf: Any) -> None:
        calls.append(n)
        if len(calls) == 3:
            raise RuntimeError("aggregation failed")
        add(self, rows, n, buf)

    monkeypatch.setattr(FlowIngest, "add", failing)
    with pytest.raises(RuntimeError, match="aggregation failed"):
        read_file(path, chunk_records=97, kernels=compiled)
    assert len(calls) == 3
    assert _no_worker_left()


def test_an_error_while_walking_reaches_the_reader(
    tmp_path: Path, compiled: Kernels, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _many_flows_pcap(tmp_path, 4000)
    walks: list[int] = []
    rows_per_walk = FileReader._rows_per_walk

    def failing(self: FileReader) -> int:
        walks.append(1)
        if len(walks) == 5:
            raise OSError("device gone")
        return rows_per_walk(self)

    monkeypatch.setattr(FileReader, "_rows_per_walk", failing)
    with pytest.raises(OSError, match="device gone"):
        read_file(path, chunk_records=97, kernels=compiled)
    assert _no_worker_left()


def test_a_plain_read_stays_in_one_thread(tmp_path: Path, walk_threads: list[str]) -> None:
    read_file(_many_flows_pcap(tmp_path, 400), chunk_records=50, kernels=PLAIN)
    assert walk_threads == [threading.current_thread().name]


def test_compiled_walks_let_the_gil_go(tmp_path: Path, compiled: Kernels) -> None:
    """A thread inside a compiled walk does not hold the GIL: with forced switches off
    (a switch interval of 1000 s), the main thread runs while the walk runs. Were the GIL
    held, the main thread would only run again once the walking thread had left the walk
    (and reset ``inside``) and ended."""
    frame = tcp("198.18.10.5", "203.0.113.9", 1024, 443, "S")
    one = pcap_bytes([frame])
    buf = np.frombuffer(one + one[24:] * 99_999, dtype=np.uint8)  # 100,000 records
    rows = np.zeros((len(buf) // (16 + len(frame)), fast.NCOL), dtype=np.int64)
    walk = compiled(walk_pcap)
    state = {"inside": False, "seen": 0}

    def run() -> None:
        state["inside"] = True
        for _ in range(20):
            walk(buf, 24, len(buf), False, False, 16, 1 << 18, 1, rows, 0, len(rows))
        state["inside"] = False

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        worker = threading.Thread(target=run)
        worker.start()
        while worker.is_alive():
            if state["inside"]:
                state["seen"] += 1
            worker.join(0.001)  # waits without the GIL
    finally:
        sys.setswitchinterval(interval)
    assert state["seen"] > 0
