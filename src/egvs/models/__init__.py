"""The trainable EGVS model: multi-source attention over visual, motion and emotion features.

Training needs the ``train`` extra (PyTorch) and lives in `egvs.models.training`; inference needs
only onnxruntime: `load_scorer(DIR)` scores a timeline with a model exported by ``egvs train``.
Importing this package never imports torch, and onnxruntime only once the scorer is asked for
(the CLI builds its parser from `egvs.models.config` without paying for it).
"""

from __future__ import annotations

import importlib
from typing import Any

from egvs.models.config import ExportedModel, ModelConfig, Normalization, parse_sources

_SCORER_NAMES = ("OnnxScorer", "load_scorer")


def __getattr__(name: str) -> Any:
    if name in _SCORER_NAMES:
        return getattr(importlib.import_module("egvs.models.scorer"), name)
    raise AttributeError(f"module 'egvs.models' has no attribute {name!r}")


__all__ = [
    "ExportedModel",
    "ModelConfig",
    "Normalization",
    "OnnxScorer",
    "load_scorer",
    "parse_sources",
]
