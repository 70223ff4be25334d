"""The evaluation protocol: one video's metrics, the human and random baselines, split summaries.

Every row of a results table (a method, random scores, a held-out annotator) goes through
`score_against`, so the baselines and the methods are measured by exactly the same code.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from egvs.evaluation.metrics import change_starts, highlight_f1, keyshot_f1, rank_correlation_coded
from egvs.evaluation.summary import keyshot_summary, upsample

METRICS = ("f1", "f1_mean", "f1_max", "tau", "rho", "top15_f1")
RANDOM_TRIALS = 100


@dataclass
class Annotators:
    """A set of annotators: binary summaries ``(u, n)`` and optional frame scores ``(u, n)``.

    Derived arrays (dense score levels, run boundaries, the mean score) are computed once and
    shared by subsets, because every random trial and every left-out user reuses them.
    """

    summary: np.ndarray
    scores: np.ndarray | None
    codes: np.ndarray | None = None
    n_levels: int = 0

    def __post_init__(self) -> None:
        if self.scores is not None and self.codes is None:
            levels, codes = np.unique(self.scores, return_inverse=True)
            self.codes, self.n_levels = codes.reshape(self.scores.shape), len(levels)

    def subset(self, keep: np.ndarray) -> Annotators:
        if self.scores is None or self.codes is None:  # codes are set whenever scores are
            return Annotators(self.summary[keep], None)
        return Annotators(self.summary[keep], self.scores[keep], self.codes[keep], self.n_levels)

    @cached_property
    def starts(self) -> np.ndarray | None:
        """Frames where any annotator's score changes (run boundaries for the rank metrics)."""
        return None if self.codes is None else change_starts(self.codes)

    @cached_property
    def mean_score(self) -> np.ndarray | None:
        """Mean annotator score per frame (the truth of the top-15% highlight F1)."""
        return None if self.scores is None else self.scores.mean(axis=0)


@dataclass
class EvalVideo:
    """What the protocol needs to know about one annotated video, on its original frame axis.

    ``aggregate`` is the dataset's F1 convention (``mean`` for TVSum, ``max`` for SumMe).
    ``user_scores`` are the per-annotator frame scores the rank correlations use (None when the
    source file has only binary user summaries, e.g. an original eccv16 h5).
    """

    key: str
    name: str
    change_points: np.ndarray
    picks: np.ndarray
    user_summary: np.ndarray
    user_scores: np.ndarray | None
    aggregate: str = "mean"

    @property
    def n_frames(self) -> int:
        return int(self.user_summary.shape[1])

    @property
    def n_users(self) -> int:
        return int(self.user_summary.shape[0])

    @cached_property
    def annotators(self) -> Annotators:
        return Annotators(self.user_summary, self.user_scores)


def score_against(
    frame_scores: np.ndarray, summary: np.ndarray, refs: Annotators, aggregate: str
) -> dict[str, float]:
    """Every metric of one prediction (scores and their keyshot summary) against a set of annotators.

    A constant prediction ranks nothing: its tau and rho count as 0 rather than NaN, so a method
    cannot drop its hard videos from the mean. Annotators who rank nothing are left out.
    """
    row = {f"f1_{agg}": keyshot_f1(summary, refs.summary, agg) for agg in ("mean", "max")}
    row["f1"] = row[f"f1_{aggregate}"]
    if refs.scores is None or refs.codes is None or refs.mean_score is None:  # all or none
        row.update(tau=float("nan"), rho=float("nan"), top15_f1=float("nan"))
        return row
    if np.ptp(frame_scores) == 0:
        row.update(tau=0.0, rho=0.0)
    else:
        tau, rho = rank_correlation_coded(
            frame_scores, refs.codes, refs.n_levels, refs.scores, refs.starts
        )
        row.update(tau=_nanmean(tau), rho=_nanmean(rho))
    row["top15_f1"] = highlight_f1(frame_scores, refs.mean_score)
    return row


def evaluate_video(frame_scores: np.ndarray, video: EvalVideo) -> dict[str, float]:
    """Metrics of per-frame scores on one video, against all of its annotators."""
    frame_scores = fit_frames(frame_scores, video.n_frames)
    summary = keyshot_summary(frame_scores, video.change_points)
    return score_against(frame_scores, summary, video.annotators, video.aggregate)


