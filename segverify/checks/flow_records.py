"""Flow findings made in batches: one record (the JSON shape of a finding, as
:func:`segverify.findings.serialise.finding_dict` gives it) per forbidden flow.

Everything that repeats — the place of each address class in words, the text of each
verdict, remedies, message templates — is computed once; columns are read per chunk of
rows with ``tolist()`` and timestamps converted vectorised. This is the one place flow
findings are built: :meth:`FlowAnalysis.flow_finding` turns a record back into a
``Finding`` for renderers that take findings one by one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from segverify.checks.addrclass import MATCH_NONE
from segverify.checks.policy import Endpoint
from segverify.findings.model import Finding
from segverify.findings.serialise import RESERVED
from segverify.flows.state import CONN_STATES
from segverify.i18n import t
from segverify.topology.model import PROTO_NAMES

if TYPE_CHECKING:
    from segverify.checks.flows import FlowAnalysis

LANGS = ("en", "ja")
# IANA keywords for protocols the policy has no name for but tunnels carry
EXTRA_PROTO_NAMES = {4: "ipv4", 41: "ipv6"}


def proto_text(proto: int) -> str:
    """``tcp``, ``udp``… (the policy's names), ``ipv4``/``ipv6`` (IP-in-IP, 6in4), or the number."""
    name = PROTO_NAMES.get(proto)
    return name if name is not None else EXTRA_PROTO_NAMES.get(proto, str(proto))


CHUNK = 4096


def where_text(ep: Endpoint, lang: str) -> str:
    """``zone (tier name), node/role`` for messages."""
    tier = t("tier." + ep.tier, lang)
    parts = [ep.zone if tier == ep.zone else f"{ep.zone}: {tier}"]
    if ep.node:
        parts.append(f"{ep.node}/{ep.role}" if ep.role else ep.node)
    return ", ".join(parts)


def remedy(rule: str, lang: str) -> str:
    key = f"pcap.remedy.{rule}"
    text = t(key, lang)
    return t("pcap.remedy.default-deny", lang) if text == key else text


def iso_array(ns: np.ndarray) -> list[str]:
    """ISO 8601 UTC with nanoseconds for every value (vectorised)."""
    text = np.datetime_as_string(np.asarray(ns, dtype=np.int64).astype("datetime64[ns]"), unit="ns")
    return [s + "Z" for s in text.tolist()]


def service_text(proto: int, sport: int | None, dport: int | None) -> str:
    name = proto_text(proto)
    if dport is None:
        return name
    if proto in (1, 58):
        return f"{name} type {sport}"
    return f"{name}/{dport}"


def community_ids(cols: Any, rows: np.ndarray) -> list[str]:
    """Community IDs of ``rows``: the table's own when it carries them, else one batch."""
    cached = getattr(cols, "_cids", None)
    if cached is not None:
        return [cached[i] for i in rows.tolist()]
    if len(rows) < 64:
        return [cols.community_id(i) for i in rows.tolist()]
    from segverify.flows.community_batch import community_id_array
    from segverify.jit import for_rows

    out = community_id_array(
        cols.ver[rows], cols.src_hi[rows], cols.src_lo[rows], cols.dst_hi[rows],
        cols.dst_lo[rows], cols.proto[rows], cols.sport[rows], cols.dport[rows],
        kernels=for_rows(len(cols.proto)),  # by the table's size, not the chunk's
    )  # fmt: skip
    return out.astype("U30").tolist()  # type: ignore[no-any-return]


class FlowRecords:
    """Builds the finding records of forbidden flows of one analysis."""

    def __init__(self, analysis: FlowAnalysis) -> None:
        self.analysis = analysis
        self.cols = analysis.cols
        classes = analysis.classes
        self.where = {lang: [where_text(c.endpoint(), lang) for c in classes] for lang in LANGS}
        self.guess = [c.match == MATCH_NONE and c.special is not None for c in classes]
        self.templates = {lang: t("pcap.finding.flow", lang) for lang in LANGS}
        self.state_text = {
            (lang, state): t(f"pcap.state.{state}", lang)
            for lang in LANGS
            for state in ("leak", "attempt", "blocked")
        }
        blocked = getattr(analysis.table, "blocked", None)  # flow logs: the device's word
        self.blocked = None if blocked is None else np.asarray(blocked, dtype=bool)
        self.fqdn = {lang: t("pcap.finding.fqdn", lang) for lang in LANGS}
        self.unclassified = {lang: t("pcap.finding.unclassified", lang) for lang in LANGS}
        self.verdicts = [
            (
                v.decided_by,
                list(v.clauses),
                v.reason,
                remedy(v.decided_by, "en"),
                remedy(v.decided_by, "ja"),
            )
            for v in analysis.verdicts.rows
        ]
        self._partial: dict[tuple[int, int, int, bool], tuple[str, str]] = {}
        self._services: dict[tuple[int, int | None, int | None], str] = {}
        self.zone = [(c.zone, c.tier, c.node, c.role, c.match) for c in classes]

    def records(self, rows: np.ndarray) -> Iterator[dict[str, Any]]:
        """One finding record per row of ``rows`` (forbidden flows), in that order."""
        a = self.analysis
        cols = a.cols
        files = cols.files
        fail_attempt = a.fail_on == "attempt"
        for start in range(0, len(rows), CHUNK):
            part = np.asarray(rows[start : start + CHUNK])
            c = {
                name: getattr(cols, name)[part].tolist()
                for name in (
                    "proto", "sport", "dport", "pkts_fwd", "pkts_rev", "bytes_fwd",
                    "bytes_rev", "first_frame", "file", "vlan", "flags_fwd", "flags_rev",
                    "state", "answered",
                )
            }  # fmt: skip
            first_seen = iso_array(cols.first_ns[part])
            last_seen = iso_array(cols.last_ns[part])
            sc = a.src_cls[part].tolist()
            dc = a.dst_cls[part].tolist()
            vid = a.verdicts.verdict[part].tolist()
            cids = community_ids(cols, part)
            for j, i in enumerate(part.tolist()):
                yield self._record(i, j, c, first_seen, last_seen, sc[j], dc[j], vid[j],
                                   cids[j], files, fail_attempt)  # fmt: skip

    def _partial_templates(
        self, vid: int, sc: int, dc: int, state: str, reason: str, rule: str
    ) -> tuple[str, str]:
        """The message templates with everything fixed for (verdict, classes, state)
        filled in; the per-flow fields stay placeholders."""

        def lit(text: str) -> str:  # a literal inside a format template
            return text.replace("{", "{{").replace("}", "}}")

        out = []
        for lang in LANGS:
            text = self.templates[lang].format(
                state=lit(self.state_text[(lang, state)]), rule=lit(rule), src="{src}",
                src_where=lit(self.where[lang][sc]), dst="{dst}",
                dst_where=lit(self.where[lang][dc]), service="{service}", packets="{packets}",
                conn_state="{conn_state}", where="{where}",
            )  # fmt: skip
            if reason == "fqdn-not-allowed":
                text += lit(self.fqdn[lang])
            if self.guess[sc]:
                text += self.unclassified[lang].format(address="{src}", zone=lit(self.zone[sc][0]))
            if self.guess[dc]:
                text += self.unclassified[lang].format(address="{dst}", zone=lit(self.zone[dc][0]))
            out.append(text)
        return out[0], out[1]

    def _record(
        self,
        i: int,
        j: int,
        c: dict[str, list[Any]],
        first_seen: list[str],
        last_seen: list[str],
        sc: int,
        dc: int,
        vid: int,
        cid: str,
        files: tuple[str, ...],
        fail_attempt: bool,
    ) -> dict[str, Any]:
        cols = self.cols
        rule, clauses, reason, remedy_en, remedy_ja = self.verdicts[vid]
        src, dst = cols.src_text(i), cols.dst_text(i)
        s_zone, s_tier, s_node, s_role, s_match = self.zone[sc]
        d_zone, d_tier, d_node, d_role, d_match = self.zone[dc]
        answered = bool(c["answered"][j])
        state = "leak" if answered else "attempt"
        blocked = self.blocked is not None and bool(self.blocked[i])
        proto = c["proto"][j]
        sport, dport = c["sport"][j], c["dport"][j]
        sport = None if sport < 0 else sport
        dport = None if dport < 0 else dport
        file = files[c["file"][j]] if files else ""
        frame = c["first_frame"][j]
        where = f"{file}#{frame}"
        pf, pr = c["pkts_fwd"][j], c["pkts_rev"][j]
        conn_state = CONN_STATES[c["state"][j]]
        svc_key = (proto, sport if proto in (1, 58) else None, dport)
        svc = self._services.get(svc_key)
        if svc is None:
            svc = self._services[svc_key] = service_text(proto, sport, dport)
        said = "blocked" if not answered and blocked else state  # flow logs: the device's word
        key = (vid, sc, dc, said)
        partial = self._partial.get(key)
        if partial is None:
            partial = self._partial[key] = self._partial_templates(vid, sc, dc, said, reason, rule)
        messages = [
            tmpl.format(
                src=src,
                dst=dst,
                service=svc,
                packets=pf + pr,
                conn_state=conn_state,
                where=where,
            )  # fmt: skip
            for tmpl in partial
        ]
        vlan = c["vlan"][j]
        ff, fr = c["flags_fwd"][j], c["flags_rev"][j]
        return {
            "kind": "flow",
            "rule": rule,
            "severity": "error" if answered or fail_attempt else "warning",
            "message": messages[0],
            "message_ja": messages[1],
            "clauses": list(clauses),
            "evidence": [where, cid] if cid else [where],
            "remedy": remedy_en,
            "remedy_ja": remedy_ja,
            "location": None,
            "src": src,
            "dst": dst,
            "src_zone": s_zone,
            "dst_zone": d_zone,
            "src_tier": s_tier,
            "dst_tier": d_tier,
            "src_node": s_node,
            "dst_node": d_node,
            "src_role": s_role,
            "dst_role": d_role,
            "src_match": s_match,
            "dst_match": d_match,
            "proto": proto_text(proto),
            "proto_number": proto,
            "sport": sport,
            "dport": dport,
            "packets_fwd": pf,
            "packets_rev": pr,
            "bytes_fwd": c["bytes_fwd"][j],
            "bytes_rev": c["bytes_rev"][j],
            "first_seen": first_seen[j],
            "last_seen": last_seen[j],
            "first_frame": frame,
            "file": file,
            "vlan": None if vlan < 0 else vlan,
            "tcp_flags": ff | fr,
            "tcp_flags_fwd": ff,
            "tcp_flags_rev": fr,
            "conn_state": conn_state,
            "community_id": cid,
            "names": list(cols.names.get(i, ())),
            "tunnel": list(cols.tunnels.get(i, ())),
            "tunnel_outer": False,
            "state": state,
            "answered": answered,
            "established": answered,
            "reason": reason,
        }


def record_finding(record: dict[str, Any]) -> Finding:
    """The ``Finding`` of a record (inverse of ``finding_dict`` for flow findings)."""
    data = {k: v for k, v in record.items() if k not in RESERVED}
    return Finding(
        kind=record["kind"],
        rule=record["rule"],
        message=record["message"],
        message_ja=record["message_ja"],
        severity=record["severity"],
        clauses=tuple(record["clauses"]),
        evidence=tuple(record["evidence"]),
        remedy=record["remedy"],
        remedy_ja=record["remedy_ja"],
        data=data,
    )
