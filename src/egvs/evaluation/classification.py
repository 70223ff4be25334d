"""Metrics of a classifier's predictions, shared by the speech-emotion training
(`egvs.ser_training`) and the facial-expression evaluation (`egvs.evaluation.faces`)."""

from __future__ import annotations

import numpy as np


def uar(true: np.ndarray, pred: np.ndarray) -> float:
    """Unweighted average recall over the classes present in ``true``."""
    return (
        float(np.mean([np.mean(pred[true == c] == c) for c in np.unique(true)]))
        if len(true)
        else float("nan")
    )


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """ECE of the top-class confidence: mean |accuracy - confidence| over equal-width bins."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        idx = which == b
        if idx.any():
            ece += idx.mean() * abs(correct[idx].mean() - conf[idx].mean())
    return float(ece)


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a random positive row scores above a random
    negative one (ties count half), from the rank sum; nan without both kinds of rows. It tells
    how well ``scores`` order the rows whatever threshold they are cut at."""
    from scipy.stats import rankdata  # scipy.stats takes ~0.3 s to import: only when scored

    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if not n_pos or not n_neg:
        return float("nan")
    ranks = rankdata(np.asarray(scores, dtype=float))
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
