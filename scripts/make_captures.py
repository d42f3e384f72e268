"""Write the bundled example captures in captures/ (deterministic: same bytes every run).

Run from the repository root:  .venv/bin/python scripts/make_captures.py

Every capture is scripted traffic against topologies/alpha.yaml, using only addresses
from 198.18.0.0/15 and the TEST-NETs. Each ``captures/<name>`` has
``captures/<name>.expected.json``: the forbidden flows ``segverify pcap`` must report
(src, dst, proto, dport, rule), no more and no fewer.
"""

from __future__ import annotations

import json
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "captures"
T0 = 1_775_034_000 * 1_000_000_000  # 2026-04-01T09:00:00Z in ns
ZONE_VLAN = {"198.18.10.": 10, "198.18.20.": 20, "198.18.30.": 30}


def mac(ip: str) -> str:
    """A stable locally administered MAC per address."""
    digits = [int(x) for x in ip.replace(":", ".").split(".") if x.isdigit()][-4:]
    while len(digits) < 4:
        digits.insert(0, 0)
    return "02:00:" + ":".join(f"{d & 0xFF:02x}" for d in digits)


@dataclass
class Frame:
    ts_ns: int
    data: bytes
    wirelen: int
    iface: int = 0


@dataclass
class Trace:
    """Packets in time order, plus the forbidden flows they contain."""

    frames: list[Frame] = field(default_factory=list)
    expected: list[dict[str, object]] = field(default_factory=list)
    clock: int = T0
    vlan: bool = False  # tag internal-zone senders with their zone's VLAN

    def tick(self, ms: int = 3) -> int:
        self.clock += ms * 1_000_000 + 137
        return self.clock

    def l2(self, src: str, dst: str, payload: object) -> bytes:
        eth = Ether(src=mac(src), dst=mac(dst))
        vlan = next((v for p, v in ZONE_VLAN.items() if src.startswith(p)), None)
        if self.vlan and vlan is not None:
            return bytes(eth / Dot1Q(vlan=vlan) / payload)
        return bytes(eth / payload)

    def add(self, src: str, dst: str, l3: object, iface: int = 0) -> None:
        data = self.l2(src, dst, l3)
        self.frames.append(Frame(self.tick(), data, len(data), iface))

    def expect(self, src: str, dst: str, proto: str, dport: int | None, rule: str) -> None:
        self.expected.append({"src": src, "dst": dst, "proto": proto, "dport": dport, "rule": rule})

    def tcp(
        self,
        client: str,
        server: str,
        sport: int,
        dport: int,
        request: bytes = b"",
        response: bytes = b"",
        answered: bool = True,
        iface: int = 0,
    ) -> None:
        """A TCP session: handshake, one request and response, close."""
        ip = IPv6 if ":" in client else IP
        c, s = ip(src=client, dst=server), ip(src=server, dst=client)
        self.add(client, server, c / TCP(sport=sport, dport=dport, flags="S", seq=1000), iface)
        if not answered:
            self.add(client, server, c / TCP(sport=sport, dport=dport, flags="S", seq=1000), iface)
            return
        self.add(
            server, client, s / TCP(sport=dport, dport=sport, flags="SA", seq=5000, ack=1001), iface
        )
        self.add(
            client, server, c / TCP(sport=sport, dport=dport, flags="A", seq=1001, ack=5001), iface
        )
        cseq, sseq = 1001, 5001
        if request:
            self.add(
                client,
                server,
                c / TCP(sport=sport, dport=dport, flags="PA", seq=cseq, ack=sseq) / request,
                iface,
            )
            cseq += len(request)
        if response:
            self.add(
                server,
                client,
                s / TCP(sport=dport, dport=sport, flags="PA", seq=sseq, ack=cseq) / response,
                iface,
            )
            sseq += len(response)
        self.add(
            client, server, c / TCP(sport=sport, dport=dport, flags="FA", seq=cseq, ack=sseq), iface
        )
        self.add(
            server,
            client,
            s / TCP(sport=dport, dport=sport, flags="FA", seq=sseq, ack=cseq + 1),
            iface,
        )
        self.add(
            client,
            server,
            c / TCP(sport=sport, dport=dport, flags="A", seq=cseq + 1, ack=sseq + 1),
            iface,
        )

    def dns(self, client: str, server: str, sport: int, qname: bytes, iface: int = 0) -> None:
        query = DNS(id=sport, rd=1, qd=DNSQR(qname=qname, qtype="A"))
        self.add(
            client, server, IP(src=client, dst=server) / UDP(sport=sport, dport=53) / query, iface
        )
        answer = DNS(id=sport, qr=1, rd=1, ra=1, rcode=3, qd=DNSQR(qname=qname, qtype="A"))
        self.add(
            server, client, IP(src=server, dst=client) / UDP(sport=53, dport=sport) / answer, iface
        )


