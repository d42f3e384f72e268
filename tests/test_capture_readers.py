"""Readers and decoders of the fast backend on hand-built captures: pcap variants, pcapng
sections/interfaces/block types, gzip, cut-short files, snaplen, link types, tunnels,
fragments, the initiator rule and accounting."""

from __future__ import annotations

import gzip
import io
import random
import shutil
import struct
from pathlib import Path

import pytest
from scapy.layers.inet import GRE, ICMP, IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether
from scapy.layers.vxlan import VXLAN

from segverify.capture import read_flows
from segverify.capture.fast import read_file
from segverify.capture.progress import Progress
from segverify.errors import InputError
from segverify.flows.model import BUCKETS

T0 = 1_700_000_000


def pcap_bytes(frames: list[bytes], *, big: bool = False, nsec: bool = False, link: int = 1,
               snaplen: int = 65535, wirelens: list[int] | None = None) -> bytes:  # fmt: skip
    o = ">" if big else "<"
    magic = 0xA1B23C4D if nsec else 0xA1B2C3D4
    out = struct.pack(o + "IHHiIII", magic, 2, 4, 0, 0, snaplen, link)
    for i, fr in enumerate(frames):
        wl = wirelens[i] if wirelens else len(fr)
        frac = (i * 1000 + 7) if nsec else i * 10
        out += struct.pack(o + "IIII", T0 + i, frac, len(fr), wl) + fr
    return out


def pcapng_block(btype: int, body: bytes, o: str = "<") -> bytes:
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack(o + "II", btype, n) + body + struct.pack(o + "I", n)


def shb(o: str = "<") -> bytes:
    return pcapng_block(0x0A0D0D0A, struct.pack(o + "IHHq", 0x1A2B3C4D, 1, 0, -1), o)


def idb(link: int, tsresol: int | None = None, o: str = "<") -> bytes:
    body = struct.pack(o + "HHI", link, 0, 0)
    if tsresol is not None:
        body += (
            struct.pack(o + "HH", 9, 1) + bytes([tsresol, 0, 0, 0]) + struct.pack(o + "HH", 0, 0)
        )
    return pcapng_block(1, body, o)


def epb(iface: int, ts: int, frame: bytes, o: str = "<") -> bytes:
    body = struct.pack(o + "IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(frame), len(frame))
    return pcapng_block(6, body + frame, o)


def write(tmp_path: Path, name: str, data: bytes) -> str:
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


def eth(pkt: object) -> bytes:
    return bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / pkt)


def tcp(
    src: str, dst: str, sport: int, dport: int, flags: str = "A", payload: bytes = b""
) -> bytes:
    return eth(IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags) / payload)


HANDSHAKE = [
    tcp("192.0.2.1", "192.0.2.2", 40000, 443, "S"),
    tcp("192.0.2.2", "192.0.2.1", 443, 40000, "SA"),
    tcp("192.0.2.1", "192.0.2.2", 40000, 443, "A"),
]


def check_balanced(table: object, records: int) -> None:
    acct = table.accounting  # type: ignore[attr-defined]
    assert acct.records == records
    assert acct.balanced()
    assert sum(getattr(acct, b) for b in BUCKETS) == records


@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize("nsec", [False, True])
def test_pcap_byte_orders_and_resolutions(tmp_path: Path, big: bool, nsec: bool) -> None:
    path = write(tmp_path, "a.cap", pcap_bytes(HANDSHAKE, big=big, nsec=nsec))
    table = read_file(path)
    check_balanced(table, 3)
    (flow,) = table.flows
    assert (flow.src, flow.sport, flow.dst, flow.dport) == ("192.0.2.1", 40000, "192.0.2.2", 443)
    assert (flow.packets_fwd, flow.packets_rev) == (2, 1)
    assert flow.bytes_fwd == len(HANDSHAKE[0]) + len(HANDSHAKE[2])
    assert flow.first_ns == T0 * 10**9 + (7 if nsec else 0)
    assert flow.last_ns == (T0 + 2) * 10**9 + (2007 if nsec else 20_000)
    assert flow.tcp_flags_fwd == 0x12 and flow.tcp_flags_rev == 0x12
    assert flow.first_frame == 1


def test_format_is_sniffed_not_named(tmp_path: Path) -> None:
    data = shb() + idb(1) + epb(0, 5, HANDSHAKE[0])
    path = write(tmp_path, "looks-like.pcap.gz", data)  # pcapng, uncompressed
    check_balanced(read_file(path), 1)
    gz = write(tmp_path, "plain.pcapng", gzip.compress(pcap_bytes(HANDSHAKE)))
    check_balanced(read_file(gz), 3)


