"""Small synthetic captures for the capture-analysis tests (scapy builds, scapy writes).

Addresses in the files only; nothing is ever sent.
"""

from __future__ import annotations

from pathlib import Path

from scapy.layers.inet import GRE, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

T0 = 1_775_034_000.0


def tcp_flow(src: str, dst: str, sport: int, dport: int, answered: bool = True) -> list[object]:
    """A TCP exchange: SYN, then (answered) SYN+ACK, ACK, data, or (refused) RST+ACK."""
    ip = IPv6 if ":" in src else IP
    out = [ip(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags="S")]
    if answered:
        out += [
            ip(src=dst, dst=src) / TCP(sport=dport, dport=sport, flags="SA"),
            ip(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags="A"),
            ip(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags="PA") / b"hello",
        ]
    else:
        out += [ip(src=dst, dst=src) / TCP(sport=dport, dport=sport, flags="RA")]
    return out


def udp_packet(src: str, dst: str, sport: int, dport: int) -> list[object]:
    return [IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / b"x"]


def gre(outer_src: str, outer_dst: str, packets: list[object]) -> list[object]:
    """Each packet carried in GRE between the outer endpoints: packets from the first
    packet's sender go outer_src → outer_dst, their answers back the other way."""
    first = packets[0].src  # type: ignore[attr-defined]
    return [
        (
            IP(src=outer_src, dst=outer_dst)
            if p.src == first  # type: ignore[attr-defined]
            else IP(src=outer_dst, dst=outer_src)
        )
        / GRE()
        / p
        for p in packets
    ]


def write_pcap(path: Path, packets: list[object]) -> str:
    frames = []
    for k, pkt in enumerate(packets):
        frame = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / pkt
        frame.time = T0 + k * 0.001
        frames.append(frame)
    wrpcap(str(path), frames)
    return str(path)


def header_only_pcap(path: Path) -> str:
    """A pcap global header and no record."""
    import struct

    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    return str(path)
