"""PAN-OS configuration tree → vendor model: where the objects are (vsys, shared,
Panorama namespaces) and the security rules in evaluation order (Panorama pre-rules,
local rules, Panorama post-rules, then the default rules)."""

from __future__ import annotations

from dataclasses import dataclass, field

from segverify.firewall.paloalto.tree import Node, Tree, parse_any
from segverify.i18n import Msg

OBJECT_KINDS = (
    "address",
    "address-group",
    "service",
    "service-group",
    "external-list",
    "region",
    "application-group",
    "application-filter",
    "schedule",
)


# rulebase sections read here, and those that cannot change what is forwarded
RULEBASE_KNOWN = frozenset(
    {
        "security",
        "nat",
        "default-security-rules",
        "decryption",
        "application-override",
        "qos",
        "tunnel-inspect",
        "authentication",
        "network-packet-broker",
        "sdwan",
    }
)
# sections that can change what is forwarded (reported when they hold rules)
RULEBASE_UNMODELLED = {
    "pbf": "policy-based forwarding",
    "dos": "DoS protection policy",
}


@dataclass
class Scope:
    """One object namespace (a vsys, a device group, the Panorama namespace, shared)."""

    name: str
    node: Node | None

    def table(self, kind: str) -> Node | None:
        return self.node.children.get(kind) if self.node is not None else None


@dataclass
class PanRule:
    name: str
    node: Node
    section: str  # pre / local / post
    vsys: str
    scopes: tuple[Scope, ...]  # object lookup order


@dataclass
class PanNat:
    name: str
    node: Node
    vsys: str
    scopes: tuple[Scope, ...]


@dataclass
class PanVsys:
    name: str
    node: Node | None
    zones: dict[str, Node] = field(default_factory=dict)


@dataclass
class PanConfig:
    hostname: str
    form: str
    interfaces: dict[str, tuple[Node, list[str]]]  # name → (node, own addresses)
    vsys: dict[str, PanVsys]
    rules: list[PanRule]
    nat: list[PanNat]
    defaults: dict[str, Node]  # intrazone-default / interzone-default overrides
    shared: Node | None = None
    panorama: Node | None = None
    mgmt_profiles: dict[str, Node] = field(default_factory=dict)
    warnings: list[tuple[int, str]] = field(default_factory=list)


def _interfaces(net: Node | None, out: dict[str, tuple[Node, list[str]]]) -> None:
    ifs = net.child("interface") if net is not None else None
    if ifs is None:
        return
    for kind in ("ethernet", "aggregate-ethernet"):
        for name, n in ifs.child(kind).children.items() if ifs.child(kind) else []:
            l3 = n.child("layer3")
            out[name] = (n, l3.names("ip") if l3 else [])
            for sub in ("layer3", "layer2"):
                units = n.child(sub, "units")
                for uname, u in units.children.items() if units is not None else []:
                    out[uname] = (u, u.names("ip"))
    for kind in ("vlan", "loopback", "tunnel"):
        g = ifs.child(kind)
        if g is None:
            continue
        out[kind] = (g, g.names("ip"))
        units = g.child("units")
        for uname, u in units.children.items() if units is not None else []:
            out[uname] = (u, u.names("ip"))


def _rules(rb: Node | None) -> list[tuple[str, Node]]:
    if rb is None:
        return []
    rules = rb.child("security", "rules")
    return list(rules.children.items()) if rules is not None else []


def _nat(rb: Node | None) -> list[tuple[str, Node]]:
    if rb is None:
        return []
    rules = rb.child("nat", "rules")
    return list(rules.children.items()) if rules is not None else []


# keys of the device (not of a vsys); any other key at device level belongs to vsys1
# (a single-vsys firewall shows `set zone …` for `set vsys vsys1 zone …`)
DEVICE_LEVEL = frozenset(
    {
        "deviceconfig",
        "network",
        "vsys",
        "shared",
        "mgt-config",
        "device-group",
        "template",
        "template-stack",
        "policy",
        "readonly",
        "panorama",
        "devices",
        "log-collector",
        "log-collector-group",
        "plugins",
        "config",
        "predefined",
    }
)


def _merge(dst: Node, src: Node) -> None:
    for k, c in src.children.items():
        if k in dst.children:
            _merge(dst.children[k], c)
        else:
            dst.children[k] = c
    dst.values.extend(v for v in src.values if v not in dst.values)


def _device(root: Node) -> Node:
    """The device node with every vsys-level key under ``vsys``: the forms differ in
    which levels they spell out (`config`, `devices localhost.localdomain`, `vsys vsys1`)."""
    top = root.children.get("config")
    if top is not None:
        for k, c in root.children.items():
            if k != "config":
                top.children.setdefault(k, c)
        root = top
    devices = root.child("devices")
    if devices is not None and devices.children:
        dev = next(iter(devices.children.values()))
        for k, c in root.children.items():
            if k not in ("devices", "mgt-config"):
                if k in dev.children:
                    _merge(dev.children[k], c)
                else:
                    dev.children[k] = c
    else:
        dev = root
    local = [k for k in dev.children if k not in DEVICE_LEVEL]
    if local:
        v1 = dev.add("vsys", dev.line).add("vsys1", dev.line)
        for k in local:
            c = dev.children.pop(k)
            if k in v1.children:
                _merge(v1.children[k], c)
            else:
                v1.children[k] = c
    return dev