def human_video(video: EvalVideo) -> dict[str, float]:
    """Leave-one-out human row: each annotator scored against the others, then averaged.

    The annotator's own summary is used for F1 and its own frame scores for the rank metrics.
    """
    everyone = video.annotators
    scores = video.user_scores if video.user_scores is not None else video.user_summary
    rows = [
        score_against(
            scores[u],
            video.user_summary[u],
            everyone.subset(np.arange(video.n_users) != u),
            video.aggregate,
        )
        for u in range(video.n_users)
    ]
    return mean_rows(rows)


def random_video(video: EvalVideo, trials: int = RANDOM_TRIALS, seed: int = 0) -> dict[str, float]:
    """Uniform random scores per timeline step (the rate models predict at), mean over ``trials``.

    The generator is seeded by (seed, video key), so a video's row does not depend on which other
    videos are evaluated with it.
    """
    rng = np.random.default_rng([seed, zlib.crc32(video.key.encode())])
    rows = [
        evaluate_video(upsample(rng.random(len(video.picks)), video.picks, video.n_frames), video)
        for _ in range(trials)
    ]
    return mean_rows(rows)


def fit_frames(frame_scores: np.ndarray, n_frames: int) -> np.ndarray:
    """Scores on exactly ``n_frames`` frames; other lengths are read as evenly spaced samples."""
    scores = np.asarray(frame_scores, dtype=np.float64).reshape(-1)
    if len(scores) == n_frames:
        return scores
    if len(scores) == 0:
        raise ValueError("empty score sequence")
    return scores[(np.arange(n_frames) * len(scores)) // n_frames]


def mean_rows(rows: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Metric-wise mean of result rows (NaN entries ignored, NaN when all are NaN)."""
    rows = list(rows)
    return {m: _nanmean([r[m] for r in rows]) for m in METRICS if rows and m in rows[0]}


def split_summary(per_split: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Min, max and mean of each metric over splits (the way papers report 5-fold results)."""
    out: dict[str, dict[str, float]] = {}
    for m in METRICS:
        values = np.array([row[m] for row in per_split], dtype=np.float64)
        ok = values[~np.isnan(values)]
        out[m] = {
            name: float(reduce(ok)) if len(ok) else float("nan")
            for name, reduce in (("mean", np.mean), ("min", np.min), ("max", np.max))
        }
    return out


def evaluate_videos(
    frame_scores: Mapping[str, np.ndarray], videos: Sequence[EvalVideo]
) -> dict[str, dict[str, float]]:
    """Per-video metrics for every video that has a prediction (keyed by ``EvalVideo.key``)."""
    return {v.key: evaluate_video(frame_scores[v.key], v) for v in videos if v.key in frame_scores}


def baselines(
    videos: Sequence[EvalVideo], trials: int = RANDOM_TRIALS, seed: int = 0, jobs: int = 1
) -> dict[str, dict[str, dict[str, float]]]:
    """Per-video ``random`` and ``human`` rows, over ``jobs`` processes (videos are independent)."""
    work = [(v, trials, seed) for v in videos]
    if jobs > 1 and len(videos) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            rows = list(pool.map(_baseline_rows, work, chunksize=max(1, len(work) // (4 * jobs))))
    else:
        rows = [_baseline_rows(w) for w in work]
    return {
        "random": {v.key: r for v, (r, _) in zip(videos, rows, strict=True)},
        "human": {v.key: h for v, (_, h) in zip(videos, rows, strict=True)},
    }


def _baseline_rows(work: tuple[EvalVideo, int, int]) -> tuple[dict[str, float], dict[str, float]]:
    video, trials, seed = work
    return random_video(video, trials, seed), human_video(video)


def _nanmean(values: Iterable[float] | np.ndarray) -> float:
    arr = np.asarray(
        list(values) if not isinstance(values, np.ndarray) else values, dtype=np.float64
    )
    ok = arr[~np.isnan(arr)]
    return float(ok.mean()) if len(ok) else float("nan")
