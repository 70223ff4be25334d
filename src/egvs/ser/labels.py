"""The label space of the speech-emotion head and how labelled CSVs are read.

The head predicts the 8 canonical emotions, ``boredom`` (EmoDB's low-arousal class, folded into
neutral in the analysis track) and the 3 nonverbal vocalizations. Arousal/valence are derived from
the class probabilities with the fixed per-class values below.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from egvs.errors import InputError
from egvs.features.emotion import EMOTION_CLASSES, VOCALIZATIONS

CLASSES: tuple[str, ...] = (*EMOTION_CLASSES, "boredom", *VOCALIZATIONS)
HIGH_AROUSAL = ("angry", "happy", "fearful", "surprised", "laughing", "screaming")
LOW_AROUSAL = ("neutral", "calm", "sad", "boredom")
AROUSAL = {c: 1.0 if c in HIGH_AROUSAL else 0.0 if c in LOW_AROUSAL else 0.6 for c in CLASSES}
VALENCE = {
    "neutral": 0.0, "calm": 0.2, "happy": 0.8, "sad": -0.6, "angry": -0.7, "fearful": -0.6,
    "disgust": -0.6, "surprised": 0.3, "boredom": -0.2, "laughing": 0.8, "crying": -0.7, "screaming": -0.5,
}  # fmt: skip


@dataclass(frozen=True)
class Item:
    """One labelled clip: ``label`` is an emotion or a vocalization from `CLASSES`."""

    path: Path
    speaker: str
    dataset: str
    label: str


def read_labels(csv_path: Path, root: Path | None = None) -> list[Item]:
    """Rows of a labels CSV (columns path, speaker, dataset, emotion and/or vocalization).

    Paths are relative to ``root`` (default: the CSV's folder). Rows with neither label are skipped.
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise InputError(f"labels file not found: {csv_path}")
    root = Path(root) if root else csv_path.parent
    items = []
    with csv_path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"path", "speaker", "dataset"} - set(reader.fieldnames or ())
        if missing or not {"emotion", "vocalization"} & set(reader.fieldnames or ()):
            raise InputError(
                f"{csv_path}: needs columns path, speaker, dataset and emotion or vocalization "
                f"(missing: {', '.join(sorted(missing)) or 'emotion/vocalization'})"
            )
        for row in reader:
            label = (row.get("emotion") or "").strip() or (row.get("vocalization") or "").strip()
            if not label:
                continue
            if label not in CLASSES:
                raise InputError(
                    f"{csv_path}: unknown label {label!r} (known: {', '.join(CLASSES)})"
                )
            items.append(Item(root / row["path"], row["speaker"], row["dataset"], label))
    if not items:
        raise InputError(f"{csv_path}: no labelled rows")
    return items
