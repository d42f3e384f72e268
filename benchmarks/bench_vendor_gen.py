"""Generate 10k-policy FortiGate and PAN-OS XML exports for alpha's fw-inet (benchmarks).

Distinct address objects (hosts and /28–/30 subnets drawn across the inet zone, the
security cloud and outside ranges: 198.18.0.0/15 and the TEST-NETs only), ~30% of the
policies with a service group of 2–4 services, ~8% deny. The same policy list is written
as FortiOS ``show full-configuration`` and as a PAN-OS running-config XML. Deterministic
for a given seed.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass

PORTS = (22, 25, 53, 80, 110, 143, 389, 443, 587, 636, 993, 1433, 1521, 3389, 5432, 8080, 8443)
ZONES = {
    "inet": ipaddress.ip_network("198.18.30.0/24"),
    "sc": ipaddress.ip_network("203.0.113.0/26"),
    "ext": ipaddress.ip_network("198.19.128.0/17"),
}


@dataclass
class Pol:
    name: str
    inbound: bool  # security cloud / outside → inet
    src: list[str]
    dst: list[str]
    services: list[str]
    deny: bool


def _net(rng: random.Random, zone: str) -> str:
    net = ZONES[zone]
    plen = rng.choice((32, 32, 32, 30, 29, 28)) if zone != "ext" else rng.choice((32, 30, 28, 24))
    base = int(net.network_address) + rng.randrange(net.num_addresses)
    return str(ipaddress.ip_network(f"{ipaddress.ip_address(base)}/{plen}", strict=False))


# what alpha's policy allows through fw-inet: inet → proxy, DNS, mail relay; mail inbound
ALLOWED = (
    ("inet", "203.0.113.10/32", ["tcp-8080"]),
    ("inet", "203.0.113.53/32", ["udp-53", "tcp-53"]),
    ("inet-mail", "203.0.113.25/32", ["tcp-25"]),
)


def policies(
    n: int, seed: int = 1
) -> tuple[dict[str, str], dict[str, tuple[str, int]], dict[str, list[str]], list[Pol]]:
    """(address objects name → prefix, services name → (proto, port), service groups,
    policies). Mostly sanctioned flows from distinct source objects, ~8% deny policies
    over any zones and services, ~0.5% deliberate violations (direct web to outside)."""
    rng = random.Random(seed)
    addrs: dict[str, str] = {}
    services = {f"{p}-{port}": (p, port) for p in ("tcp", "udp") for port in PORTS}
    names = sorted(services)
    groups: dict[str, list[str]] = {}
    pols: list[Pol] = []

    def obj(prefix: str, zone: str) -> str:
        name = f"{zone}-{len(addrs)}"
        addrs[name] = prefix
        return name

    for i in range(n):
        r = rng.random()
        inbound = False
        if r < 0.08:  # deny: any direction, any objects, 2–4 services half of the time
            inbound = rng.random() < 0.5
            zs, zd = (
                (rng.choice(("sc", "ext")), "inet")
                if inbound
                else ("inet", rng.choice(("sc", "ext")))
            )
            src = [obj(_net(rng, zs), zs) for _ in range(rng.choice((1, 2)))]
            dst = [obj(_net(rng, zd), zd) for _ in range(rng.choice((1, 2)))]
            if rng.random() < 0.5:
                g = f"grp-{i}"
                groups[g] = rng.sample(names, rng.randint(2, 4))
                svc = [g]
            else:
                svc = [rng.choice(names)]
            pols.append(Pol(f"p{i + 1}", inbound, src, dst, svc, True))
            continue
        if r < 0.085:  # violation: inet straight to the outside on web ports
            src = [obj(_net(rng, "inet"), "inet")]
            dst = [obj(_net(rng, "ext"), "ext")]
            pols.append(Pol(f"p{i + 1}", False, src, dst, ["tcp-443"], False))
            continue
        if r < 0.12:  # inbound mail from the security cloud's relay
            src = [obj("203.0.113.25/32", "sc")]
            dst = [obj("198.18.30.25/32", "inet")]
            pols.append(Pol(f"p{i + 1}", True, src, dst, ["tcp-25"], False))
            continue
        kind, dst_pfx, svcs = ALLOWED[rng.randrange(len(ALLOWED))]
        if kind == "inet-mail":
            src = [obj("198.18.30.25/32", "inet")]
        else:
            src = [obj(_net(rng, "inet"), "inet") for _ in range(rng.choice((1, 1, 2, 3)))]
        dst = [obj(dst_pfx, "sc")]
        if len(svcs) > 1 or rng.random() < 0.3:
            g = f"grp-{i}"
            groups[g] = list(svcs)
            svc = [g]
        else:
            svc = list(svcs)
        pols.append(Pol(f"p{i + 1}", inbound, src, dst, svc, False))
    return addrs, services, groups, pols


def fortigate(n: int, seed: int = 1) -> str:
    addrs, services, groups, pols = policies(n, seed)
    out = [
        "#config-version=FG100F-7.2.5-FW-build1517-230606:opmode=0:vdom=0:user=admin",
        'config system global\n    set hostname "fw-inet"\nend',
        "config system interface",
        '    edit "port1"\n        set vdom "root"\n        set ip 198.18.30.1 255.255.255.0\n    next',
        '    edit "port2"\n        set vdom "root"\n        set ip 203.0.113.1 255.255.255.192\n    next',
        "end",
        "config firewall address",
    ]
    for name, pfx in addrs.items():
        net = ipaddress.ip_network(pfx)
        out.append(
            f'    edit "{name}"\n        set subnet {net.network_address} {net.netmask}\n    next'
        )
    out.append("end\nconfig firewall service custom")
    for name, (proto, port) in services.items():
        out.append(f'    edit "{name}"\n        set {proto}-portrange {port}\n    next')
    out.append("end\nconfig firewall service group")
    for name, members in groups.items():
        out.append(f'    edit "{name}"\n        set member {" ".join(members)}\n    next')
    out.append("end\nconfig firewall policy")
    for i, p in enumerate(pols, 1):
        si, di = ("port2", "port1") if p.inbound else ("port1", "port2")
        out.append(
            f'    edit {i}\n        set name "{p.name}"\n        set srcintf "{si}"\n'
            f'        set dstintf "{di}"\n        set action {"deny" if p.deny else "accept"}\n'
            f"        set srcaddr {' '.join(p.src)}\n        set dstaddr {' '.join(p.dst)}\n"
            f'        set schedule "always"\n        set service {" ".join(p.services)}\n'
            "        set logtraffic all\n    next"
        )
    out.append("end")
    return "\n".join(out) + "\n"


def paloalto_xml(n: int, seed: int = 1) -> str:
    addrs, services, groups, pols = policies(n, seed)
    out = [
        '<?xml version="1.0"?>',
        '<config version="10.2.0"><devices><entry name="localhost.localdomain">',
        "<network><interface><ethernet>",
        '<entry name="ethernet1/1"><layer3><ip><entry name="198.18.30.1/24"/></ip></layer3></entry>',
        '<entry name="ethernet1/2"><layer3><ip><entry name="203.0.113.1/26"/></ip></layer3></entry>',
        "</ethernet></interface></network>",
        "<deviceconfig><system><hostname>fw-inet</hostname></system></deviceconfig>",
        '<vsys><entry name="vsys1"><zone>',
        '<entry name="inet"><network><layer3><member>ethernet1/1</member></layer3></network></entry>',
        '<entry name="cloud"><network><layer3><member>ethernet1/2</member></layer3></network></entry>',
        "</zone><address>",
    ]
    out += [f'<entry name="{k}"><ip-netmask>{v}</ip-netmask></entry>' for k, v in addrs.items()]
    out.append("</address><service>")
    out += [
        f'<entry name="{k}"><protocol><{p}><port>{port}</port></{p}></protocol></entry>'
        for k, (p, port) in services.items()
    ]
    out.append("</service><service-group>")
    for k, members in groups.items():
        m = "".join(f"<member>{x}</member>" for x in members)
        out.append(f'<entry name="{k}"><members>{m}</members></entry>')
    out.append("</service-group><rulebase><security><rules>")

    def mem(xs: list[str]) -> str:
        return "".join(f"<member>{x}</member>" for x in xs)

    for p in pols:
        fz, tz = ("cloud", "inet") if p.inbound else ("inet", "cloud")
        out.append(
            f'<entry name="{p.name}"><from><member>{fz}</member></from><to><member>{tz}</member></to>'
            f"<source>{mem(p.src)}</source><destination>{mem(p.dst)}</destination>"
            "<source-user><member>any</member></source-user><category><member>any</member></category>"
            f"<application><member>any</member></application><service>{mem(p.services)}</service>"
            f"<action>{'deny' if p.deny else 'allow'}</action><log-end>yes</log-end></entry>"
        )
    out.append("</rules></security></rulebase></entry></vsys></entry></devices></config>")
    return "\n".join(out) + "\n"
