"""Second reference backend: Wireshark's dissectors (tshark) through pyshark's JSON mode.

The records and cut-short notes come from the strict record reader (so a broken file is a
clear ``InputError`` and the record count is exact); every header is dissected by tshark,
with IP reassembly and TCP desegmentation switched off so each frame stands alone. The
fields become the same decoded packets as the scapy backend's and go to the one flow
builder (``segverify.flows.ingest``), names included: they are read from tshark's
``tcp.payload``/``udp.payload`` bytes by the shared extractor, with the shared bounds.
tshark's JSON is decoded leniently (payload bytes that are not UTF-8 become U+FFFD), and
its non-zero exit on a cut-short or damaged file ends the frames: the strict record count
decides what was read, and records tshark did not dissect are counted malformed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import Any

from segverify.capture.scapy_backend import (
    MAX_TUNNELS,
    ROWS_PER_CHUNK,
    Decoded,
    icmp_ports,
    iter_records,
)
from segverify.errors import InputError
from segverify.flows.ingest import FlowIngest, RowWriter
from segverify.flows.model import Accounting, FlowTable
from segverify.i18n import Msg

SUPPORTED_LINKS = frozenset(
    {"eth", "null", "loop", "sll", "raw", "ip", "ipv6", "radiotap", "wlan", "nflog", "ppp",
     "fddi"}
)  # fmt: skip
TRANSPORT = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "sctp": 132, "gre": 47}
# protocol names that may sit between a tunnel header and the inner IP packet
TUNNEL_GLUE = frozenset(
    {"eth", "ethertype", "vlan", "erspan", "mpls", "pppoes", "ppp", "wlan", "llc"}
)
GRE_DECAP = frozenset({0x0800, 0x86DD, 0x6558, 0x88BE, 0x22EB})
GRE_ARUBA = range(0x8200, 0x8400)  # Aruba WLAN: an 802.11 frame follows the GRE header
# protocols that may carry IP further on: a frame tshark found malformed or cut inside one of
# them may have held IP (malformed/truncated); inside anything else (STP, ARP, CDP…) it is
# simply not IP
CARRIERS = SUPPORTED_LINKS | TUNNEL_GLUE | {"ethertype", "data", "vntag", "cfp", "gre", "udp"}
TRANSPORT_NAMES = frozenset({"tcp", "udp", "icmp", "icmpv6", "sctp"})
PREFS = {
    "ip.defragment": "FALSE",
    "ipv6.defragment": "FALSE",
    "tcp.desegment_tcp_streams": "FALSE",
}


def tshark_path() -> str:
    path = shutil.which("tshark")
    if path is None:
        raise InputError(Msg("error.capture.pyshark_backend.pyshark_backend_needs_tshark_install"))
    return path


def read_file(path: str) -> FlowTable:
    """Flows and accounting of one capture file, dissected by tshark."""
    file = str(path)
    tshark = tshark_path()
    if os.path.exists(file) and not os.path.isfile(file) and not os.path.isdir(file):
        # the strict reader and tshark each read the file: a pipe can be read only once
        raise InputError(
            Msg("error.capture.pyshark_backend.pyshark_backend_needs_regular_file"), file
        )
    ingest = FlowIngest(file, ROWS_PER_CHUNK)
    rows = RowWriter(ingest, ROWS_PER_CHUNK)
    notes = Accounting()
    frames = sum(1 for _ in iter_records(file, notes))  # validates the file, notes cut-short
    seen = 0
    for frame in _frames(file, tshark):
        if seen >= frames:
            break  # tshark read past a damaged tail the strict reader stopped at
        seen += 1
        result = decode_frame(frame)
        if isinstance(result, str):
            rows.bucket(frame["number"], frame["ts_ns"], frame["len"], result)
        else:
            result.write(rows, frame["number"], frame["ts_ns"], frame["len"])
    for number in range(seen + 1, frames + 1):  # records tshark did not dissect
        rows.bucket(number, 0, 0, "malformed")
    table = rows.finish()
    table.accounting.cut_short.extend(notes.cut_short)
    if seen < frames:
        table.accounting.cut_short.append(
            Msg(
                "warn.capture.pyshark_backend.tshark_stopped_after_records_rest",
                file=file,
                seen=seen,
                frames=frames,
            )
        )
    return table


def _lenient_capture(file: str, tshark: str) -> Any:
    """pyshark's FileCapture, made to survive what a capture may hold: payload bytes that
    are not UTF-8 in tshark's JSON (decoded with replacement characters) and tshark's
    non-zero exit on a cut-short or damaged file (the strict record count decides)."""
    import pyshark  # lazily: pyshark pulls in asyncio machinery
    from pyshark.tshark.output_parser.tshark_json import TsharkJsonParser

    class LenientParser(TsharkJsonParser):  # type: ignore[misc]
        def _parse_single_packet(self, packet: bytes) -> Any:
            text = packet.decode("utf-8", "replace").encode("utf-8")
            return super()._parse_single_packet(text)

    class LenientCapture(pyshark.FileCapture):  # type: ignore[misc]
        def _setup_tshark_output_parser(self) -> Any:
            return LenientParser(self._get_tshark_version())

    return LenientCapture(
        file, use_json=True, keep_packets=False, override_prefs=PREFS, tshark_path=tshark
    )


def _frames(file: str, tshark: str) -> Iterator[dict[str, Any]]:
    """Each frame as plain data: number, time, lengths, protocol list and layer dicts."""
    from pyshark.capture.capture import TSharkCrashException

    cap = _lenient_capture(file, tshark)
    try:
        packets = iter(cap)
        while True:
            try:
                pkt = next(packets)
            except StopIteration:
                return
            except TSharkCrashException:
                return  # tshark stopped at a cut or damaged record: counted by the caller
            info: dict[str, Any] = pkt.frame_info._all_fields
            layers: dict[str, list[dict[str, Any]]] = {}
            for layer in pkt.layers:
                dicts = [layer._all_fields] + [d._all_fields for d in layer.duplicate_layers]
                layers.setdefault(layer.layer_name, []).extend(dicts)
            yield {
                "number": int(info.get("frame.number", 0)),
                "ts_ns": _epoch_ns(str(info.get("frame.time_epoch", "0"))),
                "len": int(info.get("frame.len", 0)),
                "cap_len": int(info.get("frame.cap_len", 0)),
                "protocols": str(info.get("frame.protocols", "")).split(":"),
                "layers": layers,
            }
    finally:
        with contextlib.suppress(TSharkCrashException):  # the same exit, seen again
            cap.close()
        cap._running_processes.clear()  # nothing left for pyshark's destructor to raise
        _restore_asyncio(cap)


def _restore_asyncio(cap: Any) -> None:
    """pyshark installs its own event loop and a SafeChildWatcher attached to it as
    process-wide asyncio state; once its loop is closed, any later asyncio subprocess in the
    same process (Playwright, another tool) fails, and the watcher may reap children that
    are not its own. Close the loop and put the defaults back."""
    import asyncio

    loop = getattr(cap, "eventloop", None)
    if loop is not None and not loop.is_closed():
        loop.close()
    asyncio.set_event_loop_policy(None)  # a fresh default policy: no loop, no watcher


def _epoch_ns(text: str) -> int:
    sec, _, frac = text.partition(".")
    return int(sec) * 1_000_000_000 + int((frac + "000000000")[:9])


def _find(tree: Any, key: str) -> Any:
    """First value stored under ``key`` anywhere in a layer's nested dicts."""
    if isinstance(tree, dict):
        if key in tree:
            return tree[key]
        for value in tree.values():
            found = _find(value, key)
            if found is not None:
                return found
    elif isinstance(tree, list):
        for value in tree:
            found = _find(value, key)
            if found is not None:
                return found
    return None