def test_pcapng_sections_interfaces_resolution_and_skipped_blocks(tmp_path: Path) -> None:
    raw_ip = bytes(IP(src="198.51.100.1", dst="198.51.100.2") / UDP(sport=5, dport=53) / b"x")
    data = (
        shb()
        + idb(1)  # microseconds by default
        + idb(101, tsresol=9)  # raw IP, nanoseconds
        + pcapng_block(0x00000BAD, b"custom block, skipped")
        + epb(0, 1_000_000, HANDSHAKE[0])
        + epb(1, 2_000_000_123, raw_ip)
        + pcapng_block(5, b"\0" * 8)  # interface statistics: skipped
        + shb(">")  # a new big-endian section resets the interfaces
        + idb(1, tsresol=0x80 | 10, o=">")  # 2^-10 s
        + epb(0, 3 * 1024 + 512, HANDSHAKE[1], o=">")
    )
    table = read_file(write(tmp_path, "m.pcapng", data))
    check_balanced(table, 3)
    by_proto = {f.proto: f for f in table.flows}
    assert by_proto[17].first_ns == 2_000_000_123 and by_proto[17].first_frame == 2
    tcp_flow = by_proto[6]
    assert tcp_flow.first_ns == 1_000_000 * 1000
    assert tcp_flow.last_ns == 3 * 10**9 + 500_000_000
    assert tcp_flow.packets == 2


def test_pcapng_simple_packet_block_and_bad_interface(tmp_path: Path) -> None:
    frame = HANDSHAKE[0]
    spb = pcapng_block(3, struct.pack("<I", len(frame)) + frame)
    data = shb() + idb(1) + spb + epb(7, 0, frame)  # interface 7 does not exist
    table = read_file(write(tmp_path, "s.pcapng", data))
    check_balanced(table, 2)
    assert table.accounting.analysed == 1 and table.accounting.malformed == 1


@pytest.mark.parametrize("cut", [10, 24 + 5, 24 + 16 + 20])
def test_cut_short_keeps_what_came_before(tmp_path: Path, cut: int) -> None:
    whole = pcap_bytes(HANDSHAKE)
    data = whole[: len(whole) - cut] if cut > 24 + 16 else whole[:cut]
    table = read_file(write(tmp_path, "cut.pcap", data))
    acct = table.accounting
    assert acct.balanced()
    assert len(acct.cut_short) == 1
    assert "stopped at byte" in acct.cut_short[0]
    stop = int(acct.cut_short[0].split("stopped at byte ")[1].split()[0])
    assert stop <= len(data)
    if cut == 24 + 16 + 20:
        assert acct.records == 2 and stop == 24 + 2 * 16 + len(HANDSHAKE[0]) + len(HANDSHAKE[1])


