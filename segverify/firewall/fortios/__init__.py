"""FortiOS (FortiGate ``show full-configuration`` / backup file): the configuration tree
(``tree.py``), the vendor model (``model.py``, ``parse.py``) and its lowering to the
device model (``lower.py``)."""

from segverify.firewall.fortios.lower import parse_fortios

__all__ = ["parse_fortios"]
