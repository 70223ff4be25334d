"""TVSum (Song et al., CVPR 2015): 50 YouTube videos, 20 annotators scoring every 2 s from 1 to 5.

Reads ``ydata-tvsum50.mat`` (MATLAB v7.3, i.e. HDF5) or the annotation TSV ``ydata-tvsum50-anno.tsv``
(optionally gzipped; one row per video and user: video id, category, comma-separated frame scores).
The TSV has no durations, so its frame rate comes from an info TSV (``video_id``, ``nframes`` and
``length_sec`` columns, e.g. ``tvsum50_info_derived_from_mat.tsv``) when one is given.
Videos keep the file order, which is the order of the eccv16 h5 keys ``video_1 .. video_50``.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from egvs.datasets.base import AnnotatedVideo
from egvs.errors import InputError, require

if TYPE_CHECKING:  # h5py is imported where a file is opened: the CLI's parser does not pay for it
    import h5py

F1_AGGREGATE = "mean"  # TVSum convention: mean F1 over the 20 user summaries


def load(path: Path, info: Path | None = None) -> list[AnnotatedVideo]:
    """Every TVSum video in ``path`` (.mat or .tsv/.tsv.gz)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"TVSum annotations not found: {path}")
    videos = _load_mat(path) if path.suffix == ".mat" else _load_tsv(path)
    if info is not None:
        _apply_info(videos, Path(info))
    return videos


def _mat_field(f: h5py.File, name: str, i: int) -> np.ndarray:
    """Field ``name`` of video ``i`` in the (50, 1) struct of object references."""
    return np.asarray(f[f["tvsum50"][name][i, 0]])


def _mat_string(f: h5py.File, name: str, i: int) -> str:
    return "".join(map(chr, _mat_field(f, name, i).ravel()))


def _load_mat(path: Path) -> list[AnnotatedVideo]:
    h5py = require("h5py", "research")

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"{path} is not a MATLAB v7.3 (HDF5) file: {exc}") from exc
    with f:
        if "tvsum50" not in f:
            raise InputError(f"{path} has no 'tvsum50' struct; is it ydata-tvsum50.mat?")
        videos = []
        for i in range(f["tvsum50"]["video"].shape[0]):
            scores = _mat_field(f, "user_anno", i).astype(np.float32)
            n_frames = int(_mat_field(f, "nframes", i).item())
            length = float(_mat_field(f, "length", i).item())
            if scores.shape[1] != n_frames:
                scores = scores.T
            videos.append(
                AnnotatedVideo(
                    name=_mat_string(f, "video", i),
                    user_scores=scores,
                    fps=n_frames / length,
                    category=_mat_string(f, "category", i),
                    title=_mat_string(f, "title", i),
                )
            )
    return videos


def _load_tsv(path: Path) -> list[AnnotatedVideo]:
    opener = gzip.open if path.suffix == ".gz" else open
    rows: dict[str, list[list[float]]] = {}
    categories: dict[str, str] = {}
    with opener(path, "rt", encoding="utf-8") as fh:
        for line_no, row in enumerate(csv.reader(fh, delimiter="\t"), 1):
            if not row:
                continue
            if len(row) != 3:
                raise InputError(
                    f"{path}:{line_no}: expected 3 tab-separated columns, got {len(row)}"
                )
            video_id, category, scores = row
            rows.setdefault(video_id, []).append([float(s) for s in scores.split(",")])
            categories[video_id] = category
    if not rows:
        raise InputError(f"{path} holds no annotations")
    videos = []
    for video_id, users in rows.items():
        if len({len(u) for u in users}) != 1:
            raise InputError(f"{path}: users of {video_id} annotated different frame counts")
        videos.append(
            AnnotatedVideo(
                name=video_id,
                user_scores=np.asarray(users, dtype=np.float32),
                fps=None,
                category=categories[video_id],
            )
        )
    return videos


def _apply_info(videos: list[AnnotatedVideo], info: Path) -> None:
    """Frame rates (and titles) from an info TSV with video_id, nframes and length_sec columns."""
    with open(info, encoding="utf-8") as fh:
        table = {r["video_id"]: r for r in csv.DictReader(fh, delimiter="\t")}
    for video in videos:
        row = table.get(video.name)
        if row is None:
            raise InputError(f"{info} has no row for video {video.name}")
        video.fps = float(row["nframes"]) / float(row["length_sec"])
        video.title = video.title or row.get("title", "")
