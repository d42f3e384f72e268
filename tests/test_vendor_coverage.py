"""docs/vendors.md is what scripts/vendor_coverage.py generates from Batfish's grammar
tests, and no vendor parser raises a traceback on any of them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location(
        "vendor_coverage", REPO / "scripts" / "vendor_coverage.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["vendor_coverage"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def generated() -> tuple[str, list]:
    mod = _script()
    root = mod.default_fixtures()
    if not (root / "firewall" / "batfish").is_dir():
        pytest.skip(
            f"Batfish fixtures not found under {root}/firewall/batfish (set SEGVERIFY_FIXTURES)"
        )
    return mod.generate(root)


def test_no_traceback_on_any_batfish_config(generated: tuple[str, list]) -> None:
    crashes = [f"{f.name}: {f.detail}" for f in generated[1] if f.status == "crash"]
    assert not crashes, crashes


def test_vendors_doc_is_current(generated: tuple[str, list]) -> None:
    current = (REPO / "docs" / "vendors.md").read_text(encoding="utf-8")
    assert current == generated[0], (
        "docs/vendors.md is stale: python scripts/vendor_coverage.py > docs/vendors.md"
    )


def test_every_vendor_entry_names_a_fixture_directory() -> None:
    mod = _script()
    dirs = [v.fixtures for v in mod.VENDORS]
    assert len(dirs) == len(set(dirs))
    assert all(v.formats for v in mod.VENDORS)
