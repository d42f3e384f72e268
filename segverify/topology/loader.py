"""Topology YAML → normalised ``Topology``: schema check, then semantic build.

Every error is an ``InputError`` with file:line:column and the path of the bad value,
e.g. ``zones.lgwan.prefixes[2]: 10.0.0.0/33 is not a prefix``.
"""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path as FsPath
from typing import Any

import jsonschema
import yaml

from segverify.errors import InputError
from segverify.i18n import Msg, message_of
from segverify.limits import TOPOLOGY_MAX_BYTES, read_text_bounded
from segverify.topology.model import (
    DEFAULT_ZONE_ID,
    AllowRule,
    Contract,
    Interface,
    IPNetwork,
    Link,
    Location,
    Node,
    Policy,
    Selector,
    ServiceSpec,
    TierRule,
    Topology,
    Zone,
)
from segverify.topology.services import (
    ServiceCatalogue,
    ServiceError,
    load_catalogue,
    spec_from_mapping,
)
from segverify.topology.yamlsrc import Located, Path, format_path, load_located

DEFAULT_MANUAL_ITEMS = ("manual.terminal", "manual.edr", "manual.physical")


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    text = resources.files("segverify.data").joinpath("topology.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def models_data() -> dict[str, Any]:
    text = resources.files("segverify.data").joinpath("models.yaml").read_text("utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506


def load_topology(path: str | FsPath) -> Topology:
    """Read and validate a topology file (at most ``limits.TOPOLOGY_MAX_BYTES``)."""
    file = str(path)
    text = read_text_bounded(file, TOPOLOGY_MAX_BYTES, "topology")
    return parse_topology(text, file)


def parse_topology(text: str, file: str = "<string>") -> Topology:
    doc = load_located(text, file)
    if not isinstance(doc.data, dict):
        raise InputError(Msg("error.topology.loader.topology_must_yaml_mapping"), file, 1, 1)
    _validate_schema(doc)
    return _Builder(doc, load_catalogue()).build()


def _validate_schema(doc: Located) -> None:
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(doc.data), key=_error_order)
    if not errors:
        return
    err = _most_specific(errors[0])
    path = tuple(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})), key=str)
        if extra:  # point at the first unknown key, not at its mapping
            line, col = doc.where((*path, extra[0]))
            raise InputError(
                Msg(
                    "error.at_path",
                    path=format_path(path) or "document",
                    message=_describe_schema_error(err),
                ),
                doc.file,
                line,
                col,
            )
    raise doc.error(path, _describe_schema_error(err))


def _error_order(err: jsonschema.ValidationError) -> tuple[int, int]:
    return (-len(err.absolute_path), 0)


