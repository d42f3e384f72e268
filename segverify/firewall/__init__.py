"""Firewall exports → the vendor-independent ``Ruleset`` (one parser module per format)."""

from segverify.firewall.dump import dump
from segverify.firewall.model import (
    ACTIONS,
    CT_STATES,
    AddressSet,
    PortSet,
    Rule,
    Ruleset,
    Stage,
    UnknownMatch,
)
from segverify.firewall.registry import VENDORS, bind_topology, parse_export, parse_text, sniff

__all__ = [
    "ACTIONS",
    "CT_STATES",
    "VENDORS",
    "AddressSet",
    "PortSet",
    "Rule",
    "Ruleset",
    "Stage",
    "UnknownMatch",
    "bind_topology",
    "dump",
    "parse_export",
    "parse_text",
    "sniff",
]
