"""Real Linux netfilter as the oracle for the header-space engine, IPv4 and IPv6.

A firewall namespace routes between four zone namespaces (veth pairs, IPv4 and IPv6
forwarding on; tests/netns_lab.py). Each ruleset (hand-written and seeded-random, with user
chains reached by guarded jumps, RETURN and nested jumps) is written once per syntax and
family: IPv4 as ``iptables-save`` text and an ``nft -f`` script (``table ip``); IPv6 as
``ip6tables-save`` text and ``nft -f`` scripts in a ``table ip6`` and a ``table inet``.
Each form is loaded into the kernel and parsed by segverify. Probe packets (TCP SYN, UDP
datagrams, ICMP/ICMPv6 echo and a second type; forwarded and to the firewall itself) are
sent from the zone namespaces, and nft dynamic sets in the receiving namespaces record
which first packets arrived. For every probe the kernel's verdict must equal the
``--test-flow`` decision of the engine. Addresses: 198.18.0.0/15, TEST-NET-3 and
2001:db8::/32 only, inside the namespaces.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from segverify.checks.firewall_flow import decide_flow
from segverify.engine.analysis import build_analysis
from segverify.firewall.registry import parse_export
from segverify.topology.loader import load_topology
from tests.netns_lab import Lab, Side, key_of, need_lab, running

ZONES = {  # zone → (firewall interface, IPv4 /24, IPv6 /64, host numbers in the zone namespace)
    "mynumber": ("eth0", "198.18.10", "2001:db8:10::", (2, 10, 20, 130)),
    "lgwan": ("eth1", "198.18.20", "2001:db8:20::", (2, 25, 30, 140)),
    "inet": ("eth2", "198.18.30", "2001:db8:30::", (2, 25, 40, 150)),
    "internet": ("eth3", "203.0.113", "2001:db8:ff::", (2, 10, 100, 200)),
}
PORTS = (22, 25, 53, 79, 80, 81, 443, 1024, 3389, 8080)

TOPOLOGY = """\
segverify: 1
name: oracle-lab
model: alpha
zones:
  mynumber: {tier: mynumber, prefixes: [198.18.10.0/24, "2001:db8:10::/64"]}
  lgwan: {tier: lgwan, prefixes: [198.18.20.0/24, "2001:db8:20::/64"]}
  inet: {tier: inet, prefixes: [198.18.30.0/24, "2001:db8:30::/64"]}
  internet: {tier: internet}
nodes:
  fw:
    role: firewall
    interfaces:
      eth0: {zone: mynumber, addresses: [198.18.10.1/24, "2001:db8:10::1/64"]}
      eth1: {zone: lgwan, addresses: [198.18.20.1/24, "2001:db8:20::1/64"]}
      eth2: {zone: inet, addresses: [198.18.30.1/24, "2001:db8:30::1/64"]}
      eth3: {zone: internet, addresses: [203.0.113.1/24, "2001:db8:ff::1/64"]}
  sanitiser:
    role: sanitiser
    interfaces:
      lg: {zone: lgwan, addresses: [198.18.20.30, "2001:db8:20::1e"]}
      in: {zone: inet, addresses: [198.18.30.40, "2001:db8:30::28"]}
