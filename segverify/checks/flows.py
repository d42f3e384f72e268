"""Flow verdicts: every observed flow judged against the topology's directional policy.

One ``Finding`` (kind ``flow``) per forbidden flow; allowed flows only count in the
summary. Names observed in the capture (DNS, SNI, Host) are untrusted data: they feed
the α' FQDN allow-lists and go into ``Finding.data`` unchanged, never into a message.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from segverify.checks.policy import Endpoint, PolicyEvaluator, Verdict
from segverify.findings.model import Finding, InputWarning, Report
from segverify.flows.model import BUCKETS, Flow, FlowTable
from segverify.i18n import t
from segverify.topology.model import PROTO_NAMES, Topology

# buckets that mean some traffic was not analysed (fail closed: the report is incomplete)
INCOMPLETE_BUCKETS = ("malformed", "unsupported_link", "truncated")

_BUCKET_TEXT = {
    "malformed": ("{n} record(s) malformed", "{n} 件のレコードが不正な形式"),
    "unsupported_link": (
        "{n} record(s) on unsupported link types",
        "{n} 件のレコードが未対応のリンク種別",
    ),
    "truncated": (
        "{n} record(s) cut by the snap length before their headers ended",
        "{n} 件のレコードがスナップ長によりヘッダ途中で切断",
    ),
}

REMEDY: dict[str, tuple[str, str]] = {
    "R1": (
        "Block this flow at the My Number zone boundary, or declare a pinned exception "
        "(specific hosts and ports) in the topology if it is a sanctioned link.",
        "マイナンバー利用事務系の境界でこの通信を遮断するか、正当な連携であれば特定の"
        "ホストとポートに限定した例外としてトポロジに定義してください。",
    ),
    "R2": (
        "LGWAN and internet zones may only exchange sanitised traffic (無害化通信): route it "
        "through the mail/file sanitiser or screen transfer on a display protocol, or block it.",
        "LGWAN接続系とインターネット接続系の間は無害化通信のみ許可されます。メール・ファイル"
        "無害化装置または画面転送（表示プロトコル）を経由させるか、遮断してください。",
    ),
    "R3": (
        "Internet-zone hosts reach the internet only through the 自治体情報セキュリティクラウド "
        "(proxy, mail relay, DNS): send this traffic through it or block it.",
        "インターネット接続系からインターネットへの通信は自治体情報セキュリティクラウド"
        "（プロキシ、メール中継、DNS）を経由させるか、遮断してください。",
    ),
    "R4": (
        "The internet zone must not reach LGWAN, and the My Number zone only through pinned "
        "exceptions: block this flow.",
        "インターネット接続系からLGWANへの通信は禁止です（マイナンバー利用事務系は限定された"
        "例外のみ）。この通信を遮断してください。",
    ),
    "R5": (
        "LGWAN-zone hosts do not reach the internet (α); under α' only through the local "
        "breakout gateway to allow-listed SaaS FQDNs.",
        "LGWAN接続系からインターネットへの通信は禁止です（α）。α'ではローカルブレイク"
        "アウト装置経由で許可リストのSaaS FQDNに限られます。",
    ),
    "default-deny": (
        "No allow rule covers this cross-zone flow: block it, or add a justified allow rule "
        "to the topology.",
        "この領域間通信を許可するルールがありません。遮断するか、根拠を明記した許可ルールを"
        "トポロジに追加してください。",
    ),
}


def proto_name(proto: int) -> str:
    return PROTO_NAMES.get(proto, str(proto))


def iso_ns(ns: int) -> str:
    """Nanoseconds since the epoch as ISO 8601 UTC with nanosecond precision."""
    sec, frac = divmod(ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(sec, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{frac:09d}Z"


def _where(ep: Endpoint, lang: str) -> str:
    """``zone (tier name), node/role`` for messages."""
    tier = t("tier." + ep.tier, lang)
    parts = [ep.zone if tier == ep.zone else f"{ep.zone}: {tier}"]
    if ep.node:
        parts.append(f"{ep.node}/{ep.role}" if ep.role else ep.node)
    return ", ".join(parts)


def _service(flow: Flow) -> str:
    name = proto_name(flow.proto)
    if flow.dport is None:
        return name
    if flow.proto in (1, 58):
        return f"{name} type {flow.sport}"
    return f"{name}/{flow.dport}"


def flow_finding(flow: Flow, verdict: Verdict) -> Finding:
    """The finding for one forbidden flow."""
    s, d = verdict.src, verdict.dst
    rule = verdict.decided_by
    established = flow.packets_rev > 0
    svc = _service(flow)
    where = f"{flow.file}#{flow.first_frame}"
    fqdn = verdict.reason == "fqdn-not-allowed"
    message = (
        f"Forbidden flow ({rule}): {flow.src} [{_where(s, 'en')}] → {flow.dst} "
        f"[{_where(d, 'en')}] {svc}, {flow.packets} packet(s), first at {where}"
        + ("; observed names are not on the FQDN allow-list" if fqdn else "")
        + ("" if established else "; no answer seen")
    )
    message_ja = (
        f"禁止された通信（{rule}）: {flow.src}［{_where(s, 'ja')}］→ {flow.dst}"
        f"［{_where(d, 'ja')}］{svc}、{flow.packets} パケット、初出 {where}"
        + ("。観測された名前はFQDN許可リストにありません" if fqdn else "")
        + ("" if established else "。応答は観測されていません")
    )
    remedy, remedy_ja = REMEDY.get(rule, REMEDY["default-deny"])
    data: dict[str, Any] = {
        "src": flow.src,
        "dst": flow.dst,
        "src_zone": s.zone,
        "dst_zone": d.zone,
        "src_tier": s.tier,
        "dst_tier": d.tier,
        "src_node": s.node,
        "dst_node": d.node,
        "src_role": s.role,
        "dst_role": d.role,
        "proto": proto_name(flow.proto),
        "proto_number": flow.proto,
        "sport": flow.sport,
        "dport": flow.dport,
        "packets_fwd": flow.packets_fwd,
        "packets_rev": flow.packets_rev,
        "bytes_fwd": flow.bytes_fwd,
        "bytes_rev": flow.bytes_rev,
        "first_seen": iso_ns(flow.first_ns),
        "last_seen": iso_ns(flow.last_ns),
        "first_frame": flow.first_frame,
        "file": flow.file,
        "vlan": flow.vlan,
        "tcp_flags": flow.tcp_flags_fwd | flow.tcp_flags_rev,
        "tcp_flags_fwd": flow.tcp_flags_fwd,
        "tcp_flags_rev": flow.tcp_flags_rev,
        "community_id": flow.community_id,
        "names": list(flow.names),
        "tunnel": list(flow.tunnel),
        "established": established,
        "reason": verdict.reason,
    }
    return Finding(
        kind="flow",
        rule=rule,
        message=message,
        message_ja=message_ja,
        severity="error",
        clauses=verdict.clauses,
        evidence=(where, flow.community_id) if flow.community_id else (where,),
        remedy=remedy,
        remedy_ja=remedy_ja,
        data=data,
    )


def flow_findings(
    table: FlowTable, topology: Topology, backend: str = "", inputs: tuple[str, ...] = ()
) -> Report:
    """Judge every flow of ``table`` against ``topology``; one finding per forbidden flow.

    The report is incomplete when any record was malformed, truncated, on an unsupported
    link type, or a file was cut short; each reason is a warning.
    """
    evaluator = PolicyEvaluator(topology)
    findings: list[Finding] = []
    for flow in table.flows:
        verdict = evaluator.evaluate(flow.src, flow.dst, flow.proto, flow.dport, flow.names)
        if not verdict.allowed:
            findings.append(flow_finding(flow, verdict))
    findings.sort(key=lambda f: (f.data["file"], f.data["first_frame"]))
    acct = table.accounting
    warnings: list[InputWarning] = []
    for bucket in INCOMPLETE_BUCKETS:
        n = getattr(acct, bucket)
        if n:
            warnings.append(InputWarning(_BUCKET_TEXT[bucket][0].format(n=n)))
    warnings.extend(InputWarning(note) for note in acct.cut_short)
    if not acct.balanced():
        warnings.append(InputWarning(f"accounting does not balance: {acct.as_dict()}"))
    summary: dict[str, Any] = {"records": acct.records}
    summary.update({b: getattr(acct, b) for b in BUCKETS})
    summary.update(
        {
            "flows": len(table.flows),
            "forbidden_flows": len(findings),
            "files": acct.files,
            "cut_short": list(acct.cut_short),
            "backend": backend,
            "topology": topology.name,
        }
    )
    files = inputs or tuple(dict.fromkeys(f.file for f in table.flows))
    return Report(
        command="pcap",
        findings=tuple(findings),
        summary=summary,
        warnings=tuple(warnings),
        incomplete=bool(warnings),
        manual_items=(),
        inputs=files,
    )
