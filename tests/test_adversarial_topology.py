"""Adversarial topologies: byte-level and value-level mutants of every bundled topology through
every topology command, in a child under memory and CPU limits (tests/adversarial.py).

Default run: a few hypothesis examples (a few seconds). The long run:
``SEGVERIFY_LONG=1 pytest -m adversarial_long tests/test_adversarial_*.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.adversarial import (
    YAML_TOKENS,
    Outcome,
    assert_fails_closed,
    mutants,
    run_batch,
    yaml_value_mutants,
)
from tests.conftest import TOPOLOGIES

SEEDS = sorted(
    p for p in [*TOPOLOGIES.glob("*.yaml"), *TOPOLOGIES.glob("examples/*.yaml")] if p.is_file()
)
LONG = bool(os.environ.get("SEGVERIFY_LONG"))
long_only = pytest.mark.skipif(not LONG, reason="long adversarial run: set SEGVERIFY_LONG=1")
# SEGVERIFY_LONG=1 → 150 examples; SEGVERIFY_LONG=N (N > 1) → N examples
LONG_EXAMPLES = max(int(os.environ.get("SEGVERIFY_LONG") or 0), 0) if LONG else 0
LONG_EXAMPLES = LONG_EXAMPLES if LONG_EXAMPLES > 1 else 150

# command → the exit codes it documents
COMMANDS: dict[str, tuple[list[str], frozenset[int]]] = {
    "check": (["topology", "check", "{f}", "--format", "json"], frozenset({0, 1, 2})),
    "matrix": (["topology", "matrix", "{f}", "--format", "csv"], frozenset({0, 2})),
    "show": (["topology", "show", "{f}"], frozenset({0, 2})),
    "diagram": (["topology", "diagram", "{f}"], frozenset({0, 2})),
    "explain": (
        ["explain", "-t", "{f}", "--src", "198.18.10.10", "--dst", "203.0.113.77"],
        frozenset({0, 1, 2}),
    ),
    "explain6": (
        ["explain", "-t", "{f}", "--src", "::ffff:198.18.20.10", "--dst", "2001:db8:30::9"],
        frozenset({2}),  # mixed families after unmapping: always bad input
    ),
}


def _seed_texts() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in SEEDS]


def run_topology_mutants(tmp: Path, batch: list[bytes], commands: list[str]) -> list[Outcome]:
    argvs, codes = [], []
    for i, data in enumerate(batch):
        f = tmp / f"m{i}.yaml"
        f.write_bytes(data)
        for name in commands:
            template, allowed = COMMANDS[name]
            argvs.append([a.replace("{f}", str(f)) for a in template])
            codes.append(allowed)
    outcomes = run_batch(argvs)
    for outcome, allowed in zip(outcomes, codes, strict=True):
        assert_fails_closed(outcome, allowed)
    return outcomes


SEED_BYTES = st.sampled_from(SEEDS).map(lambda p: p.read_bytes())


@st.composite
def byte_batch(draw: st.DrawFn, size: int) -> list[bytes]:
    return [draw(SEED_BYTES.flatmap(lambda s: mutants(s, YAML_TOKENS))) for _ in range(size)]


@st.composite
def value_batch(draw: st.DrawFn, size: int) -> list[bytes]:
    texts = st.sampled_from(SEEDS).map(lambda p: p.read_text(encoding="utf-8"))
    return [draw(texts.flatmap(yaml_value_mutants)) for _ in range(size)]


ALL = list(COMMANDS)


@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(byte_batch(8))
def test_byte_mutants_fail_closed(tmp_path_factory: pytest.TempPathFactory, batch) -> None:  # noqa: ANN001
    run_topology_mutants(tmp_path_factory.mktemp("yb"), batch, ALL)


@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(value_batch(8))
def test_value_mutants_fail_closed(tmp_path_factory: pytest.TempPathFactory, batch) -> None:  # noqa: ANN001
    run_topology_mutants(tmp_path_factory.mktemp("yv"), batch, ALL)


@pytest.mark.adversarial_long
@long_only
@settings(max_examples=LONG_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(byte_batch(25), value_batch(25)))
def test_long_topology_mutants(tmp_path_factory: pytest.TempPathFactory, batch) -> None:  # noqa: ANN001
    run_topology_mutants(tmp_path_factory.mktemp("yl"), batch, ALL)


def test_known_bombs_in_one_batch(tmp_path: Path) -> None:
    """The resource bombs the issue lists, every command, one bounded child."""
    bombs = [
        b"a: &a [x,x,x,x,x,x,x,x,x]\n"
        + b"".join(
            f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n".encode()
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        b"a: " + b"[" * 100_000 + b"]" * 100_000,
        b"{a: " * 3000 + b"1" + b"}" * 3000,
        b"segverify: 1\x00\n",
        b"segverify: 1\nname: \x1b[2J\n",
        b"\xef\xbb\xbf\xef\xbb\xbf",
        b"\xff" * 100,
        b"- " * 20_000 + b"x",
        b"",
        b"---\n---\n",
    ]
    outs = run_topology_mutants(tmp_path, bombs, ["check", "matrix", "explain"])
    assert all(o.code == 2 for o in outs), [o.stderr for o in outs if o.code != 2]
    assert outs[0].peak_rss_kib < 512 * 1024
