"""Adversarial policy texts: mutants of the published policies (../shared/seeds, when present)
and of a built-in three-measure text, through `policy check`, in a bounded child."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.adversarial import assert_fails_closed, mutants, run_batch
from tests.conftest import REPO, TOPOLOGIES

SEEDS_DIR = Path(os.environ.get("SEGVERIFY_SEEDS", REPO.parent / "shared" / "seeds"))
BUILTIN = """\
# 情報セキュリティ基本方針（例）
6 情報セキュリティ対策
(3) 技術的セキュリティ
① マイナンバー利用事務系においては、原則として他の領域との通信をできないようにした上で、端末からの情報持ち出し不可設定等を図る。
② LGWAN接続系においては、LGWANと接続する業務用システムと、インターネット接続系の情報システムとの通信経路を分割する。
③ インターネット接続系においては、（例）α県と市町村のインターネットとの通信を集約する自治体情報セキュリティクラウドに参加する。
""".encode()
POLICY_TOKENS: tuple[bytes, ...] = (
    "マイナンバー利用事務系においては".encode(),
    "LGWAN接続系においては".encode(),
    "インターネット接続系においては".encode(),
    b"L G W A N",
    "①".encode(),
    "（ア）".encode(),
    "京都府大阪府".encode(),
    "\u3000".encode(),
    "\u2028".encode(),
    b"\xef\xbb\xbf",
    "ﾏｲﾅﾝﾊﾞｰ".encode(),
)
TOPOS = [str(TOPOLOGIES / f"{m}.yaml") for m in ("alpha", "two-tier")]


def _seeds() -> list[bytes]:
    out = [BUILTIN]
    if SEEDS_DIR.is_dir():
        out += [p.read_bytes() for p in sorted(SEEDS_DIR.glob("*.txt"))]
    return out


SEED = st.sampled_from(_seeds())


@st.composite
def policy_batch(draw: st.DrawFn, size: int) -> list[bytes]:
    return [draw(SEED.flatmap(lambda s: mutants(s, POLICY_TOKENS))) for _ in range(size)]


def run_policy_mutants(tmp: Path, batch: list[bytes]) -> None:
    argvs = []
    for i, data in enumerate(batch):
        f = tmp / f"p{i}.txt"
        f.write_bytes(data)
        for topo in TOPOS:
            argvs.append(["policy", "check", str(f), "-t", topo, "--format", "json"])
    for outcome in run_batch(argvs):
        assert_fails_closed(outcome, frozenset({0, 1, 2}))


@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(policy_batch(6))
def test_policy_text_mutants_fail_closed(tmp_path_factory: pytest.TempPathFactory, batch) -> None:  # noqa: ANN001
    run_policy_mutants(tmp_path_factory.mktemp("pt"), batch)


@pytest.mark.adversarial_long
@pytest.mark.skipif(not os.environ.get("SEGVERIFY_LONG"), reason="set SEGVERIFY_LONG=1")
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(policy_batch(30))
def test_long_policy_text_mutants(tmp_path_factory: pytest.TempPathFactory, batch) -> None:  # noqa: ANN001
    run_policy_mutants(tmp_path_factory.mktemp("ptl"), batch)


def test_policy_text_bombs(tmp_path: Path) -> None:
    line = "マイナンバー利用事務系においては".encode()
    bombs = [
        b"\x00" * 1000,
        b"\xff\xfe" + "①".encode("utf-16-le"),
        line * 200_000,  # one 9.6 MB line
        (line + b"\n") * 200_000,  # 200k measure lines
        "① マイナンバー利用事務系においては\x1b]8;;http://x\x07\u202e".encode(),
        b"",
    ]
    argvs = []
    for i, data in enumerate(bombs):
        f = tmp_path / f"b{i}.txt"
        f.write_bytes(data)
        argvs.append(["policy", "check", str(f), "-t", TOPOS[0]])
    outs = run_batch(argvs)
    for out in outs:
        assert_fails_closed(out, frozenset({0, 1, 2}))
        assert "\x1b" not in out.stdout + out.stderr
    assert outs[0].code == 2 and outs[1].code == 2 and outs[5].code == 2
