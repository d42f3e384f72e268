"""FortiOS configuration tree → vendor model (``model.py``).

Only the sections that decide what the firewall forwards are read in detail; the others
are known not to (routing, logging, UTM profiles…) and skipped. A firewall section that
does decide and is not modelled (local-in policy, DoS policy, …) is reported, as is every
setting of a modelled object that is not understood.
"""

from __future__ import annotations

import ipaddress
import socket

from segverify.errors import InputError
from segverify.firewall.fortios.model import (
    FgAddress,
    FgConfig,
    FgGroup,
    FgInterface,
    FgPolicy,
    FgService,
    FgServiceEntry,
    FgVdom,
    FgVip,
    FgZone,
    Src,
)
from segverify.firewall.fortios.tree import Block, parse_tree
from segverify.i18n import Msg
from segverify.topology.model import IPNetwork, PortRange

# Firewall tables that decide what passes and are not modelled: reported when non-empty.
UNMODELLED_FILTERS = {
    "firewall DoS-policy": "DoS policy",
    "firewall DoS-policy6": "IPv6 DoS policy",
    "firewall multicast-policy": "multicast policy",
    "firewall multicast-policy6": "IPv6 multicast policy",
    "firewall interface-policy": "interface policy",
    "firewall interface-policy6": "IPv6 interface policy",
    "firewall policy46": "NAT46 policy",
    "firewall policy64": "NAT64 policy",
    "firewall proxy-policy": "explicit proxy policy",
    "firewall security-policy": "NGFW policy-based security policy",
    "firewall acl": "hardware ACL",
    "firewall acl6": "hardware IPv6 ACL",
    "firewall ttl-policy": "TTL policy",
    "firewall vip46": "VIP46",
    "firewall vip64": "VIP64",
    "firewall vip6": "IPv6 VIP",
    "firewall sniffer": "one-arm sniffer policy",
}
# Policy settings that do not change which packets a policy matches or its verdict.
POLICY_IRRELEVANT = frozenset(
    [
        "diffserv-copy",
        "dsri",
        "vlan-filter",
        "firewall-session-dirty",
        "http-policy-redirect",
        "ssh-policy-redirect",
        "pcp-outbound",
        "pcp-inbound",
        "pcp-poolname",
        "port-preserve",
        "port-random",
        "fec",
        "app-monitor",
        "nat-source-vip",
        "tcp-timeout-pid",
        "udp-timeout-pid",
        "ips-voip-filter",
        "virtual-patch-profile",
        "diameter-filter-profile",
        "cgn-session-quota",
        "cgn-resource-quota",
        "cgn-log-server-grp",
        "cgn-eif",
        "cgn-eim",
        "policyid",
        "emailfilter-profile",
        "dnsfilter-profile",
        "name",
        "uuid",
        "comments",
        "comment",
        "logtraffic",
        "logtraffic-start",
        "nat",
        "ippool",
        "poolname",
        "poolname6",
        "utm-status",
        "inspection-mode",
        "ssl-ssh-profile",
        "av-profile",
        "webfilter-profile",
        "ips-sensor",
        "application-list",
        "dnsfilter-profile",
        "emailfilter-profile",
        "spamfilter-profile",
        "dlp-sensor",
        "dlp-profile",
        "file-filter-profile",
        "voip-profile",
        "icap-profile",
        "waf-profile",
        "cifs-profile",
        "videofilter-profile",
        "sctp-filter-profile",
        "ssh-filter-profile",
        "casb-profile",
        "profile-type",
        "profile-group",
        "profile-protocol-options",
        "traffic-shaper",
        "traffic-shaper-reverse",
        "per-ip-shaper",
        "wanopt",
        "wanopt-detection",
        "wanopt-profile",
        "wanopt-peer",
        "webcache",
        "webcache-https",
        "capture-packet",
        "global-label",
        "label",
        "auto-asic-offload",
        "np-acceleration",
        "session-ttl",
        "vlan-cos-fwd",
        "vlan-cos-rev",
        "natip",
        "diffserv-forward",
        "diffserv-reverse",
        "diffservcode-forward",
        "diffservcode-rev",
        "tcp-mss-sender",
        "tcp-mss-receiver",
        "block-notification",
        "timeout-send-rst",
        "anti-replay",
        "tos-negate",
        "replacemsg-override-group",
        "vpntunnel",
        "inbound",
        "outbound",
        "natinbound",
        "natoutbound",
        "permit-any-host",
        "permit-stun-host",
        "fixedport",
        "central-nat",
        "match-vip",
        "match-vip-only",
        "identity-based-route",
        "disclaimer",
        "email-collect",
        "custom-log-fields",
        "rtp-nat",
        "rtp-addr",
        "delay-tcp-npu-session",
        "schedule-timeout",
        "policy-expiry",
        "policy-expiry-date",
        "tcp-session-without-syn",
        "geoip-anycast",
        "geoip-match",
        "reputation-minimum",
        "reputation-direction",
        "dynamic-shaping",
        "passive-wan-health-measurement",
        "captive-portal-exempt",
        "decrypted-traffic-mirror",
        "radius-mac-auth-bypass",
        "nat46",
        "nat64",
        "wccp",
        "fsso",
        "fsso-agent-for-ntlm",
        "ntlm",
        "ntlm-guest",
        "ntlm-enabled-browsers",
        "auth-path",
        "auth-redirect-addr",
        "auth-cert",
        "webproxy-profile",
        "webproxy-forward-server",
        "redirect-url",
        "sgt-check",
        "sgt",
        "ztna-status",
        "uuid-idx",
        "log-http-transaction",
    ]
)
ISDB_SWITCHES = (
    "internet-service",
    "internet-service-src",
    "internet-service6",
    "internet-service6-src",
)
# values with which a setting the parser does not know is off (not a match condition)
OFF_VALUES = frozenset({"disable", "", "0", "0x00", "none"})
POLICY_OPAQUE = {
    "users": "user",
    "groups": "user",
    "fsso-groups": "user",
    "application": "application",
    "app-category": "application",
    "app-group": "application",
    "url-category": "url-category",
    "src-vendor-mac": "other",
    "ztna-ems-tag": "user",
    "ztna-geo-tag": "geo",
    "devices": "user",
}
PROTO_NAMES = {"TCP": 6, "UDP": 17, "SCTP": 132}

