"""Traffic profiles: which lab host talks to which, on what application, with what name.

A profile is YAML::

    segverify-lab: 1
    name: alpha-violations
    topology: alpha.yaml            # lab topology, relative to this file
    flows:
      - id: mynumber-to-internet
        from: atena-server          # lab host id: a node id or <zone>-host
        to: internet-host
        app: tls                    # see APPS
        name: www.example.com       # SNI / Host / DNS name (optional)
        expect: forbidden           # the policy verdict the flow is meant to exercise
        rule: R1                    # optional: the tier rule it exercises

``from_zone``/``to_zone`` pick the address of a multi-zone host (the sanitiser has one in
each zone); ``port`` and ``proto`` override the application's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from segverify.errors import InputError
from segverify.i18n import Msg
from segverify.topology.model import PROTO_NUMBERS
from segverify.topology.yamlsrc import Located, load_located

# application -> (protocol, default port); the agent speaks a few bytes of each
APPS: dict[str, tuple[str, int]] = {
    "smtp": ("tcp", 25),
    "submission": ("tcp", 587),
    "dns": ("udp", 53),
    "tls": ("tcp", 443),
    "http": ("tcp", 80),
    "proxy": ("tcp", 8080),
    "rdp": ("tcp", 3389),
    "ica": ("tcp", 1494),
    "smb": ("tcp", 445),
    "ssh": ("tcp", 22),
    "tcp": ("tcp", 9000),
    "udp": ("udp", 9000),
    "icmp": ("icmp", 0),
}
NAMED_APPS = ("dns", "tls", "http", "proxy")  # the name is visible on the wire
EXPECT = ("allowed", "forbidden")
FLOW_KEYS = {
    "id",
    "from",
    "to",
    "from_zone",
    "to_zone",
    "app",
    "port",
    "proto",
    "name",
    "expect",
    "rule",
    "description",
}


@dataclass(frozen=True)
class FlowSpec:
    id: str
    src_host: str
    dst_host: str
    app: str
    proto: str  # tcp | udp | icmp
    dport: int | None  # None for ICMP
    name: str = ""
    src_zone: str | None = None
    dst_zone: str | None = None
    expect: str | None = None
    rule: str | None = None
    description: str = ""

    @property
    def proto_number(self) -> int:
        return PROTO_NUMBERS[self.proto]

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,) if self.name and self.app in NAMED_APPS else ()


@dataclass(frozen=True)
class Profile:
    name: str
    source: str
    topology: Path  # the lab topology it is written for
    flows: tuple[FlowSpec, ...]
    description: str = ""


def load_profile(path: str | Path) -> Profile:
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(Msg("error.no_such_file"), file) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(Msg("error.cannot_read", reason=exc), file) from None
    doc = load_located(text, file)
    return _build(doc, Path(path))


def _build(doc: Located, path: Path) -> Profile:
    data = doc.data
    if not isinstance(data, dict):
        raise doc.error((), Msg("error.lab.profile.traffic_profile_must_yaml_mapping"))
    if data.get("segverify-lab") != 1:
        raise doc.error(("segverify-lab",), Msg("error.lab.profile.expected_segverify_lab_1"))
    for key in ("name", "topology", "flows"):
        if key not in data:
            raise doc.error((), Msg("error.lab.profile.missing_key", name=key))
    if not isinstance(data["flows"], list) or not data["flows"]:
        raise doc.error(("flows",), Msg("error.lab.profile.flows_must_non_empty_list"))
    flows: list[FlowSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["flows"]):
        flows.append(_flow(doc, i, raw, seen))
    return Profile(
        name=str(data["name"]),
        source=str(path),
        topology=(path.parent / str(data["topology"])).resolve(),
        flows=tuple(flows),
        description=str(data.get("description", "")),
    )


def _flow(doc: Located, i: int, raw: object, seen: set[str]) -> FlowSpec:
    base = ("flows", i)
    if not isinstance(raw, dict):
        raise doc.error(base, Msg("error.lab.profile.flow_must_mapping"))
    unknown = set(raw) - FLOW_KEYS
    if unknown:
        raise doc.error(base, Msg("error.lab.profile.unknown_key", name=sorted(unknown)[0]))
    for key in ("id", "from", "to", "app"):
        if key not in raw:
            raise doc.error(base, Msg("error.lab.profile.missing_key", name=key))
    fid = str(raw["id"])
    if fid in seen:
        raise doc.error((*base, "id"), Msg("error.lab.profile.duplicate_flow_id", fid=fid))
    seen.add(fid)
    app = str(raw["app"])
    if app not in APPS:
        raise doc.error(
            (*base, "app"), Msg("error.lab.profile.unknown_app_one", app=app, apps=", ".join(APPS))
        )
    proto, port = APPS[app]
    if "proto" in raw:
        proto = str(raw["proto"])
        if proto not in ("tcp", "udp", "icmp"):
            raise doc.error((*base, "proto"), Msg("error.lab.profile.proto_must_tcp_udp_icmp"))
        if (proto == "icmp") != (app == "icmp"):
            raise doc.error(
                (*base, "proto"), Msg("error.lab.profile.app_cannot_run_over", app=app, proto=proto)
            )
    if "port" in raw:
        port = raw["port"]
        if not isinstance(port, int) or not 1 <= port <= 65535:
            raise doc.error((*base, "port"), Msg("error.lab.profile.port_must_integer_1_65535"))
    expect = raw.get("expect")
    if expect is not None and expect not in EXPECT:
        raise doc.error((*base, "expect"), Msg("error.lab.profile.expect_must_allowed_forbidden"))
    return FlowSpec(
        id=fid,
        src_host=str(raw["from"]),
        dst_host=str(raw["to"]),
        app=app,
        proto=proto,
        dport=None if proto == "icmp" else int(port),
        name=str(raw.get("name", "")),
        src_zone=raw.get("from_zone"),
        dst_zone=raw.get("to_zone"),
        expect=expect,
        rule=raw.get("rule"),
        description=str(raw.get("description", "")),
    )
