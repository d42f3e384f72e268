"""Build and tear down the namespaces of a lab plan.

Every veth pair is created inside a lab namespace with its peer placed directly into
another lab namespace (``ip -n A link add X type veth peer name Y netns B``): nothing is
ever created in, or changed on, the root namespace.
"""

from __future__ import annotations

import os
import signal
import time

from segverify.lab.plan import LabPlan
from segverify.lab.state import NS_RE, LabState, fw_ns, host_ns, sw_ns
from segverify.lab.system import ip_batch, run, sysctl

BASE_SYSCTL = {
    "net.ipv6.conf.all.disable_ipv6": "1",
    "net.ipv6.conf.default.disable_ipv6": "1",
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv4.conf.default.rp_filter": "0",
}
FW_SYSCTL = {
    **BASE_SYSCTL,
    "net.ipv4.ip_forward": "1",
    "net.ipv4.conf.all.send_redirects": "0",
    "net.ipv4.conf.default.send_redirects": "0",
    "net.ipv4.icmp_ratelimit": "0",  # REJECT answers every blocked attempt at once
}
TABLE_BASE = 100  # policy-routing tables for the 2nd, 3rd… interface of multi-zone hosts


def list_namespaces() -> list[str]:
    out = run(["ip", "netns", "list"]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def lab_namespaces(run_id: str | None = None) -> list[str]:
    """Lab namespaces present in the kernel (of one run, or of every run)."""
    found = []
    for name in list_namespaces():
        m = NS_RE.match(name)
        if m and (run_id is None or m.group(1) == run_id):
            found.append(name)
    return found


def build(plan: LabPlan, state: LabState) -> None:
    """Create namespaces, bridges, veths, addresses and routes for ``plan``.

    ``state`` lists the namespaces and is saved before anything is created, so a crash
    half-way leaves a state file ``lab down`` can clean up from.
    """
    fw, sw = fw_ns(state.run_id), sw_ns(state.run_id)
    hosts = {h.id: host_ns(state.run_id, h.id) for h in plan.hosts}
    state.namespaces = [fw, sw, *hosts.values()]
    state.hosts = hosts
    state.firewall_ns = fw
    state.interfaces = plan.interface_zones
    state.save()
    for ns in state.namespaces:
        run(["ip", "netns", "add", ns])
    for ns in state.namespaces:
        sysctl(ns, FW_SYSCTL if ns == fw else BASE_SYSCTL)

    bridge_of = {f.zone: f.bridge for f in plan.fw_interfaces}
    sw_lines = [f"link add {f.bridge} type bridge forward_delay 0" for f in plan.fw_interfaces]
    sw_lines += [f"link set {f.bridge} up" for f in plan.fw_interfaces]
    ip_batch(sw, sw_lines)

    fw_lines = ["link set lo up"]
    for n, f in enumerate(plan.fw_interfaces):
        fw_lines.append(f"link add {f.name} type veth peer name f{n} netns {sw}")
    ip_batch(fw, fw_lines)

    port_lines: list[str] = []
    for n, f in enumerate(plan.fw_interfaces):
        port_lines += [f"link set f{n} master {f.bridge}", f"link set f{n} up"]
    k = 0
    host_lines: dict[str, list[str]] = {}
    for h in plan.hosts:
        lines = ["link set lo up"]
        for iface in h.interfaces:
            lines.append(f"link add {iface.name} type veth peer name h{k} netns {sw}")
            port_lines.append(f"link set h{k} master {bridge_of[iface.zone]}")
            port_lines.append(f"link set h{k} up")
            k += 1
        ip_batch(hosts[h.id], lines)
        cfg = []
        for iface in h.interfaces:
            cfg.append(f"addr add {iface.address}/32 dev {iface.name}")
            cfg.append(f"link set {iface.name} up")
        for i, iface in enumerate(h.interfaces):
            if i == 0:
                cfg.append(f"route add default via {iface.gateway} dev {iface.name} onlink")
            table = TABLE_BASE + i
            cfg.append(
                f"route add default via {iface.gateway} dev {iface.name} onlink table {table}"
            )
            cfg.append(f"rule add from {iface.address} table {table}")
        host_lines[h.id] = cfg
    ip_batch(sw, port_lines)

    fw_cfg = []
    for f in plan.fw_interfaces:
        fw_cfg.append(f"addr add {f.address}/32 dev {f.name}")
        fw_cfg.append(f"link set {f.name} up")
    for h in plan.hosts:
        for iface in h.interfaces:
            fw_cfg.append(f"route add {iface.address}/32 dev {plan.fw_iface(iface.zone).name}")
    ip_batch(fw, fw_cfg)
    for h in plan.hosts:
        ip_batch(hosts[h.id], host_lines[h.id])


def kill_processes(ns: str) -> None:
    """Terminate processes still running inside a lab namespace (servers of a crashed run)."""
    proc = run(["ip", "netns", "pids", ns], check=False, timeout=5)
    pids = [int(p) for p in proc.stdout.split() if p.isdigit()]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for pid in pids:
            try:
                os.kill(pid, sig)
                alive.append(pid)
            except ProcessLookupError:
                pass
        if not alive:
            return
        time.sleep(0.2)
        pids = alive


def delete(namespaces: list[str]) -> int:
    """Delete lab namespaces (only names matching the lab pattern); returns how many."""
    present = set(list_namespaces())
    count = 0
    for ns in namespaces:
        if not NS_RE.match(ns) or ns not in present:
            continue
        kill_processes(ns)
        run(["ip", "netns", "del", ns], check=False)
        count += 1
    return count
