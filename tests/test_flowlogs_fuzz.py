"""Untrusted input: every reader, fed mutated samples and random bytes, either reads the
file with balanced accounting or refuses it with an ``InputError``; never a traceback."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segverify.errors import InputError
from segverify.flowlogs import read_flow_log
from segverify.flowlogs.build import build_table
from segverify.flowlogs.netflow import read_datagrams
from segverify.flowlogs.registry import FORMATS

DATA = Path(__file__).parent / "data" / "flowlogs"
SAMPLES = sorted(DATA.iterdir())


def _check(path: Path, fmt: str) -> None:
    try:
        table = read_flow_log(str(path), fmt)
    except InputError as exc:
        assert exc.message and exc.file == str(path)
        return
    acct = table.accounting
    assert acct.balanced()
    assert acct.records == acct.analysed + acct.malformed + acct.truncated
    assert len(table.problems) >= acct.malformed
    for flow in table.flows:  # every flow is a complete object
        assert flow.packets >= 0 and flow.community_id.startswith("1:")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mutated_samples(tmp_path: Path, data: st.DataObject) -> None:
    sample = data.draw(st.sampled_from(SAMPLES))
    raw = bytearray(sample.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        op = data.draw(st.sampled_from(("flip", "cut", "insert")))
        if op == "flip" and raw:
            raw[at] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del raw[at : at + data.draw(st.integers(1, 40))]
        else:
            raw[at:at] = data.draw(
                st.sampled_from([b"\t", b",", b"=", b'"', b"\n", b"\x00", b"\xff", b"-1"])
            )
    path = tmp_path / "input"
    path.write_bytes(bytes(raw))
    for fmt in ("auto", *FORMATS):
        _check(path, fmt)


@settings(max_examples=80, deadline=None)
@given(blobs=st.lists(st.binary(max_size=300), max_size=6))
def test_random_export_datagrams(blobs: list[bytes]) -> None:
    table = build_table([read_datagrams(blobs)])
    assert table.accounting.balanced()


@settings(max_examples=80, deadline=None)
@given(
    version=st.sampled_from([9, 10]),
    set_id=st.integers(0, 300),
    body=st.binary(max_size=120),
)
def test_random_template_sets(version: int, set_id: int, body: bytes) -> None:
    """A template set followed by data: lengths, ids and field counts are all untrusted."""
    if version == 9:
        head = struct.pack("!HHIIII", 9, 2, 1000, 1775034000, 1, 0)
    else:
        head = struct.pack("!HHIII", 10, 16 + 4 + len(body) + 4, 1775034000, 1, 0)
    msg = head + struct.pack("!HH", set_id, 4 + len(body)) + body + struct.pack("!HH", 256, 4)
    if version == 10:
        msg = msg[:2] + struct.pack("!H", len(msg)) + msg[4:]
    table = build_table([read_datagrams([msg])])
    assert table.accounting.balanced()


@pytest.mark.parametrize("fmt", FORMATS)
def test_binary_junk_in_every_format(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "junk"
    path.write_bytes(bytes(range(256)) * 4)
    _check(path, fmt)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_zeek_column_reader_equals_line_reader_on_mutations(
    tmp_path: Path, data: st.DataObject
) -> None:
    pytest.importorskip("pyarrow", reason="the column-wise reader needs pyarrow")
    from segverify.flowlogs.zeek_conn import collect_tsv

    raw = bytearray((DATA / "zeek-conn-malformed.log").read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at : at + data.draw(st.integers(0, 3))] = data.draw(
            st.sampled_from(
                [b"\t", b"0", b"9", b".", b"-", b"\n", b"#", b"\r", b" ", b"\\x41", b"\xff", b":"]
            )
        )
    path = tmp_path / "conn.log"
    path.write_bytes(bytes(raw))
    results = []
    for columnar in (False, True):
        try:
            table = build_table([collect_tsv(str(path), columnar=columnar)])
            results.append((table.accounting.as_dict(), table.stats, table.problems, table.flows))
        except InputError as exc:
            results.append(str(exc))
    assert results[0] == results[1]
