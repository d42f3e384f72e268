"""Why a permit only *may* happen: the opaque atoms behind it, named in the finding.

An opaque atom (application, schedule, user, URL category …) is understood but cannot be
decided from packet headers; ``Opaque("unknown")`` and the ``unknown`` verdict are what
segverify did not recognise. A finding that exists only in the upper (fail-closed) set
names the atoms of the permitting rule, or, when it has none, those of the rules on the
path that may decide the same packets (an opaque deny may not block), and says "did not
recognise" only for unknown constructs.
"""

from __future__ import annotations

from typing import Any

from segverify.engine.compile import CompiledRuleset
from segverify.firewall.ir import UNKNOWN_ACTION, Opaque, Rule
from segverify.i18n import t

MAX_SCAN = 256  # rules looked at for the atoms behind an uncertain permit
MAX_ATOMS = 8


def opaque_behind(
    compiled: CompiledRuleset, path: str, packets: Any, rule: Rule | None
) -> tuple[list[Opaque], bool]:
    """The opaque atoms that make ``packets`` only *may* be permitted, and whether an
    unknown verdict is among the causes: the rule's own atoms when it has any, else those
    of inexact rules on ``path`` whose match may meet ``packets`` (bounded search)."""
    if rule is not None and (rule.opaque or rule.action == UNKNOWN_ACTION):
        return list(dict.fromkeys(rule.opaque)), rule.action == UNKNOWN_ACTION
    sp = compiled.space
    atoms: list[Opaque] = []
    unknown = False
    scanned = 0
    for cs in compiled.paths.get(path, []):
        if cs.exact:
            continue
        for cr in cs.rules:
            if cr.exact or not cr.rule.enabled:
                continue
            scanned += 1
            if scanned > MAX_SCAN or len(atoms) >= MAX_ATOMS:
                return atoms, unknown
            if (cr.may & packets) == sp.false:
                continue
            atoms.extend(a for a in cr.rule.opaque if a not in atoms)
            unknown = unknown or cr.rule.action == UNKNOWN_ACTION
    return atoms, unknown


def _label(a: Opaque, lang: str) -> str:
    """``application ssl, web-browsing`` / ``アプリケーション ssl, web-browsing``."""
    if a.kind == "other":
        return a.text
    rest = a.text[len(a.kind) + 1 :] if a.text.startswith(a.kind + " ") else a.text
    return f"{t('firewall.opaque.' + a.kind, lang)} {rest}"


def may_text(atoms: list[Opaque], unknown: bool = False) -> tuple[str, str]:
    """`` (may: depends on application ssl, web-browsing, which packet headers cannot
    decide)`` and its Japanese, through the message catalogue."""
    known = [a for a in atoms if a.kind != "unknown"]
    unknown = unknown or any(a.kind == "unknown" for a in atoms)
    out: list[str] = []
    for lang in ("en", "ja"):
        names = ("; " if lang == "en" else "、").join(dict.fromkeys(_label(a, lang) for a in known))
        if known:
            key = "firewall.may.opaque_and_unknown" if unknown else "firewall.may.opaque"
            out.append(t(key, lang, atoms=names))
        elif unknown:
            out.append(t("firewall.may.unknown", lang))
        else:
            out.append(t("firewall.may.undecidable", lang))
    return out[0], out[1]
