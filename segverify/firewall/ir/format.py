"""The contract of a firewall export format module (see docs/firewall.md "Adding a vendor").

A format module lives in ``segverify/firewall/formats/`` and defines one module-level
``FORMAT = Format(...)``. The registry (``segverify.firewall.formats``) finds it by
itself: adding a vendor touches no shared file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from segverify.firewall.ir.device import Device


@dataclass(frozen=True)
class ParseContext:
    """What a parser gets besides the text: the file name for messages (``Location``
    and ``InputError``) and format-specific options (e.g. ``ipsets`` for iptables)."""

    file: str = "<string>"
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Format:
    """``name``: the ``--vendor`` value; ``aliases``: other accepted spellings.
    ``sniff(text) -> float``: 0.0 (not this format) … 1.0 (certainly this format), cheap
    and never raising; ``--vendor auto`` picks the single best score ≥ 0.5.
    ``parse(text, ctx) -> Device``: raise ``InputError(msg, file, line)`` for what the
    device itself would reject; ``device.warn(location, msg)`` (and an ``Opaque("unknown",
    …)`` atom in the affected rule) for what it accepts but the parser does not model."""

    name: str
    aliases: tuple[str, ...]
    sniff: Callable[[str], float]
    parse: Callable[[str, ParseContext], Device]
    description: str = ""
    options: tuple[str, ...] = ()  # option names this format understands
