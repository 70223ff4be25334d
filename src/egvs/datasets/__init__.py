"""Benchmark dataset recipes (one module per corpus) and split files; the HDF5 dataset builder
that runs the EGVS pipeline over them is `egvs.evaluation.builder`."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from egvs.datasets import summe, tvsum
from egvs.datasets.base import AnnotatedVideo
from egvs.datasets.splits import kfold_splits, load_splits

RECIPES: dict[str, ModuleType] = {"tvsum": tvsum, "summe": summe}


def load_annotations(dataset: str, path: Path, info: Path | None = None) -> list[AnnotatedVideo]:
    """The annotated videos of ``dataset`` (``tvsum`` or ``summe``) read from ``path``."""
    if dataset not in RECIPES:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {sorted(RECIPES)}")
    return RECIPES[dataset].load(Path(path), info)


def f1_aggregate(dataset: str) -> str:
    """The dataset's F1 convention over user summaries: ``mean`` (TVSum) or ``max`` (SumMe)."""
    return RECIPES[dataset].F1_AGGREGATE


__all__ = [
    "RECIPES",
    "AnnotatedVideo",
    "f1_aggregate",
    "kfold_splits",
    "load_annotations",
    "load_splits",
]
