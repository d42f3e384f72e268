"""Benchmark: parse + full analysis of generated 10k-rule Cisco ASA and Juniper SRX exports
against alpha/fw-inet, through the CLI's entry point (format registry + topology binding).

    .venv/bin/python benchmarks/bench_firewall_asa_srx.py [--sizes 10000] [--runs 3]

The same generated rule list (``rules()``: distinct address objects, hosts and /28–/30
subnets drawn across the inet zone and outside ranges; service groups; ~8% deny; ~0.5%
deliberate violations) is written as an ASA
``show running-config`` (objects, object-groups, an inbound ACL on inside) and as an SRX
``display set`` configuration (address book, applications, zone-pair policies). Prints the
median of ``--runs`` runs per vendor and size.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from segverify.checks.firewall import check_firewall  # noqa: E402
from segverify.firewall.registry import load_device  # noqa: E402
from segverify.topology.loader import load_topology  # noqa: E402

PORTS = (22, 25, 53, 80, 110, 143, 389, 443, 587, 636, 993, 1433, 1521, 3389, 5432, 8080, 8443)
ZONES = {
    "inet": ipaddress.ip_network("198.18.30.0/24"),
    "sc": ipaddress.ip_network("203.0.113.0/26"),
    "ext": ipaddress.ip_network("198.19.128.0/17"),
}


@dataclass
class Rule:
    name: str
    src: str
    dst: str
    services: list[tuple[str, int]]
    deny: bool


def rules(n: int, seed: int = 1) -> list[Rule]:
    """Mostly sanctioned flows (inet → the security cloud's proxy and DNS) from distinct
    source objects, ~8% deny rules over any zones and services (30% with a group of 2–4
    services), ~0.5% deliberate violations (direct web to the outside)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        deny = rng.random() < 0.08
        if rng.random() < 0.005:
            src, dst, svc = _net(rng, "inet"), _net(rng, "ext"), [("tcp", 443)]
            deny = False
        elif deny:
            src, dst = _net(rng, rng.choice(("inet", "ext"))), _net(rng, rng.choice(("sc", "ext")))
            k = rng.randint(2, 4) if rng.random() < 0.3 else 1
            svc = [(rng.choice(("tcp", "udp")), p) for p in rng.sample(PORTS, k)]
        else:
            src = _net(rng, "inet")
            if rng.random() < 0.5:
                dst, svc = "203.0.113.10/32", [("tcp", 8080)]
            elif rng.random() < 0.6:  # DNS as a group of two services
                dst, svc = "203.0.113.53/32", [("udp", 53), ("tcp", 53)]
            else:
                dst, svc = "203.0.113.53/32", [("udp", 53)]
        out.append(Rule(f"r{i}", src, dst, svc, deny))
    return out


def _net(rng: random.Random, zone: str) -> str:
    net = ZONES[zone]
    plen = rng.choice((32, 32, 32, 30, 29, 28))
    base = int(net.network_address) + rng.randrange(net.num_addresses)
    return str(
        ipaddress.ip_network(
            f"{ipaddress.ip_address(base)}/{max(plen, net.prefixlen)}", strict=False
        )
    )


def asa(rs: list[Rule]) -> str:
    out = [
        "ASA Version 9.12(4)", "hostname fw-inet",
        "interface GigabitEthernet0/0", " nameif inside", " security-level 100",
        " ip address 198.18.30.1 255.255.255.0",
        "interface GigabitEthernet0/1", " nameif outside", " security-level 0",
        " ip address 203.0.113.1 255.255.255.192",
    ]  # fmt: skip
    objs: dict[str, str] = {}
    acl = []
    for r in rs:
        names = []
        for a in (r.src, r.dst):
            name = objs.setdefault(a, f"n-{a.replace('/', '_')}")
            names.append(name)
        if len(r.services) == 1:
            proto, port = r.services[0]
            svc, ports = proto, f" eq {port}"
        else:
            out.append(f"object-group service g-{r.name}")
            out += [f" service-object {p} destination eq {port}" for p, port in r.services]
            svc, ports = f"object-group g-{r.name}", ""
        action = "deny" if r.deny else "permit"
        acl.append(
            f"access-list inside_in extended {action} {svc} object {names[0]} object {names[1]}{ports}"
        )
    for a, name in objs.items():
        net = ipaddress.ip_network(a)
        out += [f"object network {name}", f" subnet {net.network_address} {net.netmask}"]
    out += acl + [
        "access-list inside_in extended deny ip any any",
        "access-group inside_in in interface inside",
    ]
    return "\n".join(out) + "\n"


def srx(rs: list[Rule]) -> str:
    out = [
        "set system host-name fw-inet",
        "set interfaces ge-0/0/0 unit 0 family inet address 198.18.30.1/24",
        "set interfaces ge-0/0/1 unit 0 family inet address 203.0.113.1/26",
        "set security zones security-zone inet interfaces ge-0/0/0.0",
        "set security zones security-zone cloud interfaces ge-0/0/1.0",
    ]
    addrs: dict[str, str] = {}
    apps: set[tuple[str, int]] = set()
    pols = []
    for r in rs:
        names = [addrs.setdefault(a, f"n-{a.replace('/', '_')}") for a in (r.src, r.dst)]
        p = f"set security policies from-zone inet to-zone cloud policy {r.name}"
        pols += [
            f"{p} match source-address {names[0]}",
            f"{p} match destination-address {names[1]}",
        ]
        for proto, port in r.services:
            apps.add((proto, port))
            pols.append(f"{p} match application a-{proto}-{port}")
        pols.append(f"{p} then {'deny' if r.deny else 'permit'}")
    out += [f"set security address-book global address {n} {a}" for a, n in addrs.items()]
    for proto, port in sorted(apps):
        out += [f"set applications application a-{proto}-{port} protocol {proto}",
                f"set applications application a-{proto}-{port} destination-port {port}"]  # fmt: skip
    return "\n".join(out + pols) + "\n"


def run(vendor: str, size: int) -> dict:
    topology = load_topology(ROOT / "topologies" / "alpha.yaml")
    rs = rules(size)
    text = asa(rs) if vendor == "cisco-asa" else srx(rs)
    imap = (
        {"inside": "eth0", "outside": "eth1"}
        if vendor == "cisco-asa"
        else {"ge-0/0/0.0": "eth0", "ge-0/0/1.0": "eth1"}
    )
    with tempfile.TemporaryDirectory(prefix="svfw-bench-") as tmp:
        path = Path(tmp) / f"fw-{size}.{vendor}"
        path.write_text(text)
        t0 = time.perf_counter()
        device = load_device(str(path), vendor, topology, "fw-inet", None, imap)
        t1 = time.perf_counter()
        report = check_firewall(topology, device, "fw-inet")
        t2 = time.perf_counter()
    kinds: dict[str, int] = {}
    for f in report.findings:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    return {"rules": report.summary["rules"], "bytes": len(text.encode()), "parse": t1 - t0,
            "compile": report.summary["seconds_compile"], "permits": report.summary["seconds_permits"],
            "shadow": report.summary["seconds_shadow"], "total": t2 - t0, "findings": kinds}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000])
    ap.add_argument("--vendors", nargs="+", default=["cisco-asa", "juniper-srx"])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    print(
        "vendor       size  rules  MB   parse_s  compile_s  permits_s  shadow_s  total_s  findings"
    )
    for vendor in args.vendors:
        for size in args.sizes:
            runs = [run(vendor, size) for _ in range(args.runs)]
            med = {
                k: statistics.median(r[k] for r in runs)
                for k in ("parse", "compile", "permits", "shadow", "total")
            }
            r = runs[0]
            print(
                f"{vendor:11} {size:>6} {r['rules']:>6} {r['bytes'] / 1e6:4.1f} {med['parse']:8.2f}"
                f" {med['compile']:10.2f} {med['permits']:10.2f} {med['shadow']:9.2f} {med['total']:8.2f}  {r['findings']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
