"""Golden files (aerleon style): every input under tests/golden/firewall/<vendor>/ has a
``.dump.ref`` with the expected normalised dump. Regenerate with SEGVERIFY_UPDATE_GOLDEN=1
and review the diff."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from segverify.firewall import dump, parse_export

GOLDEN = Path(__file__).parent / "golden" / "firewall"
INPUTS = sorted(
    p for p in GOLDEN.rglob("*") if p.is_file() and p.suffix in (".rules", ".nft", ".json", ".csv")
)


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: str(p.relative_to(GOLDEN)))
def test_golden(path: Path) -> None:
    ipset = path.with_suffix(".ipset")
    rs = parse_export(str(path), ipset_file=str(ipset) if ipset.exists() else None)
    got = dump(rs)
    ref = path.with_name(path.name + ".dump.ref")
    if os.environ.get("SEGVERIFY_UPDATE_GOLDEN"):
        ref.write_text(got)
    assert ref.exists(), f"missing {ref.name}: run with SEGVERIFY_UPDATE_GOLDEN=1"
    assert got == ref.read_text()
