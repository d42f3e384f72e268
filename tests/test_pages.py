"""segverify.pages: populating an array's pages ahead of use (MADV_POPULATE_WRITE) keeps
its contents, spares the writer the page faults, and stays inside the array; the flow
table's rows are populated ahead of the flows without changing the table."""

from __future__ import annotations

import resource

import numpy as np
import pytest

from segverify.flows.aggregate import FlowState
from segverify.pages import Populator

MB = 1 << 20


def _faults_writing(array: np.ndarray) -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    array[:] = 1
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_populated_pages_keep_their_contents() -> None:
    data = np.arange(4 * MB // 8, dtype=np.int64)
    want = data.copy()
    populator = Populator()
    populator.populate(data, 0, data.nbytes)
    populator.populate(data, 12_345, 3 * MB + 7)  # unaligned ends: whole pages inside only
    assert np.array_equal(data, want)


def test_populated_pages_spare_the_writer_its_faults() -> None:
    populator = Populator()
    cold = np.empty(64 * MB // 8, dtype=np.int64)
    warm = np.empty(64 * MB // 8, dtype=np.int64)
    populator.populate(warm, 0, warm.nbytes)
    if not populator.works:
        pytest.skip("MADV_POPULATE_WRITE refused (Linux before 5.14?)")
    cold_faults, warm_faults = _faults_writing(cold), _faults_writing(warm)
    assert warm_faults * 4 < cold_faults


def test_flow_rows_are_populated_ahead_without_changing_them() -> None:
    state = FlowState(capacity=16)
    state.expect(1 << 16)
    state.keys[:10] = 7
    state.nflows = 10
    populator = Populator()
    state.populate_ahead(populator, 1000)
    assert state.populated == 1010 or not populator.works
    assert (state.keys[:10] == 7).all()
    state.populate_ahead(populator, 1000)  # nothing new to do
    state.expect(1 << 17)  # grown: new arrays, populated again from their start
    state.populate_ahead(populator, 10)
    assert state.populated_of is state.keys and state.populated == 20 or not populator.works
