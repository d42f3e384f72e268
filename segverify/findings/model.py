"""Findings: the one data type every check produces and every renderer takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from segverify.topology.model import Location

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One problem found.

    ``kind`` names the check (``structure``, ``allow-rule``, ``overlap``, ``flow``,
    ``firewall-permit``, ``shadowed``, ``redundant``, ``diff``, ``parse``…); ``rule`` the
    tier rule (R1..R5) or check id; ``data`` carries kind-specific structured fields
    (flow endpoints, example packets…) that JSON output puts at the top level of the
    finding object.
    """

    kind: str
    rule: str
    message: str
    message_ja: str = ""
    severity: str = "error"
    clauses: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    remedy: str = ""
    remedy_ja: str = ""
    location: Location | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        return self.message_ja if lang == "ja" and self.message_ja else self.message

    def remedy_text(self, lang: str) -> str:
        return self.remedy_ja if lang == "ja" and self.remedy_ja else self.remedy


@dataclass(frozen=True)
class InputWarning:
    """A non-finding problem with the input (unknown line, unresolved reference…)."""

    message: str
    location: Location | None = None
    message_ja: str = ""  # Japanese text, when the producer has one

    def __post_init__(self) -> None:
        # a catalogue message (segverify.i18n.Msg) brings its Japanese text with it
        if not self.message_ja and hasattr(self.message, "render"):
            object.__setattr__(self, "message_ja", self.message.render("ja"))

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message

    def text(self, lang: str) -> str:
        """The warning in ``lang`` (English when no Japanese text was given), with location."""
        msg = self.message_ja if lang == "ja" and self.message_ja else self.message
        return f"{self.location}: {msg}" if self.location else msg


@dataclass(frozen=True)
class Report:
    """What a command produced: findings plus a summary, ready for any renderer.

    ``incomplete`` is set when some input was not fully understood (exit code 3 unless
    there are findings). ``summary`` is a flat JSON-able mapping.
    """

    command: str
    findings: tuple[Finding, ...]
    summary: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[InputWarning, ...] = ()
    incomplete: bool = False
    manual_items: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()

    def exit_code(self) -> int:
        from segverify.errors import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INCOMPLETE

        if any(f.severity == "error" for f in self.findings):
            return EXIT_FINDINGS
        if self.incomplete:
            return EXIT_INCOMPLETE
        return EXIT_CLEAN
