"""One semantics for every backend: generated captures of each hard case, read by the fast,
scapy and pyshark (real tshark) backends, give the same flows, names, tunnel evidence and
accounting, and the values the documentation promises (docs/capture.md)."""

from __future__ import annotations

import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import need_tool
from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import GRE, IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.layers.ppp import PPP
from scapy.layers.vxlan import VXLAN
from scapy.packet import Raw
from test_capture_readers import pcap_bytes
from test_pcap_backends import signature

from segverify.capture.fast import read_file as fast_read
from segverify.capture.scapy_backend import read_file as scapy_read
from segverify.flows.model import FlowTable

A4, B4 = "198.18.10.10", "203.0.113.77"  # outer endpoints in different zones
C6, D6 = "2001:db8:1::10", "2001:db8:1::20"  # inner IPv6 flow inside one zone
MAC = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def tcp(src: str, dst: str, payload: bytes = b"", flags: str = "S", seq: int = 1000) -> IP:
    return IP(src=src, dst=dst) / TCP(sport=40000, dport=443, flags=flags, seq=seq) / payload


def client_hello(sni: str) -> bytes:
    name = sni.encode()
    ext_sni = struct.pack(">HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    pad = struct.pack(">HH", 21, 1200) + b"\0" * 1200  # padding: pushes the record over MSS
    exts = pad + ext_sni  # the server name comes after the padding
    body = (
        b"\x03\x03" + b"\x11" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
        + struct.pack(">H", len(exts)) + exts
    )  # fmt: skip
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


def dot11_frame(protected: bool, inner: bytes) -> bytes:
    radiotap = struct.pack("<BBHI", 0, 0, 8, 0)
    fc = struct.pack("BB", 0x08, 0x41 if protected else 0x01)  # data, ToDS (+ protected)
    hdr = fc + b"\0\0" + b"\x02" * 6 + b"\x04" * 6 + b"\x06" * 6 + b"\0\0"
    if protected:
        return radiotap + hdr + b"\x11" * 8 + inner  # CCMP header, then ciphertext
    return radiotap + hdr + b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + inner


def nflog(inner: bytes) -> bytes:
    tlv = struct.pack("<HH", 4 + len(inner), 9) + inner
    return struct.pack("BBH", 2, 0, 0) + tlv + b"\0" * (-len(tlv) % 4)


CaseBuilder = Callable[[], tuple[list[bytes], int]]


def case_6in4() -> tuple[list[bytes], int]:
    inner = IPv6(src=C6, dst=D6) / TCP(sport=40000, dport=22, flags="S")
    return [bytes(MAC / IP(src=A4, dst=B4, proto=41) / inner)] * 2, 1


def case_gre() -> tuple[list[bytes], int]:
    return [bytes(MAC / IP(src=A4, dst=B4) / GRE() / tcp("10.1.0.1", "10.1.0.2"))], 1


def case_pptp() -> tuple[list[bytes], int]:
    # enhanced GRE: version 1, key present, protocol 0x880B, payload length + call id
    gre = struct.pack(">HHHH", 0x2001, 0x880B, 0, 7)
    ppp = bytes(PPP(proto=0x21) / tcp("10.2.0.1", "10.2.0.2"))
    return [bytes(MAC / IP(src=A4, dst=B4, proto=47) / Raw(gre + b"\xff\x03" + ppp))], 1


def case_vxlan() -> tuple[list[bytes], int]:
    inner = MAC / tcp("10.3.0.1", "10.3.0.2")
    return [bytes(MAC / IP(src=A4, dst=B4) / UDP(sport=50000, dport=4789) / VXLAN() / inner)], 1


def case_dot11() -> tuple[list[bytes], int]:
    ip = bytes(tcp("10.4.0.1", "10.4.0.2"))
    return [dot11_frame(True, ip), dot11_frame(True, ip), dot11_frame(False, ip)], 127


def case_mpls_pw() -> tuple[list[bytes], int]:
    label = struct.pack(">I", (100 << 12) | 0x100 | 64)  # bottom of stack
    # real vendor MACs: tshark's pseudowire heuristic reads all-zero ones as no control word
    inner = bytes(
        Ether(src="3c:fd:fe:12:34:56", dst="00:1b:21:3a:4f:5c") / tcp("10.5.0.1", "10.5.0.2")
    )
    eth = bytes(Ether(src="02:00:00:00:00:03", dst="02:00:00:00:00:04", type=0x8847))
    return [eth + label + b"\0\0\0\0" + inner], 1


def case_hdlc_in_null() -> tuple[list[bytes], int]:
    return [b"\x0f\x00\x08\x00" + bytes(tcp("10.6.0.1", "10.6.0.2"))], 0


def case_nflog() -> tuple[list[bytes], int]:
    return [nflog(bytes(tcp("10.7.0.1", "10.7.0.2")))], 239


def case_nflog_bad_tlv() -> tuple[list[bytes], int]:
    # a TLV claiming 256 bytes in a 12-byte record (zeek-traces/nflog-bad-tlv-len.pcap)
    return [b"\x02\x00\x00\x00\x00\x01\x01\x00\x00\x00\x00\x00"], 239


def case_short_tcp_header() -> tuple[list[bytes], int]:
    good = tcp("10.8.0.1", "10.8.0.2")
    long_offset = IP(bytes(good))
    long_offset[TCP].dataofs = 15  # claims 60 bytes, the packet holds 20
    below_five = IP(bytes(good))
    below_five[TCP].dataofs = 3
    return [bytes(MAC / long_offset), bytes(MAC / below_five), bytes(MAC / good)], 1


def case_early_fragments() -> tuple[list[bytes], int]:
    pkt = IP(src="10.9.0.1", dst="10.9.0.2", id=99) / UDP(sport=5000, dport=5001) / (b"x" * 3000)
    frags = fragment(pkt, fragsize=1000)
    return [bytes(MAC / f) for f in reversed(frags)], 1


def case_non_utf8() -> tuple[list[bytes], int]:
    http = b"GET / HTTP/1.1\r\nHost: \xff\xfe\xc3(x.example\r\n\r\n"
    dns = DNS(rd=1, qd=DNSQR(qname=b"\xe3\x81\x82\xff.example."))
    return [
        bytes(MAC / IP(src="10.10.0.1", dst="10.10.0.2") / TCP(sport=40001, dport=80, flags="PA") / http),
        bytes(MAC / IP(src="10.10.0.1", dst="10.10.0.3") / UDP(sport=40002, dport=53) / dns),
    ], 1  # fmt: skip


def case_five_dns_queries() -> tuple[list[bytes], int]:
    frames = []
    for i in range(5):
        q = DNS(id=i, rd=1, qd=DNSQR(qname=f"host{i}.example.jp."))
        frames.append(
            bytes(MAC / IP(src="10.11.0.1", dst="10.11.0.53") / UDP(sport=40003, dport=53) / q)
        )
        r = DNS(id=i, qr=1, qd=DNSQR(qname=f"host{i}.example.jp."))
        frames.append(
            bytes(MAC / IP(src="10.11.0.53", dst="10.11.0.1") / UDP(sport=53, dport=40003) / r)
        )
    return frames, 1  # fmt: skip


def case_split_sni() -> tuple[list[bytes], int]:
    hello = client_hello("lgwan.example.lg.jp")
    first, second = hello[:600], hello[600:]
    c, s = "10.12.0.1", "10.12.0.2"
    return [
        bytes(MAC / tcp(c, s, flags="S", seq=999)),
        bytes(MAC / IP(src=s, dst=c) / TCP(sport=443, dport=40000, flags="SA", seq=5000, ack=1000)),
        bytes(MAC / tcp(c, s, first, flags="A", seq=1000)),
        bytes(MAC / tcp(c, s, second, flags="PA", seq=1000 + len(first))),
    ], 1  # fmt: skip


CASES: dict[str, CaseBuilder] = {
    "6in4": case_6in4,
    "gre": case_gre,
    "pptp": case_pptp,
    "vxlan": case_vxlan,
    "dot11-protected": case_dot11,
    "mpls-pw-control-word": case_mpls_pw,
    "hdlc-in-null": case_hdlc_in_null,
    "nflog": case_nflog,
    "nflog-bad-tlv": case_nflog_bad_tlv,
    "tcp-header-short": case_short_tcp_header,
    "early-fragments": case_early_fragments,
    "non-utf8": case_non_utf8,
    "five-dns-queries": case_five_dns_queries,
    "split-sni": case_split_sni,
}


def write_case(tmp_path: Path, name: str) -> str:
    frames, link = CASES[name]()
    path = tmp_path / f"{name}.pcap"
    path.write_bytes(pcap_bytes(frames, link=link))
    return str(path)


@pytest.mark.parametrize("name", sorted(CASES))
def test_scapy_agrees_with_fast(tmp_path: Path, name: str) -> None:
    path = write_case(tmp_path, name)
    assert signature(scapy_read(path)) == signature(fast_read(path))


@pytest.mark.parametrize("name", sorted(CASES))
def test_pyshark_agrees_with_fast(tmp_path: Path, name: str) -> None:
    need_tool("tshark")
    from segverify.capture.pyshark_backend import read_file as pyshark_read

    path = write_case(tmp_path, name)
    assert signature(pyshark_read(path)) == signature(fast_read(path))


def _read(tmp_path: Path, name: str) -> FlowTable:
    table = fast_read(write_case(tmp_path, name))
    assert table.accounting.balanced()
    return table


@pytest.mark.parametrize(("name", "kind"), [("6in4", 5), ("gre", 1), ("pptp", 1), ("vxlan", 3)])
def test_tunnel_outer_endpoints_are_columns(tmp_path: Path, name: str, kind: int) -> None:
    table = _read(tmp_path, name)
    (flow,) = table.flows
    cols = table.columns
    assert table.accounting.analysed == table.accounting.records
    assert int(cols.tun_type[0]) == kind and int(cols.tun_ver[0]) == 4
    outer = (int(cols.tun_src_lo[0]), int(cols.tun_dst_lo[0]))
    assert outer == (int.from_bytes(bytes(map(int, A4.split("."))), "big"),
                     int.from_bytes(bytes(map(int, B4.split("."))), "big"))  # fmt: skip
    assert flow.tunnel[0].endswith(f" {A4}>{B4}")
    assert flow.src not in (A4, B4)  # the inner flow is the row; the outer pair its tunnel


def test_protected_dot11_is_opaque(tmp_path: Path) -> None:
    acct = _read(tmp_path, "dot11-protected").accounting
    assert (acct.records, acct.opaque, acct.analysed, acct.non_ip) == (3, 2, 1, 0)


@pytest.mark.parametrize("name", ["mpls-pw-control-word", "hdlc-in-null", "nflog"])
def test_ip_inside_is_analysed(tmp_path: Path, name: str) -> None:
    table = _read(tmp_path, name)
    assert table.accounting.analysed == table.accounting.records == 1
    (flow,) = table.flows
    assert (flow.proto, flow.dport) == (6, 443)


def test_nflog_tlv_past_the_record_is_malformed(tmp_path: Path) -> None:
    acct = _read(tmp_path, "nflog-bad-tlv").accounting
    assert (acct.records, acct.malformed, acct.non_ip) == (1, 1, 0)


def test_tcp_header_shorter_than_its_offset_is_malformed(tmp_path: Path) -> None:
    acct = _read(tmp_path, "tcp-header-short").accounting
    assert (acct.records, acct.malformed, acct.analysed) == (3, 2, 1)


def test_fragments_before_their_first_fragment_join_it(tmp_path: Path) -> None:
    frames, _ = case_early_fragments()
    (flow,) = _read(tmp_path, "early-fragments").flows
    assert len(frames) > 2
    assert (flow.sport, flow.dport, flow.packets) == (5000, 5001, len(frames))


def test_non_utf8_names_are_kept_escaped(tmp_path: Path) -> None:
    names = {n for f in _read(tmp_path, "non-utf8").flows for n in f.names}
    assert len(names) == 2
    assert all("\\xff" in n for n in names)


def test_five_dns_queries_give_five_names(tmp_path: Path) -> None:
    (flow,) = _read(tmp_path, "five-dns-queries").flows
    assert flow.names == tuple(f"host{i}.example.jp" for i in range(5))


def test_sni_split_across_segments_is_found(tmp_path: Path) -> None:
    (flow,) = _read(tmp_path, "split-sni").flows
    assert flow.names == ("lgwan.example.lg.jp",)


def test_damaged_pcapng_block_is_one_malformed_record_everywhere(tmp_path: Path) -> None:
    from test_capture_readers import epb, idb, shb

    good = bytes(MAC / tcp("10.13.0.1", "10.13.0.2"))
    data = shb() + idb(1) + epb(0, 1, good) + epb(5, 2, good) + epb(0, 3, good)  # iface 5: none
    path = tmp_path / "damaged.pcapng"
    path.write_bytes(data)
    fast = fast_read(str(path))
    acct = fast.accounting
    assert (acct.records, acct.analysed, acct.malformed) == (3, 2, 1)
    assert signature(scapy_read(str(path))) == signature(fast)
    if shutil.which("tshark"):
        from segverify.capture.pyshark_backend import read_file as pyshark_read

        assert pyshark_read(str(path)).accounting.records == 3


@pytest.mark.parametrize("cut", [10, 1000])
def test_cut_short_file_same_accounting_on_every_backend(tmp_path: Path, cut: int) -> None:
    """A file cut mid-record: every backend keeps the complete records before the cut, with
    the same flows and accounting (pyshark: no TSharkCrashException, no traceback)."""
    data = (Path(__file__).parents[1] / "captures" / "alpha-violations.pcap").read_bytes()
    path = tmp_path / "cut.pcap"
    path.write_bytes(data[: len(data) - cut])
    fast = fast_read(str(path))
    assert fast.accounting.cut_short and fast.accounting.balanced()
    assert signature(scapy_read(str(path))) == signature(fast)
    if shutil.which("tshark"):
        from segverify.capture.pyshark_backend import read_file as pyshark_read

        table = pyshark_read(str(path))
        assert signature(table) == signature(fast)
        assert table.accounting.cut_short
