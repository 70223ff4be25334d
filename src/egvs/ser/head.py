"""The classifier head: speaker-normalised pooled features -> class probabilities (plain numpy).

Multinomial logistic regression, L2-regularised, fitted with scipy's L-BFGS. It is small (a few
hundred kB as .npz), needs no torch to run, and is fully determined by its data and ``l2``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

SHRINK = (
    8.0  # pseudo-count pulling a speaker's mean/std towards the global ones (few-clip speakers)
)


def baseline(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A group's mean and std, shrunk towards the global ``mean``/``std`` by `SHRINK` pseudo-rows."""
    n = len(x)
    gm = (x.sum(0) + SHRINK * mean) / (n + SHRINK)
    gv = (((x - gm) ** 2).sum(0) + SHRINK * std**2) / (n + SHRINK)
    return gm, np.sqrt(gv + 1e-6)


def normalize_groups(
    x: np.ndarray, groups: np.ndarray, mean: np.ndarray, std: np.ndarray
) -> np.ndarray:
    """Z-score each group (speaker, or video) against its own baseline, shrunk towards the global one.

    A group with many clips is normalised by its own mean/std (emotion judged against the speaker's
    usual voice); a group with one clip mostly by the global statistics, so it is not zeroed out.
    """
    out = np.empty_like(x, dtype=np.float32)
    for g in np.unique(groups):
        idx = groups == g
        gm, gs = baseline(x[idx], mean, std)
        out[idx] = (x[idx] - gm) / gs
    return out


@dataclass
class LogisticHead:
    """Softmax regression over ``classes``; ``mean``/``std`` are the global feature statistics."""

    classes: tuple[str, ...]
    weights: np.ndarray  # (d, k)
    bias: np.ndarray  # (k,)
    mean: np.ndarray
    std: np.ndarray
    meta: dict = field(default_factory=dict)

    def logits(self, z: np.ndarray) -> np.ndarray:
        return z @ self.weights + self.bias

    def proba(self, z: np.ndarray) -> np.ndarray:
        """Class probabilities for normalised features ``z`` (n, d)."""
        return softmax(self.logits(z))

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            classes=np.array(self.classes),
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            mean=self.mean.astype(np.float32),
            std=self.std.astype(np.float32),
            meta=np.array(repr(self.meta)),
        )

    @classmethod
    def load(cls, path: Path) -> LogisticHead:
        import ast

        with np.load(path, allow_pickle=False) as f:
            return cls(
                classes=tuple(str(c) for c in f["classes"]),
                weights=f["weights"],
                bias=f["bias"],
                mean=f["mean"],
                std=f["std"],
                meta=ast.literal_eval(str(f["meta"])),
            )


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def fit_logistic(
    z: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    l2: float = 1e-2,
    sample_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Weights (d, k) and bias (k,) minimising weighted cross-entropy + ``l2``/2 * |W|^2 (deterministic)."""
    n, d = z.shape
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    sw = sw / sw.sum()
    onehot = np.eye(n_classes)[y]
    z64 = z.astype(np.float64)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: d * n_classes].reshape(d, n_classes)
        b = theta[d * n_classes :]
        logits = z64 @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        value = -(sw * (onehot * logp).sum(1)).sum() + 0.5 * l2 * (w**2).sum()
        g = sw[:, None] * (np.exp(logp) - onehot)
        grad_w = z64.T @ g + l2 * w
        return value, np.concatenate([grad_w.ravel(), g.sum(0)])

    res = minimize(
        loss,
        np.zeros(d * n_classes + n_classes),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 500},
    )
    return res.x[: d * n_classes].reshape(d, n_classes), res.x[d * n_classes :]
