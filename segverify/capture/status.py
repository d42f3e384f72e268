"""Outcome codes shared by the compiled decoders, and the payload kinds they hand on."""

from __future__ import annotations

OK = 0
SHORT = 1  # the captured bytes end before a header the decoder needs
BAD = 2  # a header field is impossible (wrong version, length below minimum)
UNSUPPORTED = 3  # link type this decoder does not read
NON_IP = 4  # decoded fine, but carries no IPv4/IPv6 packet
OPAQUE = 5  # may carry IP but cannot be opened (protected 802.11 data)

KIND_NONE = 0
KIND_ETHERNET = 1
KIND_IPV4 = 2
KIND_IPV6 = 3
KIND_IP_BY_VERSION = 4  # raw IP: the version nibble decides
KIND_IEEE80211 = 5  # an 802.11 frame (Aruba GRE)
