"""The segverify firewall CSV: a normalised one-rule-a-row format for any vendor's GUI export.

The format is documented in docs/firewall-formats.md ("CSV"). Rows of ``kind`` ``address``
and ``service`` define objects (nested groups allowed, resolved at parse time with cycle
detection); ``rule`` rows (the default kind) are ordered first-match rules of a stage;
a row with ``order`` ``default`` sets a stage's default action (otherwise ``drop``).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from segverify.errors import InputError
from segverify.firewall.chains import rule_from_match
from segverify.firewall.intervals import parse_address, parse_ip
from segverify.firewall.match import Match, conj
from segverify.firewall.model import CT_STATES, HOOKS, AddressSet, PortSet, Rule, Ruleset, Stage
from segverify.firewall.names import ICMP_TYPES, parse_port_range, parse_protocol
from segverify.i18n import Msg
from segverify.topology.model import Location

MAX_GROUP_DEPTH = 64
COLUMNS = (
    "kind",
    "device",
    "stage",
    "hook",
    "order",
    "name",
    "enabled",
    "action",
    "src",
    "dst",
    "service",
    "proto",
    "sport",
    "dport",
    "icmp_type",
    "in_interface",
    "out_interface",
    "in_zone",
    "out_zone",
    "ct_state",
    "comment",
    "members",
)
ACTION_WORDS = {
    "accept": "accept",
    "allow": "accept",
    "permit": "accept",
    "pass": "accept",
    "drop": "drop",
    "deny": "drop",
    "block": "drop",
    "discard": "drop",
    "reject": "reject",
}
TRUE = {"", "yes", "y", "true", "1", "on", "enabled", "enable"}
FALSE = {"no", "n", "false", "0", "off", "disabled", "disable"}
SPLIT = re.compile(r"[\s,;]+")


@dataclass
class _Obj:
    kind: str
    name: str
    members: list[str]
    line: int


@dataclass
class _StageRows:
    name: str
    hook: str
    line: int
    default: str = "drop"
    rules: list[tuple[float, int, Rule]] = field(default_factory=list)


def _items(text: str) -> list[str]:
    return [x for x in SPLIT.split(text.strip()) if x]


class _Parser:
    def __init__(self, file: str) -> None:
        self.file = file
        self.objects: dict[tuple[str, str], _Obj] = {}

    def err(self, msg: str, line: int) -> InputError:
        return InputError(msg, self.file, line)

    # ---- objects
    def addresses(
        self, names: list[str], line: int, stack: tuple[str, ...] = ()
    ) -> tuple[list, list]:
        prefixes: list = []
        ranges: list = []
        for item in names:
            obj = self.objects.get(("address", item))
            if obj is not None:
                if item in stack:
                    raise self.err(
                        Msg(
                            "error.firewall.csv_export.address_group_cycle",
                            cycle=" -> ".join(stack + (item,)),
                        ),
                        obj.line,
                    )
                if len(stack) >= MAX_GROUP_DEPTH:
                    raise self.err(
                        Msg(
                            "error.firewall.csv_export.groups_nested_deeper_than",
                            limit=MAX_GROUP_DEPTH,
                        ),
                        obj.line,
                    )
                p, r = self.addresses(obj.members, obj.line, stack + (item,))
                prefixes += p
                ranges += r
                continue
            try:
                if "-" in item and "/" not in item:
                    lo, hi = item.split("-", 1)
                    ranges.append((parse_ip(lo), parse_ip(hi)))
                else:
                    prefixes.append(parse_address(item))
            except ValueError:
                raise self.err(
                    Msg("error.firewall.csv_export.neither_address_range_nor_address", item=item),
                    line,
                ) from None
        return prefixes, ranges

    def address_set(self, text: str, line: int) -> AddressSet | None:
        t = text.strip()
        neg = t.startswith("!")
        if neg:
            t = t[1:]
        names = _items(t)
        if not names or names == ["any"]:
            if neg:
                raise self.err(Msg("error.firewall.csv_export.any_matches_nothing"), line)
            return None
        p, r = self.addresses(names, line)
        label = names[0] if len(names) == 1 and ("address", names[0]) in self.objects else ""
        return AddressSet(tuple(p), tuple(r), negated=neg, name=label)

    def services(self, names: list[str], line: int, stack: tuple[str, ...] = ()) -> list[Match]:
        out: list[Match] = []
        for item in names:
            obj = self.objects.get(("service", item))
            if obj is not None:
                if item in stack:
                    raise self.err(
                        Msg(
                            "error.topology.services.service_group_cycle",
                            cycle=" -> ".join(stack + (item,)),
                        ),
                        obj.line,
                    )
                if len(stack) >= MAX_GROUP_DEPTH:
                    raise self.err(
                        Msg(
                            "error.firewall.csv_export.groups_nested_deeper_than",
                            limit=MAX_GROUP_DEPTH,
                        ),
                        obj.line,
                    )
                out += self.services(obj.members, obj.line, stack + (item,))
                continue
            if item == "any":
                out.append(Match())
                continue
            proto_s, _, arg = item.partition("/")
            proto = parse_protocol(proto_s)
            if proto is None:
                raise self.err(
                    Msg("error.firewall.csv_export.neither_proto_ports_nor_service", item=item),
                    line,
                )
            if not arg:
                out.append(Match(protocols=(proto,)))
            elif proto in (1, 58):
                out.append(self.icmp(proto, arg, line))
            else:
                ranges = tuple(parse_port_range(x, "-", self.file, line) for x in arg.split("+"))
                out.append(Match(protocols=(proto,), dports=PortSet(ranges)))
        return out

    def icmp(self, proto: int, arg: str, line: int) -> Match:
        types = []
        for x in arg.split("+"):
            if x.isdigit():
                types.append(int(x))
            elif proto == 1 and x in ICMP_TYPES:
                types.append(ICMP_TYPES[x])
            else:
                raise self.err(Msg("error.firewall.csv_export.bad_icmp_type", value=x), line)
        return Match(
            family=4 if proto == 1 else 6, protocols=(proto,), icmp_types=tuple(sorted(set(types)))
        )

    def ports(self, text: str, line: int) -> PortSet | None:
        t = text.strip()
        neg = t.startswith("!")
        names = _items(t[1:] if neg else t)
        if not names or names == ["any"]:
            return None
        return PortSet(tuple(parse_port_range(x, "-", self.file, line) for x in names), negated=neg)

    # ---- rules
    def rule_alts(self, row: dict[str, str], line: int) -> list[Match]:
        m: Match | None = Match()
        parts: list[Match] = []
        src = self.address_set(row.get("src", ""), line)
        dst = self.address_set(row.get("dst", ""), line)
        parts.append(Match(src=src, dst=dst))
        protos = _items(row.get("proto", ""))
        if protos and protos != ["any"]:
            nums = []
            for p in protos:
                n = parse_protocol(p)
                if n is None:
                    raise self.err(Msg("error.common.unknown_protocol", name=p), line)
                nums.append(n)
            parts.append(Match(protocols=tuple(nums)))
        sp = self.ports(row.get("sport", ""), line)
        dp = self.ports(row.get("dport", ""), line)
        if sp is not None or dp is not None:
            parts.append(Match(sports=sp, dports=dp))
        it = _items(row.get("icmp_type", ""))
        if it:
            proto = 58 if protos and protos[0] in ("icmpv6", "ipv6-icmp", "58") else 1
            parts.append(self.icmp(proto, "+".join(it), line))
        for side in ("in", "out"):
            ifs = row.get(f"{side}_interface", "").strip()
            if ifs and ifs != "any":
                neg = ifs.startswith("!")
                names = tuple(_items(ifs[1:] if neg else ifs))
                key = f"{side}_interfaces_except" if neg else f"{side}_interfaces"
                parts.append(Match(**{key: names}))
        cts = [c.lower() for c in _items(row.get("ct_state", ""))]
        if cts and cts != ["any"]:
            bad = [c for c in cts if c not in CT_STATES]
            if bad:
                raise self.err(
                    Msg(
                        "error.firewall.csv_export.unknown_ct_state_one",
                        state=bad[0],
                        states=", ".join(CT_STATES),
                    ),
                    line,
                )
            parts.append(Match(ct_states=tuple(s for s in CT_STATES if s in cts)))
        for p in parts:
            if m is not None:
                m = conj(m, p)
        if m is None:
            return []
        svc = _items(row.get("service", ""))
        if not svc or svc == ["any"]:
            return [m]
        return [a for a in (conj(m, s) for s in self.services(svc, line)) if a is not None]


def parse_csv(text: str, file: str = "<string>", device: str | None = None) -> Ruleset:
    reader = csv.reader(io.StringIO(text))
    p = _Parser(file)
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    warnings: list[tuple[Location | None, str]] = []
    rows_iter = iter(reader)
    while True:
        try:
            row = next(rows_iter)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputError(
                Msg("error.firewall.csv_export.bad_csv", reason=exc), file, reader.line_num + 1
            ) from None
        line = reader.line_num
        if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [c.strip().lower() for c in row]
            dup = sorted({c for c in header if c and header.count(c) > 1})
            if dup:
                raise InputError(
                    Msg(
                        "error.firewall.csv_export.duplicated_column_header", column=", ".join(dup)
                    ),
                    file,
                    line,
                )
            unknown = [c for c in header if c not in COLUMNS]
            if "action" not in header:
                raise InputError(
                    Msg("error.firewall.csv_export.not_segverify_firewall_csv_no"), file, line
                )
            for c in unknown:
                warnings.append(
                    (
                        Location(file, line),
                        Msg("warn.firewall.csv_export.unknown_column_ignored", column=c),
                    )
                )
            continue
        if len(row) != len(header):
            # a short row would read its missing fields as "any": refuse, like a long one
            raise InputError(
                Msg(
                    "error.firewall.csv_export.fields_header_has",
                    fields=len(row),
                    header=len(header),
                ),
                file,
                line,
            )
        rows.append(
            (
                line,
                {
                    h: (row[i].strip() if i < len(row) else "")
                    for i, h in enumerate(header)
                    if h in COLUMNS
                },
            )
        )
    if header is None:
        raise InputError(Msg("error.firewall.csv_export.empty_csv"), file)
    # objects first: rules may use objects defined further down
    for line, r in rows:
        kind = (r.get("kind") or "rule").lower()
        if kind in ("address", "service"):
            name = r.get("name", "")
            if not name:
                raise InputError(
                    Msg("error.firewall.csv_export.object_without_name", kind=kind), file, line
                )
            if (kind, name) in p.objects:
                raise InputError(
                    Msg("error.firewall.csv_export.object_defined_twice", kind=kind, name=name),
                    file,
                    line,
                )
            p.objects[(kind, name)] = _Obj(kind, name, _items(r.get("members", "")), line)
        elif kind != "rule":
            raise InputError(
                Msg("error.firewall.csv_export.unknown_kind_rule_address_service", kind=kind),
                file,
                line,
            )
    devices = {r.get("device", "") for _, r in rows if r.get("device")}
    if len(devices) > 1:
        raise InputError(
            Msg(
                "error.firewall.csv_export.rows_several_devices_one_device",
                devices=", ".join(sorted(devices)),
            ),
            file,
        )
    stages: dict[str, _StageRows] = {}
    for seq, (line, r) in enumerate(rows):
        if (r.get("kind") or "rule").lower() != "rule":
            continue
        sname = r.get("stage") or "policy"
        hook = (r.get("hook") or "forward").lower()
        if hook not in HOOKS:
            raise InputError(Msg("error.firewall.csv_export.unknown_hook", hook=hook), file, line)
        st = stages.get(sname)
        if st is None:
            st = stages[sname] = _StageRows(sname, hook, line)
        elif st.hook != hook:
            raise InputError(
                Msg(
                    "error.firewall.csv_export.stage_has_rows_hooks",
                    stage=sname,
                    hook=st.hook,
                    hook2=hook,
                ),
                file,
                line,
            )
        act_word = r.get("action", "").lower()
        if act_word not in ACTION_WORDS:
            raise InputError(
                Msg("error.firewall.csv_export.unknown_action", action=r.get("action")), file, line
            )
        action = ACTION_WORDS[act_word]
        order_s = r.get("order", "")
        if order_s.lower() == "default":
            st.default = action
            continue
        try:
            order = float(order_s) if order_s else float(seq)
        except ValueError:
            raise InputError(
                Msg("error.firewall.csv_export.order_not_number", value=order_s), file, line
            ) from None
        en = r.get("enabled", "").lower()
        if en not in TRUE | FALSE:
            raise InputError(
                Msg("error.firewall.csv_export.enabled_not_yes_no", value=r.get("enabled")),
                file,
                line,
            )
        loc = Location(file, line)
        in_z = tuple(_items(r.get("in_zone", ""))) or None
        out_z = tuple(_items(r.get("out_zone", ""))) or None
        for alt in p.rule_alts(r, line):
            rule = rule_from_match(
                action,
                alt,
                location=loc,
                enabled=en not in FALSE,
                name=r.get("name", ""),
                comment=r.get("comment", ""),
                text=",".join(v for v in r.values()),
                chain=sname,
                in_zones=in_z if in_z != ("any",) else None,
                out_zones=out_z if out_z != ("any",) else None,
            )
            st.rules.append((order, seq, rule))
    out = []
    for k, st in enumerate(stages.values()):
        rules = tuple(r for _, _, r in sorted(st.rules, key=lambda t: (t[0], t[1])))
        out.append(
            Stage(st.name, st.hook, k * 10, rules, st.default, None, "csv", Location(file, st.line))
        )
    rs = Ruleset(
        device=device or next(iter(devices), ""),
        vendor="csv",
        source=file,
        stages=out,
        warnings=warnings,
    )
    return rs