def client_hello(sni: bytes) -> bytes:
    """A minimal TLS 1.2 ClientHello record carrying one server_name."""
    name = b"\x00" + struct.pack("!H", len(sni)) + sni
    ext = struct.pack("!HH", 0, len(name) + 2) + struct.pack("!H", len(name)) + name
    body = (
        b"\x03\x03"
        + bytes(range(32))
        + b"\x00"
        + b"\x00\x04\x13\x01\xc0\x2f"
        + b"\x01\x00"
        + struct.pack("!H", len(ext))
        + ext
    )
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def http_get(host: bytes, path: bytes = b"/") -> bytes:
    return b"GET " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\nUser-Agent: sv\r\n\r\n"


HTTP_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


# --- the traffic ---------------------------------------------------------------------

LGWAN_PC = "198.18.20.150"
INET_PC = "198.18.30.101"
MYNUMBER_HOST = "198.18.10.50"
EXTERNAL = 1  # interface index for flows with an endpoint outside the municipality


def compliant(tr: Trace) -> None:
    """Allowed traffic: intra-zone, sanitised transfer, security-cloud exits, R1 exception."""
    tr.tcp(
        LGWAN_PC,
        "198.18.30.40",
        50001,
        3389,
        b"\x03\x00\x00\x13rdp-connection-req",
        b"\x03\x00\x00\x0bcc",
    )
    tr.tcp(LGWAN_PC, "198.18.20.25", 50002, 143, b"a1 LOGIN x y\r\n", b"a1 OK\r\n")
    tr.tcp("198.18.20.25", "198.18.20.30", 50003, 25, b"EHLO lgwan-mail\r\n", b"250 ok\r\n")
    tr.tcp("198.18.30.25", "198.18.30.30", 50004, 25, b"EHLO inet-mail\r\n", b"250 ok\r\n")
    tr.tcp("198.18.20.30", "198.18.30.30", 50005, 25, b"EHLO sanitiser\r\n", b"250 ok\r\n")
    tr.dns(INET_PC, "203.0.113.53", 50006, b"www.example.org.", iface=EXTERNAL)
    connect = b"CONNECT www.example.org:443 HTTP/1.1\r\nHost: www.example.org:443\r\n\r\n"
    tr.tcp(
        INET_PC,
        "203.0.113.10",
        50007,
        8080,
        connect,
        b"HTTP/1.1 200 Connection established\r\n\r\n",
        iface=EXTERNAL,
    )
    tr.tcp(
        "203.0.113.25",
        "198.18.30.25",
        50008,
        25,
        b"EHLO sc-mail\r\n",
        b"250 ok\r\n",
        iface=EXTERNAL,
    )
    tr.tcp(
        "198.18.10.10",
        "198.19.100.50",
        50009,
        443,
        client_hello(b"chukan.lgwan.example"),
        b"\x16\x03\x03\x00\x02\x02\x00",
        iface=EXTERNAL,
    )
    tr.tcp(
        MYNUMBER_HOST,
        "198.18.10.10",
        50010,
        443,
        client_hello(b"atena.local.example"),
        b"\x16\x03\x03\x00\x02\x02\x00",
    )
    ping = IP(src=LGWAN_PC, dst="198.18.20.25") / ICMP(type=8, id=7, seq=1) / b"ping"
    tr.add(LGWAN_PC, "198.18.20.25", ping)
    pong = IP(src="198.18.20.25", dst=LGWAN_PC) / ICMP(type=0, id=7, seq=1) / b"ping"
    tr.add("198.18.20.25", LGWAN_PC, pong)
    v6 = IPv6(src="2001:db8:20::150", dst="2001:db8:20::25")
    tr.add(LGWAN_PC, "198.18.20.25", v6 / UDP(sport=50011, dport=514) / b"<14>syslog line")


def violations(tr: Trace) -> None:
    """One forbidden flow per tier rule the α model enforces, each expected."""
    tr.tcp(
        MYNUMBER_HOST,
        "192.0.2.80",
        50101,
        443,
        client_hello(b"update.example.com"),
        b"\x16\x03\x03",
        iface=EXTERNAL,
    )
    tr.expect(MYNUMBER_HOST, "192.0.2.80", "tcp", 443, "R1")
    tr.tcp(
        LGWAN_PC, "198.18.30.60", 50102, 445, b"\x00\x00\x00\x2f\xfeSMB", b"\x00\x00\x00\x2f\xfeSMB"
    )
    tr.expect(LGWAN_PC, "198.18.30.60", "tcp", 445, "R2")
    tr.tcp(
        INET_PC,
        "198.51.100.20",
        50103,
        443,
        client_hello(b"www.example.com"),
        b"\x16\x03\x03",
        iface=EXTERNAL,
    )
    tr.expect(INET_PC, "198.51.100.20", "tcp", 443, "R3")
    tr.tcp(LGWAN_PC, "198.18.30.40", 50104, 80, http_get(b"screen.example"), HTTP_OK)
    tr.expect(LGWAN_PC, "198.18.30.40", "tcp", 80, "R2")
    tr.tcp(
        INET_PC,
        "198.19.100.50",
        50105,
        443,
        client_hello(b"asp.lgwan.example"),
        b"",
        answered=False,
        iface=EXTERNAL,
    )
    tr.expect(INET_PC, "198.19.100.50", "tcp", 443, "R4")


