"""Speech-emotion metrics (``egvs ser eval``) per dataset and overall.

Each dataset is scored as its own task: class predictions are restricted to the classes that occur
in that dataset's labels (RAVDESS 8 classes, EmoDB 7, a 4-class corpus 4, vocalizations 3), which
is how each corpus' published figures are computed. "overall" pools those per-dataset predictions.

Beside accuracy, UAR and the confusion matrix:

- ``arousal_uar``: binary arousal (high: angry, happy, fearful, surprised, laughing, screaming;
  low: neutral, calm, sad, boredom) from the arousal head, or from the class probabilities, at
  P(high) >= 0.5; ``arousal_auc``: how well P(high) orders that corpus' high and low clips at any
  threshold (a corpus that reads calmer as a whole, such as a language the head never heard,
  can order its clips well and still fall on the low side of 0.5; a video's arousal is scaled
  within the video, so the order is what its moments use); and ``arousal_ece``: its calibration
  error (per corpus, so a corpus the arousal output is over- or under-confident on shows);
- ``vocalization_recall``: laughs, cries and screams, restricted to the dataset's classes (in a
  dataset with more than one class), and ``vocalization_recall_open``: the true vocalization is
  the top class among all classes (the table shows this one);
- ``false_vocalization_rate``: share of ``other`` clips (non-voice sounds and other nonverbal
  sounds) called a vocalization (P(laughing) + P(crying) + P(screaming) >= 0.5);
- ``false_voice_rate``: share of no-voice clips (``kind=negative``) the head does not call
  ``other`` (P(other) < 0.5): those would get an emotional vote in a video;
- ``valence_uar``: 3-class voice valence (negative/neutral/positive) on rows with a ``valence``
  label, from the valence head (or from the classes' fixed valences);
- ``ece``: expected calibration error of the top class over all classes (15 bins).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from egvs.evaluation.classification import expected_calibration_error, roc_auc, uar
from egvs.ser.classes import (
    CLASSES,
    HIGH_AROUSAL,
    LOW_AROUSAL,
    OTHER,
    VALENCE,
    VALENCE_CLASSES,
    VOCALIZATIONS,
)
from egvs.ser_training.labels import Item

VALENCE_SPLIT = 0.25  # fixed-valence models: below -0.25 negative, above +0.25 positive


def restricted_predictions(
    probs: np.ndarray, labels: Sequence[str], datasets: Sequence[str]
) -> list[str]:
    """Argmax of ``probs`` (n, len(CLASSES)) over the classes present in each row's dataset."""
    label_array, dataset_array = np.asarray(labels), np.asarray(datasets)
    out = np.empty(len(label_array), dtype=object)
    for d in np.unique(dataset_array):
        rows = dataset_array == d
        present = [CLASSES.index(c) for c in CLASSES if c in set(label_array[rows])]
        out[rows] = [CLASSES[present[i]] for i in np.argmax(probs[rows][:, present], axis=1)]
    return list(out)


def arousal_scores(probs: np.ndarray) -> np.ndarray:
    """P(high arousal) / (P(high) + P(low)) from the class probabilities."""
    hi = probs[:, [CLASSES.index(c) for c in HIGH_AROUSAL]].sum(1)
    lo = probs[:, [CLASSES.index(c) for c in LOW_AROUSAL]].sum(1)
    return hi / np.maximum(hi + lo, 1e-12)


def valence_from_classes(probs: np.ndarray) -> np.ndarray:
    """(n, 3) one-hot negative/neutral/positive from the classes' fixed valences."""
    v = probs @ np.array([VALENCE[c] for c in CLASSES])
    idx = np.where(v < -VALENCE_SPLIT, 0, np.where(v > VALENCE_SPLIT, 2, 1))
    return np.eye(len(VALENCE_CLASSES))[idx]


def _class_metrics(true: np.ndarray, pred: np.ndarray, probs: np.ndarray) -> dict:
    classes = [c for c in CLASSES if c in set(true) | set(pred)]
    confusion = [[int(np.sum((true == t) & (pred == p))) for p in classes] for t in classes]
    y = np.array([CLASSES.index(c) for c in true])
    return {
        "accuracy": float(np.mean(true == pred)) if len(true) else float("nan"),
        "uar": uar(true, pred),
        "recall": {c: float(np.mean(pred[true == c] == c)) for c in classes if np.any(true == c)},
        "classes": classes,
        "confusion": confusion,
        "ece": expected_calibration_error(probs, y) if len(true) else float("nan"),
    }


