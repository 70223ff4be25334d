"""Read training data from an eccv16-layout HDF5 (as written by ``egvs data build``), numpy only.

Each ``video_i`` group holds ``gtscore`` (one value per 0.5 s step) and one matrix per feature
source under ``sources/<name>`` (one row per step). The name ``features`` reads the eccv16
``features`` dataset itself, so files from the literature (e.g. GoogLeNet pool5) train too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from egvs.datasets.splits import natural_key
from egvs.errors import InputError
from egvs.scoring.model_config import Normalization
from egvs.timeline import fit_length


@dataclass
class VideoData:
    """One video's inputs (raw, un-normalised) and its importance target in [0, 1]."""

    key: str
    sources: dict[str, np.ndarray]
    target: np.ndarray

    @property
    def n_steps(self) -> int:
        return len(self.target)


def video_keys(h5_path: Path) -> list[str]:
    """The ``video_*`` groups of the file, in natural order (video_2 before video_10)."""
    with _open(h5_path) as f:
        keys = [k for k in f if isinstance(f[k], h5py.Group)]
    return sorted(keys, key=natural_key)


def load_videos(
    h5_path: Path, sources: Sequence[str], keys: Iterable[str] | None = None
) -> dict[str, VideoData]:
    """The chosen sources and targets of the chosen videos (all when ``keys`` is None)."""
    out: dict[str, VideoData] = {}
    keys = list(keys) if keys is not None else video_keys(h5_path)
    with _open(h5_path) as f:
        for key in keys:
            if key not in f:
                raise InputError(f"{h5_path}: no video {key!r} (a split file for another dataset?)")
            group = f[key]
            target = _unit_range(np.asarray(group["gtscore"], dtype=np.float32).reshape(-1))
            feats = {
                name: fit_length(_read_source(group, name, h5_path), len(target))
                for name in sources
            }
            out[key] = VideoData(key, feats, target)
    return out


def source_dims(videos: dict[str, VideoData]) -> dict[str, int]:
    first = next(iter(videos.values()))
    return {name: int(m.shape[1]) for name, m in first.sources.items()}


def fit_normalization(
    videos: Iterable[VideoData], sources: Sequence[str]
) -> dict[str, Normalization]:
    """Per-source z-score fitted on the given (training) videos' steps."""
    videos = list(videos)
    return {s: Normalization.fit(np.concatenate([v.sources[s] for v in videos])) for s in sources}


def _read_source(group: h5py.Group, name: str, h5_path: Path) -> np.ndarray:
    if name == "features":
        data = group["features"]
    elif "sources" in group and name in group["sources"]:
        data = group["sources"][name]
    else:
        have = sorted(group["sources"]) if "sources" in group else []
        raise InputError(
            f"{h5_path}: {group.name} has no source {name!r} (it has: features, {', '.join(have)})"
        )
    matrix = np.asarray(data, dtype=np.float32)
    return matrix[:, None] if matrix.ndim == 1 else matrix


def _unit_range(scores: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1] per video, as the eccv16 files do: the model learns the ranking within a
    video, whatever scale the annotations came in (TVSum 1-5, SumMe fraction of users)."""
    lo, hi = float(scores.min()), float(scores.max())
    return ((scores - lo) / (hi - lo) if hi > lo else np.zeros_like(scores)).astype(np.float32)


def _open(h5_path: Path) -> h5py.File:
    try:
        return h5py.File(h5_path, "r")
    except (OSError, FileNotFoundError) as exc:
        raise InputError(f"cannot read dataset {h5_path}: {exc}") from exc
