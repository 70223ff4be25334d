"""Benchmark dataset recipes (one module per corpus) and split files; the HDF5 dataset builder
that runs the EGVS pipeline over them is `egvs.evaluation.builder`.

The recipes (numpy, scipy) load on first use: the CLI lists `DATASETS` when it starts.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from egvs.datasets.base import AnnotatedVideo

DATASETS = ("summe", "tvsum")  # each a recipe module of this package


def recipe(dataset: str) -> ModuleType:
    """The recipe module of ``dataset``."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {sorted(DATASETS)}")
    return importlib.import_module(f"egvs.datasets.{dataset}")


def load_annotations(dataset: str, path: Path, info: Path | None = None) -> list[AnnotatedVideo]:
    """The annotated videos of ``dataset`` (``tvsum`` or ``summe``) read from ``path``."""
    return recipe(dataset).load(Path(path), info)


def f1_aggregate(dataset: str) -> str:
    """The dataset's F1 convention over user summaries: ``mean`` (TVSum) or ``max`` (SumMe)."""
    return recipe(dataset).F1_AGGREGATE


__all__ = ["DATASETS", "f1_aggregate", "load_annotations", "recipe"]