# settings of objects that segverify reads or that do not change what they match; any
# other setting is reported (it may change the object's meaning)
_COMMON = "uuid comment comments color visibility fabric-object tagging global-object dirty"
KNOWN_SETTINGS = {
    "address": frozenset(
        (
            _COMMON
            + " type sub-type subnet start-ip end-ip fqdn country wildcard wildcard-fqdn ip6"
            " associated-interface allow-routing cache-ttl interface sdn list obj-type"
            " clearpass-spt macaddr start-mac end-mac template host host-type tenant"
            " epg-name policy-group sdn-tag filter node-ip-only obj-id route-tag fsso-group"
            " hw-vendor hw-model os sw-version organization obj-tag sdn-addr-type"
        ).split()
    ),
    "group": frozenset(
        (_COMMON + " member exclude exclude-member type category allow-routing").split()
    ),
    "vip": frozenset(
        (
            _COMMON
            + " id type extip mappedip extintf arp-reply nat-source-vip portforward protocol"
            " extport mappedport src-filter service srcintf-filter portmapping-type"
            " gratuitous-arp-interval dns-mapping-ttl ldb-method server-type persistence"
            " http-cookie-domain-from-host http-cookie-share http-cookie-age http-cookie-path"
            " http-cookie-generation http-cookie-domain http-multiplex http-ip-header"
            " http-ip-header-name http-redirect https-cookie-secure outlook-web-access"
            " weblogic-server websphere-server h2-support h3-support max-embryonic-connections"
            " monitor user-agent-detect client-cert empty-cert-action nat44 nat46"
            " add-nat46-route ipv6-mappedip status"
        ).split()
    ),
    "service": frozenset(
        (
            _COMMON + " proxy category protocol helper fqdn iprange tcp-portrange udp-portrange"
            " sctp-portrange tcp-halfclose-timer tcp-halfopen-timer tcp-timewait-timer"
            " tcp-rst-timer udp-idle-timer session-ttl check-reset-range app-service-type"
            " app-category application icmptype icmpcode protocol-number"
        ).split()
    ),
}