def hostile(tr: Trace) -> None:
    """Forbidden flows whose names are hostile strings (HTML, CSV formulas, newlines, quotes)."""
    names = [
        b"<script>alert(1)</script>.example",
        b"=cmd|' /C calc'!A0",
        b"line1\nline2\"quoted'.example",
        b"+SUM(1,2)@-x.example",
    ]
    for i, name in enumerate(names):
        server = f"192.0.2.{60 + i}"
        tr.tcp(INET_PC, server, 50200 + i, 443, client_hello(name), b"\x16\x03\x03", iface=EXTERNAL)
        tr.expect(INET_PC, server, "tcp", 443, "R3")
    for i, host in enumerate(
        [b"<img src=x onerror=alert(1)>", b'=HYPERLINK("http://x")', b"a\"b'c,d;e"]
    ):
        server = f"198.51.100.{70 + i}"
        tr.tcp(INET_PC, server, 50210 + i, 80, http_get(host), HTTP_OK, iface=EXTERNAL)
        tr.expect(INET_PC, server, "tcp", 80, "R3")
    tr.dns(INET_PC, "203.0.113.200", 50220, b"=1+1|cmd.\r\n<b>x</b>.example.", iface=EXTERNAL)
    tr.expect(INET_PC, "203.0.113.200", "udp", 53, "R3")


def incomplete_records(tr: Trace) -> None:
    """Records that cannot be fully analysed: one snaplen-truncated, one non-IP (ARP)."""
    arp = Ether(src=mac(LGWAN_PC), dst="ff:ff:ff:ff:ff:ff") / ARP(psrc=LGWAN_PC, pdst="198.18.20.1")
    tr.frames.append(Frame(tr.tick(), bytes(arp), len(bytes(arp))))
    full = tr.l2(
        LGWAN_PC,
        "198.18.20.25",
        IP(src=LGWAN_PC, dst="198.18.20.25") / TCP(sport=50300, dport=143, flags="S"),
    )
    tr.frames.append(Frame(tr.tick(), full[:24], len(full)))  # cut inside the IP header


# --- writers ---------------------------------------------------------------------------


def pcap_bytes(frames: list[Frame]) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for f in frames:
        sec, ns = divmod(f.ts_ns, 1_000_000_000)
        out.append(struct.pack("<IIII", sec, ns // 1000, len(f.data), f.wirelen) + f.data)
    return b"".join(out)


def _block(btype: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)


def pcapng_bytes(frames: list[Frame]) -> bytes:
    """Two Ethernet interfaces: 0 internal trunk (µs), 1 uplink (ns resolution)."""
    shb = _block(
        0x0A0D0D0A,
        struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
        + _option(4, b"segverify make_captures.py")
        + _option(0, b""),
    )
    idb0 = _block(
        1, struct.pack("<HHI", 1, 0, 65535) + _option(2, b"trunk-internal") + _option(0, b"")
    )
    idb1 = _block(
        1,
        struct.pack("<HHI", 1, 0, 65535)
        + _option(2, b"uplink")
        + _option(9, b"\x09")
        + _option(0, b""),
    )
    out = [shb, idb0, idb1]
    for f in frames:
        ticks = f.ts_ns if f.iface == 1 else f.ts_ns // 1000
        body = (
            struct.pack("<IIIII", f.iface, ticks >> 32, ticks & 0xFFFFFFFF, len(f.data), f.wirelen)
            + f.data
        )
        out.append(_block(6, body))
    return b"".join(out)


def write(name: str, data: bytes, expected: list[dict[str, object]]) -> None:
    path = OUT / name
    path.write_bytes(data)
    if len(data) >= 1_000_000:
        sys.exit(f"{path} is {len(data)} bytes, over the 1 MB limit")
    exp = OUT / f"{name}.expected.json"
    exp.write_text(json.dumps(expected, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)} ({len(data)} bytes, {len(expected)} forbidden flows)")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    tr = Trace()
    compliant(tr)
    violations(tr)
    write("alpha-violations.pcap", pcap_bytes(tr.frames), tr.expected)

    tr = Trace(vlan=True)
    compliant(tr)
    violations(tr)
    write("alpha-violations.pcapng", pcapng_bytes(tr.frames), tr.expected)

    tr = Trace()
    compliant(tr)
    write("alpha-clean.pcap", pcap_bytes(tr.frames), tr.expected)

    tr = Trace()
    compliant(tr)
    incomplete_records(tr)
    write("alpha-incomplete.pcap", pcap_bytes(tr.frames), tr.expected)

    tr = Trace()
    hostile(tr)
    write("hostile-names.pcap", pcap_bytes(tr.frames), tr.expected)


if __name__ == "__main__":
    main()