def _find_all(tree: Any, key: str, out: list[Any]) -> list[Any]:
    if isinstance(tree, dict):
        for k, value in tree.items():
            if k == key:
                out.extend(value if isinstance(value, list) else [value])
            else:
                _find_all(value, key, out)
    elif isinstance(tree, list):
        for value in tree:
            _find_all(value, key, out)
    return out


def _walk(tree: Any) -> Iterator[tuple[str, Any]]:
    """(key, value) pairs of nested dicts in document order."""
    if isinstance(tree, dict):
        for k, value in tree.items():
            yield k, value
            yield from _walk(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _walk(value)


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    try:
        return int(str(value), 0)
    except ValueError:
        return None


class _Frame:
    """Positional access to a frame's layers: the n-th occurrence of a protocol name."""

    def __init__(
        self, protocols: list[str], layers: dict[str, list[dict[str, Any]]], cut: bool
    ) -> None:
        self.protocols = protocols
        self.layers = layers
        self.cut = cut

    @classmethod
    def of(cls, frame: dict[str, Any]) -> _Frame:
        return cls(frame["protocols"], frame["layers"], frame["cap_len"] < frame["len"])

    def cut_in(self, index: int) -> bool:
        """tshark ran out of captured bytes in the protocol at ``index`` (the last one it
        dissected): that protocol is cut (the JSON fields before the cut look whole)."""
        return "_ws.short" in self.layers and index == len(self.protocols) - 1

    def first_subframe(self) -> _Frame | None:
        """The first A-MSDU subframe's layers (tshark nests them under ``wlan_aggregate``)
        as a frame of its own: the record counts once, on its first subframe's flow."""
        aggregate = self.layers.get("wlan_aggregate") or [{}]
        subframes = _find(aggregate[0], "wlan_aggregate.a_mdsu.subframe")
        first = subframes[0] if isinstance(subframes, list) and subframes else subframes
        if not isinstance(first, dict):
            return None
        names = [k for k, v in first.items() if isinstance(v, dict)]
        return _Frame(names, {k: [first[k]] for k in names}, self.cut)

    def layer(self, index: int) -> dict[str, Any] | None:
        name = self.protocols[index]
        nth = self.protocols[:index].count(name)
        found = self.layers.get(name, [])
        return found[nth] if nth < len(found) and isinstance(found[nth], dict) else None

    def bad(self) -> str:
        return "truncated" if self.cut else "malformed"


def decode_frame(frame: dict[str, Any]) -> Decoded | str:
    """One dissected frame as a decoded packet, or the name of its accounting bucket."""
    f = _Frame.of(frame)
    protos = f.protocols
    if not protos or protos[0] not in SUPPORTED_LINKS:
        return "unsupported_link"
    ip_at = next((i for i, p in enumerate(protos) if p in ("ip", "ipv6")), None)
    if ip_at is None:
        if "ip" in f.layers or "ipv6" in f.layers:
            return f.bad()  # an IP header tshark began and rejected (bogus version…)
        if "_ws.short" in f.layers or "_ws.malformed" in f.layers:
            # broken inside a protocol that may carry IP, or inside one that does not
            return f.bad() if protos[-1] in CARRIERS else "non_ip"
        if "wlan" in protos and _int(_find(f.layers.get("wlan"), "wlan.fc.protected")) == 1:
            return "opaque"  # protected 802.11 data: may carry IP, cannot be opened
        return "non_ip"
    vlan_layer = f.layer(protos.index("vlan")) if "vlan" in protos[:ip_at] else None
    vlan = _int(_find(vlan_layer, "vlan.id")) if vlan_layer else None
    tunnel: list[str] = []
    outer: Decoded | None = None
    for _ in range(MAX_TUNNELS + 1):
        pkt = _ip(f, ip_at, vlan, tuple(tunnel))
        if isinstance(pkt, str):  # an inner packet that cannot be decoded: the outer flow
            return pkt if outer is None else outer
        inner = _tunnel_inner(f, ip_at, pkt)
        if inner is None:
            return pkt
        kind, next_at = inner
        if next_at is None:  # the tunnel carries no IP packet: keep the outer one
            return pkt
        if f.layer(next_at) is None and "wlan_aggregate" in f.layers:
            sub = f.first_subframe()  # an A-MSDU: tshark nests each subframe's layers
            if sub is None or not ({"ip", "ipv6"} & set(sub.protocols)):
                return pkt
            f = sub
            next_at = next(i for i, p in enumerate(sub.protocols) if p in ("ip", "ipv6"))
        if len(tunnel) < 2:  # the outer two layers are recorded, as the fast backend does
            tunnel.append(f"{kind} {pkt.src}>{pkt.dst}")
        outer, ip_at = pkt, next_at
    return outer if outer is not None else "malformed"


def _ip(f: _Frame, at: int, vlan: int | None, tunnel: tuple[str, ...]) -> Decoded | str:
    layer = f.layer(at)
    if layer is None:
        return f.bad()
    v6 = f.protocols[at] == "ipv6"
    pre = "ipv6" if v6 else "ip"
    src, dst = layer.get(f"{pre}.src"), layer.get(f"{pre}.dst")
    if not isinstance(src, str) or not isinstance(dst, str) or f.cut_in(at):
        return f.bad()
    frag_id: int | None = None
    frag_offset = 0
    if v6 and _cut_extension(f, at, layer):
        return f.bad()
    if v6:
        proto = _int(_find(layer, "ipv6.fraghdr.nxt"))
        if proto is None:
            i = _next_proto(f, at)
            proto = TRANSPORT.get(f.protocols[i]) if i is not None else None
        if proto is None and "ah" in f.protocols[at + 1 : _next_proto(f, at) or len(f.protocols)]:
            ah = f.layer(f.protocols.index("ah", at + 1))  # the header after AH
            proto = _int(_find(ah, "ah.next_header"))
        if proto is None:  # the last next-header of the extension chain
            chain = [_int(v) for k, v in _walk(layer) if k.endswith(".nxt")]
            proto = next((p for p in reversed(chain) if p is not None), None)
        off = _int(_find(layer, "ipv6.fraghdr.offset"))
        more = _int(_find(layer, "ipv6.fraghdr.more"))
        if off or more:
            frag_offset = off or 0
            frag_id = _int(_find(layer, "ipv6.fraghdr.ident"))
    else:
        # the header checks of the other backends: version 4, IHL at least 5 words, a total
        # length (0: segmentation offload) not below the header
        hdr_len = _int(layer.get("ip.hdr_len"))
        total = _int(layer.get("ip.len"))
        if _int(layer.get("ip.version")) != 4 or hdr_len is None or hdr_len < 20:
            return "malformed"
        if total is not None and 0 < total < hdr_len:
            return "malformed"
        proto = _int(layer.get("ip.proto"))
        off = _int(layer.get("ip.frag_offset")) or 0
        more = _int(_find(layer, "ip.flags.mf")) or 0
        if off or more:
            frag_offset = off
            frag_id = _int(layer.get("ip.id"))
    if proto is None:
        return f.bad()
    pkt = Decoded(
        6 if v6 else 4,
        _canon(src),
        _canon(dst),
        proto,
        vlan=vlan,
        tunnel=tunnel,
        frag_id=frag_id,
        frag_offset=frag_offset,
    )
    if frag_offset:
        return pkt
    return _transport(f, at, pkt)


IPV6_EXTENSIONS = ("ipv6.hopopts", "ipv6.routing", "ipv6.dstopts", "ipv6.fraghdr")


def _cut_extension(f: _Frame, at: int, layer: dict[str, Any]) -> bool:
    """An IPv6 extension header tshark named but could not read (it runs past the packet):
    named in the protocol list, absent or without its next-header field in the layer."""
    keys = {k: v for k, v in _walk(layer) if k in IPV6_EXTENSIONS}
    i = at + 1
    while i < len(f.protocols) and f.protocols[i] in IPV6_EXTENSIONS:
        value = keys.get(f.protocols[i])
        if not isinstance(value, dict) or not any(k.endswith(".nxt") for k in value):
            return True
        i += 1
    return False


def _canon(address: str) -> str:
    import ipaddress

    return str(ipaddress.ip_address(address))


def _next_proto(f: _Frame, at: int) -> int | None:
    """Index of the protocol after the IP header at ``at`` (skipping IPv6 extensions, the
    authentication header among them, as the other backends do)."""
    v6 = f.protocols[at] == "ipv6"
    i = at + 1
    while i < len(f.protocols) and (
        f.protocols[i].startswith("ipv6.") or (v6 and f.protocols[i] == "ah")
    ):
        i += 1
    return i if i < len(f.protocols) else None


def _transport(f: _Frame, at: int, pkt: Decoded) -> Decoded | str:
    want = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6", 132: "sctp"}.get(pkt.proto)
    if want is None:
        return pkt
    i = _next_proto(f, at)
    layer = f.layer(i) if i is not None and f.protocols[i] == want else None
    if layer is None:
        return pkt if pkt.frag_id is not None else f.bad()
    assert i is not None
    if want == "tcp" and f.cut_in(i):
        # the TCP header (options included) is cut short; tshark also stops in UDP and
        # ICMP when only their payload is cut, so for them the fields decide
        return f.bad()
    payload = None  # bytes after the IPv4 header (a total length of 0: segmentation offload)
    if f.protocols[at] == "ip":
        ip = f.layer(at) or {}
        total, header = _int(ip.get("ip.len")), _int(ip.get("ip.hdr_len"))
        payload = total - header if total and header else None
    if want in ("tcp", "udp", "sctp"):
        sport = _int(layer.get(f"{want}.srcport"))
        dport = _int(layer.get(f"{want}.dstport"))
        if sport is None or dport is None:
            return pkt if pkt.frag_id is not None else f.bad()
        pkt.sport, pkt.dport = sport, dport
        if want == "tcp":
            flags = _int(layer.get("tcp.flags"))
            hdr_len = _int(layer.get("tcp.hdr_len"))
            if flags is None or hdr_len is None:
                return f.bad()
            if hdr_len < 20:
                return "malformed"  # a TCP header cannot be shorter than 20 bytes
            if payload is not None and hdr_len > payload:
                return "malformed"  # the data offset runs past the IP packet
            if "tcp.bogus_header_length" in str(layer) or "Short segment" in str(layer):
                return f.bad()  # the header runs past the packet (as the other backends)
            pkt.tcp_flags = flags & 0xFF
            pkt.tcp_header = hdr_len
            pkt.tcp_seq = _int(layer.get("tcp.seq_raw")) or 0
        if want != "sctp":
            pkt.payload = _hex(layer.get(f"{want}.payload"))
    else:
        icmp_type = _int(layer.get(f"{want}.type"))
        code = _int(layer.get(f"{want}.code"))
        if icmp_type is None or code is None:
            return f.bad()
        pkt.sport, pkt.dport = icmp_ports(pkt.proto, icmp_type, code)
    return pkt


def _hex(value: Any) -> bytes:
    """tshark's ``aa:bb:cc`` byte fields as bytes (empty when absent or odd)."""
    if not isinstance(value, str) or not value:
        return b""
    try:
        return bytes.fromhex(value.replace(":", ""))
    except ValueError:
        return b""


def _tunnel_inner(f: _Frame, at: int, outer: Decoded) -> tuple[str, int | None] | None:
    """When the IP packet at ``at`` carries a decapsulated tunnel: its kind and inner IP index."""
    if outer.frag_id is not None:
        return None
    i = _next_proto(f, at)
    if i is None:
        return None
    name = f.protocols[i]
    if name in ("ip", "ipv6") and outer.proto in (4, 41):
        return "ipip", i
    if name == "gre" and outer.proto == 47:
        gre = f.layer(i)
        version = _int(_find(gre, "gre.flags.version"))
        ptype = _int(_find(gre, "gre.proto"))
        pptp = version == 1 and ptype == 0x880B
        known = ptype in GRE_DECAP or ptype in GRE_ARUBA
        if not pptp and (version != 0 or not known):
            return None
        kind = "erspan" if ptype in (0x88BE, 0x22EB) else "gre"
        return kind, _inner_ip(f, i + 1)
    if name == "udp" and outer.dport in (4789, 6081) and i + 1 < len(f.protocols):
        kind = f.protocols[i + 1]
        if kind in ("vxlan", "geneve"):
            return kind, _inner_ip(f, i + 2)
    return None


def _inner_ip(f: _Frame, start: int) -> int | None:
    for j in range(start, len(f.protocols)):
        name = f.protocols[j]
        if name in ("ip", "ipv6"):
            return j
        if name not in TUNNEL_GLUE:
            return None
    return None
