"""How labelled CSVs are read for training and evaluating the speech-emotion head.

The label space itself (`egvs.ser.classes`) belongs to the model. Arousal is trained on every
row whose class has a known arousal, valence on the CSV's ``valence`` column where present
(Korean read speech: the same scripts read in a negative, neutral and positive voice) and on the
valence of the emotion class elsewhere.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from egvs.errors import InputError
from egvs.ser.classes import CLASSES, VALENCE_CLASSES, VOCALIZATIONS

# The valence a class implies, for training the valence head where no valence label is given.
CLASS_VALENCE = {
    "neutral": "neutral", "calm": "neutral", "boredom": "neutral", "happy": "positive",
    "laughing": "positive", "sad": "negative", "angry": "negative", "fearful": "negative",
    "disgust": "negative", "crying": "negative", "screaming": "negative",
}  # fmt: skip
NO_VOICE_KINDS = ("negative",)  # `kind` of rows that hold no voice at all (environmental sounds)
# Emotional vocal bursts with no class of ours (EmoGator's `class`): not "other" (that class takes
# the vote away) and no emotion either, so they are left out.
UNLABELLED_BURSTS = ("Distress", "Pain")
# Corpora whose ``text_id`` numbers a script slot, not a sentence, outside the sentences listed
# here: ASED's 01-02 are read in all five emotions, 03-07 are each emotion's own sentences under
# one number (SOURCES_extra.md; pooled Whisper features of one speaker's s03-s07 are no closer
# across emotions under the same number than under another, while s01-s02's are).
SHARED_SENTENCES = {"ased": ("ased_s01", "ased_s02")}


@dataclass(frozen=True)
class Item:
    """One labelled clip.

    ``label`` is a class from `CLASSES`, or "" for a clip with a valence label only; ``valence``
    is one of `VALENCE_CLASSES` or ""; ``kind`` is the CSV's kind (speech, vocalization,
    nonverbal, negative) or "".
    """

    path: Path
    speaker: str
    dataset: str
    label: str
    valence: str = ""
    kind: str = ""
    text: str = ""  # the sentence read (`sentence_id`), "" when unknown
    language: str = ""  # the CSV's language (ISO 639-1), "" for sounds of no language

    @property
    def has_voice(self) -> bool:
        return self.kind not in NO_VOICE_KINDS

    @property
    def valence_target(self) -> str:
        """The valence label, or the one the class implies ("" when neither says)."""
        return self.valence or CLASS_VALENCE.get(self.label, "")


def sentence_id(row: dict[str, str]) -> str:
    """The sentence a row reads: its ``text_id``, with the emotion added where the corpus
    numbers each emotion's own script the same (`SHARED_SENTENCES`), so that only a sentence
    really read in several emotions is one sentence across them."""
    text = (row.get("text_id") or "").strip()
    shared = SHARED_SENTENCES.get(row.get("dataset", ""))
    if text and shared is not None and text not in shared:
        return f"{text}:{(row.get('emotion') or '').strip()}"
    return text


def _label(row: dict[str, str]) -> str:
    """A laugh, cry or scream is that vocalization (EmoGator's laughs are also "happy"); an
    emotional vocal burst of another kind is its emotion; an unlabelled one is ``other``."""
    emotion = (row.get("emotion") or "").strip()
    vocal = (row.get("vocalization") or "").strip()
    return vocal if vocal in VOCALIZATIONS else emotion or vocal


def _speaker(row: dict[str, str]) -> str:
    """The row's speaker; sound collections without one are grouped by their own folds."""
    speaker = (row.get("speaker") or "").strip()
    if speaker:
        return speaker
    fold = (row.get("fold") or "").strip()
    return f"{row['dataset']}_fold{fold}" if fold else f"{row['dataset']}_{Path(row['path']).stem}"


def read_labels(csv_path: Path, root: Path | None = None) -> list[Item]:
    """Rows of a labels CSV (columns path, speaker, dataset, and emotion, vocalization or valence).

    Paths are relative to ``root`` (default: the CSV's folder). ``vocalization=other`` is the
    class ``other`` unless the row also names an emotion (an angry vocal burst is angry).
    Rows with no label are skipped, and so are environmental clips marked
    ``contains_human_voice=yes`` (children playing: shouting and laughing, not a clean negative)
    and emotional bursts of a `class` in `UNLABELLED_BURSTS` (distress and pain are emotional,
    but neither "other" nor any class of ours).
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise InputError(f"labels file not found: {csv_path}")
    root = Path(root) if root else csv_path.parent
    items = []
    with csv_path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = set(reader.fieldnames or ())
        missing = {"path", "speaker", "dataset"} - fields
        if missing or not {"emotion", "vocalization", "valence"} & fields:
            raise InputError(
                f"{csv_path}: needs columns path, speaker, dataset and emotion, vocalization or "
                f"valence (missing: {', '.join(sorted(missing)) or 'emotion/vocalization/valence'})"
            )
        for row in reader:
            if (row.get("contains_human_voice") or "").strip() == "yes":
                continue
            if (row.get("class") or "").strip() in UNLABELLED_BURSTS:
                continue
            label = _label(row)
            valence = (row.get("valence") or "").strip()
            if not (label or valence):
                continue
            if label and label not in CLASSES:
                raise InputError(
                    f"{csv_path}: unknown label {label!r} (known: {', '.join(CLASSES)})"
                )
            if valence and valence not in VALENCE_CLASSES:
                raise InputError(
                    f"{csv_path}: unknown valence {valence!r} (known: {', '.join(VALENCE_CLASSES)})"
                )
            kind = (row.get("kind") or "").strip()
            items.append(
                Item(
                    root / row["path"],
                    _speaker(row),
                    row["dataset"],
                    label,
                    valence,
                    kind,
                    sentence_id(row),
                    (row.get("language") or "").strip(),
                )
            )
    if not items:
        raise InputError(f"{csv_path}: no labelled rows")
    return items


def read_many(csv_paths: list[Path]) -> list[Item]:
    """`read_labels` over several CSVs, concatenated (each relative to its own folder)."""
    return [item for path in csv_paths for item in read_labels(path)]
