"""Adversarial parsing of every firewall format (issue 13): mutated exports never raise
anything but a one-line ``InputError`` (exit 2); what parses is analysed to an exit code in
{0, 1, 3}. Bounded in time; ``-m slow`` runs many more examples."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segverify.checks.firewall import check_firewall
from segverify.errors import InputError
from segverify.firewall.formats import format_names
from segverify.firewall.registry import device_from_text
from segverify.topology.loader import load_topology

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden" / "firewall"
NETFILTER = ("iptables", "nft", "nft-json", "csv")
SEEDS = {
    fmt: [
        p.read_text(encoding="utf-8")
        for p in sorted((GOLDEN / fmt).iterdir())
        if p.is_file() and not p.name.endswith((".ref", ".ipset"))
    ]
    for fmt in NETFILTER
}
TOPO = load_topology(REPO / "topologies" / "alpha.yaml")
NOISE = st.sampled_from(
    [
        "",
        "!",
        "-j",
        "-m",
        "--dport",
        "{",
        "}",
        ";",
        '"',
        "'",
        "\\",
        "$X",
        "include",
        "jump",
        "goto",
        "-A FORWARD",
        "0.0.0.0/0",
        "::/0",
        "65536",
        "-1",
        "tcp",
        "drop",
        "accept",
        "\x1b[31m",
        "\u202e",
        "\x00",
        "[",
        "]",
        ",",
        "=",
        "999999999999",
        "eth0",
        "port9",
        "ip saddr",
        "define",
    ]
)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    fmt = draw(st.sampled_from(NETFILTER))
    lines = draw(st.sampled_from(SEEDS[fmt])).split("\n")
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.integers(0, 4))
        k = draw(st.integers(0, max(0, len(lines) - 1)))
        if op == 0 and lines:
            del lines[k]
        elif op == 1 and lines:
            lines.insert(k, lines[draw(st.integers(0, len(lines) - 1))])
        elif op == 2 and lines:
            words = lines[k].split(" ")
            j = draw(st.integers(0, len(words) - 1))
            words[j] = draw(NOISE)
            lines[k] = " ".join(words)
        elif op == 3:
            lines.insert(k, draw(st.text(max_size=40)))
        else:
            lines = lines[: k + 1]
    return fmt, "\n".join(lines)


def check(fmt: str, text: str) -> None:
    vendor = fmt if fmt != "nft-json" else None  # nft JSON through the sniffer
    try:
        dev = device_from_text(text, f"mutant.{fmt}", vendor, TOPO, "fw-inet")
    except InputError as exc:
        assert "\n" not in str(exc).strip()
        return
    report = check_firewall(TOPO, dev, "fw-inet", shadow=False)
    assert report.exit_code() in (0, 1, 3)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_mutated_exports_fail_closed(case: tuple[str, str]) -> None:
    check(*case)


@pytest.mark.slow
@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_mutated_exports_fail_closed_long(case: tuple[str, str]) -> None:
    check(*case)


def test_every_registered_format_survives_garbage() -> None:
    for name in format_names():
        for text in ("", "\x00\x01", "{" * 5000, "table inet x {", "*filter\n-A", "a,b\n1"):
            with contextlib.suppress(InputError):
                device_from_text(text, "garbage", name, TOPO, "fw-inet")