def _most_specific(err: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For oneOf/anyOf failures, descend into the branch that got furthest."""
    while err.context:
        err = max(err.context, key=lambda e: (len(e.absolute_path), e.validator != "type"))
    return err


def _describe_schema_error(err: jsonschema.ValidationError) -> str:
    value = err.instance
    if err.validator == "enum":
        allowed = ", ".join(str(v) for v in err.validator_value)
        field = err.absolute_path[-1] if err.absolute_path else "value"
        return Msg("error.schema.enum", field=field, value=value, allowed=allowed)
    if err.validator == "required":
        missing = [k for k in err.validator_value if not isinstance(value, dict) or k not in value]
        if missing:
            return Msg("error.schema.required", name=missing[0])
        return err.message.replace("is a required property", "is required")
    if err.validator == "additionalProperties":
        extra = sorted(set(value) - set(err.schema.get("properties", {})), key=str)
        return Msg("error.schema.unknown_keys", keys=", ".join(map(str, extra)))
    if err.validator == "type":
        return Msg("error.schema.type", value=value, expected=str(err.validator_value))
    if err.validator == "pattern":
        return Msg("error.schema.pattern", value=value, pattern=err.validator_value)
    if err.validator == "const":
        return Msg("error.schema.const", expected=err.validator_value, value=value)
    if err.validator == "oneOf" and isinstance(value, dict) and "zone" in value:
        return Msg("error.schema.zone_or_interfaces_not_both")
    if err.validator == "oneOf":
        return Msg("error.schema.zone_or_interfaces")
    if err.validator in ("minItems", "minProperties") and err.validator_value == 1:
        return Msg("error.schema.empty", value=value)
    return err.message


def parse_network(text: Any) -> IPNetwork:
    """A prefix, a host address, or an interface address (host bits kept as the host)."""
    if not isinstance(text, str):
        raise ValueError(Msg("error.topology.loader.not_prefix", text=text))
    try:
        return ipaddress.ip_network(text.strip(), strict=True)
    except ValueError:
        pass
    try:
        iface = ipaddress.ip_interface(text.strip())
    except ValueError:
        raise ValueError(Msg("error.topology.loader.not_prefix_2", text=text)) from None
    return ipaddress.ip_network(iface.ip)


def parse_prefix(text: Any) -> IPNetwork:
    """A zone prefix: strict, host bits must be zero."""
    if not isinstance(text, str):
        raise ValueError(Msg("error.topology.loader.not_prefix", text=text))
    try:
        return ipaddress.ip_network(text.strip(), strict=True)
    except ValueError:
        try:
            iface = ipaddress.ip_interface(text.strip())
        except ValueError:
            raise ValueError(Msg("error.topology.loader.not_prefix_2", text=text)) from None
        raise ValueError(
            Msg("error.topology.loader.has_host_bits_set_did", text=text, network=iface.network)
        ) from None


class _Builder:
    def __init__(self, doc: Located, catalogue: ServiceCatalogue) -> None:
        self.doc = doc
        self.data: dict[str, Any] = doc.data
        self.catalogue = catalogue

    def loc(self, path: Path) -> Location:
        line, col = self.doc.where(path)
        return Location(self.doc.file, line or 1, col or 1)

    def err(self, path: Path, message: str) -> InputError:
        return self.doc.error(path, message)

    def build(self) -> Topology:
        zones = self._zones()
        nodes = self._nodes(zones)
        clash = sorted(set(zones) & set(nodes))
        if clash:
            raise self.err(
                ("nodes", clash[0]), Msg("error.topology.loader.id_used_zone_node", name=clash[0])
            )
        links = self._links(zones, nodes)
        policy = self._policy(zones, nodes)
        return Topology(
            name=str(self.data.get("name", FsPath(self.doc.file).stem)),
            source=self.doc.file,
            zones=zones,
            nodes=nodes,
            links=links,
            policy=policy,
            organisation=str(self.data.get("organisation", "")),
            prefecture=str(self.data.get("prefecture", "")),
            manual_items=tuple(self.data.get("manual_items", DEFAULT_MANUAL_ITEMS)),
        )

    def _zones(self) -> dict[str, Zone]:
        zones: dict[str, Zone] = {}
        for zid, raw in self.data["zones"].items():
            prefixes = []
            for i, text in enumerate(raw.get("prefixes", []) or []):
                try:
                    prefixes.append(parse_prefix(text))
                except ValueError as exc:
                    raise self.err(("zones", zid, "prefixes", i), message_of(exc)) from None
            zones[zid] = Zone(
                id=zid,
                tier=raw["tier"],
                prefixes=tuple(prefixes),
                vlans=tuple(raw.get("vlans", []) or []),
                name=str(raw.get("name", "")),
                location=self.loc(("zones", zid)),
            )
        if not any(z.tier == "internet" for z in zones.values()):
            if DEFAULT_ZONE_ID in zones:
                raise self.err(
                    ("zones", DEFAULT_ZONE_ID),
                    Msg("error.topology.loader.zone_id_internet_must_have"),
                )
            zones[DEFAULT_ZONE_ID] = Zone(DEFAULT_ZONE_ID, "internet", (), (), "internet", True)
        return zones

    def _addresses(self, values: list[Any], path: Path) -> tuple[IPNetwork, ...]:
        out = []
        for i, text in enumerate(values or []):
            try:
                out.append(parse_network(text))
            except ValueError as exc:
                raise self.err((*path, i), message_of(exc)) from None
        return tuple(out)

    def _check_aliases(self, interfaces: list[Interface], base: Path) -> None:
        """Each name (interface or alias) of a node names one interface."""
        owner: dict[str, str] = {i.name: i.name for i in interfaces}
        for i in interfaces:
            for k, alias in enumerate(i.aliases):
                if owner.get(alias, i.name) != i.name:
                    raise self.err(
                        (*base, "interfaces", i.name, "aliases", k),
                        Msg(
                            "error.topology.loader.alias_taken",
                            alias=alias,
                            iface=owner[alias],
                        ),
                    )
                owner[alias] = i.name

    def _nodes(self, zones: dict[str, Zone]) -> dict[str, Node]:
        nodes: dict[str, Node] = {}
        for nid, raw in (self.data.get("nodes") or {}).items():
            base: Path = ("nodes", nid)
            interfaces: list[Interface] = []
            if "interfaces" in raw:
                for iname, iraw in raw["interfaces"].items():
                    ipath = (*base, "interfaces", iname)
                    if iraw["zone"] not in zones:
                        raise self.err(
                            (*ipath, "zone"),
                            Msg("error.topology.loader.unknown_zone", name=iraw["zone"]),
                        )
                    addrs = self._addresses(iraw.get("addresses", []), (*ipath, "addresses"))
                    aliases = tuple(str(a) for a in iraw.get("aliases", []))
                    interfaces.append(Interface(str(iname), iraw["zone"], addrs, aliases))
                self._check_aliases(interfaces, base)
            else:
                if raw["zone"] not in zones:
                    raise self.err(
                        (*base, "zone"), Msg("error.topology.loader.unknown_zone", name=raw["zone"])
                    )
                addrs = self._addresses(raw.get("addresses", []), (*base, "addresses"))
                interfaces.append(Interface("", raw["zone"], addrs))
            if raw["role"] == "firewall" and len(interfaces) < 2:
                raise self.err(
                    (*base, "interfaces"),
                    Msg("error.topology.loader.firewall_needs_interfaces_least_two"),
                )
            nodes[nid] = Node(
                id=nid,
                role=raw["role"],
                interfaces=tuple(interfaces),
                mac=raw.get("mac"),
                name=str(raw.get("name", "")),
                location=self.loc(base),
            )
        return nodes

    def _links(self, zones: dict[str, Zone], nodes: dict[str, Node]) -> tuple[Link, ...]:
        links = []
        for i, raw in enumerate(self.data.get("links", []) or []):
            ends = raw if isinstance(raw, list) else raw["between"]
            for j, end in enumerate(ends):
                if end not in zones and end not in nodes:
                    sub = (i, j) if isinstance(raw, list) else (i, "between", j)
                    raise self.err(
                        ("links", *sub), Msg("error.topology.loader.unknown_zone_node", name=end)
                    )
            name = "" if isinstance(raw, list) else str(raw.get("name", ""))
            links.append(Link(ends[0], ends[1], name, self.loc(("links", i))))
        return tuple(links)

    def _services(
        self, values: list[Any], path: Path
    ) -> tuple[tuple[ServiceSpec, ...], tuple[str, ...]]:
        specs: list[ServiceSpec] = []
        names: list[str] = []
        for i, value in enumerate(values):
            try:
                if isinstance(value, str):
                    specs.extend(self.catalogue.resolve(value))
                    names.append(value)
                else:
                    spec = spec_from_mapping(value)
                    specs.append(spec)
                    ports = ",".join(str(p) for p in spec.ports)
                    names.append(f"{spec.proto_name}/{ports}" if ports else spec.proto_name)
            except ServiceError as exc:
                raise self.err((*path, i), message_of(exc)) from None
        return tuple(specs), tuple(names)

    def _selector(
        self, raw: dict[str, Any], path: Path, zones: dict[str, Zone], nodes: dict[str, Node]
    ) -> Selector:
        if "zone" in raw and raw["zone"] not in zones:
            raise self.err(
                (*path, "zone"), Msg("error.topology.loader.unknown_zone", name=raw["zone"])
            )
        if "node" in raw and raw["node"] not in nodes:
            raise self.err(
                (*path, "node"), Msg("error.topology.loader.unknown_node", name=raw["node"])
            )
        prefixes: tuple[IPNetwork, ...] = ()
        if "prefix" in raw:
            values = raw["prefix"] if isinstance(raw["prefix"], list) else [raw["prefix"]]
            sub = (*path, "prefix")
            out = []
            for i, text in enumerate(values):
                try:
                    out.append(parse_prefix(text))
                except ValueError as exc:
                    raise self.err(
                        sub if not isinstance(raw["prefix"], list) else (*sub, i), message_of(exc)
                    ) from None
            prefixes = tuple(out)
        return Selector(
            raw.get("zone"), raw.get("tier"), raw.get("node"), raw.get("role"), prefixes
        )

    def _policy(self, zones: dict[str, Zone], nodes: dict[str, Node]) -> Policy:
        mdata = models_data()
        model_name = self.data["model"]
        model = mdata["models"][model_name]
        file_clauses = self.data.get("clauses", {}) or {}
        switches = self.data.get("rules", {}) or {}
        rules = {
            rid: TierRule(
                id=rid,
                title_en=r["title"]["en"],
                title_ja=r["title"]["ja"],
                guideline=tuple(r.get("guideline", [])),
                clauses=tuple(file_clauses.get(rid, [])),
                enforced=bool(switches.get(rid, rid in model["enforced"])),
            )
            for rid, r in mdata["rules"].items()
        }
        fqdn_allow = tuple(
            str(f).lower().rstrip(".")
            for f in (self.data.get("policy") or {}).get("fqdn_allow", []) or []
        )
        allow: list[AllowRule] = []
        for raw in _flatten(model["builtin"]):
            rid = raw["rule"]
            specs, names = self._services(raw["services"], ())
            allow.append(
                AllowRule(
                    id=raw["id"],
                    src=Selector(**raw["from"]),
                    dst=Selector(**raw["to"]),
                    services=specs,
                    service_names=names,
                    rule=rid,
                    fqdns=fqdn_allow if raw.get("fqdn_required") else (),
                    fqdn_required=bool(raw.get("fqdn_required")),
                    justification=raw["justification"]["en"],
                    justification_ja=raw["justification"]["ja"],
                    clauses=rules[rid].clauses + rules[rid].guideline,
                    origin="model",
                )
            )
        seen_ids = {r.id for r in allow}
        for i, raw in enumerate((self.data.get("policy") or {}).get("allow", []) or []):
            path: Path = ("policy", "allow", i)
            if raw["id"] in seen_ids:
                raise self.err(
                    (*path, "id"),
                    Msg("error.topology.loader.duplicate_allow_rule_id", rule=raw["id"]),
                )
            seen_ids.add(raw["id"])
            src = self._selector(raw["from"], (*path, "from"), zones, nodes)
            dst = self._selector(raw["to"], (*path, "to"), zones, nodes)
            specs, names = self._services(raw["services"], (*path, "services"))
            via = raw.get("via", [])
            via = (via,) if isinstance(via, str) else tuple(via)
            for j, v in enumerate(via):
                if v not in nodes:
                    raise self.err(
                        (*path, "via", j)
                        if "via" in raw and isinstance(raw["via"], list)
                        else (*path, "via"),
                        Msg("error.topology.loader.unknown_node", name=v),
                    )
            allow.append(
                AllowRule(
                    id=raw["id"],
                    src=src,
                    dst=dst,
                    services=specs,
                    service_names=names,
                    rule=raw.get("rule"),
                    via=via,
                    fqdns=tuple(str(f).lower().rstrip(".") for f in raw.get("fqdns", []) or []),
                    justification=raw["justification"],
                    clauses=tuple(raw.get("clauses", []) or []),
                    origin="file",
                    location=self.loc(path),
                )
            )
        contracts = []
        for c in model["contract"]:
            specs, names = self._services(c.get("services", []), ())
            contracts.append(
                Contract(c["from"], c["to"], c["kind"], tuple(c.get("roles", [])), specs, names)
            )
        pair_rules = tuple((p["a"], p["b"], p["rule"]) for p in mdata["pair_rules"])
        return Policy(model_name, rules, tuple(allow), tuple(contracts), pair_rules, fqdn_allow)


def _flatten(items: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, list):
            out.extend(_flatten(item))
        else:
            out.append(item)
    return out


__all__ = ["load_topology", "parse_topology", "parse_network", "parse_prefix", "format_path"]
