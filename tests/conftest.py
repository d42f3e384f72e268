"""Shared test fixtures: paths to the repo, its topologies and the public fixture corpus."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOPOLOGIES = REPO / "topologies"
FIXTURES = Path(os.environ.get("SEGVERIFY_FIXTURES", REPO.parent / "shared" / "fixtures"))


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    return FIXTURES


def need_tool(name: str) -> str:
    """Skip the calling test unless ``name`` is on PATH; return its path."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (CI installs it via .ci/run)")
    return path


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces / netfilter)")
