"""Service names (``rdp``, ``smtp``, ``display``…) → protocol and port ranges, from data/services.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from segverify.i18n import Msg
from segverify.topology.model import PROTO_NUMBERS, PortRange, ServiceSpec


class ServiceError(ValueError):
    """A service name or port spec that cannot be understood."""


@dataclass(frozen=True)
class ServiceCatalogue:
    services: dict[str, tuple[ServiceSpec, ...]]
    groups: dict[str, tuple[str, ...]]

    def names(self) -> list[str]:
        return sorted(set(self.services) | set(self.groups))

    def resolve(self, name: str, _seen: tuple[str, ...] = ()) -> tuple[ServiceSpec, ...]:
        if name in _seen:
            raise ServiceError(
                Msg(
                    "error.topology.services.service_group_cycle", cycle=" -> ".join((*_seen, name))
                )
            )
        if name in self.services:
            return self.services[name]
        if name in self.groups:
            out: list[ServiceSpec] = []
            for member in self.groups[name]:
                out.extend(self.resolve(member, (*_seen, name)))
            return tuple(out)
        raise ServiceError(
            Msg(
                "error.topology.services.unknown_service_known",
                name=name,
                names=", ".join(self.names()),
            )
        )


def parse_proto(value: Any) -> int | None:
    if value == "any" or value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 255:
        return value
    if isinstance(value, str) and value.lower() in PROTO_NUMBERS:
        return PROTO_NUMBERS[value.lower()]
    raise ServiceError(Msg("error.topology.services.not_protocol", value=value))


def parse_ports(values: list[Any]) -> tuple[PortRange, ...]:
    out = []
    for value in values:
        text = str(value).strip()
        lo_s, sep, hi_s = text.partition("-")
        try:
            lo = int(lo_s)
            hi = int(hi_s) if sep else lo
        except ValueError:
            raise ServiceError(
                Msg("error.topology.services.not_port_port_range", value=value)
            ) from None
        if not (0 <= lo <= hi <= 65535):
            raise ServiceError(Msg("error.topology.services.not_port_range_within_0", value=value))
        out.append(PortRange(lo, hi))
    return tuple(out)


def spec_from_mapping(entry: dict[str, Any], name: str = "") -> ServiceSpec:
    proto = parse_proto(entry.get("proto", "any"))
    ports = parse_ports(list(entry.get("ports", []) or []))
    if ports and proto not in (6, 17, 132):
        raise ServiceError(
            Msg("error.topology.services.ports_given_protocol_which_has", proto=entry.get("proto"))
        )
    return ServiceSpec(proto=proto, ports=ports, name=name)


def load_catalogue(text: str | None = None) -> ServiceCatalogue:
    """Load the service catalogue (the packaged one unless ``text`` is given)."""
    if text is None:
        text = resources.files("segverify.data").joinpath("services.yaml").read_text("utf-8")
    raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    services = {
        name: tuple(spec_from_mapping(e, name) for e in entries)
        for name, entries in (raw.get("services") or {}).items()
    }
    groups = {name: tuple(members) for name, members in (raw.get("groups") or {}).items()}
    return ServiceCatalogue(services, groups)