def test_gzip_cut_short(tmp_path: Path) -> None:
    rnd = random.Random(1)
    frames = [tcp("192.0.2.1", "192.0.2.2", 1, 2, "PA", rnd.randbytes(500)) for _ in range(400)]
    data = gzip.compress(pcap_bytes(frames))
    table = read_file(write(tmp_path, "c.pcap.gz", data[: len(data) // 2]))
    assert table.accounting.balanced() and table.accounting.cut_short
    assert 0 < table.accounting.records < 400
    assert "compressed stream" in table.accounting.cut_short[0]


def test_snaplen_truncation_counts_original_length(tmp_path: Path) -> None:
    big = tcp("192.0.2.1", "192.0.2.2", 1, 2, "PA", b"z" * 1000)
    short = big[:60]  # headers complete
    tiny = big[:20]  # IP header cut
    data = pcap_bytes([short, tiny], snaplen=60, wirelens=[len(big), len(big)])
    table = read_file(write(tmp_path, "snap.pcap", data))
    check_balanced(table, 2)
    assert table.accounting.truncated == 1
    assert table.flows[0].bytes == len(big)


def test_not_a_capture_raises_input_error(tmp_path: Path) -> None:
    for name, data in (("empty.pcap", b""), ("text.pcap", b"hello, not a capture\n")):
        with pytest.raises(InputError) as err:
            read_file(write(tmp_path, name, data))
        assert name in str(err.value)
    with pytest.raises(InputError):
        read_file(str(tmp_path / "missing.pcap"))


def test_buckets_non_ip_malformed_unsupported(tmp_path: Path) -> None:
    arp = eth(ARP())
    bad_version = bytearray(HANDSHAKE[0])
    bad_version[14] = 0x75  # IP version 7
    frames = [arp, bytes(bad_version), HANDSHAKE[0]]
    table = read_file(write(tmp_path, "b.pcap", pcap_bytes(frames)))
    check_balanced(table, 3)
    acct = table.accounting
    assert (acct.non_ip, acct.malformed, acct.analysed) == (1, 1, 1)
    unsupported = read_file(write(tmp_path, "u.pcap", pcap_bytes(frames, link=147)))
    check_balanced(unsupported, 3)
    assert unsupported.accounting.unsupported_link == 3


def test_vlan_qinq_is_context_not_key(tmp_path: Path) -> None:
    inner = IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=1000, dport=53) / b"q"
    frames = [
        bytes(Ether() / Dot1AD(vlan=100) / Dot1Q(vlan=20) / inner),
        bytes(Ether() / Dot1Q(vlan=30) / inner),
        bytes(Ether() / inner),
    ]
    table = read_file(write(tmp_path, "v.pcap", pcap_bytes(frames)))
    (flow,) = table.flows
    assert flow.packets == 3 and flow.vlan == 100


@pytest.mark.parametrize("link", [101, 12, 228])
def test_raw_ip_link_types(tmp_path: Path, link: int) -> None:
    pkt = bytes(IP(src="192.0.2.9", dst="192.0.2.8") / ICMP(type=8))
    table = read_file(write(tmp_path, "r.pcap", pcap_bytes([pkt], link=link)))
    (flow,) = table.flows
    assert (flow.proto, flow.sport, flow.dport) == (1, 8, 0)


def test_null_sll_and_sll2_links(tmp_path: Path) -> None:
    ip6 = bytes(IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=9, dport=10))
    null = struct.pack("<I", 30) + ip6
    sll = struct.pack("!HHH8sH", 0, 1, 6, b"\0" * 8, 0x86DD) + ip6
    sll2 = struct.pack("!HHIHBB8s", 0x86DD, 0, 1, 1, 0, 6, b"\0" * 8) + ip6
    for link, frame in ((0, null), (113, sll), (276, sll2)):
        table = read_file(write(tmp_path, f"l{link}.pcap", pcap_bytes([frame], link=link)))
        (flow,) = table.flows
        assert (flow.src, flow.dport) == ("2001:db8::1", 10), link


def test_tunnels_decapsulated_with_outer_evidence(tmp_path: Path) -> None:
    inner = Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1234, dport=80, flags="S")
    outer = IP(src="192.0.2.100", dst="192.0.2.200")
    frames = [
        bytes(Ether() / outer / UDP(sport=5555, dport=4789) / VXLAN(vni=7) / inner),
        bytes(Ether() / outer / GRE(proto=0x6558) / inner),
        bytes(Ether() / outer / GRE(proto=0x0800) / inner[IP]),
    ]
    table = read_file(write(tmp_path, "t.pcap", pcap_bytes(frames)))
    check_balanced(table, 3)
    (flow,) = table.flows
    assert (flow.src, flow.dst, flow.dport, flow.packets) == ("10.0.0.1", "10.0.0.2", 80, 3)
    assert set(flow.tunnel) == {"vxlan 192.0.2.100>192.0.2.200", "gre 192.0.2.100>192.0.2.200"}
    assert flow.bytes == sum(len(f) for f in frames)


def test_tunnel_with_non_ip_inside_stays_on_outer_flow(tmp_path: Path) -> None:
    frame = bytes(Ether() / IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=50009, dport=4789)
                  / VXLAN() / Ether() / ARP())  # fmt: skip
    (flow,) = read_file(write(tmp_path, "o.pcap", pcap_bytes([frame]))).flows
    assert (flow.proto, flow.dport, flow.tunnel) == (17, 4789, ())


def test_fragments_join_their_flow_in_any_order(tmp_path: Path) -> None:
    pkt = IP(src="192.0.2.1", dst="192.0.2.2", id=77) / UDP(sport=5000, dport=53) / (b"d" * 3000)
    frags = [eth(f) for f in fragment(pkt, fragsize=1000)]
    assert len(frags) >= 3
    frags = frags[1:] + frags[:1]  # first fragment last
    table = read_file(write(tmp_path, "f.pcap", pcap_bytes(frags)), chunk_records=2)
    check_balanced(table, len(frags))
    (flow,) = table.flows
    assert (flow.sport, flow.dport, flow.packets) == (5000, 53, len(frags))


