"""Loading a firewall ruleset into the lab firewall namespace's kernel.

iptables-save files go in with ``iptables-restore``, nftables files with ``nft -f``; any
other export is parsed by ``segverify.firewall`` and compiled from the normalised model to
nftables (``compile_nft.to_nftables``). The firewall namespace is flushed first.
"""

from __future__ import annotations

import hashlib
import importlib
import shutil
from pathlib import Path

from segverify.errors import InputError
from segverify.i18n import Msg
from segverify.lab.system import LabError, run

NATIVE = ("iptables", "nft")


def detect_vendor(text: str) -> str | None:
    """``iptables`` for iptables-save output, ``nft`` for an nftables script, else None."""
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s.startswith("*") or s.startswith(":") or s.startswith("-A "):
            return "iptables"
        if s.startswith(("table ", "flush ruleset", "add table", "define ")):
            return "nft"
        return None
    return None


def _compile(
    path: Path, text: str, vendor: str | None, topology: str, device: str | None
) -> tuple[str, str]:
    """Parse any supported export and compile it to an nftables script."""
    try:
        firewall = importlib.import_module("segverify.firewall")
        parse_export, sniff = firewall.parse_export, firewall.sniff
        to_nftables = importlib.import_module("segverify.firewall.compile_nft").to_nftables
    except (ImportError, AttributeError):
        raise InputError(
            Msg("error.lab.rules.this_vendor_needs_segverify_firewall"), str(path)
        ) from None
    from segverify.topology.loader import load_topology

    ruleset = parse_export(
        str(path), vendor=vendor, topology=load_topology(topology), device=device
    )
    return to_nftables(ruleset), vendor or sniff(text, str(path))


def flush(ns: str) -> None:
    if shutil.which("nft"):
        run(["nft", "flush", "ruleset"], ns=ns)
    else:
        for table in ("filter", "nat", "mangle", "raw"):
            run(["iptables", "-t", table, "-F"], ns=ns, check=False)
            run(["iptables", "-t", table, "-X"], ns=ns, check=False)
        run(["iptables", "-P", "FORWARD", "ACCEPT"], ns=ns, check=False)


def load_ruleset(
    ns: str,
    path: str | Path,
    vendor: str | None,
    topology: str,
    device: str | None = None,
) -> dict[str, str]:
    """Flush the firewall namespace and load ``path``; returns what was loaded (for state)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(Msg("error.no_such_file"), str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(Msg("error.cannot_read", reason=exc), str(path)) from None
    detected = detect_vendor(text)
    kind = vendor or detected
    if kind in ("iptables", "iptables-save"):
        kind = "iptables"
    flush(ns)
    if kind == "iptables":
        proc = run(["iptables-restore"], ns=ns, stdin=text, check=False)
        loaded_as = "iptables-restore"
    elif kind == "nft":
        proc = run(["nft", "-f", "-"], ns=ns, stdin=text, check=False)
        loaded_as = "nft"
    else:
        script, kind = _compile(file, text, vendor, topology, device)
        proc = run(["nft", "-f", "-"], ns=ns, stdin=script, check=False)
        loaded_as = "nft (compiled from the normalised model)"
    if proc.returncode != 0:
        err = (proc.stderr or proc.stdout).strip().splitlines()
        raise LabError(
            Msg(
                "error.lab.rules.kernel_rejected_ruleset", reason=err[0] if err else proc.returncode
            ),
            str(path),
        )
    return {
        "path": str(path),
        "vendor": kind or (vendor or "auto"),
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "loaded_as": loaded_as,
    }
