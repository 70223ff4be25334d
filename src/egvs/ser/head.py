"""The classifier head: speaker-normalised pooled features -> class probabilities (plain numpy).

Softmax tasks over one shared hidden layer (the shipped MLP, trained by `egvs.ser_training.mlp`)
or over the features themselves (L2-regularised multinomial logistic regression, fitted by
`egvs.ser_training.fit`). Either runs in numpy without torch and saves as one small .npz.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from egvs.atomic import atomic_write

SHRINK = (
    8.0  # pseudo-count pulling a speaker's mean/std towards the global ones (few-clip speakers)
)


# The pooled features are the encoder frames' mean (the first `FRAME_DIM` columns), then their
# std; a head reads the columns its meta's "pooled" names (heads from before it read both).
FRAME_DIM = 512
POOLED_COLUMNS = {"mean+std": slice(None), "mean": slice(0, FRAME_DIM)}


def baseline(
    x: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    shrink: float = SHRINK,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A group's mean and std, shrunk towards ``mean``/``std`` by ``shrink`` pseudo-rows.

    ``weights`` (relative, one per row) let some rows count more; the group still counts as
    ``len(x)`` rows against the shrinkage.
    """
    n = len(x)
    w = np.ones(n) if weights is None else np.asarray(weights, float) * n / np.sum(weights)
    gm = ((w[:, None] * x).sum(0) + shrink * mean) / (n + shrink)
    gv = ((w[:, None] * (x - gm) ** 2).sum(0) + shrink * std**2) / (n + shrink)
    return gm, np.sqrt(gv + 1e-6)


def group_baselines(
    x: np.ndarray,
    groups: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, its group's `baseline` mean and std (each ``x.shape``; see `normalize_groups`)."""
    shift = np.empty(x.shape, dtype=np.float64)
    scale = np.empty(x.shape, dtype=np.float64)
    for g in np.unique(groups):
        idx = groups == g
        shift[idx], scale[idx] = baseline(
            x[idx], mean, std, weights=None if weights is None else weights[idx]
        )
    return shift, scale


def normalize_groups(
    x: np.ndarray,
    groups: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Z-score each group (speaker, or video) against its own baseline, shrunk towards the global one.

    A group with many clips is normalised by its own mean/std (emotion judged against the speaker's
    usual voice); a group with one clip mostly by the global statistics, so it is not zeroed out.
    ``weights`` (one per row) weigh the rows within each group's baseline.
    """
    shift, scale = group_baselines(x, groups, mean, std, weights)
    return ((x - shift) / scale).astype(np.float32)


@dataclass
class Task:
    """One softmax output over ``labels``: logits ``z @ weights + bias``, divided by ``temperature``.

    The temperature is fitted on out-of-fold predictions (`egvs.ser_training.fit.fit_temperature`), so probabilities
    are calibrated: of the steps called 70% angry, about 70% are.
    """

    labels: tuple[str, ...]
    weights: np.ndarray  # (d, k)
    bias: np.ndarray  # (k,)
    temperature: float = 1.0

    def logits(self, z: np.ndarray) -> np.ndarray:
        return z @ self.weights + self.bias

    def proba(self, z: np.ndarray) -> np.ndarray:
        return softmax(self.logits(z) / self.temperature)


@dataclass
class SerHead:
    """The speech-emotion head: the class task plus optional arousal and valence tasks.

    ``mean``/``std`` are the global feature statistics every input is normalised against. With
    a ``trunk`` (weights (d, h), bias (h,)) the tasks read one shared hidden ReLU layer of the
    normalised features (a small multi-task MLP); without, they read the features themselves.
    """

    emotion: Task
    mean: np.ndarray
    std: np.ndarray
    arousal: Task | None = None  # labels ("low", "high")
    valence: Task | None = None  # labels ("negative", "neutral", "positive")
    meta: dict = field(default_factory=dict)
    trunk: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def pooled(self) -> str:
        """The pooled statistics it reads (a `POOLED_COLUMNS` key)."""
        return str(self.meta.get("pooled", "mean+std"))

    def inputs(self, feats: np.ndarray) -> np.ndarray:
        """The columns of pooled features ``feats`` (n, 1024) that this head reads."""
        return feats[:, POOLED_COLUMNS[self.pooled]]

    def hidden(self, z: np.ndarray) -> np.ndarray:
        """What the tasks read: the trunk's ReLU layer of ``z``, or ``z`` itself."""
        if self.trunk is None:
            return z
        w, b = self.trunk
        return np.maximum(np.asarray(z, dtype=np.float32) @ w + b, 0.0)

    def outputs(self, z: np.ndarray, logits: bool = False) -> dict[str, np.ndarray]:
        """Each task's probabilities (or logits) for normalised features ``z`` (n, d)."""
        h = self.hidden(z)
        return {name: t.logits(h) if logits else t.proba(h) for name, t in self.tasks().items()}

    @property
    def classes(self) -> tuple[str, ...]:
        return self.emotion.labels

    def tasks(self) -> dict[str, Task]:
        out = {"emotion": self.emotion, "arousal": self.arousal, "valence": self.valence}
        return {name: task for name, task in out.items() if task is not None}

    def proba(self, z: np.ndarray) -> np.ndarray:
        """Class probabilities for normalised features ``z`` (n, d)."""
        return self.emotion.proba(self.hidden(z))

    def save(self, path: Path) -> None:
        arrays: dict[str, Any] = {}
        for name, task in self.tasks().items():
            arrays[f"{name}_labels"] = np.array(task.labels)
            arrays[f"{name}_weights"] = task.weights.astype(np.float32)
            arrays[f"{name}_bias"] = task.bias.astype(np.float32)
            arrays[f"{name}_temperature"] = np.float32(task.temperature)
        if self.trunk is not None:
            arrays["trunk_weights"] = self.trunk[0].astype(np.float32)
            arrays["trunk_bias"] = self.trunk[1].astype(np.float32)
        arrays.update(
            mean=self.mean.astype(np.float32),
            std=self.std.astype(np.float32),
            meta=np.array(repr(self.meta)),
        )
        atomic_write(path, lambda tmp: np.savez_compressed(tmp, **arrays))

    @classmethod
    def load(cls, path: Path) -> SerHead:
        """A head from `save` (a file from before the arousal/valence tasks loads as emotion only)."""
        import ast

        with np.load(path, allow_pickle=False) as f:

            def task(name: str) -> Task | None:
                if f"{name}_weights" not in f:
                    return None
                return Task(
                    tuple(str(c) for c in f[f"{name}_labels"]),
                    f[f"{name}_weights"],
                    f[f"{name}_bias"],
                    float(f[f"{name}_temperature"]),
                )

            emotion = task("emotion") or Task(
                tuple(str(c) for c in f["classes"]), f["weights"], f["bias"]
            )
            return cls(
                emotion=emotion,
                mean=f["mean"],
                std=f["std"],
                arousal=task("arousal"),
                valence=task("valence"),
                meta=ast.literal_eval(str(f["meta"])),
                trunk=(f["trunk_weights"], f["trunk_bias"]) if "trunk_weights" in f else None,
            )


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
