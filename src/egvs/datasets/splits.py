"""Train/test splits: the field's published split files and our disjoint k-fold default.

The published "canonical" TVSum/SumMe splits (VASNet, DSNet, PGL-SUM) are five random 80/20 draws:
their test sets overlap, so some videos are never tested and others count several times. The default
here is a disjoint k-fold: every video is tested exactly once, and the mean over folds is the mean
over all videos.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from egvs.errors import InputError, require

Split = dict[str, list[str]]
_DATASET_PREFIX = re.compile(r"eccv16_dataset_([a-z]+)_")


def natural_key(key: str) -> tuple:
    """Sort key putting ``video_2`` before ``video_10``."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", key))


def kfold_splits(keys: Sequence[str], k: int = 5, seed: int = 0) -> list[Split]:
    """Disjoint ``k``-fold splits: shuffled with ``seed``, fold sizes differ by at most one.

    The result depends only on the set of keys, not on their order.
    """
    ordered = sorted(set(keys), key=natural_key)
    if not 2 <= k <= len(ordered):
        raise ValueError(f"k must be in [2, {len(ordered)}], got {k}")
    shuffled = [ordered[i] for i in np.random.default_rng(seed).permutation(len(ordered))]
    folds = [set(shuffled[i::k]) for i in range(k)]
    return [
        {
            "train_keys": [key for key in ordered if key not in fold],
            "test_keys": [key for key in ordered if key in fold],
        }
        for fold in folds
    ]


def load_splits(path: Path, dataset: str | None = None) -> list[Split]:
    """Splits from a VASNet/MSVA/PGL-SUM JSON or DSNet YAML file, keys reduced to ``video_N``.

    Published files prefix keys with their h5 file (``eccv16_dataset_tvsum_google_pool5/video_41``,
    ``../datasets/eccv16_dataset_tvsum_google_pool5.h5/video_41``). Keys of ``dataset`` (by default
    the dataset named in the file name) become bare ``video_N``; keys of other datasets (augmented
    training pools) become ``<dataset>/video_N``.
    """
    yaml = require("yaml", "research")  # here, not at the top: the CLI's parser reads this module

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text) if path.suffix in (".yml", ".yaml") else json.loads(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read split file {path}: {exc}") from exc
    if dataset is None:
        dataset = next(
            (d for d in ("tvsum", "summe", "ovp", "youtube") if d in path.name.lower()), None
        )
    if not isinstance(raw, list) or not all(isinstance(s, dict) and "test_keys" in s for s in raw):
        raise InputError(f"{path} is not a list of splits with train_keys/test_keys")
    return [
        {
            "train_keys": [_normalise(k, dataset) for k in split.get("train_keys", [])],
            "test_keys": [_normalise(k, dataset) for k in split["test_keys"]],
        }
        for split in raw
    ]


def _normalise(key: str, dataset: str | None) -> str:
    prefix, _, name = str(key).rpartition("/")
    if not prefix:
        return name
    match = _DATASET_PREFIX.search(prefix)
    owner = match.group(1) if match else None
    return name if owner is None or owner == dataset else f"{owner}/{name}"
