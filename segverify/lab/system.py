"""Running the system tools the lab needs (ip, iptables, nft, tcpdump), with timeouts."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

from segverify.errors import InputError
from segverify.lab.messages import msg

REQUIRED_TOOLS = ("ip", "tcpdump")
DEFAULT_TIMEOUT = 20.0


class LabError(InputError):
    """A lab operation failed (not root, tool missing, a command failed): one line, exit 2."""


def require_root(lang: str = "en") -> None:
    if os.geteuid() != 0:
        raise LabError(msg("not_root", lang))


def require_tools(tools: Sequence[str] = REQUIRED_TOOLS, lang: str = "en") -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            raise LabError(msg("missing_tool", lang, tool=tool))


def run(
    args: Sequence[str],
    *,
    ns: str | None = None,
    stdin: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    check: bool = True,
    lang: str = "en",
) -> subprocess.CompletedProcess[str]:
    """Run a command (inside namespace ``ns`` when given) and return its result."""
    cmd = ["ip", "netns", "exec", ns, *args] if ns else list(args)
    try:
        proc = subprocess.run(
            cmd, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise LabError(msg("command_failed", lang, cmd=" ".join(cmd), err="timeout")) from None
    except FileNotFoundError:
        raise LabError(msg("missing_tool", lang, tool=cmd[0])) from None
    if check and proc.returncode != 0:
        err = (proc.stderr or proc.stdout).strip().splitlines()
        raise LabError(
            msg("command_failed", lang, cmd=" ".join(cmd), err=err[-1] if err else proc.returncode)
        )
    return proc


def ip_batch(ns: str, lines: Sequence[str], lang: str = "en") -> None:
    """Run iproute2 commands in one namespace with one ``ip -batch`` call."""
    if lines:
        run(["ip", "-n", ns, "-batch", "-"], stdin="\n".join(lines) + "\n", lang=lang)


def sysctl(ns: str, settings: dict[str, str], lang: str = "en") -> None:
    """Set sysctls inside a namespace (writes /proc/sys within it)."""
    args = [f"{k}={v}" for k, v in settings.items()]
    run(["sysctl", "-q", "-w", *args], ns=ns, lang=lang)