"""


@dataclass(frozen=True)
class Family:
    """Addresses and ICMP of one IP version; host number h is the last octet in IPv4 and
    the last 16 bits (the same integer) in IPv6, so /24, /25, /28, /32 become /64, /121,
    /124, /128 over the same hosts."""

    version: int

    def host(self, zone: str, h: int) -> str:
        _, net4, net6, _ = ZONES[zone]
        return f"{net4}.{h}" if self.version == 4 else f"{net6}{h:x}"

    def prefix(self, zone: str, base: int, plen4: int) -> str:
        if self.version == 4:
            return f"{ZONES[zone][1]}.{base}/{plen4}"
        plen = {24: 64, 25: 121, 28: 124, 32: 128}[plen4]
        return f"{ZONES[zone][2]}{base:x}/{plen}"

    @property
    def icmp(self) -> int:
        return 1 if self.version == 4 else 58

    @property
    def icmp_types(self) -> tuple[int, int]:  # echo request and a second type conntrack tracks
        return (8, 13) if self.version == 4 else (128, 139)


V4, V6 = Family(4), Family(6)


def to_v6(cidr: str | None) -> str | None:
    """The IPv6 twin of one of the lab's IPv4 prefixes."""
    if cidr is None:
        return None
    net = ipaddress.ip_network(cidr, strict=False)
    first3 = str(net.network_address).rsplit(".", 1)[0]
    zone = next(z for z, v in ZONES.items() if v[1] == first3)
    return V6.prefix(zone, int(str(net.network_address).rsplit(".", 1)[1]), net.prefixlen)


# ---- rulesets: one abstract description, several concrete syntaxes ---------------------------


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


def to_iptables(
    forward: list[ARule],
    inp: list[ARule],
    fwd_policy: str,
    in_policy: str,
    fam: Family = V4,
) -> str:
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
            proto = "ipv6-icmp" if r.proto == "icmp" and fam.version == 6 else r.proto
            parts += ["-p", proto]
            if r.dports:
                lo, hi = r.dports
                parts += ["-m", r.proto, "--dport", str(lo) if lo == hi else f"{lo}:{hi}"]
            elif r.dport_list:
                parts += ["-m", "multiport", "--dports", ",".join(map(str, r.dport_list))]
            if r.icmp_echo:
                parts += (
                    ["-m", "icmp", "--icmp-type", "8"]
                    if fam.version == 4
                    else ["-m", "icmp6", "--icmpv6-type", "128"]
                )
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


