"""Generate a realistic benchmark capture: Ethernet/IPv4/IPv6, TCP and UDP, about 30% of
flows VLAN-tagged, heavy-tailed flow sizes, addresses from topologies/alpha.yaml zones.

    .venv/bin/python benchmarks/gen_pcap.py --packets 1000000 --flows 20000
    .venv/bin/python benchmarks/gen_pcap.py --size-gb 2 --out benchmarks/out/bench-2g.pcap

``--size-gb`` repeats the generated records until the file is at least that size (a long
capture of the same traffic mix, for memory measurements).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import struct
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "out"
V4_NETS = ["198.18.10.0/24", "198.18.20.0/24", "198.18.30.0/24", "198.19.100.0/24",
           "198.19.110.0/24", "203.0.113.0/26", "192.0.2.0/24", "100.64.0.0/16"]  # fmt: skip
V6_NETS = ["2001:db8:10::/64", "2001:db8:20::/64", "2001:db8:30::/64", "2001:db8:ff::/64"]
SERVICES_TCP = [443, 80, 25, 22, 3389, 445, 8080, 993, 53]
SERVICES_UDP = [53, 123, 514, 161, 500, 4500]


def _addr(rng: np.random.Generator, v6: bool) -> bytes:
    net = ipaddress.ip_network(rng.choice(V6_NETS if v6 else V4_NETS))
    host = int(rng.integers(1, min(net.num_addresses - 1, 1 << 20)))
    return (net.network_address + host).packed


def generate(packets: int, flows: int, seed: int = 7) -> bytes:
    rng = np.random.default_rng(seed)
    # flows: version, proto, endpoints, vlan
    v6 = rng.random(flows) < 0.2
    tcp = rng.random(flows) < 0.7
    vlan = np.where(rng.random(flows) < 0.3, rng.integers(1, 4095, flows), -1)
    fsrc = [_addr(rng, bool(x)) for x in v6]
    fdst = [_addr(rng, bool(x)) for x in v6]
    sport = rng.integers(1024, 65535, flows)
    dport = np.where(tcp, rng.choice(SERVICES_TCP, flows), rng.choice(SERVICES_UDP, flows))
    # heavy-tailed flow sizes: every flow gets >= 2 packets, the rest Zipf-like
    weights = 1.0 / np.arange(1, flows + 1) ** 0.9
    rng.shuffle(weights)
    extra = rng.choice(flows, size=max(packets - 2 * flows, 0), p=weights / weights.sum())
    flow_of = np.concatenate([np.repeat(np.arange(flows), 2), extra])[:packets]
    rng.shuffle(flow_of[2 * flows :])
    # keep each flow's first two packets first in time: SYN, SYN/ACK
    order = np.argsort(np.where(np.arange(len(flow_of)) < 2 * flows, 0, 1), kind="stable")
    flow_of = flow_of[order]
    rng.shuffle(flow_of[: 2 * flows].reshape(-1, 2))  # interleave flow openings
    seq = np.zeros(len(flow_of), dtype=np.int64)
    counts = np.zeros(flows, dtype=np.int64)
    for i, f in enumerate(flow_of.tolist()):  # packet index within its flow
        seq[i] = counts[f]
        counts[f] += 1
    size_pick = rng.random(len(flow_of))
    payload = np.where(size_pick < 0.55, 0,
              np.where(size_pick < 0.8, rng.integers(40, 460, len(flow_of)),
                       rng.integers(900, 1440, len(flow_of))))  # fmt: skip
    reverse = np.where(seq < 2, seq == 1, rng.random(len(flow_of)) < 0.45)
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    ts_ns = 1_700_000_000_000_000_000
    gaps = rng.integers(200, 2000, len(flow_of))
    mac_a, mac_b = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
    for i, f in enumerate(flow_of.tolist()):
        rev = bool(reverse[i])
        s, d = (fdst[f], fsrc[f]) if rev else (fsrc[f], fdst[f])
        sp, dp = (int(dport[f]), int(sport[f])) if rev else (int(sport[f]), int(dport[f]))
        pay = int(payload[i]) if seq[i] >= 2 or not tcp[f] else 0
        if tcp[f]:
            flags = 0x02 if seq[i] == 0 else 0x12 if seq[i] == 1 else (0x18 if pay else 0x10)
            l4 = struct.pack("!HHIIBBHHH", sp, dp, int(seq[i]), 0, 0x50, flags, 65535, 0, 0)
            proto = 6
        else:
            l4 = struct.pack("!HHHH", sp, dp, 8 + pay, 0)
            proto = 17
        if v6[f]:
            ip = struct.pack("!IHBB", 0x60000000, len(l4) + pay, proto, 64) + s + d
            et = 0x86DD
        else:
            ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(l4) + pay, i & 0xFFFF, 0x4000, 64,
                             proto, 0) + s + d  # fmt: skip
            et = 0x0800
        eth = mac_b + mac_a if rev else mac_a + mac_b
        if vlan[f] >= 0:
            eth += struct.pack("!HHH", 0x8100, int(vlan[f]), et)
        else:
            eth += struct.pack("!H", et)
        frame = eth + ip + l4 + bytes(pay)
        if len(frame) < 60:
            frame += bytes(60 - len(frame))
        ts_ns += int(gaps[i])
        out += struct.pack("<IIII", ts_ns // 1_000_000_000, (ts_ns // 1000) % 1_000_000,
                           len(frame), len(frame)) + frame  # fmt: skip
    return bytes(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--flows", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--size-gb", type=float, default=0.0, help="repeat records up to this size")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    out = args.out or OUT / (f"bench-{args.size_gb:g}g.pcap" if args.size_gb else "bench-1m.pcap")
    out.parent.mkdir(parents=True, exist_ok=True)
    data = generate(args.packets, args.flows, args.seed)
    with open(out, "wb") as fh:
        fh.write(data)
        if args.size_gb:
            body = data[24:]
            target = int(args.size_gb * (1 << 30))
            while fh.tell() < target:
                fh.write(body)
    print(f"wrote {out} ({os.path.getsize(out) / 1e6:.1f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
