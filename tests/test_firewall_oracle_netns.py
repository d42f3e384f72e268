"""Real Linux netfilter as the oracle for the header-space engine.

A firewall namespace routes between four zone namespaces (veth pairs, ip_forward=1). Each
ruleset (hand-written and seeded-random) is written once as ``iptables-save`` text and once
as an ``nft -f`` script; each form is loaded into the kernel and parsed by segverify. Probe
packets (TCP SYN, UDP datagrams, ICMP echo; forwarded and to the firewall itself) are sent
from the zone namespaces, and nft dynamic sets in the receiving namespaces record which
first packets arrived. For every probe the kernel's verdict must equal the ``--test-flow``
decision of the engine. Addresses: 198.18.0.0/15 and TEST-NET-3 only.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from segverify.checks.firewall_flow import decide_flow
from segverify.engine.analysis import build_analysis
from segverify.firewall.registry import parse_export
from segverify.topology.loader import load_topology

RUN = f"svfw-{os.getpid()}-"
FW = RUN + "fw"
ZONES = {  # zone → (firewall interface, /24, host addresses in the zone namespace)
    "mynumber": ("eth0", "198.18.10", (2, 10, 20, 130)),
    "lgwan": ("eth1", "198.18.20", (2, 25, 30, 140)),
    "inet": ("eth2", "198.18.30", (2, 25, 40, 150)),
    "internet": ("eth3", "203.0.113", (2, 10, 100, 200)),
}
PORTS = (22, 25, 53, 79, 80, 81, 443, 1024, 3389, 8080)

TOPOLOGY = """\
segverify: 1
name: oracle-lab
model: alpha
zones:
  mynumber: {tier: mynumber, prefixes: [198.18.10.0/24]}
  lgwan: {tier: lgwan, prefixes: [198.18.20.0/24]}
  inet: {tier: inet, prefixes: [198.18.30.0/24]}
  internet: {tier: internet}
nodes:
  fw:
    role: firewall
    interfaces:
      eth0: {zone: mynumber, addresses: [198.18.10.1/24]}
      eth1: {zone: lgwan, addresses: [198.18.20.1/24]}
      eth2: {zone: inet, addresses: [198.18.30.1/24]}
      eth3: {zone: internet, addresses: [203.0.113.1/24]}
  sanitiser:
    role: sanitiser
    interfaces:
      lg: {zone: lgwan, addresses: [198.18.20.30]}
      in: {zone: inet, addresses: [198.18.30.40]}
"""

RECORDER = """\
table inet svprobe {
  set t4 { type ipv4_addr . ipv4_addr . inet_proto . inet_service; flags dynamic; size 65535; }
  set i4 { type ipv4_addr . ipv4_addr . icmp_type; flags dynamic; size 65535; }
  chain rec {
    type filter hook %s priority %d; policy accept;
    meta l4proto { tcp, udp } add @t4 { ip saddr . ip daddr . meta l4proto . th dport }
    meta l4proto icmp add @i4 { ip saddr . ip daddr . icmp type }
  }
}
"""

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
        if p['proto'] == 6:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((p['src'], p['sport'])); s.setblocking(False)
            s.connect_ex((p['dst'], p['dport'])); keep.append(s)
        elif p['proto'] == 17:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((p['src'], p['sport'])); s.sendto(b'probe', (p['dst'], p['dport'])); keep.append(s)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            s.bind((p['src'], 0))
            hdr = struct.pack('!BBHHH', p['dport'] >> 8, 0, 0, p['sport'], 1) + b'probe!'
            hdr = hdr[:2] + struct.pack('!H', csum(hdr)) + hdr[4:]
            s.sendto(hdr, (p['dst'], 0)); keep.append(s)
    time.sleep(0.4)
    """
)


def _sh(*args: str, stdin: str | None = None, check: bool = True) -> str:
    res = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=60)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {res.stderr.strip()}")
    return res.stdout


def _ns(ns: str, *args: str, stdin: str | None = None, check: bool = True) -> str:
    return _sh("ip", "netns", "exec", ns, *args, stdin=stdin, check=check)


