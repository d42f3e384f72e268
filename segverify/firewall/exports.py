"""Several exports at once, each bound to its firewall node (``--device NODE=FILE``)."""

from __future__ import annotations

from segverify.errors import InputError
from segverify.firewall.bind import bind_device
from segverify.firewall.ir import Device, Interfaces, walk
from segverify.firewall.registry import load_device
from segverify.i18n import Msg
from segverify.topology.model import Topology


def parse_device_specs(specs: tuple[str, ...]) -> list[tuple[str, str]]:
    """``("fw-inet=fgt.conf", …)`` → ``[("fw-inet", "fgt.conf"), …]``."""
    out: list[tuple[str, str]] = []
    for spec in specs:
        node, sep, path = spec.partition("=")
        if not sep or not node or not path:
            raise InputError(Msg("error.firewall.exports.device_give_node_export_file", spec=spec))
        if any(n == node for n, _ in out):
            raise InputError(Msg("error.firewall.exports.device_given_twice", node=node))
        out.append((node, path))
    return out


def _names(dev: Device) -> set[str]:
    names = set(dev.interfaces)
    for rule in dev.rules:
        for e in walk(rule.match):
            if isinstance(e, Interfaces):
                names |= set(e.names)
    for stage in dev.stages:
        if stage.scope.interface:
            names.add(stage.scope.interface)
    for z in dev.zones.values():
        names |= set(z.interfaces)
    return names


def load_exports(
    specs: list[tuple[str, str]],
    topology: Topology,
    vendor: str | None = None,
    interface_map: dict[str, str] | None = None,
) -> dict[str, Device]:
    """Parse each export and bind it to its node. ``interface_map`` is shared: each export
    takes the entries naming its own interfaces."""
    out: dict[str, Device] = {}
    for node, path in specs:
        dev = load_device(path, vendor)
        names = _names(dev)
        mine = {k: v for k, v in (interface_map or {}).items() if k in names}
        out[node] = bind_device(dev, topology, node, mine)
    return out
