"""SumMe (Gygli et al., ECCV 2014): 25 videos, 15-18 annotators each selecting 5-15% of the frames.

Reads the release's ``GT/*.mat`` files (MATLAB v5, scipy.io). ``user_score`` is ``(n_frames, n_users)``
with non-zero meaning "selected" (values count the user's segments, so it is not binary).
Videos are ordered case-insensitively by name, the order of the eccv16 h5 keys ``video_1 .. video_25``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from egvs.datasets.base import AnnotatedVideo
from egvs.errors import InputError

F1_AGGREGATE = "max"  # SumMe convention: F1 against the closest user summary


def load(path: Path, info: Path | None = None) -> list[AnnotatedVideo]:
    """Every video of a SumMe ``GT`` directory (or one ``.mat`` file). ``info`` is unused."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.mat"), key=lambda p: p.stem.lower())
    elif path.suffix == ".mat":
        files = [path]
    else:
        raise InputError(f"SumMe annotations not found: {path} (expected the GT directory)")
    if not files:
        raise InputError(f"no .mat files in {path}")
    return [_load_one(f) for f in files]


def _load_one(path: Path) -> AnnotatedVideo:
    from scipy.io import loadmat  # imported here, so `egvs --help` does not pay for scipy

    try:
        mat = loadmat(path)
    except (ValueError, OSError) as exc:
        raise InputError(f"{path} is not a readable MATLAB file: {exc}") from exc
    if "user_score" not in mat:
        raise InputError(f"{path} has no 'user_score'; is it a SumMe GT file?")
    selected = np.asarray(mat["user_score"]).T > 0
    return AnnotatedVideo(
        name=path.stem,
        user_scores=selected.astype(np.float32),
        fps=float(np.asarray(mat["FPS"]).item()),
        user_summary=selected,
    )