def _src(b: Block) -> Src:
    return Src(b.line, b.text)


def _dotted(text: str) -> bool:
    """Plain dotted-quad decimal (what inet_aton reads the same way as ipaddress)."""
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and (p == "0" or p[0] != "0") for p in parts)


def _net(words: list[str], file: str, line: int) -> IPNetwork:
    """``a.b.c.d m.m.m.m``, ``a.b.c.d/len`` or an IPv6 prefix."""
    if len(words) >= 2 and "/" not in words[0] and _dotted(words[0]) and _dotted(words[1]):
        try:  # the common case, without ipaddress's string parsing
            addr = int.from_bytes(socket.inet_aton(words[0]), "big")
            mask = int.from_bytes(socket.inet_aton(words[1]), "big")
        except OSError:
            pass
        else:
            plen = bin(mask).count("1")
            if mask == (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF:
                return ipaddress.IPv4Network((addr & mask, plen))
    text = "/".join(words[:2]) if len(words) >= 2 else (words[0] if words else "")
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise InputError(
            Msg("error.firewall.fortios.parse.invalid_address", words=" ".join(words), reason=exc),
            file,
            line,
        ) from exc


def _ports(spec: str, file: str, line: int) -> tuple[PortRange, PortRange | None]:
    """FortiOS ``dst[-dsthi][:src[-srchi]]``."""

    def rng(t: str) -> PortRange:
        lo, _, hi = t.partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise InputError(
                Msg("error.firewall.fortios.parse.invalid_port_range", spec=spec), file, line
            ) from None
        if not (0 <= a <= 65535 and 0 <= b <= 65535):
            raise InputError(
                Msg("error.firewall.fortios.parse.port_out_range", spec=spec), file, line
            )
        return PortRange(min(a, b), max(a, b))

    d, _, s = spec.partition(":")
    return rng(d), (rng(s) if s else None)


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file
        self.warnings: list[tuple[int, str]] = []

    def warn(self, line: int, msg: str) -> None:
        self.warnings.append((line, msg))

    def check_settings(self, e: Block, what: str, kind: str) -> None:
        for key, st in e.settings.items():
            if key not in KNOWN_SETTINGS[kind]:
                self.warn(
                    st.line,
                    Msg(
                        "warn.firewall.fortios.parse.setting_not_understood",
                        what=what,
                        name=e.name,
                        text=st.text,
                    ),
                )

    # -- interfaces and zones -------------------------------------------------------
    def interfaces(self, blk: Block, into: dict[str, FgInterface]) -> None:
        for name, e in blk.edits.items():
            ipv = e.values("ip")
            iface = FgInterface(
                name, _src(e), e.value("vdom", "root"), None, tuple(e.values("allowaccess"))
            )
            if ipv and ipv[0] != "0.0.0.0":
                _net(ipv, self.file, e.settings["ip"].line)  # validates address and mask
                host = ipaddress.ip_address(ipv[0].split("/")[0])
                iface.ip = ipaddress.ip_network(f"{host}/{host.max_prefixlen}")
            into[name] = iface

    def zones(self, blk: Block, v: FgVdom) -> None:
        for name, e in blk.edits.items():
            intra = e.value("intrazone", "deny")
            s = e.get("intrazone")
            v.zones[name] = FgZone(
                name,
                _src(e),
                tuple(e.values("interface")),
                intra,
                Src(s.line, s.text) if s else None,
            )

    def sdwan(self, blk: Block, v: FgVdom) -> None:
        """SD-WAN members as zones: ``virtual-wan-link`` (6.x) or the ``config zone``
        entries of ``config system sdwan`` (7.x), which policies name in srcintf/dstintf."""
        if blk.value("status", "disable") != "enable":
            return
        members: dict[str, list[str]] = {}
        for c in blk.config("zone"):
            for zname in c.edits:
                members.setdefault(zname, [])
        for c in blk.config("members"):
            for e in c.edits.values():
                iface = e.value("interface")
                if iface:
                    members.setdefault(e.value("zone", "virtual-wan-link"), []).append(iface)
        if not members:
            members["virtual-wan-link"] = []
        for zname, ifaces in members.items():
            v.zones[zname] = FgZone(zname, _src(blk), tuple(ifaces), "deny", None)

    # -- addresses ------------------------------------------------------------------
    def addresses(self, blk: Block, v: FgVdom, family: int) -> None:
        for name, e in blk.edits.items():
            self.check_settings(e, "address" if family == 4 else "address6", "address")
            kind = e.value("type", "ipmask" if family == 4 else "ipprefix")
            a = FgAddress(name, _src(e), family, kind)
            if kind in ("ipmask", "ipprefix", "interface-subnet"):
                a.kind = "ipmask"
                key = "subnet" if family == 4 else "ip6"
                if e.get(key):
                    a.nets = (_net(e.values(key), self.file, e.settings[key].line),)
                else:  # FortiOS default: 0.0.0.0/0 (::/0)
                    a.nets = (ipaddress.ip_network("0.0.0.0/0" if family == 4 else "::/0"),)
            elif kind == "iprange":
                lo, hi = e.value("start-ip", "0.0.0.0"), e.value("end-ip", "0.0.0.0")
                try:
                    a_lo, a_hi = ipaddress.ip_address(lo), ipaddress.ip_address(hi)
                except ValueError:
                    raise InputError(
                        Msg(
                            "error.firewall.fortios.parse.address_invalid_range",
                            name=name,
                            lo=lo,
                            hi=hi,
                        ),
                        self.file,
                        e.line,
                    ) from None
                a.ranges = ((str(min(a_lo, a_hi)), str(max(a_lo, a_hi))),)
            elif kind == "fqdn":
                a.detail = e.value("fqdn")
            elif kind == "geography":
                a.detail = e.value("country")
            elif kind == "wildcard":
                a.detail = " ".join(e.values("wildcard"))
            elif kind == "wildcard-fqdn":
                a.detail = e.value("wildcard-fqdn")
            else:  # dynamic, mac, template, …: a header alone cannot decide
                a.detail = kind
            (v.addresses if family == 4 else v.addresses6)[name] = a

    def groups(self, blk: Block, into: dict[str, FgGroup], family: int = 4) -> None:
        for name, e in blk.edits.items():
            self.check_settings(e, "group", "group")
            excl = tuple(e.values("exclude-member")) if e.value("exclude") == "enable" else ()
            into[name] = FgGroup(name, _src(e), tuple(e.values("member")), excl, family)

    # -- services -------------------------------------------------------------------
    def services(self, blk: Block, v: FgVdom) -> None:
        for name, e in blk.edits.items():
            self.check_settings(e, "service", "service")
            proto = e.value("protocol", "TCP/UDP/SCTP").upper()
            svc = FgService(name, _src(e))
            entries: list[FgServiceEntry] = []
            if proto == "TCP/UDP/SCTP":
                for key, num in (
                    ("tcp-portrange", 6),
                    ("udp-portrange", 17),
                    ("sctp-portrange", 132),
                ):
                    s = e.get(key)
                    if s is None:
                        continue
                    for spec in s.values:
                        if not spec:
                            continue  # `set udp-portrange ''`: none
                        d, sp = _ports(spec, self.file, s.line)
                        entries.append(FgServiceEntry(num, (d,), (sp,) if sp else ()))
            elif proto in ("ICMP", "ICMP6"):
                t, c = e.value("icmptype"), e.value("icmpcode")
                entries.append(
                    FgServiceEntry(
                        1 if proto == "ICMP" else 58,
                        icmp_type=int(t) if t else None,
                        icmp_code=int(c) if c else None,
                    )
                )
            elif proto == "IP":
                n = int(e.value("protocol-number", "0") or 0)
                entries.append(FgServiceEntry(None if n == 0 else n))
            else:  # HTTP, FTP, CONNECT, SOCKS-TCP, ALL …: explicit-proxy services
                svc.opaque = f"proxy service protocol {proto}"
            if e.get("iprange") and e.value("iprange") not in ("0.0.0.0", "0.0.0.0-0.0.0.0"):
                lo, _, hi = e.value("iprange").partition("-")
                svc.dst_nets = tuple(
                    ipaddress.summarize_address_range(
                        ipaddress.ip_address(lo), ipaddress.ip_address(hi or lo)
                    )
                )
            if e.get("fqdn") and e.value("fqdn"):
                svc.opaque = f"service destination fqdn {e.value('fqdn')}"
            svc.entries = tuple(entries)
            if not entries and not svc.opaque:
                self.warn(
                    e.line, Msg("warn.firewall.fortios.parse.service_has_no_port_range", name=name)
                )
            v.services[name] = svc

    # -- VIPs -----------------------------------------------------------------------
    def vips(self, blk: Block, v: FgVdom) -> None:
        for name, e in blk.edits.items():
            typ = e.value("type", "static-nat")
            if typ not in ("static-nat",):
                self.warn(
                    e.line,
                    Msg("warn.firewall.fortios.parse.vip_type_not_modelled", name=name, typ=typ),
                )
            ext = e.value("extip")
            mapped = e.values("mappedip")
            if not ext or not mapped:
                raise InputError(
                    Msg("error.firewall.fortios.parse.vip_needs_extip_mappedip", name=name),
                    self.file,
                    e.line,
                )
            self.check_settings(e, "VIP", "vip")
            lo, _, hi = ext.partition("-")
            mlo, _, mhi = mapped[0].partition("-")
            vip = FgVip(name, _src(e), (lo, hi or lo), (mlo, mhi or mlo), e.value("extintf", "any"))
            filters = []
            for item in e.values("src-filter"):
                if "-" in item:
                    a, _, b = item.partition("-")
                else:
                    net = _net([item], self.file, e.settings["src-filter"].line)
                    a, b = str(net.network_address), str(net.broadcast_address)
                filters.append((a, b))
            vip.src_filter = tuple(filters)
            vip.services = tuple(e.values("service"))
            if e.values("srcintf-filter"):
                self.warn(
                    e.settings["srcintf-filter"].line,
                    Msg("warn.firewall.fortios.parse.vip_srcintf_filter_not_modelled", name=name),
                )
            if e.value("portforward") == "enable":
                proto = e.value("protocol", "tcp").lower()
                vip.proto = {"tcp": 6, "udp": 17, "sctp": 132, "icmp": 1}.get(proto)
                if vip.proto is None:
                    raise InputError(
                        Msg(
                            "error.firewall.fortios.parse.vip_unknown_protocol",
                            name=name,
                            proto=proto,
                        ),
                        self.file,
                        e.line,
                    )
                if vip.proto != 1:
                    s = e.get("extport")
                    if s is None:
                        raise InputError(
                            Msg(
                                "error.firewall.fortios.parse.vip_port_forwarding_needs_extport",
                                name=name,
                            ),
                            self.file,
                            e.line,
                        )
                    vip.extports = (_ports(s.values[0], self.file, s.line)[0],)
                    m = e.get("mappedport")
                    vip.mappedport = (
                        _ports(m.values[0], self.file, m.line)[0] if m else vip.extports[0]
                    )
            v.vips[name] = vip

    # -- policies -------------------------------------------------------------------
    def policies(self, blk: Block, v: FgVdom, v6: bool = False, local_in: bool = False) -> None:
        table = ("local-in" if local_in else "policy") + ("6" if v6 else "")
        for pid, e in blk.edits.items():
            p = FgPolicy(pid, _src(e), table)
            p.lines = {k: Src(s.line, s.text) for k, s in e.settings.items()}
            for key, s in e.settings.items():
                vals = tuple(s.values)
                if key == "name":
                    p.name = s.values[0] if s.values else ""
                elif key == "action":
                    p.action = s.values[0] if s.values else "deny"
                elif key == "status":
                    p.enabled = not (s.values and s.values[0] == "disable")
                elif key in ("srcintf", "dstintf", "service"):
                    setattr(p, key, vals)
                elif key == "intf" and local_in:
                    p.srcintf = vals
                elif key in ("srcaddr", "dstaddr"):
                    setattr(p, key + ("6" if v6 else ""), vals)
                elif key in ("srcaddr6", "dstaddr6"):
                    setattr(p, key, vals)
                elif key == "tos-mask":
                    if s.values and s.values[0] not in ("0x00", "0"):
                        tos = e.value("tos", "0x00")
                        p.opaque.append(("other", f"ToS {tos} mask {s.values[0]}", s.line))
                elif key == "tos":
                    continue  # only with tos-mask
                elif key in (
                    "srcaddr-negate",
                    "dstaddr-negate",
                    "srcaddr6-negate",
                    "dstaddr6-negate",
                    "service-negate",
                ):
                    setattr(p, key.replace("-", "_"), bool(s.values) and s.values[0] == "enable")
                elif key == "schedule":
                    p.schedule = s.values[0] if s.values else "always"
                elif key == "send-deny-packet":
                    p.send_deny_packet = bool(s.values) and s.values[0] == "enable"
                elif key in ISDB_SWITCHES:
                    if s.values and s.values[0] == "enable":
                        src = key.endswith("-src")
                        names = [
                            " ".join(x.values)
                            for k, x in e.settings.items()
                            if k.startswith(key + "-")
                            and x.values
                            and (src or not k.startswith(key + "-src"))
                        ]
                        which = "source" if src else "destination"
                        what = f"internet service ({which}): {' '.join(names) or '?'}"
                        p.opaque.append(("other", what, s.line))
                        p.isdb_src, p.isdb_dst = p.isdb_src or src, p.isdb_dst or not src
                elif key.startswith(("internet-service-", "internet-service6-")):
                    continue  # read with the internet-service switches
                elif key in POLICY_OPAQUE:
                    if s.values:
                        what = f"{key} {' '.join(s.values)}"
                        p.opaque.append((POLICY_OPAQUE[key], what, s.line))
                elif key in POLICY_IRRELEVANT:
                    continue
                elif not s.values or s.values[0] in OFF_VALUES:
                    continue  # a feature left off (full-configuration lists every default)
                else:
                    p.unknown.append((s.text, s.line))
            if p.action not in ("accept", "deny", "ipsec"):
                raise InputError(
                    Msg(
                        "error.firewall.fortios.parse.policy_unknown_action",
                        policy=pid,
                        action=p.action,
                    ),
                    self.file,
                    e.line,
                )
            for c in e.configs:
                self.warn(
                    c.line,
                    Msg(
                        "warn.firewall.fortios.parse.policy_nested_config_not_modelled",
                        policy=pid,
                        name=c.name,
                    ),
                )
            v.policies.append(p)


def _vdom_blocks(root: Block) -> tuple[list[Block], dict[str, list[Block]]]:
    """(global config blocks, VDOM name → its config blocks)."""
    vdom = root.config("vdom")
    if not vdom:
        return root.configs, {"root": root.configs}
    glob = [c for c in root.configs if c.name != "vdom"]
    flat_global: list[Block] = []
    for c in glob:
        flat_global.extend(c.configs if c.name == "global" else [c])
    vdoms: dict[str, list[Block]] = {}
    for blk in vdom:
        for name, e in blk.edits.items():
            vdoms.setdefault(name, []).extend(e.configs)
    return flat_global, vdoms


def _relevant_content(b: Block) -> bool:
    return bool(b.edits or b.settings or b.configs)


def read_fortios(text: str, file: str) -> FgConfig:
    tree = parse_tree(text)
    r = _Reader(file)
    for line, msg in tree.problems:
        r.warn(line, msg)
    glob, vdom_blocks = _vdom_blocks(tree.root)
    interfaces: dict[str, FgInterface] = {}
    hostname = ""
    admin_ports: dict[str, int] = {}
    for c in glob:
        if c.name == "system interface":
            r.interfaces(c, interfaces)
        elif c.name == "system global":
            hostname = c.value("hostname") or hostname
            for key, access in (
                ("admin-sport", "https"),
                ("admin-port", "http"),
                ("admin-ssh-port", "ssh"),
            ):
                if c.value(key).isdigit():
                    admin_ports[access] = int(c.value(key))
    vdoms: dict[str, FgVdom] = {}
    for vname, blocks in vdom_blocks.items():
        v = FgVdom(vname)
        vdoms[vname] = v
        for c in blocks:
            n = c.name
            if n == "system interface" and blocks is glob:
                continue
            if n == "system zone":
                r.zones(c, v)
            elif n in ("system sdwan", "system virtual-wan-link"):
                r.sdwan(c, v)
            elif n in ("firewall address", "firewall address6"):
                r.addresses(c, v, 6 if n.endswith("6") else 4)
            elif n in ("firewall addrgrp", "firewall addrgrp6"):
                six = n.endswith("6")
                r.groups(c, v.addrgrps6 if six else v.addrgrps, 6 if six else 4)
            elif n == "firewall service custom":
                r.services(c, v)
            elif n == "firewall service group":
                r.groups(c, v.servicegrps)
            elif n == "firewall vip":
                r.vips(c, v)
            elif n == "firewall vipgrp":
                r.groups(c, v.vipgrps)
            elif n.startswith("firewall schedule "):
                for name, e in c.edits.items():
                    v.schedules[name] = _src(e)
            elif n in ("firewall policy", "firewall policy6"):
                r.policies(c, v, v6=n.endswith("6"))
            elif n in ("firewall local-in-policy", "firewall local-in-policy6"):
                r.policies(c, v, v6=n.endswith("6"), local_in=True)
            elif n == "system settings":
                if c.value("opmode") == "transparent":
                    s = c.settings["opmode"]
                    r.warn(
                        s.line,
                        Msg("warn.firewall.fortios.parse.transparent_mode_opmode_transparent_not"),
                    )
            elif n in UNMODELLED_FILTERS and _relevant_content(c):
                r.warn(
                    c.line,
                    Msg(
                        "warn.firewall.fortios.parse.config_not_modelled",
                        what=UNMODELLED_FILTERS[n],
                        name=n,
                    ),
                )
            elif n == "system interface":
                r.interfaces(c, interfaces)
            elif n == "system global":
                hostname = c.value("hostname") or hostname
        for name, i in interfaces.items():
            if i.vdom == vname:
                v.interfaces[name] = i
    if len(vdoms) == 1:  # no VDOMs: every interface is in the one policy table
        only = next(iter(vdoms.values()))
        only.interfaces = dict(interfaces)
    return FgConfig(hostname, vdoms, interfaces, r.warnings, admin_ports)
