"""Facial-expression metrics (``egvs face eval``), in the layout of ``egvs ser eval``.

The labelled images are face crops, as FER-2013's are: each whole image is classified (no
detection), so the numbers measure the expression model alone. Per dataset (the CSV's ``dataset``
column, else the CSV's file name) and overall: accuracy, UAR, per-class recall, the confusion
matrix, ECE, and ``valence_uar``: the 3 groups negative (angry, disgust, fear, sad), neutral and
positive (happy, surprise), each predicted as the group with the most probability. Beside them the
baselines a model must beat: ``chance_uar`` (1 / classes present, what guessing or always saying
one class gets) and ``majority_accuracy`` (always the most common class).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from egvs.errors import InputError
from egvs.evaluation.classification import expected_calibration_error, uar
from egvs.features.faces import EXPRESSIONS, NEGATIVE

VALENCE_GROUPS = {
    "negative": NEGATIVE,
    "neutral": ("neutral",),
    "positive": ("happy", "surprise"),
}
# Other spellings of the FER-2013 names in labels files (CK+, AffectNet exports, RAF-DB).
ALIASES = {"anger": "angry", "disgusted": "disgust", "fearful": "fear", "happiness": "happy",
           "sadness": "sad", "surprised": "surprise", "contempt": ""}  # fmt: skip


@dataclass(frozen=True)
class FaceItem:
    path: Path
    emotion: str
    dataset: str


def read_face_labels(csv_path: Path, root: Path | None = None) -> list[FaceItem]:
    """Rows of a labels CSV (columns ``path``, ``emotion``; optional ``dataset``), paths relative
    to ``root`` or the CSV's folder. Rows of classes outside FER-2013's seven are refused."""
    if not csv_path.is_file():
        raise InputError(f"labels file not found: {csv_path}")
    base = root or csv_path.parent
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"path", "emotion"} <= set(reader.fieldnames):
            raise InputError(f"{csv_path} needs a header row with 'path' and 'emotion' columns")
        items = []
        for line, row in enumerate(reader, start=2):
            raw = (row["emotion"] or "").strip().lower()
            emotion = ALIASES.get(raw, raw)
            if emotion not in EXPRESSIONS:
                raise InputError(
                    f"{csv_path}:{line}: emotion {raw!r} is none of {', '.join(EXPRESSIONS)}"
                )
            items.append(FaceItem(base / row["path"], emotion, row.get("dataset") or csv_path.stem))
    if not items:
        raise InputError(f"no rows in {csv_path}")
    return items


def read_grey(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None or image.size == 0:
        raise InputError(f"cannot read the image {path}")
    return image


def _group_probs(probs: np.ndarray) -> np.ndarray:
    return np.stack(
        [
            probs[:, [EXPRESSIONS.index(c) for c in members]].sum(1)
            for members in VALENCE_GROUPS.values()
        ],
        axis=1,
    )


def _group_of(emotion: str) -> str:
    return next(g for g, members in VALENCE_GROUPS.items() if emotion in members)


def score(labels: Sequence[str] | np.ndarray, probs: np.ndarray) -> dict:
    """The metrics of one set of rows (``probs`` (n, 7) in `EXPRESSIONS` order)."""
    true = np.asarray(labels, dtype=object)
    pred = np.asarray(EXPRESSIONS, dtype=object)[probs.argmax(axis=1)]
    classes = [c for c in EXPRESSIONS if c in set(true) | set(pred)]
    present = [c for c in EXPRESSIONS if c in set(true)]
    counts = {c: int(np.sum(true == c)) for c in present}
    groups = np.asarray(list(VALENCE_GROUPS), dtype=object)
    true_group = np.asarray([_group_of(c) for c in true], dtype=object)
    y = np.array([EXPRESSIONS.index(c) for c in true])
    return {
        "n": len(true),
        "accuracy": float(np.mean(true == pred)),
        "uar": uar(true, pred),
        "recall": {c: float(np.mean(pred[true == c] == c)) for c in present},
        "classes": classes,
        "confusion": [[int(np.sum((true == t) & (pred == p))) for p in classes] for t in classes],
        "ece": expected_calibration_error(probs, y),
        "valence_uar": uar(true_group, groups[_group_probs(probs).argmax(axis=1)]),
        "chance_uar": 1.0 / len(present),
        "majority_accuracy": max(counts.values()) / len(true),
    }


def evaluate_faces(
    items: Sequence[FaceItem], classify: Callable[[list[np.ndarray]], np.ndarray], batch: int = 256
) -> dict:
    """Overall and per-dataset metrics of ``classify`` (grey images -> (n, 7) probabilities)."""
    probs = np.concatenate(
        [
            classify([read_grey(it.path) for it in items[i : i + batch]])
            for i in range(0, len(items), batch)
        ]
    )
    labels = np.asarray([it.emotion for it in items], dtype=object)
    datasets = np.asarray([it.dataset for it in items], dtype=object)
    per = {
        str(d): score(labels[datasets == d], probs[datasets == d]) for d in sorted(set(datasets))
    }
    return {"overall": score(labels, probs), "datasets": per}


def format_table(result: dict) -> str:
    """Per dataset then overall: n, accuracy, UAR, valence UAR, each class's recall, baselines."""
    pct = lambda v: "-" if v is None else f"{100 * v:.1f}"  # noqa: E731
    head = ["n", "acc%", "major%", "UAR%", "chance%", "valence%", *EXPRESSIONS]
    lines = [f"{'dataset':<24}" + "".join(f"{h:>9}" for h in head)]
    for name, m in [*result["datasets"].items(), ("overall", result["overall"])]:
        cells = [str(m["n"]), pct(m["accuracy"]), pct(m["majority_accuracy"]), pct(m["uar"]),
                 pct(m["chance_uar"]),
                 pct(m["valence_uar"]), *(pct(m["recall"].get(c)) for c in EXPRESSIONS)]  # fmt: skip
        lines.append(f"{name:<24}" + "".join(f"{c:>9}" for c in cells))
    return "\n".join(lines)
