"""Shared test fixtures: paths to the repo, its topologies and the public fixture corpus."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (never a downloaded browser), one per module."""
    exe = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    if exe is None:
        pytest.skip("chromium not installed (CI installs it via .ci/run)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def aot_kernels() -> Any:
    """The kernels built ahead of time (``python -m segverify.jit build``; built here when
    the current module is missing), strict: a call whose argument types no export
    declares raises instead of going to numba's JIT."""
    from segverify.jit import aot_dirs, load_aot
    from segverify.jit_build import build

    build()
    kernels = load_aot(aot_dirs(), strict=True)
    assert kernels is not None and kernels.kind == "aot"
    return kernels
