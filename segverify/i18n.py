"""Bilingual user-facing text: English by default, Japanese with ``--lang ja`` or a ja_JP locale.

Messages are looked up by key; the catalogue lives in ``data/messages.yaml`` so wording is
data, not code. No global state: callers pass the language they were given.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import marshal
import os
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path

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
    source = resources.files("segverify.data").joinpath("messages.yaml")
    text = source.read_text("utf-8")
    cache = _cache_path(source, text)
    if cache is not None:
        with contextlib.suppress(OSError, ValueError, EOFError, TypeError):
            got = marshal.loads(cache.read_bytes())
            if isinstance(got, dict):
                return got
    # the C loader when libyaml is there: the catalogue is read by every command
    parsed = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    if cache is not None and not sys.dont_write_bytecode:
        with contextlib.suppress(OSError, ValueError):
            cache.parent.mkdir(parents=True, exist_ok=True)
            staged = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            staged.write_bytes(marshal.dumps(parsed))
            os.replace(staged, cache)
            for old in cache.parent.glob(cache.name.rsplit(".", 2)[0] + ".*.marshal"):
                if old != cache:  # an earlier catalogue's
                    old.unlink(missing_ok=True)
    return parsed  # type: ignore[no-any-return]


def _cache_path(source: object, text: str) -> Path | None:
    """Where the parsed catalogue is kept, as Python keeps bytecode (``__pycache__`` or
    ``sys.pycache_prefix``): ``marshal`` data named by the hash of the YAML text, so a
    process reads it in about a millisecond instead of parsing 140 KB of YAML (~25 ms),
    and an edited catalogue is parsed again. None when the catalogue is not a file."""
    if not isinstance(source, Path):
        return None
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()
    pyc = Path(importlib.util.cache_from_source(str(source)))
    return pyc.with_name(f"{pyc.stem}.{digest}.marshal")


def t(key: str, lang: str = "en", **params: object) -> str:
    """Translate ``key`` into ``lang``; falls back to English, then to the key itself."""
    entry = _catalogue().get(key)
    if entry is None:
        return key.format(**params) if params else key
    text = entry.get(lang) or entry.get("en") or key
    if not params:  # a template some callers fill in later stays as it is
        try:
            return text.format()
        except (KeyError, IndexError, ValueError):
            return text
    # a parameter that is itself a catalogue message speaks the same language
    return text.format(
        **{k: v.render(lang) if isinstance(v, Msg) else v for k, v in params.items()}
    )


def _render(key: str, lang: str, params: dict[str, object]) -> str:
    values = {k: v.render(lang) if hasattr(v, "render") else v for k, v in params.items()}
    return t(key, lang, **values)


def message_of(exc: BaseException) -> str:
    """The message ``exc`` was raised with: a catalogue ``Msg`` stays one (``str(exc)`` would
    turn it into plain English text)."""
    arg = exc.args[0] if len(exc.args) == 1 else None
    return arg if isinstance(arg, Msg) else str(exc)


class Msg(str):
    """A user-facing message from the catalogue that still behaves as its English text.

    ``Msg("error.x", name=name)`` is the English rendering of catalogue entry ``error.x``
    (so code that prints, compares or concatenates it keeps working) and remembers its key
    and parameters, so ``render("ja")`` gives the Japanese text. Parameters that are
    themselves messages (``Msg``, ``Term``) are rendered in the same language.
    """

    key: str
    params: dict[str, object]

    def __new__(cls, key: str, /, **params: object) -> Msg:
        self = super().__new__(cls, _render(key, "en", params))
        self.key = key
        self.params = params
        return self

    def render(self, lang: str) -> str:
        """The message in ``lang`` (English text when ``lang`` is en)."""
        return str.__str__(self) if lang == "en" else _render(self.key, lang, self.params)

    def __reduce__(self) -> tuple[object, ...]:
        return (_restore, (self.key, self.params))


def _restore(key: str, params: dict[str, object]) -> Msg:
    return Msg(key, **params)
