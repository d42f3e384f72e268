"""Issue 13 item 11: user chains called from several places are kept shared (compiled
once each) instead of inlined, so a ruleset whose inlining doubles per level is analysed
in time and memory linear in its size, with the same verdicts as the inlined form."""

from __future__ import annotations

import itertools
import random
import subprocess
import sys
from pathlib import Path

import pytest

from segverify.engine.analysis import to_ir_packet
from segverify.engine.compile import compile_device
from segverify.engine.encode import ExprEncoder
from segverify.engine.space import HeaderSpace
from segverify.engine.space import Packet as SpacePacket
from segverify.firewall import chains as chains_mod
from segverify.firewall import ir
from segverify.firewall.registry import load_device
from tests.chaingen import deep_iptables, deep_nft
from tests.conftest import REPO

NETS = ["198.18.10.0/24", "198.18.20.0/24", "198.18.30.0/24"]
ACCEPT_NET = "198.18.30.128/25"
IFACES = ["eth0", "eth1", "eth2", "eth3"]
TOPOLOGY = """\
segverify: 1
name: chains
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
"""


def _deep(kind: str, depth: int, tmp_path: Path) -> Path:
    gen = deep_iptables if kind == "iptables" else deep_nft
    p = tmp_path / f"deep.{'rules' if kind == 'iptables' else 'nft'}"
    p.write_text(gen(depth, NETS, ACCEPT_NET))
    return p


def _chains(dev: ir.Device) -> list[ir.Chain]:
    out: dict[int, ir.Chain] = {}
    for r in dev.rules:
        for c in ir.chains_in(r.match):
            out.setdefault(id(c), c)
    return list(out.values())


def _tcp(dst: str, dport: int, src: str = "198.18.20.5") -> SpacePacket:
    return SpacePacket(src, dst, 6, 40000, dport, "new", "eth1", "eth2", 0x02)


@pytest.mark.parametrize("kind", ["iptables", "nft"])
def test_deep_two_jumps_per_level_is_analysed_once_per_chain(kind: str, tmp_path: Path) -> None:
    depth = 30  # inlined: 2**30 copies of the last chain
    dev = load_device(str(_deep(kind, depth, tmp_path)))
    chains = _chains(dev)
    assert len(chains) == depth + 1
    assert sum(len(c.rules) for c in chains) == 6 * depth + 2
    assert len(dev.rules) < 20  # the base chains' own rules, one per outcome of a jump
    space = HeaderSpace(IFACES)
    enc = ExprEncoder(space, dev)
    for r in dev.rules:
        enc.encode(r.match)
    # every chain folded once, each of its rules once: linear in the export
    assert len(enc.chains) == depth + 1
    assert enc.chains.rules_compiled == 6 * depth + 2
    comp = compile_device(space, dev)
    assert comp.exact
    up, low = comp.permit_upper["forward"], comp.permit_lower["forward"]
    assert up == low
    expect = {
        _tcp("198.18.20.9", 1000 + 7): "drop",  # dropped at level 7
        _tcp("198.18.30.200", 1000 + 29): "drop",  # drop before the accept of c30
        _tcp("198.18.30.200", 80): "accept",  # the last chain accepts the net
        _tcp("198.18.20.9", 2000 + 29): "accept",  # accepted at level 29 after returns
        _tcp("198.18.20.9", 2000 + depth): "drop",  # no level has it: the policy
        _tcp("198.18.20.9", 80): "drop",
        SpacePacket("198.18.20.5", "198.18.10.9", 17, 4000, 2000, "new", "eth1", "eth0"): "reject",
    }
    for pkt, verdict in expect.items():
        v = ir.evaluate(dev, to_ir_packet(pkt), "forward")
        assert v.possible == {verdict}, (pkt, v.possible)
        assert space.contains(up, pkt) == (verdict == "accept"), pkt
    # the BDD equals the evaluator on a sample
    rng = random.Random(7)
    ports = [53, 80] + [b + i for b in (1000, 2000, 3000) for i in range(0, depth + 1, 3)]
    for _ in range(300):
        pkt = SpacePacket(
            f"198.18.{rng.choice((10, 20, 30))}.{rng.randint(2, 250)}",
            f"198.18.{rng.choice((10, 20, 30))}.{rng.randint(2, 250)}",
            rng.choice((6, 17)),
            40000,
            rng.choice(ports),
            "new",
            rng.choice(IFACES),
            rng.choice(IFACES),
            0x02,
        )
        v = ir.evaluate(dev, to_ir_packet(pkt), "forward")
        assert space.contains(up, pkt) == v.may_accept, (pkt, v.possible)


