"""The one flow builder: decoded rows (the column layout of ``flows/rows.py``) of one
file, chunk by chunk, into a flow table with its accounting.

Every backend ends here: the fast backend hands over the rows its compiled walk wrote
(payloads still in its read window); the scapy and pyshark decoders write the same rows
from their own decoding (:class:`RowWriter`). Accounting, fragments, aggregation,
orientation, name evidence (bounds in ``flows/evidence.py``), TCP reassembly for names,
tunnel evidence and the columns are therefore the same whatever decoded the packets.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Sequence

import numpy as np

from segverify.flows.aggregate import CAND_NAMES, CAND_REASM, S_REASM, FlowState
from segverify.flows.build import AddressText, build_columns, packed_address
from segverify.flows.evidence import (
    MAX_DNS_QUESTIONS,
    MAX_FLOW_NAMES,
    MAX_NAME_PAYLOADS,
    REASM_SEGMENTS,
    extract_names,
    may_carry_name,
    reassemble,
)
from segverify.flows.model import BUCKETS, Accounting, FlowTable
from segverify.flows.rows import (
    BUCKET,
    BUCKET_ANALYSED,
    BUCKET_PENDING,
    CAND,
    DPORT,
    DST_HI,
    DST_LO,
    FLAGS,
    FLOW,
    FRAG,
    FRAG_FIRST,
    FRAG_LATER,
    FRAG_NONE,
    FRAME,
    IPID,
    NCOL,
    PAY_LEN,
    PAY_OFF,
    PROTO,
    SPORT,
    SRC_HI,
    SRC_LO,
    T1TYPE,
    TDEPTH,
    TS,
    TUNNEL_NAMES,
    VER,
    VLAN,
    WIRELEN,
)
from segverify.jit import Kernels, for_path, kernel

TUNNEL_CODES = {name: code for code, name in TUNNEL_NAMES.items()}


@kernel(exports=("UniTuple(int64, 2)(int64[:, ::1], int64, int64[::1])",))
def summarise(rows, n, counts):  # type: ignore[no-untyped-def]
    """Bucket counts of rows[:n] into ``counts``; returns (fragment rows, tunnelled rows)."""
    nfrag = 0
    ntun = 0
    for i in range(n):
        b = rows[i, BUCKET]
        counts[b] += 1
        if b == BUCKET_ANALYSED:
            if rows[i, FRAG] != 0:
                nfrag += 1
            if rows[i, TDEPTH] != 0:
                ntun += 1
    return nfrag, ntun


class FlowIngest:
    """Builds the flow table of one file from chunks of decoded rows."""

    def __init__(self, path: str, chunk_records: int, kernels: Kernels | None = None) -> None:
        self.path = path
        self.kernels = for_path(path) if kernels is None else kernels
        self.cand = np.zeros((max(1, chunk_records), 3), dtype=np.int64)
        self.counts = np.zeros(10, dtype=np.int64)
        self.state = FlowState(self.kernels)
        self.acct = Accounting(files=1)
        self.names: dict[int, list[str]] = {}
        self.tunnels: dict[int, list[str]] = {}
        self.first_fragments: dict[tuple[int, ...], tuple[int, int]] = {}
        self.pending: list[np.ndarray] = []
        # (flow, direction) → [(sequence number, payload)] and the flow's ports
        self.segments: dict[tuple[int, int], list[tuple[int, bytes]]] = {}
        self.seg_ports: dict[int, tuple[int, int]] = {}
        self.reasm_done: set[tuple[int, int]] = set()  # directions whose name was found
        self.text = AddressText()

    def use(self, kernels: Kernels) -> None:
        """Run the loops of the chunks still to come with ``kernels``."""
        self.kernels = kernels
        self.state.kernels = kernels

    def add(self, rows: np.ndarray, n: int, buf: np.ndarray | bytes | bytearray) -> None:
        """Aggregate ``rows[:n]``; payload offsets (``PAY_OFF``) index ``buf``."""
        if n == 0:
            return
        if len(self.cand) < n:
            self.cand = np.zeros((n, 3), dtype=np.int64)
        self.counts[:] = 0
        nfrag, ntun = self.kernels(summarise)(rows, n, self.counts)
        if not self.acct.records:
            self.state.expect(_records_expected(self.path, rows[:n]))
        self.acct.records += n
        for b, name in enumerate(BUCKETS):
            setattr(self.acct, name, getattr(self.acct, name) + int(self.counts[b]))
        if nfrag:
            self._fragments(rows[:n])
        nc = self.state.add(rows, n, self.cand, MAX_NAME_PAYLOADS, REASM_SEGMENTS)
        if nc:
            self._names(rows, nc, buf)
        if ntun:
            self._tunnels(rows[:n])

    def finish(self) -> FlowTable:
        """Fragments still waiting for their first fragment, reassembled names; the table."""
        if self.pending:
            rows = np.stack(self.pending)
            for r in rows:
                ports = self.first_fragments.get(self._frag_key(r))
                if ports is not None:
                    r[SPORT], r[DPORT] = ports
                r[BUCKET] = BUCKET_ANALYSED
            rows[:, PAY_LEN] = 0
            cand = np.zeros((len(rows), 3), dtype=np.int64)
            self.state.add(rows, len(rows), cand, 0, 0)
            if np.any(rows[:, TDEPTH]):
                self._tunnels(rows)
            self.pending = []
        for (f, d), segs in self.segments.items():
            if len(segs) < 2 or (f, d) in self.reasm_done:
                continue  # one segment: already read as it came
            sport, dport = self.seg_ports[f]
            self._add_names(f, extract_names(reassemble(segs), 6, sport, dport))
        self.segments = {}
        columns = build_columns(self.state, self.path, self.names, self.tunnels)
        return FlowTable(accounting=self.acct, columns=columns)

    # -- details ---------------------------------------------------------------------
    @staticmethod
    def _frag_key(r: np.ndarray) -> tuple[int, ...]:
        return (int(r[VER]), int(r[SRC_HI]), int(r[SRC_LO]), int(r[DST_HI]), int(r[DST_LO]),
                int(r[PROTO]), int(r[IPID]))  # fmt: skip

    def _fragments(self, rows: np.ndarray) -> None:
        """Give non-first fragments the ports of their first fragment (src, dst, proto, id);
        those that come before it wait until the end of the file."""
        idx = np.nonzero((rows[:, BUCKET] == BUCKET_ANALYSED) & (rows[:, FRAG] != 0))[0]
        for i in idx.tolist():
            r = rows[i]
            key = self._frag_key(r)
            if r[FRAG] == FRAG_FIRST:
                self.first_fragments[key] = (int(r[SPORT]), int(r[DPORT]))
                continue
            ports = self.first_fragments.get(key)
            if ports is None:
                self.pending.append(r.copy())
                r[BUCKET] = BUCKET_PENDING
            else:
                r[SPORT], r[DPORT] = ports

    def _add_names(self, f: int, found: Sequence[str]) -> None:
        if not found:
            return
        have = self.names.setdefault(f, [])
        for name in found:
            if name not in have and len(have) < MAX_FLOW_NAMES:
                have.append(name)

    def _names(self, rows: np.ndarray, nc: int, buf: np.ndarray | bytes | bytearray) -> None:
        cand = self.cand[:nc]
        picked = rows[cand[:, 0]]
        # candidates kept for names only whose payload cannot hold one (a DNS header
        # without questions, say) are dropped here, vectorised; the rest go one by one
        keep = (cand[:, 2] & CAND_REASM != 0) | _may_hold_names(picked, buf)
        if not keep.all():
            cand, picked = cand[keep], picked[keep]
        fields = picked[:, [PAY_OFF, PAY_LEN, PROTO, SPORT, DPORT, FLAGS]].tolist()
        dead = _stream_without_names(picked, buf).tolist()
        names, segments, done = self.names, self.segments, self.reasm_done
        reasm_picked = self.state.stats[:, S_REASM : S_REASM + 2]
        for (_i, f, how), (off, size, proto, sport, dport, flags), no_stream in zip(
            cand.tolist(), fields, dead, strict=True
        ):
            side = (f, how & 1)
            reasm = how & CAND_REASM and side not in done
            if reasm and no_stream and side not in segments:
                # the stream starts with this segment, whose header already rules a name
                # out: nothing to reassemble, and the compiled pass picks no more of it
                done.add(side)
                reasm_picked[f, how & 1] = REASM_SEGMENTS
                continue
            full = len(names.get(f, ())) >= MAX_FLOW_NAMES
            if full or not (how & CAND_NAMES or reasm):
                continue
            payload = bytes(buf[off : off + size])
            if how & CAND_NAMES:
                found = extract_names(payload, proto, sport, dport)
                self._add_names(f, found)
                if found and reasm and side not in segments:
                    done.add(side)  # the first segment held the name: nothing to reassemble
                    continue
            if reasm:
                hdr = flags >> 8
                seq = int.from_bytes(bytes(buf[off - hdr + 4 : off - hdr + 8]), "big")
                segments.setdefault(side, []).append((seq, payload))
                self.seg_ports.setdefault(f, (sport, dport))

    def _tunnels(self, rows: np.ndarray) -> None:
        sel = rows[(rows[:, BUCKET] == BUCKET_ANALYSED) & (rows[:, TDEPTH] > 0)]
        cols = [FLOW, TDEPTH, *range(T1TYPE, T1TYPE + 10)]
        for u in np.unique(sel[:, cols], axis=0).tolist():
            f, depth, layers = u[0], u[1], u[2:]
            have = self.tunnels.setdefault(f, [])
            for level in range(min(depth, 2)):
                ttype, shi, slo, dhi, dlo = layers[level * 5 : level * 5 + 5]
                ver = ttype >> 8
                src = self.text(packed_address(ver, shi, slo))
                dst = self.text(packed_address(ver, dhi, dlo))
                text = f"{TUNNEL_NAMES.get(ttype & 0xFF, 'tunnel')} {src}>{dst}"
                if text not in have:
                    have.append(text)


def _records_expected(path: str, rows: np.ndarray) -> int:
    """About how many records the file ``path`` holds, from its size and the mean size
    of the records of its first chunk (frame plus a 16-byte record header); 0 when the
    size is unknown. A hint for the flow table's rows: a compressed file or one cut to a
    snapshot length gives a low guess, and the table grows past it."""
    try:
        size = os.path.getsize(path)
    except (OSError, TypeError, ValueError):
        return 0
    per_record = 16 + float(rows[:, WIRELEN].mean()) if len(rows) else 0.0
    return int(size / per_record) if per_record > 0 else 0


def _may_hold_names(picked: np.ndarray, buf: np.ndarray | bytes | bytearray) -> np.ndarray:
    """Per candidate row, False when ``extract_names`` certainly finds nothing in its
    payload: not TCP/UDP, a DNS message (port 53) too short, with an opcode above 6 or a
    question count of 0 or above the bound, or a TCP payload that starts neither a TLS
    record nor an HTTP request line (its rules, read from the first bytes)."""
    byte = _payload_bytes(picked, buf)
    size = picked[:, PAY_LEN]
    proto = picked[:, PROTO]
    tcp, udp = proto == 6, proto == 17
    dns = (picked[:, SPORT] == 53) | (picked[:, DPORT] == 53)
    # DNS: the header starts at 0 (UDP) or after the 2-byte length (TCP)
    long_enough = np.where(tcp, (size >= 14) & ((byte(0) << 8 | byte(1)) >= 12), size >= 12)
    dns_ok = long_enough & _dns_header_allows_names(byte, tcp)
    first = byte(0)
    other_ok = tcp & (size > 0) & ((first == 0x16) | ((first >= 0x41) & (first <= 0x5A)))
    return np.where(dns, (tcp | udp) & dns_ok, other_ok)  # type: ignore[no-any-return]


def _stream_without_names(picked: np.ndarray, buf: np.ndarray | bytes | bytearray) -> np.ndarray:
    """Per candidate row, True when a TCP stream (port 53) starting with its payload holds
    no name whatever follows: the first 8 bytes (length prefix and DNS header) are there
    and give a length below 12, an opcode above 6 or a question count of 0 or above the
    bound (the rules of ``extract_names``)."""
    byte = _payload_bytes(picked, buf)
    whole = (picked[:, PROTO] == 6) & (picked[:, PAY_LEN] >= 8)
    dns = (picked[:, SPORT] == 53) | (picked[:, DPORT] == 53)
    hopeless = ((byte(0) << 8 | byte(1)) < 12) | ~_dns_header_allows_names(byte, whole)
    return whole & dns & hopeless  # type: ignore[no-any-return]


def _payload_bytes(
    picked: np.ndarray, buf: np.ndarray | bytes | bytearray
) -> Callable[[int], np.ndarray]:
    """``byte(k)``: payload byte ``k`` of each candidate row (0 past its payload's end)."""
    data = buf if isinstance(buf, np.ndarray) else np.frombuffer(buf, dtype=np.uint8)
    off, size = picked[:, PAY_OFF], picked[:, PAY_LEN]
    last = max(len(data) - 1, 0)

    def byte(k: int) -> np.ndarray:
        at = np.minimum(off + k, last)
        return np.where(size > k, data[at] if len(data) else 0, 0).astype(np.int64)

    return byte


def _dns_header_allows_names(byte: Callable[[int], np.ndarray], tcp: np.ndarray) -> np.ndarray:
    """Whether the DNS header at the payload's start (after the 2-byte length over TCP)
    leaves ``extract_names`` a question to read: opcode at most 6, 1 to the bound questions."""
    opcode = (np.where(tcp, byte(4), byte(2)) >> 3) & 0xF
    qd = np.where(tcp, byte(6) << 8 | byte(7), byte(4) << 8 | byte(5))
    return (opcode <= 6) & (qd > 0) & (qd <= MAX_DNS_QUESTIONS)  # type: ignore[no-any-return]


def _split(text: str) -> tuple[int, int, int]:
    addr = ipaddress.ip_address(text)
    value = int(addr)
    if addr.version == 4:
        return 4, 0, value
    return 6, _signed(value >> 64), _signed(value & ((1 << 64) - 1))


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


class RowWriter:
    """Rows for :class:`FlowIngest` written one record at a time by a Python decoder
    (scapy, pyshark): a record is either a bucket name or a decoded IP packet with its
    transport payload. Payloads are copied into a per-chunk buffer."""

    def __init__(self, ingest: FlowIngest, chunk_records: int = 4096) -> None:
        self.ingest = ingest
        self.rows = np.zeros((chunk_records, NCOL), dtype=np.int64)
        self.buf = bytearray()
        self.n = 0
        self._addr: dict[str, tuple[int, int, int]] = {}

    def _row(self, frame: int, ts_ns: int, wirelen: int) -> np.ndarray:
        if self.n == len(self.rows):
            self.flush()
        r = self.rows[self.n]
        r[:] = 0
        # a timestamp beyond int64 (a damaged pcapng block) wraps as the compiled reader's does
        r[FRAME], r[TS], r[WIRELEN] = frame, _signed(ts_ns & ((1 << 64) - 1)), wirelen
        r[VLAN], r[FLOW] = -1, -1
        self.n += 1
        return r

    def bucket(self, frame: int, ts_ns: int, wirelen: int, bucket: str) -> None:
        """A record that is not analysed: ``bucket`` is one of ``BUCKETS``."""
        self._row(frame, ts_ns, wirelen)[BUCKET] = BUCKETS.index(bucket)

    def addr(self, text: str) -> tuple[int, int, int]:
        got = self._addr.get(text)
        if got is None:
            got = self._addr[text] = _split(text)
        return got

    def packet(
        self,
        frame: int,
        ts_ns: int,
        wirelen: int,
        src: str,
        dst: str,
        proto: int,
        sport: int | None,
        dport: int | None,
        *,
        tcp_flags: int = 0,
        tcp_header: int = 0,
        tcp_seq: int = 0,
        payload: bytes = b"",
        vlan: int | None = None,
        frag_id: int | None = None,
        frag_offset: int = 0,
        tunnels: Sequence[str] = (),
    ) -> None:
        """An analysed record: the innermost IP packet (``tunnels``: the outer layers as
        ``"gre 192.0.2.1>192.0.2.2"``, outermost first)."""
        r = self._row(frame, ts_ns, wirelen)
        ver, shi, slo = self.addr(src)
        _, dhi, dlo = self.addr(dst)
        r[BUCKET] = BUCKET_ANALYSED
        r[VER], r[PROTO] = ver, proto
        r[SRC_HI], r[SRC_LO], r[DST_HI], r[DST_LO] = shi, slo, dhi, dlo
        r[SPORT] = -1 if sport is None else sport
        r[DPORT] = -1 if dport is None else dport
        r[VLAN] = -1 if vlan is None else vlan
        if frag_id is not None:
            r[FRAG] = FRAG_LATER if frag_offset else FRAG_FIRST
            r[IPID] = frag_id
        else:
            r[FRAG] = FRAG_NONE
        if proto == 6:
            r[FLAGS] = (tcp_flags & 0xFF) | (tcp_header << 8)
        if payload and not frag_offset:
            # the TCP header's sequence number travels in front of the payload (the
            # fast backend reads it there too)
            head = b"\0\0\0\0" + (tcp_seq & 0xFFFFFFFF).to_bytes(4, "big")
            head += b"\0" * max(0, tcp_header - 8)
            start = len(self.buf) + len(head)
            self.buf += head
            self.buf += payload
            r[PAY_OFF], r[PAY_LEN] = start, len(payload)
            sp, dp = int(r[SPORT]), int(r[DPORT])
            r[CAND] = 1 if proto in (6, 17) and may_carry_name(payload, proto, sp, dp) else 0
        depth = 0
        for level, text in enumerate(tunnels):
            kind, _, ends = text.partition(" ")
            outer_src, _, outer_dst = ends.partition(">")
            if level < 2:
                tver, tshi, tslo = self.addr(outer_src)
                _, tdhi, tdlo = self.addr(outer_dst)
                base = T1TYPE + 5 * level
                r[base] = TUNNEL_CODES.get(kind, 0) | (tver << 8)
                r[base + 1], r[base + 2], r[base + 3], r[base + 4] = tshi, tslo, tdhi, tdlo
            depth += 1
        r[TDEPTH] = depth

    def flush(self) -> None:
        self.ingest.add(self.rows, self.n, self.buf)
        self.n = 0
        self.buf = bytearray()

    def finish(self) -> FlowTable:
        self.flush()
        return self.ingest.finish()
