"""Input size limits (issue 13 item 10, topology and policy text): segverify/limits.py bounds
every whole-file read; past the limit, one line naming the file and the limit, exit 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from segverify.errors import InputError
from segverify.limits import (
    POLICY_TEXT_MAX_BYTES,
    TOPOLOGY_MAX_BYTES,
    describe_size,
    read_bytes_bounded,
    read_text_bounded,
)
from tests.adversarial import MiB, assert_fails_closed, run_limited
from tests.conftest import TOPOLOGIES

ALPHA = str(TOPOLOGIES / "alpha.yaml")


def _zero_link(tmp_path: Path, name: str) -> str:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    link = tmp_path / name
    link.symlink_to("/dev/zero")
    return str(link)


def _huge(tmp_path: Path, name: str, size: int, line: bytes) -> str:
    path = tmp_path / name
    with open(path, "wb") as fh:
        fh.write(line * (size // len(line) + 1))
    return str(path)


def test_topology_symlinked_to_dev_zero(tmp_path: Path) -> None:
    f = _zero_link(tmp_path, "topo.yaml")
    out = run_limited(["topology", "check", f], mem=1024 * MiB, cpu=30)
    assert_fails_closed(out)
    assert out.code == 2
    assert out.stderr.strip() == (
        f"segverify: {f}: topology is larger than the limit of "
        f"{describe_size(TOPOLOGY_MAX_BYTES)} (see docs/security.md)"
    )


def test_policy_text_symlinked_to_dev_zero(tmp_path: Path) -> None:
    f = _zero_link(tmp_path, "policy.txt")
    out = run_limited(["policy", "check", f, "-t", ALPHA], mem=1024 * MiB, cpu=30)
    assert_fails_closed(out)
    assert out.code == 2
    assert out.stderr.strip() == (
        f"segverify: {f}: policy text is larger than the limit of "
        f"{describe_size(POLICY_TEXT_MAX_BYTES)} (see docs/security.md)"
    )


def test_huge_topology_and_policy_files(tmp_path: Path) -> None:
    topo = _huge(tmp_path, "big.yaml", TOPOLOGY_MAX_BYTES, b"# padding comment line\n")
    out = run_limited(["topology", "matrix", topo], cpu=30)
    assert_fails_closed(out)
    assert out.code == 2 and "topology is larger than the limit of 16 MiB" in out.stderr
    text = _huge(tmp_path, "big.txt", POLICY_TEXT_MAX_BYTES, "本文\n".encode())
    out = run_limited(["policy", "check", text, "-t", ALPHA], cpu=30)
    assert_fails_closed(out)
    assert out.code == 2 and "policy text is larger than the limit of 16 MiB" in out.stderr


def test_read_bounded_exactly_at_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    assert read_bytes_bounded(str(path), 100, "file") == b"x" * 100
    with pytest.raises(InputError, match="larger than the limit of 99 bytes"):
        read_bytes_bounded(str(path), 99, "file")


def test_read_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        read_text_bounded(str(tmp_path), 10, "topology")
    assert str(err.value) == f"{tmp_path}: is a directory, not a topology"
    with pytest.raises(InputError) as err:
        read_text_bounded(str(tmp_path / "missing"), 10, "topology")
    assert str(err.value).endswith("missing: no such file")
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("line one\nline two\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError) as err:
        read_text_bounded(str(bad), 1000, "policy text")
    assert str(err.value) == (
        f"{bad}:3: policy text is not UTF-8 text (invalid continuation byte at byte 21)"
    )


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + Path(ALPHA).read_bytes())
    out = run_limited(["topology", "check", str(path)], cpu=30)
    assert_fails_closed(out)
    assert out.code in (0, 1)


def test_security_doc_lists_every_limit() -> None:
    """docs/security.md's table names each constant of segverify/limits.py with its value."""
    from segverify import limits
    from tests.conftest import REPO

    doc = (REPO / "docs" / "security.md").read_text(encoding="utf-8")
    names = [n for n in dir(limits) if n.isupper() and n[0] != "_" and n != "MiB"]
    assert names
    for name in names:
        value = getattr(limits, name)
        shown = describe_size(value) if name.endswith("_BYTES") else str(value)
        assert f"| `{name}` | {shown} |" in doc, name


def test_gzip_bomb_stops_at_the_reference_backend_limit(tmp_path: Path) -> None:
    """Issue 13 item 10: the scapy backend used to gunzip a whole capture into memory."""
    import gzip

    from segverify.capture.scapy_backend import read_bytes

    bomb = tmp_path / "bomb.pcap.gz"
    bomb.write_bytes(gzip.compress(b"\0" * (4 << 20)))  # 4 MiB of zeros, ~4 KiB on disk
    with pytest.raises(InputError, match="larger than the limit of 1 MiB once decompressed"):
        read_bytes(str(bomb), limit=1 << 20)
    assert len(read_bytes(str(bomb), limit=8 << 20)) == 4 << 20  # under the limit: whole


def test_firewall_exports_use_the_documented_limit(tmp_path: Path) -> None:
    from segverify.firewall.source import read_text
    from segverify.limits import FIREWALL_EXPORT_MAX_BYTES

    assert read_text.__defaults__ == (FIREWALL_EXPORT_MAX_BYTES, "firewall export")
    with pytest.raises(InputError, match="firewall export is larger than the limit of 1 KiB"):
        read_text("/dev/zero", limit=1024)


def test_flow_log_gzip_bomb_stops_at_the_limit(tmp_path: Path) -> None:
    """The flow-log readers gunzipped a whole file into memory without a bound."""
    import gzip

    from segverify.flowlogs.textio import read_bytes

    bomb = tmp_path / "conn.log.gz"
    bomb.write_bytes(gzip.compress(b"#" * (4 << 20)))
    with pytest.raises(InputError, match="flow log is larger than the limit of 1 MiB once"):
        read_bytes(str(bomb), limit=1 << 20)
    assert read_bytes(str(bomb), limit=8 << 20) == b"#" * (4 << 20)