def score(
    labels: Sequence[str],
    preds: Sequence[str],
    probs: np.ndarray,
    arousal: np.ndarray | None = None,
    valence: np.ndarray | None = None,
    valence_labels: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
) -> dict:
    """Metrics for one set of rows.

    ``labels``/``preds`` are class names (``preds`` "" for a row outside a class task),
    ``probs`` (n, len(CLASSES)) the class probabilities, ``arousal`` P(high) per row,
    ``valence`` (n, 3) probabilities over `VALENCE_CLASSES` with ``valence_labels`` the rows'
    valence labels ("" where unknown), and ``kinds`` the rows' kinds.
    """
    true, pred = np.asarray(labels, dtype=object), np.asarray(preds, dtype=object)
    probs = np.asarray(probs)
    n = len(true)
    out: dict = {"n": n}
    known = (true != "") & (pred != "")  # rows with a class task (see `report`)
    out.update(_class_metrics(true[known], pred[known], probs[known]))
    if arousal is not None:
        has = np.isin(true, HIGH_AROUSAL + LOW_AROUSAL)
        hi_true = np.isin(true[has], HIGH_AROUSAL)
        if hi_true.any() and not hi_true.all():  # both arousal levels present
            p_high = np.asarray(arousal, dtype=float)[has]
            out["arousal_uar"] = uar(hi_true, p_high >= 0.5)
            out["arousal_auc"] = roc_auc(p_high, hi_true)
            out["arousal_ece"] = expected_calibration_error(
                np.stack([1 - p_high, p_high], axis=1), hi_true.astype(int)
            )
            out["arousal_n"] = int(has.sum())
    vocal = np.isin(true, VOCALIZATIONS)
    if (vocal & known).any():
        out["vocalization_recall"] = float(np.mean(pred[vocal & known] == true[vocal & known]))
    if vocal.any():
        top = np.asarray(CLASSES, dtype=object)[probs[vocal].argmax(axis=1)]
        out["vocalization_recall_open"] = float(np.mean(top == true[vocal]))
        out["vocalization_n"] = int(vocal.sum())
    other = true == OTHER
    if other.any():
        vocal_p = probs[:, [CLASSES.index(c) for c in VOCALIZATIONS]].sum(1)
        out["false_vocalization_rate"] = float(np.mean(vocal_p[other] >= 0.5))
        out["other_n"] = int(other.sum())
        no_voice = other & (np.asarray(kinds if kinds is not None else [""] * n) == "negative")
        if no_voice.any():
            out["false_voice_rate"] = float(np.mean(probs[no_voice, CLASSES.index(OTHER)] < 0.5))
            out["no_voice_n"] = int(no_voice.sum())
    if valence is not None and valence_labels is not None:
        vl = np.asarray(valence_labels, dtype=object)
        has = vl != ""
        if has.any():
            vpred = np.asarray(VALENCE_CLASSES, dtype=object)[np.asarray(valence)[has].argmax(1)]
            out["valence_uar"] = uar(vl[has], vpred)
            out["valence_n"] = int(has.sum())
    return out


def report(
    items: Sequence[Item],
    probs: np.ndarray,
    arousal: np.ndarray | None = None,
    valence: np.ndarray | None = None,
) -> dict:
    """Overall and per-dataset metrics for ``items`` and the head's outputs on them.

    ``probs`` (n, len(CLASSES)); ``arousal`` P(high) per item (default: from the classes);
    ``valence`` (n, 3) over `VALENCE_CLASSES` (default: from the classes' fixed valences).
    """
    labels = np.array([it.label for it in items], dtype=object)
    datasets = np.array([it.dataset for it in items], dtype=object)
    vlabels = np.array([it.valence for it in items], dtype=object)
    kinds = np.array([it.kind for it in items], dtype=object)
    probs = np.asarray(probs)
    arousal = arousal_scores(probs) if arousal is None else np.asarray(arousal)
    valence = valence_from_classes(probs) if valence is None else np.asarray(valence)
    # A class task needs two classes: a dataset of one class (sounds that are all "other", the
    # neutral readings of a valence corpus) is scored by its other metrics only.
    multi = {d for d in set(datasets) if len(set(labels[(datasets == d) & (labels != "")])) > 1}
    known = (labels != "") & np.isin(datasets, list(multi))
    preds = np.full(len(items), "", dtype=object)
    if known.any():
        preds[known] = restricted_predictions(probs[known], labels[known], datasets[known])

    def rows(mask: np.ndarray) -> dict:
        return score(
            labels[mask], preds[mask], probs[mask], arousal[mask], valence[mask], vlabels[mask],
            kinds[mask],
        )  # fmt: skip

    per = {str(d): rows(datasets == d) for d in sorted(set(datasets))}
    return {"overall": rows(np.ones(len(items), dtype=bool)), "datasets": per}


def format_table(result: dict) -> str:
    """The report as a fixed-width table (one row per dataset, then overall)."""

    def pct(value: float | None) -> str:
        return "-" if value is None or value != value else f"{100 * value:.1f}"

    def num(value: float | None) -> str:
        return "-" if value is None or value != value else f"{value:.3f}"

    columns = (
        ("n", 6, lambda m: str(m["n"])),
        ("acc%", 6, lambda m: pct(m.get("accuracy"))),
        ("UAR%", 6, lambda m: pct(m.get("uar"))),
        ("arousal UAR%", 13, lambda m: pct(m.get("arousal_uar"))),
        ("arousal AUC", 12, lambda m: num(m.get("arousal_auc"))),
        ("valence UAR%", 13, lambda m: pct(m.get("valence_uar"))),
        ("vocal recall%", 14, lambda m: pct(m.get("vocalization_recall_open"))),
        ("false vocal%", 13, lambda m: pct(m.get("false_vocalization_rate"))),
        ("false voice%", 13, lambda m: pct(m.get("false_voice_rate"))),
        ("ECE", 6, lambda m: num(m.get("ece"))),
    )
    lines = [f"{'dataset':<20}" + "".join(f"{name:>{w}}" for name, w, _ in columns)]
    rows = [*result["datasets"].items(), ("overall", result["overall"])]
    for name, m in rows:
        lines.append(f"{name:<20}" + "".join(f"{get(m):>{w}}" for _, w, get in columns))
    return "\n".join(lines)
