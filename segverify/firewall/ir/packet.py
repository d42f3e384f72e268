"""One concrete packet as the device sees it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace

from segverify.firewall.ir.atoms import ICMP_PROTOCOLS, PORT_PROTOCOLS, TCP_FLAGS


@dataclass(frozen=True)
class Packet:
    """``sport``/``dport`` for port-carrying protocols; ``icmp_type``/``icmp_code`` for
    ICMP; ``tcp_flags`` for TCP (default: a SYN, the first packet of a connection);
    ``iif``/``oif`` the device's input/output interface ('' for none: locally generated
    or locally delivered)."""

    src: str
    dst: str
    proto: int
    sport: int = 0
    dport: int = 0
    icmp_type: int = 8
    icmp_code: int = 0
    tcp_flags: int = TCP_FLAGS["syn"]
    ct_state: str = "new"
    iif: str = ""
    oif: str = ""

    @property
    def family(self) -> int:
        return ipaddress.ip_address(self.src).version

    @property
    def has_ports(self) -> bool:
        return self.proto in PORT_PROTOCOLS

    @property
    def is_icmp(self) -> bool:
        return self.proto in ICMP_PROTOCOLS

    def with_dst(self, dst: str | None, dport: int | None) -> Packet:
        return replace(
            self,
            dst=dst if dst is not None else self.dst,
            dport=dport if dport is not None and self.has_ports else self.dport,
        )
