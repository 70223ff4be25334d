"""The proposal's hypothesis, made quantitative: does detected emotion fall where humans score high?

Per video, each 0.5 s step is *high* when its mean human score is above the video's mean, and
*active* when the detected arousal is above the video's median or an affective sound (laughter,
applause, cheering, screaming, shouting, crying, vocal bursts) is likely (p > 0.5). We count active
steps in high vs low steps (the proposal's "48:34") and compare the activity rates.

Significance uses circular shifts of the activity series against the human scores, which keeps the
autocorrelation of both (an i.i.d. shuffle would not, and would overstate significance). Per video
the test is exact over all shifts, computed at once with an FFT cross-correlation; the pooled test
draws one random shift per video per permutation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from egvs.datasets.splits import natural_key
from egvs.errors import InputError, require
from egvs.timeline import DEFAULT_STEP

AFFECTIVE_EVENTS = ("laughter", "applause", "cheering", "screaming", "shouting", "crying")
EVENT_THRESHOLD = 0.5


@dataclass
class VideoActivity:
    """One video's step series: human score, the step-level high/active masks."""

    key: str
    name: str
    human: np.ndarray
    arousal: np.ndarray
    high: np.ndarray
    active: np.ndarray


@dataclass
class HypothesisRow:
    """Counts and rates of active steps in high vs low steps, with a one-sided p-value."""

    active_high: int
    active_low: int
    n_high: int
    n_low: int
    p_value: float

    @property
    def rate_high(self) -> float:
        return self.active_high / self.n_high if self.n_high else float("nan")

    @property
    def rate_low(self) -> float:
        return self.active_low / self.n_low if self.n_low else float("nan")

    def to_dict(self) -> dict:
        return {**asdict(self), "rate_high": self.rate_high, "rate_low": self.rate_low}


def activity(signals: dict[str, np.ndarray]) -> np.ndarray:
    """Active steps: arousal above its median, or an affective event/vocalization above 0.5."""
    arousal = signals["arousal"]
    active = arousal > np.median(arousal)
    for name, values in signals.items():
        kind, _, label = name.partition(".")
        if (kind == "event" and label in AFFECTIVE_EVENTS) or kind == "vocal":
            active |= values > EVENT_THRESHOLD
    return active


def step_means(frame_scores: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """Mean of the frame scores over each step's frames ``[picks[i], picks[i+1])``."""
    bounds = np.append(picks, len(frame_scores))
    csum = np.concatenate([[0.0], np.cumsum(frame_scores, dtype=np.float64)])
    return (csum[bounds[1:]] - csum[bounds[:-1]]) / np.maximum(bounds[1:] - bounds[:-1], 1)


def shift_overlaps(active: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``out[s]`` = number of steps active after shifting activity by ``s`` that are high (all s)."""
    n = len(active)
    spectrum = np.fft.rfft(high.astype(float), n) * np.conj(np.fft.rfft(active.astype(float), n))
    return np.rint(np.fft.irfft(spectrum, n)).astype(np.int64)


def video_row(video: VideoActivity) -> HypothesisRow:
    """Counts for one video, with the exact circular-shift p-value (activity concentrated in high)."""
    high, active = video.high, video.active
    n_high, n_low, n_active = int(high.sum()), int((~high).sum()), int(active.sum())
    overlaps = shift_overlaps(active, high)
    stats = _difference(overlaps, n_active, n_high, n_low)
    p = float(np.mean(stats >= stats[0] - 1e-12)) if n_high and n_low else float("nan")
    return HypothesisRow(int(overlaps[0]), n_active - int(overlaps[0]), n_high, n_low, p)


def pooled_row(
    videos: list[VideoActivity], permutations: int = 1000, seed: int = 0
) -> HypothesisRow:
    """Counts summed over videos; p-value from independent random circular shifts per video."""
    rng = np.random.default_rng(seed)
    n_high = sum(int(v.high.sum()) for v in videos)
    n_low = sum(int((~v.high).sum()) for v in videos)
    n_active = sum(int(v.active.sum()) for v in videos)
    null_overlap = np.zeros(permutations, dtype=np.int64)
    observed = 0
    for v in videos:
        overlaps = shift_overlaps(v.active, v.high)
        observed += int(overlaps[0])
        null_overlap += overlaps[rng.integers(0, len(overlaps), permutations)]
    obs = _difference(np.array([observed]), n_active, n_high, n_low)[0]
    null = _difference(null_overlap, n_active, n_high, n_low)
    p = float((1 + np.sum(null >= obs - 1e-12)) / (1 + permutations))
    return HypothesisRow(observed, n_active - observed, n_high, n_low, p)


def _difference(overlap: np.ndarray, n_active: int, n_high: int, n_low: int) -> np.ndarray:
    """Activity rate in high steps minus activity rate in low steps."""
    return overlap / max(n_high, 1) - (n_active - overlap) / max(n_low, 1)


def load_activity(h5_path: Path) -> list[VideoActivity]:
    """Step series of every video of an h5 built by `egvs data build` (needs ``signals/arousal``)."""
    path = Path(h5_path)
    h5py = require("h5py", "research")
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"cannot open {path} as HDF5: {exc}") from exc
    videos = []
    with h5:
        for key in sorted(h5.keys(), key=natural_key):
            g = h5[key]
            if "signals" not in g or "arousal" not in g["signals"]:
                raise InputError(
                    f"{path}:{key} has no signals/arousal; build it with 'egvs data build'"
                )
            signals = {name: np.asarray(d) for name, d in g["signals"].items()}
            if "user_scores" in g:
                frames = np.asarray(g["user_scores"], dtype=np.float64).mean(axis=0)
                human = step_means(frames, np.asarray(g["picks"]))
                mean = frames.mean()
            else:
                human = np.asarray(g["gtscore"], dtype=np.float64)
                mean = human.mean()
            name = g["video_name"][()] if "video_name" in g else key
            videos.append(
                VideoActivity(
                    key=key,
                    name=name.decode() if isinstance(name, bytes) else str(name),
                    human=human,
                    arousal=signals["arousal"],
                    high=human > mean,
                    active=activity(signals)[: len(human)],
                )
            )
    return videos


def plot_video(
    video: VideoActivity, row: HypothesisRow, out: Path, step: float = DEFAULT_STEP
) -> Path:
    """Human score curve with its mean line, arousal, and the active steps shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.arange(len(video.human)) * step
    fig, ax = plt.subplots(figsize=(10, 3.2))
    ax.plot(t, video.human, color="tab:blue", label="human score (mean of annotators)")
    ax.axhline(video.human.mean(), color="tab:blue", ls="--", lw=1, label="video mean")
    ax.fill_between(
        t,
        0,
        1,
        where=video.active,
        transform=ax.get_xaxis_transform(),
        color="tab:red",
        alpha=0.15,
        step="post",
        label="emotion activity",
    )
    ax2 = ax.twinx()
    ax2.plot(t, video.arousal, color="tab:red", lw=0.8, alpha=0.7)
    ax2.set_ylabel("arousal")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("human score")
    ax.set_title(
        f"{video.name}: active steps high:low = {row.active_high}:{row.active_low} "
        f"(rates {row.rate_high:.2f} vs {row.rate_low:.2f}, p = {row.p_value:.3f})"
    )
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