def test_initiator_is_syn_sender_else_first_packet(tmp_path: Path) -> None:
    frames = [HANDSHAKE[1], HANDSHAKE[0], HANDSHAKE[2]]  # SYN/ACK seen before the SYN
    (flow,) = read_file(write(tmp_path, "i.pcap", pcap_bytes(frames))).flows
    assert (flow.src, flow.sport, flow.first_frame) == ("192.0.2.1", 40000, 1)
    udp = [eth(IP(src="192.0.2.7", dst="192.0.2.1") / UDP(sport=53, dport=999))]
    (uflow,) = read_file(write(tmp_path, "u.pcap", pcap_bytes(udp))).flows
    assert uflow.src == "192.0.2.7"


def test_names_from_payloads(tmp_path: Path) -> None:
    http = tcp(
        "192.0.2.1", "192.0.2.2", 4000, 80, "PA", b"GET / HTTP/1.1\r\nHost: www.example.jp\r\n\r\n"
    )
    (flow,) = read_file(write(tmp_path, "h.pcap", pcap_bytes([http]))).flows
    assert flow.names == ("www.example.jp",)


@pytest.mark.parametrize("chunk", [1, 2, 1000])
def test_chunk_size_does_not_change_results(tmp_path: Path, chunk: int) -> None:
    frames = HANDSHAKE * 3 + [tcp("192.0.2.3", "192.0.2.4", 1, 2, "S")]
    path = write(tmp_path, "k.pcap", pcap_bytes(frames))
    assert read_file(path, chunk_records=chunk).flows == read_file(path).flows


def test_read_flows_merges_files_and_keeps_first_file(tmp_path: Path) -> None:
    a = write(tmp_path, "a.pcap", pcap_bytes(HANDSHAKE[:2]))
    b = write(tmp_path, "b.pcap", pcap_bytes(HANDSHAKE[2:] + [tcp("192.0.2.5", "192.0.2.6", 7, 8)]))
    for jobs in (1, 2):
        table = read_flows([a, b], jobs=jobs)
        assert table.accounting.records == 4 and table.accounting.files == 2
        merged = next(f for f in table.flows if f.dport == 443)
        assert (merged.packets_fwd, merged.packets_rev, merged.file) == (2, 1, a)
    with pytest.raises(InputError):
        read_flows([a], backend="no-such-backend")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal() -> None:
    piped = io.StringIO()
    bar = Progress(2, enabled=True, stream=piped)
    bar.add_records(10)
    bar.file_done()
    bar.close()
    assert piped.getvalue() == ""
    tty = _Tty()
    bar = Progress(2, enabled=True, stream=tty)
    bar.add_records(10)
    bar.file_done()
    bar.close()
    assert "files 1/2" in tty.getvalue() and "records 10" in tty.getvalue()
    quiet = _Tty()
    Progress(1, enabled=False, stream=quiet).close()
    assert quiet.getvalue() == ""


def test_pcapng_absurd_timestamp_options_do_not_crash(tmp_path: Path) -> None:
    for resol in (250, 0x80 | 120, 27):
        body = struct.pack("<HHI", 1, 0, 0) + struct.pack("<HH", 9, 1) + bytes([resol, 0, 0, 0])
        body += struct.pack("<HHq", 14, 8, 1 << 62) + struct.pack("<HH", 0, 0)
        data = shb() + pcapng_block(1, body) + epb(0, 123, HANDSHAKE[0])
        table = read_file(write(tmp_path, f"r{resol}.pcapng", data))
        check_balanced(table, 1)
        assert table.accounting.analysed == 1


@pytest.mark.parametrize("compress", [False, True])
def test_fifo_capture_is_streamed(tmp_path: Path, compress: bool) -> None:
    import os
    import threading

    data = (Path(__file__).parents[1] / "captures" / "alpha-violations.pcap").read_bytes()
    if compress:
        data = gzip.compress(data)
    fifo = tmp_path / "live.pcap"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as fh:
            fh.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        table = read_file(str(fifo))
    finally:
        writer.join(timeout=30)
    assert (table.accounting.records, table.accounting.analysed, len(table)) == (111, 111, 17)


def test_pyshark_refuses_a_fifo_in_one_line(tmp_path: Path) -> None:
    import os

    from segverify.capture.pyshark_backend import read_file as pyshark_read

    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed")
    fifo = tmp_path / "live.pcap"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="needs a regular file") as err:
        pyshark_read(str(fifo))
    assert err.value.file == str(fifo)
