"""nft text and JSON parsers; the kernel's JSON equals the text parse; compile round trip."""

from __future__ import annotations

import random
import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import need_root, need_tool

from segverify.errors import InputError
from segverify.firewall import ir, parse_export, parse_text
from segverify.firewall.chains import match_of
from segverify.firewall.compile_nft import to_nftables
from segverify.firewall.ir import Packet
from segverify.firewall.ruleset_ir import lower_ruleset

GOLDEN = Path(__file__).parent / "golden" / "firewall"


def evaluate(rs, p, path: str = "forward"):  # noqa: ANN001, ANN201
    """The one concrete evaluator (segverify.firewall.ir) on the lowered ruleset:
    (action, rules that decided)."""
    v = ir.evaluate(lower_ruleset(rs), p, path)
    return v.action, [s.rule for s in v.steps if s.rule is not None]


def semantics(rs) -> list:
    return [
        (
            s.name,
            s.hook,
            s.priority,
            s.default_action,
            s.family,
            [(r.action, match_of(r) if not r.unknown else len(r.unknown)) for r in s.rules],
        )
        for s in rs.stages
    ]


def nft(body: str):
    return parse_text(
        "table inet f {\n chain fwd {\n  type filter hook forward priority 0; policy drop;\n"
        + body
        + "\n }\n}\n",
        "t.nft",
    )


def test_several_base_chains_on_one_hook_all_apply() -> None:
    rs = parse_export(str(GOLDEN / "nft/forward.nft"))
    assert [s.name for s in rs.path_stages("forward")] == [
        "ip raw/pre",
        "inet filter/forward",
        "inet filter/forward_late",
    ]
    p = Packet(
        "198.18.20.5", "198.51.100.7", 6, dport=80, iif="eth0", oif="eth2", ct_state="established"
    )
    assert evaluate(rs, p)[0] == "drop"  # accepted at priority 0, dropped at priority 10
    p2 = Packet("198.18.20.5", "198.19.100.10", 17, dport=53)
    assert evaluate(rs, p2)[0] == "accept"


def test_vmap_sets_and_negation() -> None:
    rs = nft("  ip saddr != { 198.18.0.0/16 } tcp dport vmap { 22 : accept, 23 : drop }\n  accept")
    f = lambda **kw: evaluate(rs, Packet(**kw))[0]  # noqa: E731
    assert f(src="203.0.113.1", dst="198.18.0.1", proto=6, dport=22) == "accept"
    assert f(src="203.0.113.1", dst="198.18.0.1", proto=6, dport=23) == "drop"
    assert f(src="198.18.0.1", dst="198.18.0.1", proto=6, dport=23) == "accept"


def test_unknown_expression_has_line() -> None:
    rs = nft("  meta mark 0x1 accept\n  socket transparent 1 drop")
    rules = rs.stages[0].rules
    assert [(u.text, u.location.line) for r in rules for u in r.unknown] == [
        ("meta mark 0x1 (match mark)", 4),
        ("socket transparent 1 (match socket transparent)", 5),
    ]


def test_text_errors() -> None:
    with pytest.raises(InputError, match="not an nft ruleset"):
        parse_text("hello { }\n", "x.nft", vendor="nft")
    with pytest.raises(InputError, match="undefined chain"):
        nft("  jump nowhere")
    with pytest.raises(InputError, match="chain loop"):
        parse_text(
            "table ip t {\n chain a {\n  jump b\n }\n chain b {\n  jump a\n }\n"
            " chain f {\n  type filter hook forward priority 0;\n  jump a\n }\n}\n",
            "l.nft",
        )


def test_json_matches_text_sample() -> None:
    a = parse_export(str(GOLDEN / "nft/forward.nft"))
    b = parse_export(str(GOLDEN / "nft-json/forward.json"))
    # the text sample writes the limit/flags rules differently from nft's own output
    assert semantics(a) == semantics(b)


def test_bad_json() -> None:
    with pytest.raises(InputError, match="invalid JSON"):
        parse_text('{"nftables": [', "x.json", vendor="nft-json")
    with pytest.raises(InputError, match="not an 'nft -j list ruleset'"):
        parse_text('{"x": 1}', "x.json")


def _ns() -> str:
    name = f"svtest-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    return name


def test_kernel_json_equals_text_parse(tmp_path: Path) -> None:
    need_root()
    need_tool("nft")
    ns = _ns()
    try:
        src = GOLDEN / "nft/forward.nft"
        subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", str(src)], check=True)
        js = subprocess.run(
            ["ip", "netns", "exec", ns, "nft", "-j", "list", "ruleset"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        tx = subprocess.run(
            ["ip", "netns", "exec", ns, "nft", "list", "ruleset"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True)
    from_json = parse_text(js, "k.json")
    from_list = parse_text(tx, "k.nft")
    assert from_json.vendor == "nft-json" and from_list.vendor == "nft"
    assert semantics(from_json) == semantics(from_list)
    # and equals the hand-written source on every known rule
    orig = parse_export(str(src))
    assert [s[:5] for s in semantics(orig)] == [s[:5] for s in semantics(from_json)]


def _packets(n: int, seed: int = 7) -> list[Packet]:
    rnd = random.Random(seed)
    addrs = [
        "198.18.20.5",
        "198.18.20.30",
        "198.18.21.1",
        "198.19.100.10",
        "203.0.113.10",
        "198.51.100.3",
        "198.18.20.205",
        "10.1.1.1",
    ]
    out = []
    for _ in range(n):
        proto = rnd.choice([6, 17, 1])
        out.append(
            Packet(
                rnd.choice(addrs),
                rnd.choice(addrs),
                proto,
                sport=rnd.choice([1024, 443]),
                dport=rnd.choice([22, 25, 53, 80, 443, 8001, 23]),
                icmp_type=rnd.choice([0, 8]),
                iif=rnd.choice(["eth0", "eth1", "eth2", "lo"]),
                oif=rnd.choice(["eth0", "eth1", "eth2"]),
                ct_state=rnd.choice(["new", "new", "established", "invalid"]),
            )
        )
    return out


@pytest.mark.parametrize(
    "sample", ["iptables/forward.rules", "iptables/v6.rules", "nft/forward.nft", "csv/policy.csv"]
)
def test_compile_round_trip(sample: str, tmp_path: Path) -> None:
    rs = parse_export(str(GOLDEN / sample))
    if sample.startswith("csv"):
        rs.interfaces = {"eth0": "lgwan", "eth1": "lgwan-wan"}
    script = to_nftables(rs, skip_unknown=True)
    back = parse_text(script, "compiled.nft")
    back.interfaces = rs.interfaces
    known = [r for s in rs.stages for r in s.rules if r.unknown or r.action == "unknown"]
    for p in _packets(400):
        want, rules = evaluate(rs, p)
        if want == "unknown" or any(r in known for r in rules):
            continue
        assert evaluate(back, p)[0] == want, (p, rules)
    if need_tool("nft"):
        path = tmp_path / "c.nft"
        path.write_text(script)
        r = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr + script
