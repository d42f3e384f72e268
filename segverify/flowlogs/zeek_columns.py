"""Zeek ASCII conn.log read column-wise: pyarrow's CSV reader, checks as array operations.

Used for the common layout only (``#`` headers, data lines, ``#`` trailer such as
``#close``; no carriage return, no ``#`` line or ``vlan`` field in between); otherwise the
line reader in ``zeek_conn`` reads the file. The results are the line reader's exactly:
a row is taken here only when every field it needs passes a conservative check (an
address ``ipaddress`` accepts, ASCII digits for ports and counts, a plain decimal time and
duration, no ``\\x`` escape in the state); every other row — wrong field count, blank,
odd value — is cut from the file by its line number and handed to the line reader's own
code, so its message, line number and bucket are the same.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from segverify.flowlogs.records import LIMIT_NS, Collector, RecordBlock, canonical_address
from segverify.flowlogs.zeek_conn import ANSWERED, PROTOS, Header, any_line
from segverify.flows.columns import split_address
from segverify.flows.state import CONN_STATES

DIGITS = r"^[0-9]{1,18}$"
PORT = r"^[0-9]{1,5}$"
DECIMAL = r"^[0-9]{1,12}(\.[0-9]*)?$"
MAX_SECONDS = LIMIT_NS // 1_000_000_000 - 1


def _split_layout(data: bytes) -> tuple[list[bytes], bytes, list[bytes]] | None:
    """(header lines, data block, trailer lines), or None when the layout is not the
    common one."""
    if b"\r" in data:
        return None
    head: list[bytes] = []
    pos = 0
    while pos < len(data) and data.startswith(b"#", pos):
        end = data.find(b"\n", pos)
        if end < 0:
            return None
        head.append(data[pos:end])
        pos = end + 1
    trailer_at = data.find(b"\n#", pos - 1 if pos else 0)
    if trailer_at < 0:
        block, tail = data[pos:], b""
    else:
        block, tail = data[pos : trailer_at + 1], data[trailer_at + 1 :]
    trailer = tail.split(b"\n")
    if trailer and trailer[-1] == b"":
        trailer.pop()
    if any(not t.startswith(b"#") for t in trailer):
        return None
    return head, block, trailer


def _match(array: Any, pattern: str) -> np.ndarray:
    import pyarrow.compute as pc

    got = pc.match_substring_regex(array, pattern)
    return np.asarray(got.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _ints(array: Any, ok: np.ndarray) -> np.ndarray:
    """Integers of the rows in ``ok`` (ASCII digits there), 0 elsewhere."""
    import pyarrow as pa
    import pyarrow.compute as pc

    safe = pc.if_else(pa.array(ok), array, "0").fill_null("0")
    return np.asarray(pc.cast(safe, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def _strings(array: Any) -> tuple[list[Any], np.ndarray]:
    """(distinct values, index per row) of a string column (null is a value)."""
    encoded = array.dictionary_encode()
    values = encoded.dictionary.to_pylist()
    index = encoded.indices.fill_null(len(values)).to_numpy(zero_copy_only=False)
    return [*values, None], np.asarray(index, dtype=np.int64)


def _times(array: Any, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``seconds[.fraction]`` text → ns, exactly as the line reader computes it (the
    fraction's first nine digits, zero-padded), and where it is certainly in range."""
    import pyarrow as pa
    import pyarrow.compute as pc

    safe = pc.if_else(pa.array(ok), array, "0").fill_null("0")
    parts = pc.extract_regex(safe, r"^(?P<w>[0-9]+)(?:\.(?P<f>[0-9]*))?$")
    whole = pc.cast(pc.struct_field(parts, "w"), pa.int64())
    frac = pc.struct_field(parts, "f").fill_null("")
    frac9 = pc.utf8_slice_codeunits(pc.utf8_rpad(frac, 9, "0"), 0, 9)
    ns = np.asarray(pc.cast(frac9, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    seconds = np.asarray(whole.to_numpy(zero_copy_only=False), dtype=np.int64)
    fits = seconds <= MAX_SECONDS  # then the time is below LIMIT_NS whatever the fraction
    return np.where(fits, seconds, 0) * 1_000_000_000 + ns, fits


def _split(texts: list[str | None]) -> np.ndarray:
    """(version, hi, lo) rows of canonical addresses (zeros for None)."""
    out = np.zeros((len(texts), 3), dtype=np.uint64)
    for i, text in enumerate(texts):
        if text is not None:
            out[i] = split_address(text)
    return out


def collect_columnar(path: str, data: bytes) -> Collector | None:
    """The conn.log ``data`` read column-wise, or None when the line reader must read it."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pcsv
    except ImportError:
        return None
    layout = _split_layout(data)
    if layout is None:
        return None
    head, block, trailer = layout
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        return None  # the line reader replaces the bad bytes; pyarrow would refuse them
    col = Collector(path, "zeek-tsv")
    header = Header(path)
    for lineno, raw in enumerate(head, 1):
        any_line(col, header, lineno, raw.decode("utf-8", "replace"))
    fields, sep = header.fields, header.sep
    if not fields or len(sep) != 1 or "vlan" in fields or len(set(fields)) != len(fields):
        return None
    first_line = len(head) + 1
    newlines = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
    nlines = len(newlines) + (1 if block and not block.endswith(b"\n") else 0)
    starts = np.concatenate(([0], newlines + 1))[:nlines]
    ends = np.concatenate((newlines, [len(block)]))[:nlines]

    def line_text(i: int) -> str:  # i: 0-based line of the block
        return block[starts[i] : ends[i]].decode("utf-8", "replace")

    skipped: list[int] = []

    def invalid(row: Any) -> str:
        skipped.append(-1 if row.number is None else row.number - 1)
        return "skip"

    used = [name for name, _ in header.used]
    try:
        table = pcsv.read_csv(
            io.BytesIO(block),
            read_options=pcsv.ReadOptions(column_names=fields, use_threads=False),
            parse_options=pcsv.ParseOptions(
                delimiter=sep, quote_char=False, escape_char=False, double_quote=False,
                newlines_in_values=False, ignore_empty_lines=False, invalid_row_handler=invalid,
            ),
            convert_options=pcsv.ConvertOptions(
                column_types={f: pa.string() for f in fields}, include_columns=used,
                null_values=[header.unset], strings_can_be_null=True,
            ),
        )  # fmt: skip
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    if -1 in skipped or table.num_rows + len(skipped) != nlines:
        return None
    taken = np.ones(nlines, dtype=bool)
    taken[skipped] = False
    row_line = np.flatnonzero(taken)  # block line of each parsed row
    c = {name: table[name].combine_chunks() for name in used}
    # the checks; a row failing any goes to the line reader
    src_vals, src_at = _strings(c["id.orig_h"])
    dst_vals, dst_at = _strings(c["id.resp_h"])
    src_text = [None if v is None else canonical_address(v) for v in src_vals]
    dst_text = [None if v is None else canonical_address(v) for v in dst_vals]
    src_ok = np.array([t is not None for t in src_text], dtype=bool)[src_at]
    dst_ok = np.array([t is not None for t in dst_text], dtype=bool)[dst_at]
    proto_vals, proto_at = _strings(c["proto"])
    proto_code = np.array([PROTOS.get(v, 0) if isinstance(v, str) else 0 for v in proto_vals])[
        proto_at
    ]
    ok = src_ok & dst_ok & (proto_code > 0)
    ports = {}
    for name in ("id.orig_p", "id.resp_p"):
        good = _match(c[name], PORT)
        ports[name] = _ints(c[name], good)
        ok &= good & (ports[name] <= 65535)
    ts_ok = _match(c["ts"], DECIMAL)
    ok &= ts_ok
    dur = c["duration"] if "duration" in c else pa.nulls(table.num_rows, pa.string())
    dur_null = np.asarray(dur.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    dur_blank = np.asarray(
        pc.is_in(dur, pa.array(["", header.empty])).fill_null(False).to_numpy(zero_copy_only=False),
        dtype=bool,
    )
    dur_num = _match(dur, DECIMAL)
    ok &= dur_null | dur_blank | dur_num
    counts = {}
    for name in ("orig_pkts", "resp_pkts", "orig_ip_bytes", "resp_ip_bytes"):
        if name not in c:
            counts[name] = np.zeros(table.num_rows, dtype=np.int64)
            continue
        null = np.asarray(c[name].is_null().to_numpy(zero_copy_only=False), dtype=bool)
        dash = np.asarray(
            pc.equal(c[name], "-").fill_null(False).to_numpy(zero_copy_only=False), dtype=bool
        )
        good = _match(c[name], DIGITS)
        ok &= null | dash | good
        counts[name] = _ints(c[name], good)
    if "conn_state" in c:
        state_vals, state_at = _strings(c["conn_state"])
    else:
        state_vals, state_at = [None], np.zeros(table.num_rows, dtype=np.int64)
    words = []
    state_ok = []
    for v in state_vals:
        word = "" if v is None or v in (header.empty, "-", "(empty)") else v
        words.append(word)
        state_ok.append("\\x" not in word)
    ok &= np.array(state_ok, dtype=bool)[state_at]
    # rows taken here
    first, fits = _times(c["ts"], ts_ok)
    ok &= fits
    seconds = np.zeros(table.num_rows, dtype=np.float64)
    if dur_num.any():
        text = pc.if_else(pa.array(dur_num), dur, "0").fill_null("0")
        seconds = np.asarray(pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False))
    scaled = np.where(dur_num, seconds, 0.0) * 1e9
    ok &= scaled < LIMIT_NS  # the line reader refuses longer durations
    duration = np.rint(np.where(scaled < LIMIT_NS, scaled, 0.0)).astype(np.int64)
    ok &= first + duration < LIMIT_NS  # and a flow ending past the limit
    rows = np.flatnonzero(ok)
    src = _split(src_text)[src_at[rows]]
    dst = _split(dst_text)[dst_at[rows]]
    proto = proto_code[rows]
    proto = np.where((proto == 1) & (src[:, 0] == 6), 58, proto)
    word_of = np.empty(len(words), dtype=object)
    word_of[:] = words
    given_of = np.array(
        [CONN_STATES.index(w) if w in ANSWERED else -1 for w in words], dtype=np.int16
    )
    said_of = np.array(
        [-1 if ANSWERED.get(w) is None else int(bool(ANSWERED[w])) for w in words], dtype=np.int8
    )
    col.blocks.append(
        RecordBlock(
            ver=src[:, 0].astype(np.uint8), src_hi=src[:, 1], src_lo=src[:, 2],
            dst_hi=dst[:, 1], dst_lo=dst[:, 2], proto=proto,
            sport=ports["id.orig_p"][rows], dport=ports["id.resp_p"][rows],
            packets_fwd=counts["orig_pkts"][rows], bytes_fwd=counts["orig_ip_bytes"][rows],
            packets_rev=counts["resp_pkts"][rows], bytes_rev=counts["resp_ip_bytes"][rows],
            first_ns=first[rows], last_ns=first[rows] + duration[rows],
            where=row_line[rows] + first_line,
            given=given_of[state_at[rows]], said=said_of[state_at[rows]],
            state=word_of[state_at[rows]],
        )
    )  # fmt: skip
    # every other line of the block, in order, through the line reader's own code
    others = sorted([*skipped, *row_line[~ok].tolist()])
    col.stats.lines += nlines - len(others)
    for i in others:
        any_line(col, header, first_line + i, line_text(i))
    for k, raw in enumerate(trailer):
        any_line(col, header, first_line + nlines + k, raw.decode("utf-8", "replace"))
    return col
