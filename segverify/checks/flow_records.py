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
        # (verdict, source class, destination class, said) → fixed fields, templates, clauses
        self._bases: dict[
            tuple[int, int, int, str], tuple[dict[str, Any], tuple[str, str], tuple[str, ...]]
        ] = {}
        self._services: dict[tuple[int, int | None, int | None], str] = {}
        self._texts: dict[int, str] = {}  # address id (analysis.src_addr) → text
        self.zone = [(c.zone, c.tier, c.node, c.role, c.match) for c in classes]

    def records(self, rows: np.ndarray) -> Iterator[dict[str, Any]]:
        """One finding record per row of ``rows`` (forbidden flows), in that order.

        Columns are read per chunk (``tolist``), addresses turned into text once per
        distinct address, and the per-flow fields of each record filled in one loop."""
        a = self.analysis
        cols = a.cols
        files = cols.files
        names, tunnels = cols.names, cols.tunnels
        fail_attempt = a.fail_on == "attempt"
        ids = len(a.src_addr) == len(cols) and len(a.dst_addr) == len(cols)
        texts: dict[int, str] = self._texts
        services, bases = self._services, self._bases
        blocked_col = self.blocked
        ptext = [proto_text(p) for p in range(256)]
        for start in range(0, len(rows), CHUNK):
            part = np.asarray(rows[start : start + CHUNK])
            if ids:
                src_l = self._address_texts(a.src_addr[part], cols.src_text, part, texts)
                dst_l = self._address_texts(a.dst_addr[part], cols.dst_text, part, texts)
            else:
                src_l = [cols.src_text(i) for i in part.tolist()]
                dst_l = [cols.dst_text(i) for i in part.tolist()]
            blocked_l = [False] * len(part) if blocked_col is None else blocked_col[part].tolist()
            for (
                i, src, dst, proto, sport, dport, pf, pr, bf, br, frame, fi, vlan, ff, fr,
                st, answered, first_seen, last_seen, sc, dc, vid, cid, blocked,
            ) in zip(
                part.tolist(), src_l, dst_l, cols.proto[part].tolist(),
                cols.sport[part].tolist(), cols.dport[part].tolist(),
                cols.pkts_fwd[part].tolist(), cols.pkts_rev[part].tolist(),
                cols.bytes_fwd[part].tolist(), cols.bytes_rev[part].tolist(),
                cols.first_frame[part].tolist(), cols.file[part].tolist(),
                cols.vlan[part].tolist(), cols.flags_fwd[part].tolist(),
                cols.flags_rev[part].tolist(), cols.state[part].tolist(),
                cols.answered[part].tolist(), iso_array(cols.first_ns[part]),
                iso_array(cols.last_ns[part]), a.src_cls[part].tolist(),
                a.dst_cls[part].tolist(), a.verdicts.verdict[part].tolist(),
                community_ids(cols, part), blocked_l, strict=True,
            ):  # fmt: skip
                answered = bool(answered)
                if sport < 0:
                    sport = None
                if dport < 0:
                    dport = None
                file = files[fi] if files else ""
                where = f"{file}#{frame}"
                conn_state = CONN_STATES[st]
                svc_key = (proto, sport if proto in (1, 58) else None, dport)
                svc = services.get(svc_key)
                if svc is None:
                    svc = services[svc_key] = service_text(proto, sport, dport)
                # flow logs: the device's word
                said = ("blocked" if blocked else "attempt") if not answered else "leak"
                key = (vid, sc, dc, said)
                got = bases.get(key)
                if got is None:
                    got = bases[key] = self._base(key, fail_attempt)
                base, partial, clauses = got
                packets = pf + pr
                # a copy of the record's fixed fields (its key order too), then the flow's
                record = base.copy()
                record["message"] = partial[0].format(src, dst, svc, packets, conn_state, where)
                record["message_ja"] = partial[1].format(src, dst, svc, packets, conn_state, where)
                record["clauses"] = list(clauses)
                record["evidence"] = [where, cid] if cid else [where]
                record["src"] = src
                record["dst"] = dst
                record["proto"] = ptext[proto]
                record["proto_number"] = proto
                record["sport"] = sport
                record["dport"] = dport
                record["packets_fwd"] = pf
                record["packets_rev"] = pr
                record["bytes_fwd"] = bf
                record["bytes_rev"] = br
                record["first_seen"] = first_seen
                record["last_seen"] = last_seen
                record["first_frame"] = frame
                record["file"] = file
                record["vlan"] = None if vlan < 0 else vlan
                record["tcp_flags"] = ff | fr
                record["tcp_flags_fwd"] = ff
                record["tcp_flags_rev"] = fr
                record["conn_state"] = conn_state
                record["community_id"] = cid
                record["names"] = list(names.get(i, ()))
                record["tunnel"] = list(tunnels.get(i, ()))
                yield record

    def _base(
        self, key: tuple[int, int, int, str], fail_attempt: bool
    ) -> tuple[dict[str, Any], tuple[str, str], tuple[str, ...]]:
        """The fields every record of (verdict, source class, destination class, what was
        said) shares, in the record's key order (``None`` where each flow puts its own),
        its message templates and its clauses."""
        vid, sc, dc, said = key
        rule, clauses, reason, remedy_en, remedy_ja = self.verdicts[vid]
        s_zone, s_tier, s_node, s_role, s_match = self.zone[sc]
        d_zone, d_tier, d_node, d_role, d_match = self.zone[dc]
        answered = said == "leak"
        base: dict[str, Any] = {
            "kind": "flow",
            "rule": rule,
            "severity": "error" if answered or fail_attempt else "warning",
            "message": None,
            "message_ja": None,
            "clauses": None,
            "evidence": None,
            "remedy": remedy_en,
            "remedy_ja": remedy_ja,
            "location": None,
            "src": None,
            "dst": None,
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
            "proto": None,
            "proto_number": None,
            "sport": None,
            "dport": None,
            "packets_fwd": None,
            "packets_rev": None,
            "bytes_fwd": None,
            "bytes_rev": None,
            "first_seen": None,
            "last_seen": None,
            "first_frame": None,
            "file": None,
            "vlan": None,
            "tcp_flags": None,
            "tcp_flags_fwd": None,
            "tcp_flags_rev": None,
            "conn_state": None,
            "community_id": None,
            "names": None,
            "tunnel": None,
            "tunnel_outer": False,
            "state": "leak" if answered else "attempt",
            "answered": answered,
            "established": answered,
            "reason": reason,
        }
        partial = self._partial_templates(vid, sc, dc, said, reason, rule)
        return base, partial, tuple(clauses)

    @staticmethod
    def _address_texts(
        ids: np.ndarray, text: Any, part: np.ndarray, texts: dict[int, str]
    ) -> list[str]:
        """Texts of the addresses of ``part`` whose ids (``address_ids``) are ``ids``;
        each distinct address spelled once (``text(row)``), then looked up."""
        ids_l = ids.tolist()
        missing = [k for k, a in enumerate(ids_l) if a not in texts]
        part_l = part.tolist() if missing else []
        for k in missing:
            texts[ids_l[k]] = text(part_l[k])
        return [texts[a] for a in ids_l]

    def _partial_templates(
        self, vid: int, sc: int, dc: int, state: str, reason: str, rule: str
    ) -> tuple[str, str]:
        """The message templates with everything fixed for (verdict, classes, state)
        filled in; the per-flow fields stay positional placeholders: {0} source, {1}
        destination, {2} service, {3} packets, {4} connection state, {5} where."""

        def lit(text: str) -> str:  # a literal inside a format template
            return text.replace("{", "{{").replace("}", "}}")

        out = []
        for lang in LANGS:
            text = self.templates[lang].format(
                state=lit(self.state_text[(lang, state)]), rule=lit(rule), src="{0}",
                src_where=lit(self.where[lang][sc]), dst="{1}",
                dst_where=lit(self.where[lang][dc]), service="{2}", packets="{3}",
                conn_state="{4}", where="{5}",
            )  # fmt: skip
            if reason == "fqdn-not-allowed":
                text += lit(self.fqdn[lang])
            if self.guess[sc]:
                text += self.unclassified[lang].format(address="{0}", zone=lit(self.zone[sc][0]))
            if self.guess[dc]:
                text += self.unclassified[lang].format(address="{1}", zone=lit(self.zone[dc][0]))
            out.append(text)
        return out[0], out[1]


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
