"""Palo Alto PAN-OS: XML, ``set`` and brace forms read into one tree (``tree.py``), the
vendor model (``read.py``) and its lowering (``lower.py``)."""

from segverify.firewall.paloalto.lower import parse_paloalto

__all__ = ["parse_paloalto"]
