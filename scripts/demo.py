"""`make demo`: the main job on bundled data — verify a preset, show its zone matrix, then
analyse a bundled capture against it and print the report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEGVERIFY = [sys.executable, "-m", "segverify"]
TOPOLOGY = REPO / "topologies" / "alpha.yaml"
CAPTURE = REPO / "captures" / "alpha-violations.pcap"


def step(title: str, args: list[str], ok: tuple[int, ...] = (0,)) -> None:
    print(f"\n=== {title}\n$ segverify {' '.join(args)}", flush=True)
    code = subprocess.run([*SEGVERIFY, *args], cwd=REPO, check=False).returncode
    if code not in ok:
        sys.exit(f"demo step failed with exit code {code}")


def main() -> None:
    rel = str(TOPOLOGY.relative_to(REPO))
    step("Structural verification of the α preset", ["topology", "check", rel])
    step("Zone reachability matrix", ["topology", "matrix", rel])
    if CAPTURE.exists():
        # exit 1 means forbidden flows were found: that is what this capture demonstrates
        step(
            "Capture analysis: forbidden cross-zone flows",
            ["pcap", str(CAPTURE.relative_to(REPO)), "--topology", rel],
            ok=(0, 1),
        )
    else:
        print(f"(no bundled capture at {CAPTURE}; skipping capture analysis)")


if __name__ == "__main__":
    main()