@dataclass
class Lab:
    namespaces: list[str] = field(default_factory=list)

    def zone_ns(self, zone: str) -> str:
        return RUN + zone[:6]

    def up(self) -> None:
        _sh("ip", "netns", "add", FW)
        self.namespaces.append(FW)
        _ns(FW, "ip", "link", "set", "lo", "up")
        _ns(FW, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        _ns(FW, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0")
        for i, (zone, (ifname, net, hosts)) in enumerate(ZONES.items()):
            ns = self.zone_ns(zone)
            _sh("ip", "netns", "add", ns)
            self.namespaces.append(ns)
            a, b = f"svfw{os.getpid() % 100000}a{i}", f"svfw{os.getpid() % 100000}b{i}"
            _sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
            _sh("ip", "link", "set", a, "netns", FW)
            _sh("ip", "link", "set", b, "netns", ns)
            _ns(FW, "ip", "link", "set", a, "name", ifname)
            _ns(FW, "ip", "addr", "add", f"{net}.1/24", "dev", ifname)
            _ns(FW, "ip", "link", "set", ifname, "up")
            _ns(ns, "ip", "link", "set", "lo", "up")
            _ns(ns, "ip", "link", "set", b, "name", "eth0")
            for h in hosts:
                _ns(ns, "ip", "addr", "add", f"{net}.{h}/24", "dev", "eth0")
            _ns(ns, "ip", "link", "set", "eth0", "up")
            _ns(ns, "ip", "route", "add", "default", "via", f"{net}.1")
            _ns(ns, "nft", "-f", "-", stdin=RECORDER % ("prerouting", -400))

    def down(self) -> None:
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        self.namespaces.clear()

    def load(self, kind: str, path: Path) -> None:
        _ns(FW, "nft", "flush", "ruleset")
        if kind == "iptables":
            _ns(FW, "iptables-restore", stdin=path.read_text())
        else:
            _ns(FW, "nft", "-f", str(path))
        # the firewall's own arrivals are recorded after every filter on the input hook
        _ns(FW, "nft", "-f", "-", stdin=RECORDER % ("input", 500))

    def flush_records(self) -> None:
        for ns in [FW] + [self.zone_ns(z) for z in ZONES]:
            _ns(ns, "nft", "flush", "set", "inet", "svprobe", "t4")
            _ns(ns, "nft", "flush", "set", "inet", "svprobe", "i4")

    def arrived(self) -> set[tuple]:
        seen: set[tuple] = set()
        for ns in [FW] + [self.zone_ns(z) for z in ZONES]:
            for name in ("t4", "i4"):
                doc = json.loads(_ns(ns, "nft", "-j", "list", "set", "inet", "svprobe", name))
                for item in doc["nftables"]:
                    for elem in item.get("set", {}).get("elem", []) or []:
                        value = (
                            elem.get("elem", {}).get("val", elem)
                            if isinstance(elem, dict)
                            else elem
                        )
                        parts = value["concat"]
                        seen.add(tuple(str(p) for p in parts))
        return seen

    def send(self, probes: list[dict]) -> None:
        by_zone: dict[str, list[dict]] = {}
        for p in probes:
            by_zone.setdefault(p["zone"], []).append(p)
        procs = []
        for zone, batch in by_zone.items():
            procs.append(
                subprocess.Popen(
                    ["ip", "netns", "exec", self.zone_ns(zone), sys.executable, "-c", SENDER],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
            procs[-1].stdin.write(json.dumps(batch))
            procs[-1].stdin.close()
        for proc in procs:
            proc.wait(timeout=60)
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr.read())
        time.sleep(0.1)


# ---- rulesets: one abstract description, two concrete syntaxes -------------------------------


@dataclass
class ARule:
    action: str  # accept | drop | reject | return | jump (to a user chain holding ``body``)
    iif: str | None = None
    oif: str | None = None
    iif_neg: bool = False
    src: str | None = None
    dst: str | None = None
    src_neg: bool = False
    proto: str | None = None  # tcp | udp | icmp
    dports: tuple[int, int] | None = None
    dport_list: tuple[int, ...] | None = None
    icmp_echo: bool = False
    ct: str | None = None  # "new" | "established,related"
    body: list | None = None  # for action "jump": the rules of the called user chain


def to_iptables(forward: list[ARule], inp: list[ARule], fwd_policy: str, in_policy: str) -> str:
    user: list[tuple[str, list[ARule]]] = []

    def lines(chain: str, rules: list[ARule]) -> list[str]:
        out = []
        for r in rules:
            if r.action == "jump":
                name = f"USR{len(user)}"
                user.append((name, r.body or []))
                out.append(line(chain, r).replace("-j JUMP", f"-j {name}"))
            else:
                out.append(line(chain, r))
        return out

    def line(chain: str, r: ARule) -> str:
        parts = ["-A", chain]
        if r.iif:
            parts += (["!"] if r.iif_neg else []) + ["-i", r.iif]
        if r.oif:
            parts += ["-o", r.oif]
        if r.src:
            parts += (["!"] if r.src_neg else []) + ["-s", r.src]
        if r.dst:
            parts += ["-d", r.dst]
        if r.proto:
            parts += ["-p", r.proto]
            if r.dports:
                lo, hi = r.dports
                parts += ["-m", r.proto, "--dport", str(lo) if lo == hi else f"{lo}:{hi}"]
            elif r.dport_list:
                parts += ["-m", "multiport", "--dports", ",".join(map(str, r.dport_list))]
            if r.icmp_echo:
                parts += ["-m", "icmp", "--icmp-type", "8"]
        if r.ct:
            parts += [
                "-m",
                "conntrack",
                "--ctstate",
                r.ct.upper().replace("ESTABLISHED,RELATED", "RELATED,ESTABLISHED"),
            ]
        parts += ["-j", r.action.upper()]
        return " ".join(parts)

    body = lines("FORWARD", forward) + lines("INPUT", inp)
    k = 0
    while k < len(user):  # user chains (their bodies may jump again)
        name, rules = user[k]
        body += lines(name, rules)
        k += 1
    out = [
        "*filter",
        f":INPUT {in_policy.upper()} [0:0]",
        f":FORWARD {fwd_policy.upper()} [0:0]",
        ":OUTPUT ACCEPT [0:0]",
    ] + [f":{name} - [0:0]" for name, _ in user]
    return "\n".join(out + body + ["COMMIT", ""])


def to_nft(forward: list[ARule], inp: list[ARule], fwd_policy: str, in_policy: str) -> str:
    user: list[tuple[str, list[ARule]]] = []

    def lines(rules: list[ARule]) -> list[str]:
        out = []
        for r in rules:
            if r.action == "jump":
                name = f"usr{len(user)}"
                user.append((name, r.body or []))
                out.append(line(r)[: -len("jump")] + f"jump {name}")
            else:
                out.append(line(r))
        return out

    def line(r: ARule) -> str:
        parts = []
        if r.iif:
            parts.append(f'iifname {"!= " if r.iif_neg else ""}"{r.iif}"')
        if r.oif:
            parts.append(f'oifname "{r.oif}"')
        if r.src:
            parts.append(f"ip saddr {'!= ' if r.src_neg else ''}{r.src}")
        if r.dst:
            parts.append(f"ip daddr {r.dst}")
        if r.proto:
            if r.dports:
                lo, hi = r.dports
                parts.append(f"{r.proto} dport {lo if lo == hi else f'{lo}-{hi}'}")
            elif r.dport_list:
                parts.append(f"{r.proto} dport {{ {', '.join(map(str, r.dport_list))} }}")
            elif r.icmp_echo:
                parts.append("icmp type echo-request")
            else:
                parts.append(f"meta l4proto {r.proto}")
        if r.ct:
            parts.append(f"ct state {r.ct}")
        parts.append(r.action)
        return "    " + " ".join(parts)

    out = [
        "table ip svfwtest {",
        "  chain forward {",
        f"    type filter hook forward priority 0; policy {fwd_policy};",
    ]
    out += lines(forward)
    out += ["  }", "  chain input {", f"    type filter hook input priority 0; policy {in_policy};"]
    out += lines(inp)
    out += ["  }"]
    k = 0
    while k < len(user):
        name, rules = user[k]
        out += [f"  chain {name} {{"] + lines(rules) + ["  }"]
        k += 1
    out += ["}", ""]
    return "\n".join(out)


def random_rule(rng: random.Random, for_input: bool = False) -> ARule:
    ifaces = [v[0] for v in ZONES.values()]
    nets = [v[1] for v in ZONES.values()]

    def addr() -> str:
        net = rng.choice(nets)
        kind = rng.random()
        if kind < 0.4:
            return f"{net}.0/24"
        if kind < 0.7:
            return f"{net}.{rng.choice((0, 128))}/25"
        if kind < 0.85:
            return f"{net}.{rng.choice((0, 16, 32, 128, 144))}/28"
        hosts = ZONES[rng.choice(list(ZONES))][2]
        return f"{rng.choice(nets)}.{rng.choice(hosts)}/32"

    r = ARule(rng.choice(("accept", "accept", "drop", "reject")))
    if rng.random() < 0.5:
        r.iif = rng.choice(ifaces)
        r.iif_neg = rng.random() < 0.15
    if not for_input and rng.random() < 0.4:
        r.oif = rng.choice(ifaces)
    if rng.random() < 0.6:
        r.src = addr()
        r.src_neg = rng.random() < 0.1
    if rng.random() < 0.6:
        r.dst = addr()
    p = rng.random()
    if p < 0.45:
        r.proto = "tcp"
    elif p < 0.7:
        r.proto = "udp"
    elif p < 0.85:
        r.proto = "icmp"
    if r.proto in ("tcp", "udp"):
        q = rng.random()
        if q < 0.4:
            lo = rng.choice(PORTS)
            r.dports = (lo, lo)
        elif q < 0.6:
            lo = rng.choice(PORTS)
            r.dports = (lo, min(65535, lo + rng.choice((1, 2, 100, 3000))))
        elif q < 0.75:
            r.dport_list = tuple(sorted(set(rng.sample(PORTS, 3))))
    elif r.proto == "icmp" and rng.random() < 0.5:
        r.icmp_echo = True
    if rng.random() < 0.2:
        r.ct = rng.choice(("new", "established,related"))
    return r


HAND = (
    # zone firewall in the three-tier style: pinned exceptions, then a catch-all drop
    (
        [
            ARule("accept", ct="established,related"),
            ARule(
                "accept",
                iif="eth1",
                oif="eth2",
                src="198.18.20.0/24",
                dst="198.18.30.40/32",
                proto="tcp",
                dports=(3389, 3389),
            ),
            ARule(
                "accept",
                iif="eth2",
                oif="eth3",
                src="198.18.30.0/24",
                proto="tcp",
                dport_list=(80, 443),
            ),
            ARule("drop", src="198.18.30.150/32"),
            ARule("accept", iif="eth2", proto="udp", dports=(53, 53)),
            ARule("reject", iif="eth0"),
            ARule("accept", iif="eth3", dst="198.18.30.25/32", proto="tcp", dports=(25, 25)),
            ARule("accept", proto="icmp", icmp_echo=True, iif="eth1", iif_neg=True),
        ],
        [ARule("accept", iif="eth1", proto="tcp", dports=(22, 22)), ARule("drop", proto="tcp")],
        "drop",
        "accept",
    ),
    # default accept with holes
    (
        [
            ARule("drop", src="198.18.10.0/24", src_neg=True, dst="198.18.10.0/24"),
            ARule("drop", oif="eth3", proto="udp"),
            ARule("accept", src="198.18.20.128/25", proto="tcp", dports=(80, 1024)),
            ARule("drop", dst="198.18.20.0/25"),
        ],
        [],
        "accept",
        "drop",
    ),
)


def probes_for(rng: random.Random, n: int, counter: list[int]) -> list[dict]:
    zones = list(ZONES)
    out = []
    for _ in range(n):
        za = rng.choice(zones)
        to_fw = rng.random() < 0.12
        zb = za if to_fw else rng.choice([z for z in zones if z != za])
        net_a, hosts_a = ZONES[za][1], ZONES[za][2]
        net_b, hosts_b = ZONES[zb][1], ZONES[zb][2]
        src = f"{net_a}.{rng.choice(hosts_a)}"
        dst = f"{net_b}.1" if to_fw else f"{net_b}.{rng.choice(hosts_b)}"
        proto = rng.choice((6, 6, 17, 1))
        counter[0] += 1
        sport = 20000 + counter[0]
        if proto == 1:
            dport = rng.choice((8, 8, 13)) << 8
        else:
            base = rng.choice(PORTS)
            dport = max(1, base + rng.choice((0, 0, 0, 1, -1)))
        out.append(
            {"zone": za, "src": src, "dst": dst, "proto": proto, "sport": sport, "dport": dport}
        )
    return out


def key_of(p: dict) -> tuple:
    if p["proto"] == 1:
        names = {8: "echo-request", 13: "timestamp-request"}
        return (p["src"], p["dst"], names[p["dport"] >> 8])
    return (p["src"], p["dst"], "tcp" if p["proto"] == 6 else "udp", str(p["dport"]))


def _need_lab() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces and netfilter")
    for tool in ("ip", "iptables-restore", "nft"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")


@pytest.fixture(scope="module")
def lab():
    _need_lab()
    lab = Lab()
    try:
        lab.up()
    except Exception as exc:  # pragma: no cover - environment without netns support
        lab.down()
        pytest.skip(f"cannot build the namespace lab: {exc}")
    try:
        yield lab
    finally:
        lab.down()


def _run_case(
    lab: Lab,
    tmp_path: Path,
    topo_path: Path,
    case: tuple,
    rng: random.Random,
    n: int,
    counter: list[int],
    verdicts: list[bool],
) -> tuple[int, list[str]]:
    forward, inp, fpol, ipol = case
    topology = load_topology(topo_path)
    compared = 0
    mismatches: list[str] = []
    for kind, text in (
        ("iptables", to_iptables(forward, inp, fpol, ipol)),
        ("nft", to_nft(forward, inp, fpol, ipol)),
    ):
        path = tmp_path / f"rules-{counter[0]}.{kind}"
        path.write_text(text)
        lab.load(kind, path)
        lab.flush_records()
        ruleset = parse_export(str(path), None, topology, "fw")
        analysis = build_analysis(topology, ruleset, "fw")
        probes = probes_for(rng, n, counter)
        lab.send(probes)
        seen = lab.arrived()
        for p in probes:
            kernel = key_of(p) in seen
            decisions = decide_flow(analysis, p["src"], p["dst"], p["proto"], p["dport"])
            assert len(decisions) == 1
            engine = decisions[0].action == "accept"
            compared += 1
            verdicts.append(kernel)
            if kernel != engine:
                d = decisions[0]
                mismatches.append(
                    f"{kind} {path.name}: {p} kernel={kernel} engine={d.action} by {d.deciding}"
                )
    return compared, mismatches


def test_oracle_netfilter_hand_and_random(lab: Lab, tmp_path: Path) -> None:
    topo_path = tmp_path / "lab.yaml"
    topo_path.write_text(TOPOLOGY)
    rng = random.Random(20261123)
    counter = [0]
    compared = 0
    mismatches: list[str] = []
    verdicts: list[bool] = []
    cases = list(HAND)
    for _ in range(4):
        forward = [random_rule(rng) for _ in range(rng.randint(4, 14))]
        inp = [random_rule(rng, for_input=True) for _ in range(rng.randint(0, 4))]
        cases.append((forward, inp, rng.choice(("accept", "drop")), rng.choice(("accept", "drop"))))
    for _ in range(3):  # user chains: guarded jumps, RETURN, a nested jump
        forward = [random_rule(rng) for _ in range(rng.randint(2, 8))]
        for _ in range(rng.randint(1, 2)):
            body = [random_rule(rng) for _ in range(rng.randint(2, 5))]
            if rng.random() < 0.6:
                ret = random_rule(rng)
                ret.action = "return"
                body.insert(rng.randint(0, len(body)), ret)
            if rng.random() < 0.4:
                inner = random_rule(rng)
                inner.action, inner.body = "jump", [random_rule(rng) for _ in range(2)]
                body.insert(rng.randint(0, len(body)), inner)
            guard = random_rule(rng)
            guard.action, guard.body = "jump", body
            forward.insert(rng.randint(0, len(forward)), guard)
        cases.append((forward, [], rng.choice(("accept", "drop")), "accept"))
    for case in cases:
        c, m = _run_case(lab, tmp_path, topo_path, case, rng, 60, counter, verdicts)
        compared += c
        mismatches += m
    assert compared >= 900
    # the probes must exercise both verdicts, or the comparison proves little
    assert sum(verdicts) >= compared // 10 and compared - sum(verdicts) >= compared // 10, sum(
        verdicts
    )
    print(
        f"oracle: {compared} probes compared, {sum(verdicts)} accepted by the kernel, {len(mismatches)} disagree"
    )
    assert not mismatches, f"{len(mismatches)}/{compared} probes disagree:\n" + "\n".join(
        mismatches[:20]
    )


def test_oracle_deep_shared_chains(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chains called twice per level (tests/chaingen.py), loaded into the kernel as
    iptables-restore and nft text: both the inlined lowering and the shared-chain one
    (``INLINE_LIMIT`` 0) decide every probe as the kernel does. Depth 8 (nf_tables refuses
    jumps nested deeper than 16; inlined, the export is ~10k rules)."""
    from segverify.firewall import chains as chains_mod
    from tests.chaingen import deep_iptables, deep_nft

    depth = 8
    topo_path = tmp_path / "lab.yaml"
    topo_path.write_text(TOPOLOGY)
    topology = load_topology(topo_path)
    nets = ["198.18.10.0/25", "198.18.20.0/24", "198.18.30.0/24"]
    rng = random.Random(20261202)
    ports = [53, 80] + [b + i for b in (1000, 2000, 3000) for i in range(depth + 1)]
    compared = 0
    accepted = 0
    mismatches: list[str] = []
    counter = 50000
    for kind, text in (
        ("iptables", deep_iptables(depth, nets, "198.18.30.128/25")),
        ("nft", deep_nft(depth, nets, "198.18.30.128/25")),
    ):
        path = tmp_path / f"deep.{kind}"
        path.write_text(text)
        lab.load(kind, path)
        lab.flush_records()
        probes = []
        for _ in range(160):
            za, zb = rng.sample(list(ZONES), 2)
            counter += 1
            probes.append(
                {
                    "zone": za,
                    "src": f"{ZONES[za][1]}.{rng.choice(ZONES[za][2])}",
                    "dst": f"{ZONES[zb][1]}.{rng.choice(ZONES[zb][2])}",
                    "proto": rng.choice((6, 17)),
                    "sport": counter,
                    "dport": rng.choice(ports),
                }
            )
        lab.send(probes)
        seen = lab.arrived()
        analyses = {}
        for mode, limit in (("inlined", 10**6), ("shared", 0)):
            monkeypatch.setattr(chains_mod, "INLINE_LIMIT", limit)
            ruleset = parse_export(str(path), None, topology, "fw")
            shared = any(r.call is not None for s in ruleset.stages for r in s.rules)
            assert shared == (mode == "shared")
            analyses[mode] = build_analysis(topology, ruleset, "fw")
            monkeypatch.undo()
        for p in probes:
            kernel = key_of(p) in seen
            accepted += kernel
            for mode, analysis in analyses.items():
                d = decide_flow(analysis, p["src"], p["dst"], p["proto"], p["dport"])[0]
                compared += 1
                if (d.action == "accept") != kernel:
                    mismatches.append(f"{kind}/{mode}: {p} kernel={kernel} engine={d.action}")
    assert compared == 640
    assert 30 <= accepted <= 290, accepted  # both verdicts exercised
    assert not mismatches, f"{len(mismatches)}/{compared} disagree:\n" + "\n".join(mismatches[:20])
