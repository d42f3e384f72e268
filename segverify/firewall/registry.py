"""Entry points: ``load_device`` (any registered format → bound ``Device``, what the CLI
uses) and the netfilter-model ``parse_export`` (→ ``Ruleset``, for nft compilation)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import replace

from segverify.errors import InputError
from segverify.firewall.bind import bind_device, firewall_node
from segverify.firewall.ipset import IpSet, parse_ipset_file
from segverify.firewall.ir import Device, ParseContext
from segverify.firewall.match import iface_matches
from segverify.firewall.model import Rule, Ruleset, evolve
from segverify.firewall.source import read_text
from segverify.gcpause import gc_paused
from segverify.i18n import Msg
from segverify.topology.model import Location, Node, Topology

VENDORS = ("iptables", "ip6tables", "nft-json", "nft", "csv")
ALIASES = {
    "iptables-save": "iptables",
    "ip6tables-save": "ip6tables",
    "nftables-json": "nft-json",
    "nft_json": "nft-json",
    "json": "nft-json",
    "nftables": "nft",
    "nft-text": "nft",
}


def normalise_vendor(vendor: str) -> str:
    v = ALIASES.get(vendor.lower(), vendor.lower())
    if v not in VENDORS:
        raise InputError(
            Msg(
                "error.firewall.registry.unknown_vendor_one",
                vendor=vendor,
                vendors=", ".join(VENDORS),
            )
        )
    return v


def sniff(text: str, file: str = "<string>") -> str:
    """The export format from the content (see docs/firewall-formats.md)."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InputError(
                Msg("error.firewall.registry.looks_like_json_but_not", reason=exc.msg),
                file,
                exc.lineno,
            ) from None
        except RecursionError:
            raise InputError(Msg("error.common.json_nested_too_deeply"), file) from None
        if isinstance(doc, dict) and "nftables" in doc:
            return "nft-json"
        raise InputError(Msg("error.firewall.registry.json_without_nftables_array_not"), file, 1)
    if re.search(r"(?m)^\s*\*(filter|mangle|raw|nat|security)\s*$", text):
        return "iptables"
    if re.search(r"(?m)^\s*table\s+(ip|ip6|inet|arp|bridge|netdev)\s+\S+\s*\{", text):
        return "nft"
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        cols = {c.strip().lower() for c in s.split(",")}
        if "action" in cols and ({"src", "dst"} & cols or "dport" in cols):
            return "csv"
        break
    raise InputError(
        Msg("error.firewall.registry.cannot_tell_export_format_iptables"),
        file,
    )


def parse_export(
    path: str,
    vendor: str | None = None,
    topology: Topology | None = None,
    device: str | None = None,
    ipset_file: str | None = None,
) -> Ruleset:
    """Parse one firewall export into a ``Ruleset``; vendor sniffed when not given."""
    text = read_text(path)
    return parse_text(text, path, vendor, topology, device, ipset_file)


@gc_paused
def parse_text(
    text: str,
    file: str = "<string>",
    vendor: str | None = None,
    topology: Topology | None = None,
    device: str | None = None,
    ipset_file: str | None = None,
) -> Ruleset:
    from segverify.firewall import csv_export, iptables, nftables_json, nftables_text

    v = normalise_vendor(vendor) if vendor else sniff(text, file)
    ipsets: dict[str, IpSet] | None = parse_ipset_file(ipset_file) if ipset_file else None
    parsers: dict[str, Callable[[], Ruleset]] = {
        "iptables": lambda: iptables.parse_iptables(text, file, None, ipsets),
        "ip6tables": lambda: iptables.parse_iptables(text, file, 6, ipsets),
        "nft-json": lambda: nftables_json.parse_nft_json(text, file),
        "nft": lambda: nftables_text.parse_nft_text(text, file),
        "csv": lambda: csv_export.parse_csv(text, file),
    }
    if ipsets is not None and v not in ("iptables", "ip6tables"):
        raise InputError(
            Msg("error.firewall.registry.ipset_applies_iptables_exports_only"), ipset_file
        )
    ruleset = parsers[v]()
    if device and ruleset.device and device != ruleset.device:
        raise InputError(
            Msg("error.common.export_device_not", device=ruleset.device, node=device), file
        )
    if topology is not None:
        return bind_topology(ruleset, topology, device or ruleset.device or None)
    if device:
        ruleset.device = device
    elif not ruleset.device:
        ruleset.device = os.path.splitext(os.path.basename(file))[0]
    return ruleset


