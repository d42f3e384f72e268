"""Where numba keeps compiled code: beside the sources when that is writable (the usual
`__pycache__`), otherwise a per-user directory under the system temp dir, so an installed,
read-only package run by an ordinary user still works instead of failing to cache."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numba


def ensure_cache_dir() -> None:
    if numba.config.CACHE_DIR:
        return  # NUMBA_CACHE_DIR given by the user
    here = Path(__file__).resolve().parent
    if all(os.access(d, os.W_OK) for d in (here / "capture", here / "flows")):
        return
    path = Path(tempfile.gettempdir()) / f"segverify-numba-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    numba.config.CACHE_DIR = str(path)


ensure_cache_dir()