def to_nft(
    forward: list[ARule],
    inp: list[ARule],
    fwd_policy: str,
    in_policy: str,
    fam: Family = V4,
    table: str = "ip",
) -> str:
    user: list[tuple[str, list[ARule]]] = []
    ip = "ip" if fam.version == 4 else "ip6"

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
            parts.append(f"{ip} saddr {'!= ' if r.src_neg else ''}{r.src}")
        if r.dst:
            parts.append(f"{ip} daddr {r.dst}")
        if r.proto:
            if r.dports:
                lo, hi = r.dports
                parts.append(f"{r.proto} dport {lo if lo == hi else f'{lo}-{hi}'}")
            elif r.dport_list:
                parts.append(f"{r.proto} dport {{ {', '.join(map(str, r.dport_list))} }}")
            elif r.icmp_echo:
                parts.append(f"{'icmp' if fam.version == 4 else 'icmpv6'} type echo-request")
            elif r.proto == "icmp" and fam.version == 6:
                parts.append("meta l4proto ipv6-icmp")
            else:
                parts.append(f"meta l4proto {r.proto}")
        if r.ct:
            parts.append(f"ct state {r.ct}")
        parts.append(r.action)
        return "    " + " ".join(parts)

    out = [
        f"table {table} svfwtest {{",
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


def random_rule(rng: random.Random, for_input: bool = False, fam: Family = V4) -> ARule:
    ifaces = [v[0] for v in ZONES.values()]
    zones = list(ZONES)

    def addr() -> str:
        zone = rng.choice(zones)
        kind = rng.random()
        if kind < 0.4:
            return fam.prefix(zone, 0, 24)
        if kind < 0.7:
            return fam.prefix(zone, rng.choice((0, 128)), 25)
        if kind < 0.85:
            return fam.prefix(zone, rng.choice((0, 16, 32, 128, 144)), 28)
        hosts = ZONES[rng.choice(zones)][3]
        return fam.prefix(zone, rng.choice(hosts), 32)

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


def hand_v6(case: tuple) -> tuple:
    """A hand-written IPv4 case with every address replaced by its IPv6 twin."""
    forward, inp, fpol, ipol = case

    def conv(rules: list[ARule]) -> list[ARule]:
        return [replace(r, src=to_v6(r.src), dst=to_v6(r.dst)) for r in rules]

    return conv(forward), conv(inp), fpol, ipol


def probes_for(rng: random.Random, n: int, counter: list[int], fam: Family = V4) -> list[dict]:
    zones = list(ZONES)
    out = []
    for _ in range(n):
        za = rng.choice(zones)
        to_fw = rng.random() < 0.12
        zb = za if to_fw else rng.choice([z for z in zones if z != za])
        src = fam.host(za, rng.choice(ZONES[za][3]))
        dst = fam.host(zb, 1) if to_fw else fam.host(zb, rng.choice(ZONES[zb][3]))
        proto = rng.choice((6, 6, 17, fam.icmp))
        counter[0] += 1
        sport = 20000 + counter[0]
        if proto == fam.icmp:
            echo, other = fam.icmp_types
            dport = rng.choice((echo, echo, other)) << 8
        else:
            base = rng.choice(PORTS)
            dport = max(1, base + rng.choice((0, 0, 0, 1, -1)))
        out.append(
            {"side": za, "src": src, "dst": dst, "proto": proto, "sport": sport, "dport": dport}
        )
    return out


@pytest.fixture(scope="module")
def lab():
    need_lab("iptables-restore", "ip6tables-restore")
    sides = {
        zone: Side(
            ifname,
            (f"{net4}.1/24", f"{net6}1/64"),
            tuple(V4.host(zone, h) for h in hosts) + tuple(V6.host(zone, h) for h in hosts),
        )
        for zone, (ifname, net4, net6, hosts) in ZONES.items()
    }
    with running(sides, "svfw") as lab:
        yield lab


def renderings(case: tuple, fam: Family) -> list[tuple[str, str, str]]:
    """(kernel loader, segverify vendor, text) for every syntax of one case."""
    forward, inp, fpol, ipol = case
    if fam.version == 4:
        return [
            ("iptables", "iptables", to_iptables(forward, inp, fpol, ipol)),
            ("nft", "nft", to_nft(forward, inp, fpol, ipol)),
        ]
    return [
        ("ip6tables", "ip6tables", to_iptables(forward, inp, fpol, ipol, V6)),
        ("nft", "nft", to_nft(forward, inp, fpol, ipol, V6, "ip6")),
        ("nft", "nft", to_nft(forward, inp, fpol, ipol, V6, "inet")),
    ]


def _run_case(
    lab: Lab,
    tmp_path: Path,
    topo_path: Path,
    case: tuple,
    rng: random.Random,
    n: int,
    counter: list[int],
    verdicts: list[tuple[tuple[int, int], bool]],
    fam: Family = V4,
) -> tuple[int, list[str]]:
    topology = load_topology(topo_path)
    compared = 0
    mismatches: list[str] = []
    for loader, vendor, text in renderings(case, fam):
        path = tmp_path / f"rules-{counter[0]}.{loader}"
        path.write_text(text)
        lab.load([(loader, text)])
        ruleset = parse_export(str(path), vendor, topology, "fw")
        analysis = build_analysis(topology, ruleset, "fw")
        probes = probes_for(rng, n, counter, fam)
        seen = lab.probe(probes)
        for p in probes:
            kernel = key_of(p) in seen
            decisions = decide_flow(analysis, p["src"], p["dst"], p["proto"], p["dport"])
            assert len(decisions) == 1
            engine = decisions[0].action == "accept"
            compared += 1
            kind = (p["proto"], p["dport"] >> 8 if p["proto"] == fam.icmp else 0)
            verdicts.append((kind, kernel))
            if kernel != engine:
                d = decisions[0]
                mismatches.append(
                    f"{loader} {path.name}: {p} kernel={kernel} engine={d.action} by {d.deciding}"
                )
    return compared, mismatches


def _cases(rng: random.Random, hand: list[tuple], fam: Family, n_random: int, n_jump: int):
    cases = list(hand)
    for _ in range(n_random):
        forward = [random_rule(rng, fam=fam) for _ in range(rng.randint(4, 14))]
        inp = [random_rule(rng, True, fam) for _ in range(rng.randint(0, 4))]
        cases.append((forward, inp, rng.choice(("accept", "drop")), rng.choice(("accept", "drop"))))
    for _ in range(n_jump):  # user chains: guarded jumps, RETURN, a nested jump
        forward = [random_rule(rng, fam=fam) for _ in range(rng.randint(2, 8))]
        for _ in range(rng.randint(1, 2)):
            body = [random_rule(rng, fam=fam) for _ in range(rng.randint(2, 5))]
            if rng.random() < 0.6:
                ret = random_rule(rng, fam=fam)
                ret.action = "return"
                body.insert(rng.randint(0, len(body)), ret)
            if rng.random() < 0.4:
                inner = random_rule(rng, fam=fam)
                inner.action, inner.body = "jump", [random_rule(rng, fam=fam) for _ in range(2)]
                body.insert(rng.randint(0, len(body)), inner)
            guard = random_rule(rng, fam=fam)
            guard.action, guard.body = "jump", body
            forward.insert(rng.randint(0, len(forward)), guard)
        cases.append((forward, [], rng.choice(("accept", "drop")), "accept"))
    return cases


def _compare(lab: Lab, tmp_path: Path, seed: int, fam: Family, cases_spec, minimum: int) -> None:
    topo_path = tmp_path / "lab.yaml"
    topo_path.write_text(TOPOLOGY)
    rng = random.Random(seed)
    counter = [0]
    compared = 0
    mismatches: list[str] = []
    verdicts: list[tuple[tuple[int, int], bool]] = []
    for case in _cases(rng, *cases_spec):
        c, m = _run_case(lab, tmp_path, topo_path, case, rng, 60, counter, verdicts, fam)
        compared += c
        mismatches += m
    assert compared >= minimum
    accepted = sum(k for _, k in verdicts)
    # the probes must exercise both verdicts, for every protocol and ICMP type, or the
    # comparison proves little
    assert accepted >= compared // 10 and compared - accepted >= compared // 10, accepted
    for kind in {k for k, _ in verdicts}:
        outcomes = {k for kk, k in verdicts if kk == kind}
        assert outcomes == {True, False}, (kind, outcomes)
    print(
        f"oracle IPv{fam.version}: {compared} probes compared, {accepted} accepted by the kernel, {len(mismatches)} disagree"
    )
    assert not mismatches, f"{len(mismatches)}/{compared} probes disagree:\n" + "\n".join(
        mismatches[:20]
    )


def test_oracle_netfilter_hand_and_random(lab: Lab, tmp_path: Path) -> None:
    _compare(lab, tmp_path, 20261123, V4, (list(HAND), V4, 4, 3), 900)


def test_oracle_netfilter_ipv6(lab: Lab, tmp_path: Path) -> None:
    """ip6tables-restore and nft ``ip6``/``inet`` tables against the engine on IPv6 probes."""
    _compare(lab, tmp_path, 20261202, V6, ([hand_v6(c) for c in HAND], V6, 2, 2), 1000)


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
        lab.load([(kind, text)])
        probes = []
        for _ in range(160):
            za, zb = rng.sample(list(ZONES), 2)
            counter += 1
            probes.append(
                {
                    "side": za,
                    "src": V4.host(za, rng.choice(ZONES[za][3])),
                    "dst": V4.host(zb, rng.choice(ZONES[zb][3])),
                    "proto": rng.choice((6, 17)),
                    "sport": counter,
                    "dport": rng.choice(ports),
                }
            )
        seen = lab.probe(probes)
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
