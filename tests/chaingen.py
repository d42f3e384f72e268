"""Deep user-chain rulesets for the shared-chain tests: every level jumps twice to the next
level (so inlining doubles per level), returns, and (odd levels) goes to it with goto.

Level ``i`` of ``depth`` (chain ``c{i}``), in order:

1. tcp dport 1000+i → drop
2. source in ``nets[i % len(nets)]`` → jump c{i+1}
3. tcp → jump c{i+1}
4. udp dport 3000+i → return
5. odd levels: udp → goto c{i+1}; even levels: udp dport 2000+i → reject
6. tcp dport 2000+i → accept

The last chain accepts destination ``accept_net`` and udp dport 53. The forward base chain
(policy drop) jumps to c0 from interface ``jump_iif`` and for tcp and udp. For tcp the
verdict is: dport in 1000..1000+depth-1 → drop; else destination in ``accept_net`` →
accept; else dport in 2000..2000+depth-1 → accept; else drop (the policy).
"""

from __future__ import annotations


def deep_iptables(depth: int, nets: list[str], accept_net: str, jump_iif: str = "eth1") -> str:
    out = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]"]
    out += [f":c{i} - [0:0]" for i in range(depth + 1)]
    out += [
        "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        f"-A FORWARD -i {jump_iif} -j c0",
        "-A FORWARD -p tcp -j c0",
        "-A FORWARD -p udp -j c0",
    ]
    for i in range(depth):
        n = f"c{i + 1}"
        out += [
            f"-A c{i} -p tcp -m tcp --dport {1000 + i} -j DROP",
            f"-A c{i} -s {nets[i % len(nets)]} -j {n}",
            f"-A c{i} -p tcp -j {n}",
            f"-A c{i} -p udp -m udp --dport {3000 + i} -j RETURN",
            f"-A c{i} -p udp -g {n}"
            if i % 2
            else f"-A c{i} -p udp -m udp --dport {2000 + i} -j REJECT",
            f"-A c{i} -p tcp -m tcp --dport {2000 + i} -j ACCEPT",
        ]
    out += [
        f"-A c{depth} -d {accept_net} -j ACCEPT",
        f"-A c{depth} -p udp -m udp --dport 53 -j ACCEPT",
    ]
    return "\n".join(out + ["COMMIT", ""])


def deep_nft(depth: int, nets: list[str], accept_net: str, jump_iif: str = "eth1") -> str:
    out = [
        "table ip svdeep {",
        "  chain forward {",
        "    type filter hook forward priority 0; policy drop;",
        "    ct state established,related accept",
        f'    iifname "{jump_iif}" jump c0',
        "    meta l4proto tcp jump c0",
        "    meta l4proto udp jump c0",
        "  }",
    ]
    for i in range(depth):
        n = f"c{i + 1}"
        out += [
            f"  chain c{i} {{",
            f"    tcp dport {1000 + i} drop",
            f"    ip saddr {nets[i % len(nets)]} jump {n}",
            f"    meta l4proto tcp jump {n}",
            f"    udp dport {3000 + i} return",
            f"    meta l4proto udp goto {n}" if i % 2 else f"    udp dport {2000 + i} reject",
            f"    tcp dport {2000 + i} accept",
            "  }",
        ]
    out += [
        f"  chain c{depth} {{",
        f"    ip daddr {accept_net} accept",
        "    udp dport 53 accept",
        "  }",
        "}",
        "",
    ]
    return "\n".join(out)
