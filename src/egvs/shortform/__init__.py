"""Short-form clips: choose stand-alone moments, reframe them, caption them (`egvs shorts`).

The names are imported on first use (PEP 562), so the light `egvs.shortform.options` (read by
``egvs --help``) loads without the media and picture stack behind `shorts`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from egvs.shortform.make import Short, Shorts, shorts
    from egvs.shortform.options import ShortsOptions

__all__ = ["Short", "Shorts", "ShortsOptions", "shorts"]
_HOMES = {"Short": "make", "Shorts": "make", "shorts": "make", "ShortsOptions": "options"}


def __getattr__(name: str) -> object:
    if name in _HOMES:
        return getattr(importlib.import_module(f"egvs.shortform.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'egvs.shortform' has no attribute {name!r}")
