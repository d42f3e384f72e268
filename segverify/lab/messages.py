"""User-facing lab messages: entries ``lab.*`` of the one catalogue (data/messages.yaml)."""

from __future__ import annotations

from segverify.i18n import t


def msg(key: str, lang: str = "en", **params: object) -> str:
    """The lab message ``key`` in ``lang`` (catalogue entry ``lab.<key>``)."""
    return t(f"lab.{key}", lang, **params)
