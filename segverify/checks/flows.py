"""Flow verdicts: every observed flow judged against the topology's directional policy.

Columnar from end to end: endpoints are classified with one ``searchsorted`` per column
(:mod:`segverify.checks.addrclass`), verdicts computed once per equivalence class and
broadcast (:mod:`segverify.checks.flow_verdicts`), coverage and groups counted with numpy.
A ``Finding`` (kind ``flow``) is made only when a renderer asks for one, so a scan-like
capture of a million forbidden flows streams instead of filling memory.

State: a forbidden flow the responder answered (TCP handshake, or traffic back) is a
**leak**; one it did not answer (SYN only, RST, nothing back) is an **attempt** the
network stopped. ``fail_on`` chooses what makes exit 1 (default: leaks; attempts are
reported as warnings). The outer flow of a tunnel is judged as well as the inner one.

Names observed in the capture (DNS, SNI, Host) are untrusted data: they feed the α' FQDN
allow-lists and go into ``Finding.data`` unchanged, never into a message.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from segverify.checks.addrclass import MATCH_NONE, AddressClass, AddressClassifier
from segverify.checks.coverage import Coverage, address_ids, coverage
from segverify.checks.flow_groups import FlowGroup, group_flows
from segverify.checks.flow_records import (
    FlowRecords,
    proto_text,
    record_finding,
    remedy,
    where_text,
)
from segverify.checks.flow_verdicts import VerdictRow, VerdictTable, evaluate_table
from segverify.checks.policy import Endpoint, PolicyEvaluator
from segverify.findings.model import Finding, InputWarning, Report
from segverify.flows.model import BUCKETS, FlowTable
from segverify.i18n import t
from segverify.topology.model import Topology

# buckets that mean some traffic was not analysed (fail closed: the report is incomplete)
INCOMPLETE_BUCKETS = ("malformed", "unsupported_link", "truncated", "opaque")
FAIL_ON = ("leak", "attempt")
STATE_LEAK, STATE_ATTEMPT = "leak", "attempt"
# outer protocol and port of each tunnel kind (flows/rows.py TUNNEL_NAMES)
OUTER: dict[str, tuple[int, int | None]] = {
    "gre": (47, None),
    "erspan": (47, None),
    "pptp": (47, None),
    "vxlan": (17, 4789),
    "geneve": (17, 6081),
    "teredo": (17, 3544),
    "6in4": (41, None),
}


def proto_name(proto: int) -> str:
    return proto_text(proto)


def iso_ns(ns: int) -> str:
    """Nanoseconds since the epoch as ISO 8601 UTC with nanosecond precision."""
    sec, frac = divmod(ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(sec, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{frac:09d}Z"


def service(proto: int, sport: int | None, dport: int | None) -> str:
    """``tcp/445``, ``icmp type 8``, ``gre``."""
    name = proto_name(proto)
    if dport is None:
        return name
    if proto in (1, 58):
        return f"{name} type {sport}"
    return f"{name}/{dport}"


def _opt(value: int) -> int | None:
    return None if value < 0 else value


@dataclass
class OuterFlows:
    """Distinct outer flows of tunnels, one row each, and the inner rows they carry."""

    ver: np.ndarray
    src_hi: np.ndarray
    src_lo: np.ndarray
    dst_hi: np.ndarray
    dst_lo: np.ndarray
    proto: np.ndarray
    dport: np.ndarray
    kind: list[str]
    inner: list[np.ndarray]  # inner flow rows per outer flow
    src_cls: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    dst_cls: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    verdicts: VerdictTable | None = None

    def __len__(self) -> int:
        return len(self.proto)


def outer_flows(cols: Any) -> OuterFlows:
    """The outer flows of every tunnelled flow of ``cols`` (a FlowColumns)."""
    from segverify.flows.rows import TUNNEL_NAMES

    rows = np.nonzero(cols.tun_type != 0)[0]
    proto = np.zeros(len(rows), dtype=np.uint8)
    dport = np.full(len(rows), -1, dtype=np.int32)
    kinds = [TUNNEL_NAMES.get(int(k), str(int(k))) for k in cols.tun_type[rows].tolist()]
    for j, kind in enumerate(kinds):
        p, port = OUTER.get(kind, (0, None))
        if kind == "ipip":  # IPv4 or IPv6 inside IP: protocol 4 or 41
            p = 4 if int(cols.ver[rows[j]]) == 4 else 41
        proto[j] = p
        dport[j] = -1 if port is None else port
    key = (
        np.stack(
            [
                cols.tun_ver[rows].astype(np.uint64),
                cols.tun_src_hi[rows],
                cols.tun_src_lo[rows],
                cols.tun_dst_hi[rows],
                cols.tun_dst_lo[rows],
                proto.astype(np.uint64),
                dport.astype(np.int64).astype(np.uint64),
            ],
            axis=1,
        )
        if len(rows)
        else np.zeros((0, 7), dtype=np.uint64)
    )
    uniq, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    inner = [rows[inverse == g] for g in range(len(uniq))]
    sel = rows[first]
    return OuterFlows(
        ver=cols.tun_ver[sel],
        src_hi=cols.tun_src_hi[sel],
        src_lo=cols.tun_src_lo[sel],
        dst_hi=cols.tun_dst_hi[sel],
        dst_lo=cols.tun_dst_lo[sel],
        proto=proto[first],
        dport=dport[first],
        kind=[kinds[j] for j in first.tolist()],
        inner=inner,
    )


@dataclass
class FlowAnalysis:
    """Everything ``pcap`` and ``flows`` report about one flow table, held as columns."""

    table: FlowTable
    topology: Topology
    classes: list[AddressClass]
    src_cls: np.ndarray
    dst_cls: np.ndarray
    verdicts: VerdictTable
    outer: OuterFlows
    coverage: Coverage
    warnings: list[tuple[str, dict[str, Any]]]  # (catalogue key, parameters)
    fail_on: str = "leak"
    strict: bool = False
    backend: str = ""
    inputs: tuple[str, ...] = ()
    src_addr: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    dst_addr: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _forbidden_rows: np.ndarray | None = None
    _groups: list[FlowGroup] | None = None
    _records: FlowRecords | None = None

    # -- per flow -------------------------------------------------------------------
    @property
    def cols(self) -> Any:
        return self.table.columns

    def endpoint(self, cls: int, address: str) -> Endpoint:
        c = self.classes[cls]
        return Endpoint(address, c.zone, c.tier, c.node, c.role)

    def verdict(self, i: int) -> VerdictRow:
        return self.verdicts.rows[int(self.verdicts.verdict[i])]

    def state(self, i: int) -> str | None:
        """leak / attempt for a forbidden flow, None for an allowed one."""
        if not self.verdicts.forbidden[i]:
            return None
        return STATE_LEAK if self.cols.answered[i] else STATE_ATTEMPT

    def forbidden_rows(self) -> np.ndarray:
        """Rows of forbidden flows in capture order (file, then first frame)."""
        if self._forbidden_rows is None:
            cols = self.cols
            rows = np.nonzero(self.verdicts.forbidden)[0]
            order = np.lexsort((cols.first_frame[rows], cols.file[rows]))
            self._forbidden_rows = rows[order]
        return self._forbidden_rows

    def outer_forbidden(self) -> np.ndarray:
        v = self.outer.verdicts
        return np.zeros(0, dtype=np.int64) if v is None else np.nonzero(v.forbidden)[0]

    # -- counts ---------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        forb = self.verdicts.forbidden
        ans = np.asarray(self.cols.answered, dtype=bool)
        leaks = int(np.count_nonzero(forb & ans))
        outer = self.outer_forbidden()
        outer_leaks = sum(1 for g in outer.tolist() if self._outer_answered(g))
        return {
            "forbidden_flows": int(np.count_nonzero(forb)),
            "leaks": leaks,
            "attempts": int(np.count_nonzero(forb)) - leaks,
            "tunnel_outer_forbidden": len(outer),
            "tunnel_outer_leaks": outer_leaks,
        }

    def failing(self) -> int:
        """Number of findings that make exit 1 under ``fail_on``."""
        c = self.counts()
        if self.fail_on == "attempt":
            return c["forbidden_flows"] + c["tunnel_outer_forbidden"]
        return c["leaks"] + c["tunnel_outer_leaks"]

    @property
    def incomplete(self) -> bool:
        return bool(self.warnings)

    def exit_code(self) -> int:
        from segverify.errors import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INCOMPLETE

        if self.failing():
            return EXIT_FINDINGS
        return EXIT_INCOMPLETE if self.incomplete else EXIT_CLEAN

    def groups(self) -> list[FlowGroup]:
        if self._groups is None:
            self._groups = self._make_groups()
        return self._groups

    def summary(self) -> dict[str, Any]:
        acct = self.table.accounting
        out: dict[str, Any] = {"records": acct.records}
        out.update({b: getattr(acct, b) for b in BUCKETS})
        out.update(
            {
                "flows": len(self.table),
                **self.counts(),
                "fail_on": self.fail_on,
                "strict": self.strict,
                "files": acct.files,
                "cut_short": list(acct.cut_short),
                "backend": self.backend,
                "topology": self.topology.name,
                "verdict_classes": self.verdicts.classes_evaluated,
                "coverage": self.coverage.as_dict(),
            }
        )
        return out

    def warning_texts(self, lang: str = "en") -> list[str]:
        return [t(key, lang, **params) for key, params in self.warnings]

    # -- findings -------------------------------------------------------------------
    def severity(self, state: str) -> str:
        return "error" if state == STATE_LEAK or self.fail_on == "attempt" else "warning"

    def records(self) -> FlowRecords:
        if self._records is None:
            self._records = FlowRecords(self)
        return self._records

    def flow_finding(self, i: int) -> Finding:
        """The finding for forbidden flow ``i``."""
        return record_finding(next(self.records().records(np.array([i]))))

    def flow_findings(self, rows: np.ndarray) -> Iterator[Finding]:
        """Findings of the forbidden flows ``rows``, made in batches."""
        return map(record_finding, self.records().records(rows))

    def _outer_answered(self, g: int) -> bool:
        return bool(np.asarray(self.cols.answered)[self.outer.inner[g]].any())

    def outer_finding(self, g: int) -> Finding:
        """The finding for forbidden tunnel outer flow ``g``."""
        from segverify.flows.columns import address_text

        cols, o = self.cols, self.outer
        assert o.verdicts is not None
        v = o.verdicts.rows[int(o.verdicts.verdict[g])]
        cache: dict[tuple[int, int, int], str] = {}
        ver = int(o.ver[g])
        src = address_text(ver, int(o.src_hi[g]), int(o.src_lo[g]), cache)
        dst = address_text(ver, int(o.dst_hi[g]), int(o.dst_lo[g]), cache)
        s, d = self.endpoint(int(o.src_cls[g]), src), self.endpoint(int(o.dst_cls[g]), dst)
        inner = o.inner[g]
        first = int(inner[np.lexsort((cols.first_frame[inner], cols.file[inner]))[0]])
        answered = self._outer_answered(g)
        state = STATE_LEAK if answered else STATE_ATTEMPT
        proto, dport = int(o.proto[g]), _opt(int(o.dport[g]))
        file = cols.files[int(cols.file[first])] if len(cols.files) else ""
        where = f"{file}#{int(cols.first_frame[first])}"
        pf = int(cols.pkts_fwd[inner].sum())
        pr = int(cols.pkts_rev[inner].sum())
        svc = service(proto, None, dport)
        svc = svc if svc == o.kind[g] else f"{o.kind[g]} ({svc})"
        messages = [
            t(
                "pcap.finding.outer",
                lang,
                state=t(f"pcap.state.{state}", lang),
                rule=v.decided_by,
                src=src,
                src_where=where_text(s, lang),
                dst=dst,
                dst_where=where_text(d, lang),
                service=svc,
                inner=len(inner),
                packets=pf + pr,
                where=where,
            )
            for lang in ("en", "ja")
        ]
        data: dict[str, Any] = {
            "src": src,
            "dst": dst,
            "src_zone": s.zone,
            "dst_zone": d.zone,
            "src_tier": s.tier,
            "dst_tier": d.tier,
            "src_node": s.node,
            "dst_node": d.node,
            "src_role": s.role,
            "dst_role": d.role,
            "src_match": self.classes[int(o.src_cls[g])].match,
            "dst_match": self.classes[int(o.dst_cls[g])].match,
            "proto": proto_name(proto),
            "proto_number": proto,
            "sport": None,
            "dport": dport,
            "packets_fwd": pf,
            "packets_rev": pr,
            "bytes_fwd": int(cols.bytes_fwd[inner].sum()),
            "bytes_rev": int(cols.bytes_rev[inner].sum()),
            "first_seen": iso_ns(int(cols.first_ns[inner].min())),
            "last_seen": iso_ns(int(cols.last_ns[inner].max())),
            "first_frame": int(cols.first_frame[first]),
            "file": file,
            "vlan": None,
            "tcp_flags": 0,
            "tcp_flags_fwd": 0,
            "tcp_flags_rev": 0,
            "conn_state": "OTH",
            "community_id": "",
            "names": [],
            "tunnel": [o.kind[g]],
            "tunnel_outer": True,
            "inner_flows": len(inner),
            "state": state,
            "answered": answered,
            "established": answered,
            "reason": v.reason,
        }
        return Finding(
            kind="flow",
            rule=v.decided_by,
            message=messages[0],
            message_ja=messages[1],
            severity=self.severity(state),
            clauses=v.clauses,
            evidence=(where,),
            remedy=remedy(v.decided_by, "en"),
            remedy_ja=remedy(v.decided_by, "ja"),
            data=data,
        )

    def undeclared_findings(self) -> list[Finding]:
        """One warning per private/documentation range with undeclared addresses."""
        out = []
        zone = self.topology.default_zone.id
        cols = self.cols
        for u in self.coverage.undeclared:
            examples = ", ".join(a for a, _ in u.examples)
            row = u.examples[0][1] if u.examples else 0
            file = cols.files[int(cols.file[row])] if len(cols.files) else ""
            where = f"{file}#{int(cols.first_frame[row])}" if len(self.table) else file
            params = dict(
                range=u.label, addresses=u.addresses, flows=u.flows, zone=zone, examples=examples
            )
            out.append(
                Finding(
                    kind="coverage",
                    rule="undeclared-internal",
                    message=t("pcap.finding.undeclared", "en", **params),
                    message_ja=t("pcap.finding.undeclared", "ja", **params),
                    severity="warning",
                    evidence=(where,),
                    remedy=t("pcap.remedy.undeclared", "en"),
                    remedy_ja=t("pcap.remedy.undeclared", "ja"),
                    data={
                        "range": u.label,
                        "addresses": u.addresses,
                        "flows": u.flows,
                        "examples": [a for a, _ in u.examples],
                        "judged_as": zone,
                    },
                )
            )
        return out

    def iter_findings(self) -> Iterator[Finding]:
        """Every finding, made in batches: forbidden flows in capture order, forbidden
        tunnel outer flows, then undeclared internal addresses."""
        yield from self.flow_findings(self.forbidden_rows())
        for g in self.outer_forbidden().tolist():
            yield self.outer_finding(g)
        yield from self.undeclared_findings()

    def iter_finding_dicts(self) -> Iterator[dict[str, Any]]:
        """:meth:`iter_findings` as ``finding_dict`` gives them, without making the
        ``Finding`` objects of the flows (the JSON renderer's path)."""
        from segverify.findings.serialise import finding_dict

        yield from self.records().records(self.forbidden_rows())
        for g in self.outer_forbidden().tolist():
            yield finding_dict(self.outer_finding(g))
        for f in self.undeclared_findings():
            yield finding_dict(f)

    def input_warnings(self) -> tuple[InputWarning, ...]:
        return tuple(
            InputWarning(en, message_ja=ja)
            for en, ja in zip(self.warning_texts("en"), self.warning_texts("ja"), strict=True)
        )

    def to_report(self) -> Report:
        """All findings materialised (renderers that need the whole list)."""
        return Report(
            command="pcap",
            findings=tuple(self.iter_findings()),
            summary=self.summary(),
            warnings=self.input_warnings(),
            incomplete=self.incomplete,
            manual_items=(),
            inputs=self.inputs,
        )

    def _outer_groups(self) -> list[FlowGroup]:
        """Forbidden tunnel outer flows, one group per rule, zone pair and tunnel service."""
        o = self.outer
        if o.verdicts is None:
            return []
        cols = self.cols
        by_key: dict[tuple[Any, ...], list[int]] = {}
        for g in self.outer_forbidden().tolist():
            v = o.verdicts.rows[int(o.verdicts.verdict[g])]
            sz, dz = self.classes[int(o.src_cls[g])].zone, self.classes[int(o.dst_cls[g])].zone
            by_key.setdefault((v.decided_by, sz, dz, int(o.proto[g]), int(o.dport[g])), []).append(
                g
            )
        out = []
        for (rule, sz, dz, proto, dport), members in by_key.items():
            inner = np.concatenate([o.inner[g] for g in members])
            leaks = sum(1 for g in members if self._outer_answered(g))
            first = int(inner[np.lexsort((cols.first_frame[inner], cols.file[inner]))[0]])
            lead = next(g for g in members if first in set(o.inner[g].tolist()))
            picked = [lead] + [g for g in members if g != lead]
            ends = [self.outer_finding(g).data for g in picked[:3]]
            out.append(
                FlowGroup(
                    rule=rule, src_zone=sz, dst_zone=dz, proto=proto, dport=_opt(dport),
                    flows=len(members), leaks=leaks, attempts=len(members) - leaks,
                    packets=int((cols.pkts_fwd[inner] + cols.pkts_rev[inner]).sum()),
                    bytes=int((cols.bytes_fwd[inner] + cols.bytes_rev[inner]).sum()),
                    first_row=first,
                    top_sources=tuple((d["src"], 1) for d in ends),
                    top_destinations=tuple((d["dst"], 1) for d in ends),
                    tunnel_outer=True, example=(ends[0]["src"], ends[0]["dst"]),
                )
            )  # fmt: skip
        return out

    def _make_groups(self) -> list[FlowGroup]:
        cols = self.cols
        rows = self.forbidden_rows()
        zones = sorted({c.zone for c in self.classes})
        zone_id = {z: k for k, z in enumerate(zones)}
        cls_zone = np.array([zone_id[c.zone] for c in self.classes], dtype=np.int64)
        rules = sorted({r.decided_by for r in self.verdicts.rows})
        rule_id = {r: k for k, r in enumerate(rules)}
        verdict_rule = np.array(
            [rule_id[r.decided_by] for r in self.verdicts.rows] or [0], dtype=np.int64
        )
        nz = max(len(zones), 1)
        key = (
            verdict_rule[self.verdicts.verdict[rows]] * nz + cls_zone[self.src_cls[rows]]
        ) * nz + cls_zone[self.dst_cls[rows]]

        def label(k: int) -> tuple[str, str, str]:
            rest, dz = divmod(k, nz)
            r, sz = divmod(rest, nz)
            return rules[r], zones[sz], zones[dz]

        order = np.empty(len(self.table), dtype=np.int64)
        order[self.forbidden_rows()] = np.arange(len(rows))
        groups = self._outer_groups() + group_flows(
            rows,
            key,
            label,
            cols.proto,
            cols.dport,
            np.asarray(cols.answered, dtype=bool),
            cols.pkts_fwd + cols.pkts_rev,
            cols.bytes_fwd + cols.bytes_rev,
            order,
            self.src_addr,
            self.dst_addr,
            cols.src_text,
            cols.dst_text,
        )
        return sorted(groups, key=FlowGroup.sort_key)


def analyse_table(
    table: FlowTable,
    topology: Topology,
    backend: str = "",
    inputs: tuple[str, ...] = (),
    fail_on: str = "leak",
    strict: bool = False,
    evaluator: PolicyEvaluator | None = None,
) -> FlowAnalysis:
    """Judge every flow of ``table`` against ``topology`` (columnar; no Finding yet)."""
    if fail_on not in FAIL_ON:
        raise ValueError(f"fail_on must be one of {FAIL_ON}, not {fail_on!r}")
    cols = table.columns
    evaluator = evaluator or PolicyEvaluator(topology)
    classifier = AddressClassifier(topology)
    outer = outer_flows(cols)
    # every address of the table and of the tunnel outer flows (rows after the table's)
    # gets an id; each distinct address is classified once and its class broadcast
    n = len(cols)
    ver, shi, slo, dhi, dlo = cols.ver, cols.src_hi, cols.src_lo, cols.dst_hi, cols.dst_lo
    row_of = np.arange(n)
    if len(outer):
        ver = np.concatenate([ver, outer.ver])
        shi, slo = np.concatenate([shi, outer.src_hi]), np.concatenate([slo, outer.src_lo])
        dhi, dlo = np.concatenate([dhi, outer.dst_hi]), np.concatenate([dlo, outer.dst_lo])
        row_of = np.concatenate([row_of, [int(rows[0]) for rows in outer.inner]])
    src_ids, dst_ids, first = address_ids(ver, shi, slo, dhi, dlo)
    m = len(ver)
    at_src = first < m  # ``first`` indexes src ‖ dst
    at = np.where(at_src, first, first - m)
    u_cls = classifier.classify(
        ver[at], np.where(at_src, shi[at], dhi[at]), np.where(at_src, slo[at], dlo[at])
    )
    s_all, d_all = u_cls[src_ids], u_cls[dst_ids]
    src_cls, dst_cls = s_all[:n], d_all[:n]
    named = np.zeros(len(cols), dtype=bool)
    if cols.names:
        named[np.fromiter(cols.names.keys(), dtype=np.int64, count=len(cols.names))] = True
    verdicts = evaluate_table(
        evaluator,
        classifier.classes,
        src_cls,
        dst_cls,
        cols.proto,
        cols.dport,
        lambda i: cols.names.get(i, ()),
        named,
    )
    if len(outer):
        outer.src_cls, outer.dst_cls = s_all[n:], d_all[n:]
        outer.verdicts = evaluate_table(
            evaluator,
            classifier.classes,
            outer.src_cls,
            outer.dst_cls,
            outer.proto,
            outer.dport,
            lambda i: (),
        )
    src_addr, dst_addr = src_ids[:n], dst_ids[:n]
    from segverify.flows.columns import address_text

    cache: dict[tuple[int, int, int], str] = {}
    cov = coverage(
        classifier.classes, ver, shi, slo, dhi, dlo, s_all, d_all, first,
        lambda v, h, lo: address_text(v, h, lo, cache), n_flows=n, row_of=row_of,
    )  # fmt: skip
    warnings = _warnings(table, cov, strict)
    return FlowAnalysis(
        table=table,
        topology=topology,
        classes=classifier.classes,
        src_cls=src_cls,
        dst_cls=dst_cls,
        verdicts=verdicts,
        outer=outer,
        coverage=cov,
        warnings=warnings,
        fail_on=fail_on,
        strict=strict,
        # a flow-log table names its formats (zeek-conn, netflow-v9…): no capture backend ran
        backend=", ".join(getattr(table, "formats", ())) or backend,
        inputs=inputs or tuple(cols.files),
        src_addr=src_addr,
        dst_addr=dst_addr,
    )


def _warnings(table: FlowTable, cov: Coverage, strict: bool) -> list[tuple[str, dict[str, Any]]]:
    """Why the analysis is incomplete, as catalogue keys with parameters."""
    acct = table.accounting
    out: list[tuple[str, dict[str, Any]]] = []
    for bucket in INCOMPLETE_BUCKETS:
        n = getattr(acct, bucket)
        if n:
            out.append((f"pcap.warn.{bucket}", {"n": n}))
    out.extend(("pcap.warn.cut_short", {"note": note}) for note in acct.cut_short)
    log_warnings = getattr(table, "warning_keys", None)  # flow logs: each unreadable record
    if log_warnings is not None and (acct.malformed or acct.truncated):
        out.extend(
            (key, params)
            for key, params in log_warnings()
            if key in ("flowlog.warn.problem", "flowlog.warn.more")
        )
    if not acct.balanced():
        out.append(("pcap.warn.unbalanced", {"detail": acct.as_dict()}))
    if acct.analysed == 0:
        out.append(("pcap.warn.nothing", {"records": acct.records}))
    if cov.addresses["undeclared_internal"]:
        ranges = ", ".join(u.label for u in cov.undeclared)
        out.append(
            (
                "pcap.warn.undeclared",
                {"addresses": cov.addresses["undeclared_internal"], "ranges": ranges},
            )
        )
    if strict and cov.addresses[MATCH_NONE]:
        out.append(
            (
                "pcap.warn.strict",
                {"addresses": cov.addresses[MATCH_NONE], "flows": cov.flows["unclassified"]},
            )
        )
    return out


def flow_findings(
    table: FlowTable,
    topology: Topology,
    backend: str = "",
    inputs: tuple[str, ...] = (),
    fail_on: str = "leak",
    strict: bool = False,
) -> Report:
    """Judge every flow of ``table`` against ``topology``; the whole report materialised
    (one finding per forbidden flow, forbidden tunnel outer flow and undeclared range)."""
    return analyse_table(table, topology, backend, inputs, fail_on, strict).to_report()
