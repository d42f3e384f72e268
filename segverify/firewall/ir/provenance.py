"""Where a rule, atom or object came from: the file line and the vendor's own names.

Every rule and every atom a vendor parser builds carries an ``Origin`` so that a finding
reads "policy 12 'lgwan-to-net' (fw.conf:214) permits … via service group 'web'".
"""

from __future__ import annotations

from dataclasses import dataclass

from segverify.topology.model import Location


@dataclass(frozen=True)
class Origin:
    """Provenance of a rule, a stage, a named object or an atom.

    ``location`` is the line that defines it (file:line, 1-based); ``text`` that line (or a
    one-line rendering of a multi-line block); ``kind`` what the vendor calls it ("policy",
    "rule", "address", "addrgrp", "service", "service-group", "chain", "access-list" …);
    ``id`` and ``name`` the vendor's identifier and display name (FortiGate ``edit 12`` +
    ``set name "lgwan-to-net"``, a PAN-OS rule name, an iptables chain); ``via`` the lines
    that led here (jump rules, ``access-group`` bindings), outermost first.
    """

    location: Location | None = None
    text: str = ""
    kind: str = ""
    id: str = ""
    name: str = ""
    via: tuple[Location, ...] = ()
    context: str = ""  # where in the vendor structure: chain path "FORWARD>WEB", rulebase, ACL

    def label(self) -> str:
        """``policy 12 'lgwan-to-net'``, ``address 'web-srv'`` or '' when nothing is named."""
        parts = [p for p in (self.kind, self.id) if p]
        if self.name and self.name != self.id:
            parts.append(repr(self.name))
        return " ".join(parts)


NO_ORIGIN = Origin()


def at(file: str, line: int, text: str = "", **names: str) -> Origin:
    """Shorthand for parsers: ``at(path, 12, line_text, kind="policy", id="12", name="x")``."""
    return Origin(location=Location(file, line), text=text, **names)
