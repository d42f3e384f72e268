"""Text rendering of one explained flow."""

from __future__ import annotations

from typing import Any

from segverify.i18n import t


def _ep(ep: dict[str, Any], lang: str) -> str:
    tier = t(f"tier.{ep['tier']}", lang)
    node = f", {ep['node']} ({ep['role']})" if ep.get("node") else ""
    return f"{ep['address']}  [{ep['zone']}: {tier}{node}]"


def render_explain(result: dict[str, Any], lang: str = "en") -> str:
    head = t("explain.allowed" if result["allowed"] else "explain.forbidden", lang)
    port = f"/{result['dport']}" if result["dport"] is not None else ""
    lines = [
        f"{head}: {result['src']['address']} → {result['dst']['address']} {result['proto']}{port}",
        f"  {t('explain.src', lang)}: {_ep(result['src'], lang)}",
        f"  {t('explain.dst', lang)}: {_ep(result['dst'], lang)}",
    ]
    decided = result["decided_by"]
    title = result["rule_title_ja"] if lang == "ja" else result["rule_title"]
    if result.get("rule") and title and decided == result["rule"]:
        decided = f"{decided} ({title})"
    lines.append(f"  {t('explain.decided_by', lang)}: {decided}")
    rule = result.get("allow_rule")
    if rule:
        just = rule["justification_ja"] if lang == "ja" else rule["justification"]
        where = f" @ {rule['location']}" if rule.get("location") else ""
        lines.append(f"    {just}{where}")
    lines.append(
        f"  {t('explain.reason', lang)}: {result['reason_text_ja'] if lang == 'ja' else result['reason_text']}"
    )
    if result["clauses"]:
        lines.append(f"  {t('finding.clauses', lang)}: {'; '.join(result['clauses'])}")
    return "\n".join(lines) + "\n"