def read_paloalto(text: str) -> PanConfig:
    tree: Tree = parse_any(text)
    root = _device(tree.root)
    warnings = list(tree.problems)
    shared = Scope("shared", root.child("shared"))
    panorama = Scope("panorama", root.child("policy", "panorama") or root.child("panorama"))
    interfaces: dict[str, tuple[Node, list[str]]] = {}
    vsys: dict[str, PanVsys] = {}
    net = root.child("network")
    profiles = net.child("profiles", "interface-management-profile") if net is not None else None
    mgmt = dict(profiles.children) if profiles is not None else {}
    _interfaces(net, interfaces)
    hostname = root.value("deviceconfig", "system", "hostname")
    vs = root.child("vsys")
    for name, n in vs.children.items() if vs is not None else []:
        vsys[name] = PanVsys(name, n)
    dgs = root.child("device-group")
    for v in vsys.values():
        zn = v.node.child("zone") if v.node is not None else None
        if zn is not None:
            v.zones = dict(zn.children)
    rules: list[PanRule] = []
    nat: list[PanNat] = []
    defaults: dict[str, Node] = {}
    first = next(iter(vsys.values())).name if vsys else "vsys1"
    # Panorama device groups (a Panorama export): the first one is evaluated
    dg_scopes: list[Scope] = []
    dg_node: Node | None = None
    if dgs is not None and dgs.children:
        names = list(dgs.children)
        dg_node = dgs.children[names[0]]
        dg_scopes = [Scope(f"device-group {names[0]}", dg_node)]
        if len(names) > 1:
            warnings.append(
                (
                    dgs.line,
                    Msg(
                        "warn.firewall.paloalto.read.several_device_groups_only_first",
                        name=names[0],
                    ),
                )
            )
    # Panorama rules resolve names in the device group / Panorama namespace, then (as
    # Batfish does) in the vsys they are pushed to, then in shared
    first_vsys = next(iter(vsys.values()), None)
    local = [Scope(first_vsys.name, first_vsys.node)] if first_vsys is not None else []
    pano_chain = (*dg_scopes, panorama, *local, shared)
    pre: list[tuple[str, Node]] = _rules(shared.table("pre-rulebase")) + _rules(
        panorama.table("pre-rulebase")
    )
    post: list[tuple[str, Node]] = _rules(panorama.table("post-rulebase")) + _rules(
        shared.table("post-rulebase")
    )
    if dg_node is not None:
        pre += _rules(dg_node.child("pre-rulebase"))
        post = _rules(dg_node.child("post-rulebase")) + post
    for name, n in pre:
        rules.append(PanRule(name, n, "pre", first, pano_chain))
    pre_nat = _nat(shared.table("pre-rulebase")) + _nat(panorama.table("pre-rulebase"))
    post_nat = _nat(panorama.table("post-rulebase")) + _nat(shared.table("post-rulebase"))
    if dg_node is not None:
        pre_nat += _nat(dg_node.child("pre-rulebase"))
        post_nat = _nat(dg_node.child("post-rulebase")) + post_nat
    for name, n in pre_nat:  # NAT rules: Panorama pre, vsys, Panorama post
        nat.append(PanNat(name, n, first, pano_chain))
    for v in vsys.values():
        rb = v.node.child("rulebase") if v.node is not None else None
        chain = (Scope(v.name, v.node), panorama, shared)  # pushed objects are visible too
        for name, n in _rules(rb):
            rules.append(PanRule(name, n, "local", v.name, chain))
        for name, n in _nat(rb):
            nat.append(PanNat(name, n, v.name, chain))
        d = rb.child("default-security-rules", "rules") if rb is not None else None
        if d is not None:
            defaults.update(d.children)
        for key, sect in rb.children.items() if rb is not None else []:
            if (
                key in RULEBASE_UNMODELLED
                and sect.child("rules") is not None
                and sect.child("rules").children
            ):
                warnings.append(
                    (
                        sect.line,
                        Msg(
                            "warn.firewall.paloalto.read.rulebase_not_modelled",
                            what=RULEBASE_UNMODELLED[key],
                            key_=key,
                        ),
                    )
                )
            elif key not in RULEBASE_KNOWN and key not in RULEBASE_UNMODELLED:
                warnings.append(
                    (
                        sect.line,
                        Msg(
                            "warn.firewall.paloalto.read.rulebase_section_not_understood", key_=key
                        ),
                    )
                )
    for name, n in post:
        rules.append(PanRule(name, n, "post", first, pano_chain))
    for name, n in post_nat:
        nat.append(PanNat(name, n, first, pano_chain))
    for src in (shared, panorama):
        d = src.table("post-rulebase")
        d = d.child("default-security-rules", "rules") if d is not None else None
        if d is not None:
            defaults.update(d.children)
    return PanConfig(
        hostname,
        tree.form,
        interfaces,
        vsys,
        rules,
        nat,
        defaults,
        shared=shared.node,
        panorama=panorama.node,
        mgmt_profiles=mgmt,
        warnings=warnings,
    )
