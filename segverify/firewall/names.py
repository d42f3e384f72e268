"""Name tables of the netfilter vocabulary (protocols, ICMP types, services) and the
parsing of protocol and port names/numbers."""

from __future__ import annotations

from segverify.errors import InputError
from segverify.i18n import Msg
from segverify.topology.model import PortRange

PROTOCOLS = {
    "icmp": 1,
    "igmp": 2,
    "ipip": 4,
    "ipencap": 4,
    "tcp": 6,
    "egp": 8,
    "udp": 17,
    "dccp": 33,
    "ipv6": 41,
    "rsvp": 46,
    "gre": 47,
    "esp": 50,
    "ah": 51,
    "icmpv6": 58,
    "ipv6-icmp": 58,
    "icmp6": 58,
    "ospf": 89,
    "ospfigp": 89,
    "pim": 103,
    "vrrp": 112,
    "l2tp": 115,
    "sctp": 132,
    "udplite": 136,
}

ICMP_TYPES = {
    "echo-reply": 0,
    "pong": 0,
    "destination-unreachable": 3,
    "source-quench": 4,
    "redirect": 5,
    "echo-request": 8,
    "ping": 8,
    "router-advertisement": 9,
    "router-solicitation": 10,
    "time-exceeded": 11,
    "ttl-exceeded": 11,
    "parameter-problem": 12,
    "timestamp-request": 13,
    "timestamp-reply": 14,
    "info-request": 15,
    "info-reply": 16,
    "address-mask-request": 17,
    "address-mask-reply": 18,
}
ICMPV6_TYPES = {
    "destination-unreachable": 1,
    "packet-too-big": 2,
    "time-exceeded": 3,
    "ttl-exceeded": 3,
    "parameter-problem": 4,
    "echo-request": 128,
    "ping": 128,
    "echo-reply": 129,
    "pong": 129,
    "mld-listener-query": 130,
    "mld-listener-report": 131,
    "mld-listener-done": 132,
    "mld-listener-reduction": 132,
    "nd-router-solicit": 133,
    "router-solicitation": 133,
    "nd-router-advert": 134,
    "router-advertisement": 134,
    "nd-neighbor-solicit": 135,
    "neighbour-solicitation": 135,
    "neighbor-solicitation": 135,
    "nd-neighbor-advert": 136,
    "neighbour-advertisement": 136,
    "neighbor-advertisement": 136,
    "nd-redirect": 137,
    "redirect": 137,
    "router-renumbering": 138,
    "ind-neighbor-solicit": 141,
    "ind-neighbor-advert": 142,
    "mld2-listener-report": 143,
}
# iptables icmp type names that also fix the code: name -> (type, code)
ICMP_TYPE_CODES = {
    "network-unreachable": (3, 0),
    "host-unreachable": (3, 1),
    "protocol-unreachable": (3, 2),
    "port-unreachable": (3, 3),
    "fragmentation-needed": (3, 4),
    "source-route-failed": (3, 5),
    "network-unknown": (3, 6),
    "host-unknown": (3, 7),
    "network-prohibited": (3, 9),
    "host-prohibited": (3, 10),
    "TOS-network-unreachable": (3, 11),
    "TOS-host-unreachable": (3, 12),
    "communication-prohibited": (3, 13),
    "host-precedence-violation": (3, 14),
    "precedence-cutoff": (3, 15),
    "network-redirect": (5, 0),
    "host-redirect": (5, 1),
    "TOS-network-redirect": (5, 2),
    "TOS-host-redirect": (5, 3),
    "ttl-zero-during-transit": (11, 0),
    "ttl-zero-during-reassembly": (11, 1),
    "ip-header-bad": (12, 0),
    "required-option-missing": (12, 1),
}

SERVICES = {
    "ftp-data": 20,
    "ftp": 21,
    "ssh": 22,
    "telnet": 23,
    "smtp": 25,
    "domain": 53,
    "dns": 53,
    "bootps": 67,
    "bootpc": 68,
    "tftp": 69,
    "http": 80,
    "www": 80,
    "kerberos": 88,
    "pop3": 110,
    "sunrpc": 111,
    "ntp": 123,
    "netbios-ns": 137,
    "netbios-dgm": 138,
    "netbios-ssn": 139,
    "imap": 143,
    "imap2": 143,
    "snmp": 161,
    "snmp-trap": 162,
    "bgp": 179,
    "ldap": 389,
    "https": 443,
    "microsoft-ds": 445,
    "isakmp": 500,
    "syslog": 514,
    "submission": 587,
    "ldaps": 636,
    "imaps": 993,
    "pop3s": 995,
    "ms-sql-s": 1433,
    "openvpn": 1194,
    "radius": 1812,
    "nfs": 2049,
    "mysql": 3306,
    "ms-wbt-server": 3389,
    "rdp": 3389,
    "ipsec-nat-t": 4500,
    "postgresql": 5432,
    "http-alt": 8080,
    "webcache": 8080,
}


def parse_port(text: str, file: str = "", line: int | None = None) -> int:
    t = text.strip()
    if t.isdigit():
        v = int(t)
    elif t.lower() in SERVICES:
        v = SERVICES[t.lower()]
    else:
        raise InputError(Msg("error.firewall.names.bad_port", text=text), file, line)
    if not 0 <= v <= 65535:
        raise InputError(Msg("error.firewall.names.port_out_range", port=v), file, line)
    return v


def parse_port_range(text: str, sep: str, file: str = "", line: int | None = None) -> PortRange:
    if sep in text:
        a, b = text.split(sep, 1)
        lo = parse_port(a, file, line) if a else 0
        hi = parse_port(b, file, line) if b else 65535
        if lo > hi:
            lo, hi = hi, lo
        return PortRange(lo, hi)
    p = parse_port(text, file, line)
    return PortRange(p, p)


def parse_protocol(text: str) -> int | None:
    t = text.strip().lower()
    if t.isdigit() and 0 <= int(t) <= 255:
        return int(t)
    return PROTOCOLS.get(t)
