"""Selector helpers now live in ``segverify.topology.selectors`` (the topology model's own
vocabulary, used by lower stages too); re-exported here for the checks that import them."""

from segverify.topology.selectors import (
    is_pinned,
    is_zone_wide,
    ports_pinned,
    rules_between,
    selector_nodes,
    selector_zones,
)

__all__ = [
    "is_pinned",
    "is_zone_wide",
    "ports_pinned",
    "rules_between",
    "selector_nodes",
    "selector_zones",
]