@pytest.mark.parametrize("kind", ["iptables", "nft"])
def test_deep_export_cli_reports_findings_not_too_complex(kind: str, tmp_path: Path) -> None:
    topo = tmp_path / "t.yaml"
    topo.write_text(TOPOLOGY)
    p = _deep(kind, 30, tmp_path)
    res = subprocess.run(
        [sys.executable, "-m", "segverify", "firewall", str(p), "-t", str(topo), "--device", "fw"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    # the last chain accepts lgwan/inet/mynumber → inet addresses the policy forbids
    assert res.returncode == 1, res.stderr
    assert "permits new connections" in res.stdout and "Traceback" not in res.stderr


# ---- differential: inlined and shared lowering of random chain programs ----------------------

R_NETS = ("198.18.10.0/24", "198.18.10.0/28", "198.18.20.0/24", "198.18.30.128/25")
R_PORTS = (22, 53, 80, 443)


def _random_match(rng: random.Random) -> str:
    parts = []
    if rng.random() < 0.3:
        parts.append(f"{'! ' if rng.random() < 0.2 else ''}-i {rng.choice(IFACES)}")
    if rng.random() < 0.2:
        parts.append(f"-o {rng.choice(IFACES)}")
    if rng.random() < 0.4:
        parts.append(f"-s {rng.choice(R_NETS)}")
    if rng.random() < 0.4:
        parts.append(f"{'! ' if rng.random() < 0.15 else ''}-d {rng.choice(R_NETS)}")
    p = rng.random()
    if p < 0.5:
        proto = rng.choice(("tcp", "udp"))
        parts.append(f"-p {proto}")
        q = rng.random()
        if q < 0.4:
            parts.append(f"-m {proto} --dport {rng.choice(R_PORTS)}")
        elif q < 0.6:
            ports = ",".join(map(str, sorted(rng.sample(R_PORTS, 2))))
            parts.append(f"-m multiport --ports {ports}")  # sport or dport: alternatives
    elif p < 0.6:
        parts.append("-p icmp")
    if rng.random() < 0.15:
        parts.append("-m conntrack --ctstate NEW")
    return " ".join(parts)


def random_program(rng: random.Random) -> str:
    """An iptables filter table whose user chains are called from several places."""
    n = rng.randint(2, 5)
    lines = ["*filter"]
    pols = {c: rng.choice(("ACCEPT", "DROP")) for c in ("INPUT", "FORWARD", "OUTPUT")}
    lines += [f":{c} {p} [0:0]" for c, p in pols.items()]
    lines += [f":u{i} - [0:0]" for i in range(n)]

    def body(chain: str, level: int, k: int) -> list[str]:
        out = []
        for _ in range(k):
            t = rng.random()
            callees = [f"u{j}" for j in range(level + 1, n)]
            if callees and t < 0.35:
                target = f"-j {rng.choice(callees)}"
            elif callees and t < 0.45:
                target = f"-g {rng.choice(callees)}"
            elif t < 0.55 and level >= 0:
                target = "-j RETURN"
            else:
                target = f"-j {rng.choice(('ACCEPT', 'ACCEPT', 'DROP', 'REJECT'))}"
            out.append(f"-A {chain} {_random_match(rng)} {target}".replace("  ", " "))
        return out

    for c in ("FORWARD", "INPUT", "OUTPUT"):
        lines += body(c, -1, rng.randint(1, 5))
    for i in range(n):
        lines += body(f"u{i}", i, rng.randint(1, 5))
    return "\n".join(lines + ["COMMIT", ""])


def _universe() -> list[SpacePacket]:
    out = []
    hosts = ("198.18.10.3", "198.18.10.77", "198.18.20.5", "198.18.30.200", "203.0.113.9")
    for src, dst, proto, iif, oif in itertools.product(
        hosts, hosts, (6, 17, 1), ("eth0", "eth1", "eth3"), ("eth0", "eth2")
    ):
        ports = [(8 << 8, 0)] if proto == 1 else [(40000, 80), (53, 443), (22, 22)]
        for sport, dport in ports:
            if proto == 1:
                sport, dport = 0, sport
            for ct in ("new", "established"):
                out.append(SpacePacket(src, dst, proto, sport, dport, ct, iif, oif, 0x02))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_inlined_and_shared_chains_give_the_same_verdicts(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(500 + seed)
    p = tmp_path / "r.rules"
    p.write_text(random_program(rng))
    inlined = load_device(str(p))
    monkeypatch.setattr(chains_mod, "INLINE_LIMIT", 0)
    shared = load_device(str(p))
    assert not _chains(inlined)
    space = HeaderSpace(IFACES)
    a, b = compile_device(space, inlined), compile_device(space, shared)
    for path in ("forward", "input", "output"):
        assert a.permit_upper[path] == b.permit_upper[path], path
        assert a.permit_lower[path] == b.permit_lower[path], path
    for pkt in rng.sample(_universe(), 400):
        for path in ("forward", "input", "output"):
            va = ir.evaluate(inlined, to_ir_packet(pkt), path)
            vb = ir.evaluate(shared, to_ir_packet(pkt), path)
            assert va.possible == vb.possible, (pkt, path)
            assert space.contains(b.permit_upper[path], pkt) == vb.may_accept


def test_shared_chain_rules_rename_with_the_interface_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--interface-map reaches the rules inside shared chains (renamed once per chain)."""
    from segverify.firewall.bind import rename_interfaces

    text = deep_iptables(3, NETS, ACCEPT_NET, jump_iif="port1").replace(
        "-p tcp -j c1", "-i port2 -j c1"
    )
    p = tmp_path / "m.rules"
    p.write_text(text)
    monkeypatch.setattr(chains_mod, "INLINE_LIMIT", 0)
    dev = rename_interfaces(load_device(str(p)), {"port1": "eth1", "port2": "eth0"})
    names = {
        n
        for r in dev.rules
        for e in ir.walk(r.match)
        if isinstance(e, ir.Interfaces)
        for n in e.names
    }
    assert names == {"eth1", "eth0"}
    assert len(_chains(dev)) == 4  # still one object per chain
