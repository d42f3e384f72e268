"""Data flows one way: a lower stage never imports a higher one (issue 8 removed
engine/policy.py → checks.policy, topology/normalised.py → checks.selectors and
flows/ → capture, whose row layout and name evidence now live in flows/)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "segverify"
HIGHER = {
    "topology": ("checks", "engine", "firewall", "render", "cli", "lab"),
    "firewall": ("checks", "engine", "render", "cli", "lab"),
    "engine": ("checks", "render", "cli", "lab"),
    # the flow model is built by the capture sources (and distributed, flowlogs): never the
    # other way round
    "flows": ("capture", "distributed", "flowlogs", "checks", "engine", "render", "cli", "lab"),
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
        elif isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
    return out


@pytest.mark.parametrize("stage", sorted(HIGHER))
def test_no_upward_imports(stage: str) -> None:
    bad = []
    for path in sorted((PKG / stage).rglob("*.py")):
        for mod in _imports(path):
            parts = mod.split(".")
            if parts[0] == "segverify" and len(parts) > 1 and parts[1] in HIGHER[stage]:
                bad.append(f"{path.relative_to(PKG.parent)} imports {mod}")
    assert bad == []
