"""Where `EvalVideo`s come from: raw annotations (no videos needed) or an eccv16-layout HDF5 file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from egvs.datasets import f1_aggregate, load_annotations
from egvs.datasets.base import AnnotatedVideo
from egvs.datasets.splits import natural_key
from egvs.errors import InputError, require
from egvs.evaluation.protocol import (
    RANDOM_TRIALS,
    EvalVideo,
    baselines,
    evaluate_videos,
    fit_frames,
    mean_rows,
)
from egvs.evaluation.summary import keyshot_summary, step_picks, uniform_shots, upsample
from egvs.timeline import DEFAULT_STEP

if TYPE_CHECKING:  # h5py is imported where a file is opened: the CLI's parser does not pay for it
    import h5py


def video_key(index: int) -> str:
    """The eccv16 key of the ``index``-th (0-based) video of a dataset."""
    return f"video_{index + 1}"


def from_annotations(
    videos: Sequence[AnnotatedVideo],
    aggregate: str,
    step: float = DEFAULT_STEP,
) -> list[EvalVideo]:
    """Evaluation videos from annotations alone, keyed ``video_1 ..`` in dataset order.

    Shots are uniform 2 s segments (the stand-in for KTS without videos); user summaries,
    when the dataset has none (TVSum), are each user's scores put through the same keyshot knapsack.
    """
    out = []
    for i, video in enumerate(videos):
        if video.fps is None:
            raise InputError(f"no frame rate for {video.name}: give the dataset's info file")
        cps = uniform_shots(video.n_frames, video.fps)
        summary = video.user_summary
        if summary is None:
            summary = np.stack([keyshot_summary(s, cps) for s in video.user_scores])
        out.append(
            EvalVideo(
                key=video_key(i),
                name=video.name,
                change_points=cps,
                picks=step_picks(video.n_frames, video.fps, step),
                user_summary=np.asarray(summary, dtype=bool),
                user_scores=np.asarray(video.user_scores, dtype=np.float64),
                aggregate=aggregate,
            )
        )
    return out


def h5_aggregate(h5: h5py.File, path: Path) -> str:
    """F1 convention of an h5 file: its ``dataset`` attribute, else its name (SumMe: max)."""
    dataset = str(h5.attrs.get("dataset", path.name)).lower()
    return "max" if "summe" in dataset else "mean"


def from_h5(
    path: Path, keys: Sequence[str] | None = None, aggregate: str | None = None
) -> list[EvalVideo]:
    """Evaluation videos from an eccv16-layout h5 (ours adds ``user_scores``; others lack them).

    ``aggregate`` overrides the F1 convention read from the file.
    """
    h5py = require("h5py", "research")
    path = Path(path)
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"cannot open {path} as HDF5: {exc}") from exc
    with h5:
        aggregate = aggregate or h5_aggregate(h5, path)
        wanted = list(keys) if keys is not None else sorted(h5.keys(), key=natural_key)
        out = []
        for key in wanted:
            if key not in h5:
                raise InputError(f"{path} has no video {key!r}")
            g = h5[key]
            name = g["video_name"][()] if "video_name" in g else key
            out.append(
                EvalVideo(
                    key=key,
                    name=name.decode() if isinstance(name, bytes) else str(name),
                    change_points=np.asarray(g["change_points"], dtype=np.int64),
                    picks=np.asarray(g["picks"], dtype=np.int64),
                    user_summary=np.asarray(g["user_summary"]) > 0,
                    user_scores=np.asarray(g["user_scores"], dtype=np.float64)
                    if "user_scores" in g
                    else None,
                    aggregate=aggregate,
                )
            )
    return out


def is_h5(path: Path) -> bool:
    return Path(path).suffix.lower() in (".h5", ".hdf5")


def load_eval_videos(
    dataset: str, annotations: Path, info: Path | None = None
) -> tuple[list[EvalVideo], str]:
    """Evaluation videos from raw annotations or a built h5, and a note on where the shots came from."""
    if is_h5(annotations):
        return from_h5(
            annotations, aggregate=f1_aggregate(dataset)
        ), f"change_points of {annotations}"
    videos = from_annotations(load_annotations(dataset, annotations, info), f1_aggregate(dataset))
    return videos, "uniform 2 s segments standing in for KTS shots (annotations only, no videos)"


def to_frames(scores: np.ndarray, video: EvalVideo) -> np.ndarray:
    """Per-frame scores from per-frame, per-step (one per pick) or other evenly spaced predictions."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(scores) == len(video.picks) and len(scores) != video.n_frames:
        return upsample(scores, video.picks, video.n_frames)
    return fit_frames(scores, video.n_frames)


def evaluate_h5_predictions(
    h5_path: Path, predictions: Mapping[str, np.ndarray], keys: Sequence[str] | None = None
) -> dict:
    """Metrics of per-step (or per-frame) predicted scores on the videos of an eccv16-layout h5.

    Returns ``{"videos": {key: row}, "mean": row, "f1_aggregate": "mean"|"max"}``; a row holds
    ``f1`` (dataset convention), ``f1_mean``, ``f1_max``, ``tau``, ``rho`` and ``top15_f1``.
    """
    keys = list(keys) if keys is not None else list(predictions)
    videos = from_h5(Path(h5_path), keys)
    frames = {v.key: to_frames(predictions[v.key], v) for v in videos}
    per_video = evaluate_videos(frames, videos)
    return {
        "videos": per_video,
        "mean": mean_rows(per_video.values()),
        "f1_aggregate": videos[0].aggregate if videos else "mean",
    }


def baseline_rows(
    h5_path: Path, keys: Sequence[str], trials: int = RANDOM_TRIALS, seed: int = 0, jobs: int = 1
) -> dict[str, dict[str, float]]:
    """The ``random`` and ``human`` rows (means over ``keys``) of an eccv16-layout h5."""
    per_video = baselines(from_h5(Path(h5_path), keys), trials, seed, jobs)
    return {name: mean_rows(rows.values()) for name, rows in per_video.items()}
