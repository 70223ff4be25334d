"""Speech-emotion metrics (``egvs ser eval``): accuracy, UAR, confusion, arousal UAR, vocal recall.

Each dataset is scored as its own task: predictions are restricted to the classes that occur in
that dataset's labels (RAVDESS 8 classes, EmoDB 7, a 4-class corpus 4, vocalizations 3), which is
how each corpus' published figures are computed. "overall" pools those per-dataset predictions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from egvs.ser.labels import CLASSES, HIGH_AROUSAL, LOW_AROUSAL, VOCALIZATIONS


def restricted_predictions(
    probs: np.ndarray, labels: Sequence[str], datasets: Sequence[str]
) -> list[str]:
    """Argmax of ``probs`` (n, len(CLASSES)) over the classes present in each row's dataset."""
    labels, datasets = np.asarray(labels), np.asarray(datasets)
    out = np.empty(len(labels), dtype=object)
    for d in np.unique(datasets):
        rows = datasets == d
        present = [CLASSES.index(c) for c in CLASSES if c in set(labels[rows])]
        out[rows] = [CLASSES[present[i]] for i in np.argmax(probs[rows][:, present], axis=1)]
    return list(out)


def arousal_scores(probs: np.ndarray) -> np.ndarray:
    """P(high arousal) / (P(high) + P(low)) from the class probabilities."""
    hi = probs[:, [CLASSES.index(c) for c in HIGH_AROUSAL]].sum(1)
    lo = probs[:, [CLASSES.index(c) for c in LOW_AROUSAL]].sum(1)
    return hi / np.maximum(hi + lo, 1e-12)


def _uar(true: np.ndarray, pred: np.ndarray) -> float:
    return (
        float(np.mean([np.mean(pred[true == c] == c) for c in np.unique(true)]))
        if len(true)
        else float("nan")
    )


def score(labels: Sequence[str], preds: Sequence[str], arousal: np.ndarray | None = None) -> dict:
    """Metrics for one set of rows: labels/preds are class names; ``arousal`` in [0, 1] per row."""
    true, pred = np.asarray(labels, dtype=object), np.asarray(preds, dtype=object)
    classes = [c for c in CLASSES if c in set(true) | set(pred)]
    confusion = [[int(np.sum((true == t) & (pred == p))) for p in classes] for t in classes]
    out: dict = {
        "n": len(true),
        "accuracy": float(np.mean(true == pred)) if len(true) else float("nan"),
        "uar": _uar(true, pred),
        "recall": {c: float(np.mean(pred[true == c] == c)) for c in classes if np.any(true == c)},
        "classes": classes,
        "confusion": confusion,
    }
    if arousal is not None:
        known = np.isin(true, HIGH_AROUSAL + LOW_AROUSAL)
        if known.any():
            hi_true = np.isin(true[known], HIGH_AROUSAL)
            out["arousal_uar"] = _uar(hi_true, np.asarray(arousal)[known] >= 0.5)
            out["arousal_n"] = int(known.sum())
    vocal = np.isin(true, VOCALIZATIONS)
    if vocal.any():
        out["vocalization_recall"] = float(np.mean(pred[vocal] == true[vocal]))
        out["vocalization_n"] = int(vocal.sum())
    return out


def report(labels: Sequence[str], datasets: Sequence[str], probs: np.ndarray) -> dict:
    """Overall and per-dataset metrics for head probabilities ``probs`` (n, len(CLASSES))."""
    preds = restricted_predictions(probs, labels, datasets)
    arousal = arousal_scores(probs)
    labels, datasets = np.asarray(labels, dtype=object), np.asarray(datasets, dtype=object)
    per = {
        str(d): score(
            labels[datasets == d],
            np.asarray(preds, dtype=object)[datasets == d],
            arousal[datasets == d],
        )
        for d in sorted(set(datasets))
    }
    return {"overall": score(labels, preds, arousal), "datasets": per}


def format_table(result: dict) -> str:
    """The report as a fixed-width table (one row per dataset, then overall)."""

    def pct(value: float | None) -> str:
        return "    -" if value is None or value != value else f"{100 * value:5.1f}"

    lines = [
        f"{'dataset':<20} {'n':>5} {'acc%':>5} {'UAR%':>5} {'arousal UAR%':>12} {'vocal recall%':>13}"
    ]
    rows = [*result["datasets"].items(), ("overall", result["overall"])]
    for name, m in rows:
        lines.append(
            f"{name:<20} {m['n']:>5} {pct(m['accuracy'])} {pct(m['uar'])} "
            f"{pct(m.get('arousal_uar')):>12} {pct(m.get('vocalization_recall')):>13}"
        )
    return "\n".join(lines)
