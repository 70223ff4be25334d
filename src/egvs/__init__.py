"""EGVS: Emotion-Guided Video Summarization.

import egvs
analysis = egvs.analyze("talk.mp4", duration=60)
summary = egvs.summarize("talk.mp4", "talk-summary.mp4", ratio=0.15)

The API is imported on first use (PEP 562), so `egvs --version`, `--help` and any light submodule
(errors, progress) start without numpy, PyAV or onnxruntime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from egvs.api import Analysis, Summary, analyze, extract, summarize
    from egvs.batching import batch
    from egvs.shortform import shorts

__all__ = [
    "Analysis",
    "Summary",
    "__version__",
    "analyze",
    "batch",
    "extract",
    "shorts",
    "summarize",
]
# Names that live outside egvs.api.
_HOMES = {"batch": "egvs.batching", "shorts": "egvs.shortform"}


def __getattr__(name: str) -> object:
    if name in __all__:
        return getattr(importlib.import_module(_HOMES.get(name, "egvs.api")), name)
    raise AttributeError(f"module 'egvs' has no attribute {name!r}")
