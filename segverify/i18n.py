"""Bilingual user-facing text: English by default, Japanese with ``--lang ja`` or a ja_JP locale.

Messages are looked up by key; the catalogue lives in ``data/messages.yaml`` so wording is
data, not code. No global state: callers pass the language they were given.
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib import resources

import yaml

LANGS = ("en", "ja")


def default_lang(environ: dict[str, str] | None = None) -> str:
    """Language from the environment: ``ja`` when LC_ALL / LC_MESSAGES / LANG start with ja."""
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, dict[str, str]]:
    text = resources.files("segverify.data").joinpath("messages.yaml").read_text("utf-8")
    # the C loader when libyaml is there: the catalogue is read by every command
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506


def t(key: str, lang: str = "en", **params: object) -> str:
    """Translate ``key`` into ``lang``; falls back to English, then to the key itself."""
    entry = _catalogue().get(key)
    if entry is None:
        return key.format(**params) if params else key
    text = entry.get(lang) or entry.get("en") or key
    return text.format(**params) if params else text
