"""The municipality's published policy text (情報セキュリティ基本方針) against its topology.

Finds the three measures (三層の対策) in the text — the lines beginning "マイナンバー利用事務系
においては", "LGWAN接続系においては", "インターネット接続系においては" — and checks that:

* every measure the text mandates is enforced by the topology's model, and every rule
  the model enforces has a measure in the text (a two-measure policy has no LGWAN split);
* the topology cites the text's own item marker (①, (イ)…) for each rule;
* the prefecture the text names as aggregating internet traffic is the topology's.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from segverify.errors import InputError
from segverify.findings.model import Finding, Report
from segverify.i18n import Msg
from segverify.limits import POLICY_TEXT_MAX_BYTES, read_text_bounded
from segverify.topology.model import Location, Topology

PREFECTURES = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
]

# measure → (pattern on the normalised line, tier rules it mandates)
MEASURES = {
    "mynumber": (re.compile(r"マイナンバー利用事務系においては"), ("R1",)),
    "lgwan": (re.compile(r"LGWAN接続系においては"), ("R2",)),
    "inet": (re.compile(r"インターネット接続系においては"), ("R3",)),
}
MARKER = re.compile(r"^[\s\-*・]*([①-⑳]|\([ア-ン]\)|（[ア-ン]）|\(\d+\)|[0-9]+[.．])")


@dataclass(frozen=True)
class Measure:
    kind: str
    marker: str
    line: int
    text: str


def normalise(line: str) -> str:
    """NFKC, and the spaced-out "L G W A N" some policies print, closed up."""
    text = unicodedata.normalize("NFKC", line)
    return re.sub(r"L\s*G\s*W\s*A\s*N\s*", "LGWAN", text)


def find_measures(text: str) -> list[Measure]:
    out: list[Measure] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = normalise(raw)
        for kind, (pattern, _rules) in MEASURES.items():
            if pattern.search(line) and not any(m.kind == kind for m in out):
                match = MARKER.match(line)
                marker = match.group(1) if match else ""
                out.append(Measure(kind, marker, number, raw.strip()))
    return out


def check_policy_text(path: str, topology: Topology) -> Report:
    text = read_text_bounded(path, POLICY_TEXT_MAX_BYTES, "policy text")
    measures = find_measures(text)
    if not measures:
        raise InputError(
            Msg("error.checks.policytext.no_three_tier_measures_found"),
            path,
        )
    policy = topology.policy
    findings: list[Finding] = []
    by_kind = {m.kind: m for m in measures}

    def loc(m: Measure | None) -> Location | None:
        return Location(path, m.line) if m else None

    for kind, (_pattern, rules) in MEASURES.items():
        m = by_kind.get(kind)
        for rid in rules:
            enforced = policy.rules[rid].enforced
            if m and not enforced:
                findings.append(
                    Finding(
                        kind="policy-text",
                        rule=rid,
                        message=f"the policy mandates the {kind} measure ({m.marker}) but the topology's {policy.model} model does not enforce {rid}",
                        message_ja=f"基本方針は{m.marker}の対策を定めていますが、トポロジーの {policy.model} モデルは {rid} を適用していません",
                        evidence=(m.text[:80],),
                        remedy="choose the model that matches the policy, or switch the rule on under `rules:`",
                        remedy_ja="基本方針に合うモデルを選ぶか、rules: で規則を有効にしてください",
                        location=loc(m),
                        data={"measure": kind, "marker": m.marker},
                    )
                )
            elif not m and enforced and kind != "inet":
                findings.append(
                    Finding(
                        kind="policy-text",
                        rule=rid,
                        severity="warning",
                        message=f"the topology enforces {rid} but the policy text has no {kind} measure; cite the clause that mandates it or use the two-tier model",
                        message_ja=f"トポロジーは {rid} を適用していますが、基本方針に対応する対策の記載がありません",
                        remedy="cite the clause that mandates it, or use the model that matches the policy",
                        remedy_ja="根拠となる条項を記載するか、基本方針に合うモデルを使用してください",
                        data={"measure": kind},
                    )
                )
            if m and m.marker and enforced:
                cited = policy.rules[rid].clauses
                if cited and not any(
                    m.marker in unicodedata.normalize("NFKC", c) or m.marker in c for c in cited
                ):
                    findings.append(
                        Finding(
                            kind="policy-text",
                            rule=rid,
                            severity="warning",
                            message=f"{rid} cites {', '.join(cited)} but the policy states this measure as item {m.marker}",
                            message_ja=f"{rid} の参照条項（{', '.join(cited)}）が基本方針の項目 {m.marker} と一致しません",
                            evidence=(m.text[:80],),
                            remedy=f"cite item {m.marker} under clauses.{rid}",
                            remedy_ja=f"clauses.{rid} に項目 {m.marker} を記載してください",
                            location=loc(m),
                            data={"marker": m.marker, "cited": list(cited)},
                        )
                    )
    inet = by_kind.get("inet")
    if inet and topology.prefecture:
        named = [p for p in PREFECTURES if p in inet.text]
        if named and topology.prefecture not in named:
            findings.append(
                Finding(
                    kind="policy-text",
                    rule="R3",
                    severity="warning",
                    message=f"the policy names {', '.join(named)} as the prefecture aggregating internet traffic, but the topology's prefecture is {topology.prefecture}",
                    message_ja=f"基本方針はインターネット通信を集約する都道府県を{'・'.join(named)}としていますが、トポロジーの都道府県は{topology.prefecture}です",
                    evidence=(inet.text[:120],),
                    remedy="correct the policy text (or the topology's prefecture)",
                    remedy_ja="基本方針の記載（またはトポロジーの都道府県）を訂正してください",
                    location=loc(inet),
                    data={"named": named, "topology_prefecture": topology.prefecture},
                )
            )
    summary = {
        "measures": [{"kind": m.kind, "marker": m.marker, "line": m.line} for m in measures],
        "model": policy.model,
        "prefecture": topology.prefecture,
    }
    return Report("policy-check", tuple(findings), summary, inputs=(path, topology.source))