def _zones(
    node: Node, names: tuple[str, ...] | None, exc: tuple[str, ...]
) -> tuple[str, ...] | None:
    if names is None and not exc:
        return None
    zones: list[str] = []
    for iface in node.interfaces:
        if names is not None and not any(iface_matches(p, iface.name) for p in names):
            continue
        if any(iface_matches(p, iface.name) for p in exc):
            continue
        if iface.zone not in zones:
            zones.append(iface.zone)
    return tuple(zones)


def bind_topology(ruleset: Ruleset, topology: Topology, device: str | None = None) -> Ruleset:
    """Map interface names to the firewall node's zones (``Rule.in_zones``/``out_zones``)."""
    node = firewall_node(topology, device)
    if ruleset.device and device is None and ruleset.device != node.id and ruleset.vendor == "csv":
        # a CSV names its device; it must be the node we bind to
        raise InputError(
            Msg(
                "error.common.export_device_topology_firewall", device=ruleset.device, node=node.id
            ),
            ruleset.source,
        )
    ruleset.device = node.id
    ruleset.interfaces = {i.name: i.zone for i in node.interfaces}
    known = [i.name for i in node.interfaces]
    checked: set[str] = set()  # patterns looked up (an unknown one is reported once)
    memo: dict[tuple, tuple[str, ...] | None] = {}

    def zones(names: tuple[str, ...] | None, exc: tuple[str, ...]) -> tuple[str, ...] | None:
        key = (names, exc)
        if key not in memo:
            memo[key] = _zones(node, names, exc)
        return memo[key]

    stages = []
    for stage in ruleset.stages:
        rules: list[Rule] = []
        for r in stage.rules:
            pats = (r.in_interfaces or ()) + r.in_interfaces_except
            pats += (r.out_interfaces or ()) + r.out_interfaces_except
            for p in pats:
                if p in checked:
                    continue
                checked.add(p)
                if not any(iface_matches(p, k) for k in known):
                    ruleset.warnings.append(
                        (
                            r.location,
                            Msg(
                                "warn.firewall.registry.interface_not_interface_topology",
                                name=p,
                                node=node.id,
                            ),
                        )
                    )
            names, exc = r.in_interfaces, r.in_interfaces_except
            if r.in_interfaces_negated:
                names, exc = None, (names or ())
            onames, oexc = r.out_interfaces, r.out_interfaces_except
            if r.out_interfaces_negated:
                onames, oexc = None, (onames or ())
            in_zones = zones(names, exc) if names is not None or exc else r.in_zones
            out_zones = zones(onames, oexc) if onames is not None or oexc else r.out_zones
            rules.append(evolve(r, in_zones=in_zones, out_zones=out_zones))
        stages.append(replace(stage, rules=tuple(rules)))
    ruleset.stages = stages
    return ruleset


def warning_location(file: str, line: int | None) -> Location | None:
    return Location(file, line) if line else None


# ---------------------------------------------------------------- the device model entry point


def load_device(
    path: str,
    vendor: str | None = None,
    topology: Topology | None = None,
    device: str | None = None,
    ipset_file: str | None = None,
    interface_map: dict[str, str] | None = None,
) -> Device:
    """Parse one export (any registered format) into a ``Device``, bound to the topology
    when one is given."""
    return device_from_text(
        read_text(path), path, vendor, topology, device, ipset_file, interface_map
    )


@gc_paused
def device_from_text(
    text: str,
    file: str = "<string>",
    vendor: str | None = None,
    topology: Topology | None = None,
    device: str | None = None,
    ipset_file: str | None = None,
    interface_map: dict[str, str] | None = None,
) -> Device:
    from segverify.firewall.formats import AUTO, get_format, sniff_format

    if vendor is None or vendor.lower() == AUTO:
        try:
            fmt = sniff_format(text, file)
        except InputError:
            sniff(text, file)  # the netfilter sniffer's more specific message, if it has one
            raise
    else:
        fmt = get_format(vendor)
    options: dict[str, object] = {}
    if ipset_file:
        if "ipsets" not in fmt.options:
            raise InputError(
                Msg("error.firewall.registry.ipset_applies_iptables_exports_only"), ipset_file
            )
        options["ipsets"] = parse_ipset_file(ipset_file)
    dev = fmt.parse(text, ParseContext(file, options))
    if device and dev.name and device != dev.name and topology is None:
        raise InputError(Msg("error.common.export_device_not", device=dev.name, node=device), file)
    if topology is not None:
        return bind_device(dev, topology, device, interface_map)
    if device:
        dev.name = device
    elif not dev.name:
        dev.name = os.path.splitext(os.path.basename(file))[0]
    return dev
