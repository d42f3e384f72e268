"""A network-namespace firewall lab: real Linux netfilter as the oracle of segverify.

One firewall namespace routes (IPv4 and IPv6 forwarding on) between side namespaces, one
per firewall interface, joined by veth pairs. A ruleset is loaded into the firewall
namespace with ``iptables-restore``, ``ip6tables-restore`` or ``nft -f``; probe packets
(TCP SYN, UDP datagram, ICMP/ICMPv6 echo and friends) are sent from the side namespaces,
and nft dynamic sets record which first packets arrived: in every side namespace at
prerouting, in the firewall after every filter on the input hook (traffic to the box).

Shared by tests/test_firewall_oracle_netns.py (hand-written and random rulesets, IPv4 and
IPv6) and tests/test_vendor_aerleon_kernel.py (aerleon's renderings of the three-tier
policies). Only one lab runs at a time on the machine: ``locked()`` holds
``flock /tmp/segverify-netns.lock`` for the lab's lifetime. Addresses: 198.18.0.0/15, the
TEST-NETs and 2001:db8::/32, inside the namespaces only; the namespaces are always deleted.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

LOCK = "/tmp/segverify-netns.lock"

RECORDER = """\
table inet svprobe {
  set t4 { type ipv4_addr . ipv4_addr . inet_proto . inet_service; flags dynamic; size 65535; }
  set i4 { type ipv4_addr . ipv4_addr . icmp_type; flags dynamic; size 65535; }
  set t6 { type ipv6_addr . ipv6_addr . inet_proto . inet_service; flags dynamic; size 65535; }
  set i6 { type ipv6_addr . ipv6_addr . icmpv6_type; flags dynamic; size 65535; }
  chain rec {
    type filter hook %s priority %d; policy accept;
    meta nfproto ipv4 meta l4proto { tcp, udp } add @t4 { ip saddr . ip daddr . meta l4proto . th dport }
    meta nfproto ipv4 meta l4proto icmp add @i4 { ip saddr . ip daddr . icmp type }
    meta nfproto ipv6 meta l4proto { tcp, udp } add @t6 { ip6 saddr . ip6 daddr . meta l4proto . th dport }
    meta nfproto ipv6 meta l4proto ipv6-icmp add @i6 { ip6 saddr . ip6 daddr . icmpv6 type }
  }
}
"""
SETS = ("t4", "i4", "t6", "i6")
PERMISSIVE = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"

SENDER = textwrap.dedent(
    """
    import json, socket, struct, sys, time
    probes = json.load(sys.stdin)
    keep = []
    def csum(b):
        s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
        s = (s >> 16) + (s & 0xffff); s += s >> 16
        return ~s & 0xffff
    for p in probes:
        fam = socket.AF_INET6 if ':' in p['src'] else socket.AF_INET
        if p['proto'] == 6:
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.bind((p['src'], p['sport'])); s.setblocking(False)
            s.connect_ex((p['dst'], p['dport'])); keep.append(s)
        elif p['proto'] == 17:
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.bind((p['src'], p['sport'])); s.sendto(b'probe', (p['dst'], p['dport'])); keep.append(s)
        else:
            # ICMP: the checksum is ours; ICMPv6: the kernel fills it (pseudo-header)
            s = socket.socket(fam, socket.SOCK_RAW, p['proto'])
            s.bind((p['src'], 0))
            hdr = struct.pack('!BBHHH', p['dport'] >> 8, 0, 0, p['sport'], 1) + b'probe!'
            if fam == socket.AF_INET:
                hdr = hdr[:2] + struct.pack('!H', csum(hdr)) + hdr[4:]
            s.sendto(hdr, (p['dst'], 0)); keep.append(s)
    time.sleep(0.4)
    """
)

ICMP_NAMES = {
    1: {8: "echo-request", 13: "timestamp-request"},
    58: {128: "echo-request", 139: "139"},
}


def sh(*args: str, stdin: str | None = None, check: bool = True) -> str:
    res = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=60)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {res.stderr.strip()}")
    return res.stdout


def in_ns(ns: str, *args: str, stdin: str | None = None, check: bool = True) -> str:
    return sh("ip", "netns", "exec", ns, *args, stdin=stdin, check=check)


def need_lab(*tools: str) -> None:
    """Skip (with the reason) unless root and the tools the lab needs are here."""
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces and netfilter")
    for tool in ("ip", "nft", *tools):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (CI installs it via .ci/run)")


@contextmanager
def locked() -> Iterator[None]:
    """One namespace lab at a time on this machine."""
    with open(LOCK, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Side:
    """One firewall interface and the namespace behind it.

    ``fw``: the firewall's addresses on the link (CIDR, IPv4 and/or IPv6). ``hosts``: the
    addresses the side namespace holds (probe sources and destinations). A host inside one
    of the link's subnets is on-link; any other host is reached by the firewall through a
    host route via the first on-link host of its family (external networks behind a
    next hop, such as the internet behind the security cloud's link).
    """

    ifname: str
    fw: tuple[str, ...]
    hosts: tuple[str, ...]


def _family(addr: str) -> int:
    return ipaddress.ip_address(addr.split("/")[0]).version


@dataclass
class Lab:
    """The firewall namespace and its sides; ``sides`` maps a label (a zone) to a Side."""

    sides: dict[str, Side]
    tag: str = "svfw"
    namespaces: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.run = f"{self.tag}-{os.getpid()}-"
        self.fw = self.run + "fw"
        self._ns = {label: f"{self.run}{i}" for i, label in enumerate(self.sides)}

    def side_ns(self, label: str) -> str:
        return self._ns[label]

    def all_ns(self) -> list[str]:
        return [self.fw] + list(self._ns.values())

    def up(self) -> None:
        fw = self.fw
        sh("ip", "netns", "add", fw)
        self.namespaces.append(fw)
        in_ns(fw, "ip", "link", "set", "lo", "up")
        for key, value in (
            ("net.ipv4.ip_forward", "1"),
            ("net.ipv4.conf.all.rp_filter", "0"),
            ("net.ipv4.conf.default.rp_filter", "0"),
            ("net.ipv6.conf.all.forwarding", "1"),
            ("net.ipv6.conf.default.accept_dad", "0"),
        ):
            in_ns(fw, "sysctl", "-qw", f"{key}={value}")
        macs: dict[str, tuple[str, str]] = {}  # label -> (firewall side MAC, host side MAC)
        for i, (label, side) in enumerate(self.sides.items()):
            ns = self._ns[label]
            sh("ip", "netns", "add", ns)
            self.namespaces.append(ns)
            in_ns(ns, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0")
            in_ns(ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0")
            a, b = f"{self.tag}{os.getpid() % 100000}a{i}", f"{self.tag}{os.getpid() % 100000}b{i}"
            sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
            sh("ip", "link", "set", a, "netns", fw)
            sh("ip", "link", "set", b, "netns", ns)
            in_ns(fw, "ip", "link", "set", a, "name", side.ifname)
            in_ns(ns, "ip", "link", "set", b, "name", "eth0")
            for cidr in side.fw:
                in_ns(fw, "ip", "addr", "add", cidr, "dev", side.ifname, *self._nodad(cidr))
            in_ns(fw, "ip", "link", "set", side.ifname, "up")
            in_ns(ns, "ip", "link", "set", "lo", "up")
            nets = [ipaddress.ip_interface(c).network for c in side.fw]
            for h in side.hosts:
                ip = ipaddress.ip_address(h)
                net = next((n for n in nets if ip in n), None)
                plen = net.prefixlen if net is not None else ip.max_prefixlen
                in_ns(ns, "ip", "addr", "add", f"{h}/{plen}", "dev", "eth0", *self._nodad(h))
            in_ns(ns, "ip", "link", "set", "eth0", "up")
            for cidr in side.fw:
                gw = str(ipaddress.ip_interface(cidr).ip)
                flag = "-6" if _family(gw) == 6 else "-4"
                in_ns(ns, "ip", flag, "route", "add", "default", "via", gw)
            in_ns(ns, "nft", "-f", "-", stdin=RECORDER % ("prerouting", -400))
            macs[label] = (self._mac(fw, side.ifname), self._mac(ns, "eth0"))
        # Static neighbours both ways: a ruleset that drops ICMPv6 to the box (or ARP
        # timing) must not decide whether forwarded probes get through.
        for label, side in self.sides.items():
            fw_mac, host_mac = macs[label]
            ns = self._ns[label]
            nets = [ipaddress.ip_interface(c).network for c in side.fw]
            for cidr in side.fw:
                gw = str(ipaddress.ip_interface(cidr).ip)
                in_ns(ns, "ip", "neigh", "replace", gw, "lladdr", fw_mac, "nud", "permanent",
                      "dev", "eth0")  # fmt: skip
            for h in side.hosts:
                ip = ipaddress.ip_address(h)
                on_link = [n for n in nets if ip in n]
                if on_link:
                    in_ns(fw, "ip", "neigh", "replace", h, "lladdr", host_mac, "nud",
                          "permanent", "dev", side.ifname)  # fmt: skip
                    continue
                hop = next(
                    (
                        x
                        for x in side.hosts
                        if ipaddress.ip_address(x).version == ip.version
                        and any(ipaddress.ip_address(x) in n for n in nets)
                    ),
                    None,
                )
                if hop is None:
                    raise RuntimeError(f"{label}: no on-link next hop for {h}")
                in_ns(fw, "ip", "route", "add", f"{h}/{ip.max_prefixlen}", "via", hop, "dev",
                      side.ifname)  # fmt: skip

    @staticmethod
    def _nodad(addr: str) -> tuple[str, ...]:
        return ("nodad",) if _family(addr) == 6 else ()

    @staticmethod
    def _mac(ns: str, ifname: str) -> str:
        doc = json.loads(in_ns(ns, "ip", "-j", "link", "show", "dev", ifname))
        return str(doc[0]["address"])

    def down(self) -> None:
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        self.namespaces.clear()

    def load(self, parts: list[tuple[str, str]]) -> None:
        """Replace the firewall's ruleset: ``(kind, text)`` with kind iptables,
        ip6tables or nft, loaded in order."""
        # an iptables-legacy filter table (where iptables is the legacy variant) is not in
        # nft's ruleset: reset it to accept-all first, then flush what nft holds
        for tool in ("iptables-restore", "ip6tables-restore"):
            if shutil.which(tool):
                in_ns(self.fw, tool, stdin=PERMISSIVE)
        in_ns(self.fw, "nft", "flush", "ruleset")
        for kind, text in parts:
            tool = {"iptables": "iptables-restore", "ip6tables": "ip6tables-restore"}.get(kind)
            if tool:
                in_ns(self.fw, tool, stdin=text)
            else:
                in_ns(self.fw, "nft", "-f", "-", stdin=text)
        # the firewall's own arrivals are recorded after every filter on the input hook
        in_ns(self.fw, "nft", "-f", "-", stdin=RECORDER % ("input", 500))

    def listing_cmd(self, *args: str) -> str:
        """The output of a listing command (``iptables-save -c``, ``nft -j list …``) run in
        the firewall namespace."""
        return in_ns(self.fw, *args)

    def listing(self) -> str:
        """``nft list ruleset`` of the firewall as the device shows it (without the recorder)."""
        text = in_ns(self.fw, "nft", "list", "ruleset")
        start = text.find("table inet svprobe {")
        if start < 0:
            return text
        end = text.find("\n}\n", start)
        return text[:start] + text[end + 3 :]

    def probe(self, probes: list[dict]) -> set[tuple]:
        """Send the probes (dicts: side, src, dst, proto, sport, dport; for ICMP dport is
        type << 8) and return the keys (``key_of``) of those that arrived."""
        flush = "".join(f"flush set inet svprobe {name}\n" for name in SETS)
        for ns in self.all_ns():
            in_ns(ns, "nft", "-f", "-", stdin=flush)
        by_side: dict[str, list[dict]] = {}
        for p in probes:
            by_side.setdefault(p["side"], []).append(p)
        procs = []
        for label, batch in by_side.items():
            proc = subprocess.Popen(
                ["ip", "netns", "exec", self._ns[label], sys.executable, "-c", SENDER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(batch))
            proc.stdin.close()
            procs.append(proc)
        for proc in procs:
            proc.wait(timeout=60)
            if proc.returncode != 0:
                assert proc.stderr is not None
                raise RuntimeError(proc.stderr.read())
        time.sleep(0.1)
        return self._arrived()

    def _arrived(self) -> set[tuple]:
        seen: set[tuple] = set()
        for ns in self.all_ns():
            doc = json.loads(in_ns(ns, "nft", "-j", "list", "table", "inet", "svprobe"))
            for item in doc["nftables"]:
                for elem in item.get("set", {}).get("elem", []) or []:
                    value = (
                        elem.get("elem", {}).get("val", elem) if isinstance(elem, dict) else elem
                    )
                    parts = value["concat"]
                    seen.add(tuple(_canon(p) for p in parts))
        return seen


def _canon(part: object) -> str:
    text = str(part)
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


def key_of(p: dict) -> tuple:
    """What the recorder stores for a probe."""
    src, dst = str(ipaddress.ip_address(p["src"])), str(ipaddress.ip_address(p["dst"]))
    if p["proto"] in (1, 58):
        t = p["dport"] >> 8
        return (src, dst, ICMP_NAMES[p["proto"]].get(t, str(t)))
    return (src, dst, "tcp" if p["proto"] == 6 else "udp", str(p["dport"]))


@contextmanager
def running(sides: dict[str, Side], tag: str = "svfw") -> Iterator[Lab]:
    """A lab under the machine-wide lock; skips when namespaces cannot be built here."""
    with locked():
        lab = Lab(sides, tag)
        try:
            lab.up()
        except Exception as exc:  # pragma: no cover - environment without netns support
            lab.down()
            pytest.skip(f"cannot build the namespace lab: {exc}")
        try:
            yield lab
        finally:
            lab.down()
