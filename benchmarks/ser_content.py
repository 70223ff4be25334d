"""How much of the spoken words the speech-emotion features carry: a sentence probe.

    .venv/bin/python benchmarks/ser_content.py [--labels labels.csv --labels labels_extra.csv]

For every corpus whose speakers read the same sentences (`egvs.ser_training.labels.sentence_id`:
the CSV's ``text_id``, told apart by emotion where a corpus numbers each emotion's own script
the same, as ASED does; sentences that only one speaker reads, or that are read in one emotion
only, are left out, so emotiontts' scripts are not probed), a linear classifier
(`egvs.ser_training.fit.fit_logistic`) is trained to tell the sentence from the shipped features (pooled Whisper layer 3, z-scored per speaker as the head sees them) and scored
on speakers it never saw (4 speaker folds). Near-perfect sentence accuracy means the features
hold the words well enough for a head to lean on them wherever a corpus's scripts differ per
emotion (emotiontts_ko's do); the emotion figures on these same-sentence corpora cannot come from
the words. Where a corpus holds both (ASED: sentences 01-02 in every emotion, 03-07 each
emotion's own), a second table scores a linear emotion probe on held-out speakers separately on
the shared sentences and on the emotions' own scripts: the gap is what the words add. Seconds,
from the feature cache of `egvs.ser_training.train`.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np
from ser import DEFAULT_LABELS

from egvs.evaluation.classification import uar
from egvs.ser.head import normalize_groups
from egvs.ser_training.fit import fit_logistic
from egvs.ser_training.labels import Item, read_many
from egvs.ser_training.train import (
    baseline_weights,
    clip_features,
    content_targets,
    norm_groups,
)

FOLDS = 4


def held_out_predictions(items: list[Item], y: np.ndarray) -> np.ndarray:
    """A linear probe's class for each item, trained on the other speaker folds' items."""
    x = clip_features(items)
    groups = norm_groups(items)
    z = normalize_groups(x, groups, x.mean(0), x.std(0) + 1e-6, baseline_weights(items, groups))
    who = np.array([it.speaker for it in items])
    speakers = sorted(set(who))
    pred = np.zeros(len(y), dtype=int)
    for k in range(FOLDS):
        test = np.isin(who, speakers[k::FOLDS])
        w, b = fit_logistic(z[~test], y[~test], int(y.max()) + 1, 1e-2, np.ones(int((~test).sum())))
        pred[test] = (z[test] @ w + b).argmax(1)
    return pred


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--labels", type=Path, action="append")
    args = parser.parse_args()
    items = read_many(args.labels or DEFAULT_LABELS)
    sentences = (
        "| corpus | sentences | speakers | sentence accuracy, held-out speakers % | majority % |"
    )
    scripts = "| corpus | emotion UAR %: shared sentences | own scripts | clips: shared / own |"
    rows: dict[str, list[str]] = {sentences: [], scripts: []}
    several, _, _ = content_targets(items)  # clips of sentences read in several emotions
    for corpus in sorted({it.dataset for it in items}):
        mine = [i for i, it in enumerate(items) if it.dataset == corpus and it.text]
        readers: dict[str, set[str]] = {}
        for i in mine:
            readers.setdefault(items[i].text, set()).add(items[i].speaker)
        shared_rows = [  # sentences that several speakers read in several emotions
            i for i in np.intersect1d(mine, several) if len(readers[items[i].text]) > 1
        ]
        shared = [items[i] for i in shared_rows]
        names = sorted({it.text for it in shared})
        if len({it.speaker for it in shared}) >= FOLDS and len(names) >= 2:
            y = np.array([names.index(it.text) for it in shared])
            pred = held_out_predictions(shared, y)
            majority = Counter(y.tolist()).most_common(1)[0][1] / len(y)
            rows[sentences].append(
                f"| {corpus} | {len(names)} | {len({it.speaker for it in shared})} "
                f"| {100 * np.mean(pred == y):.1f} | {100 * majority:.1f} |"
            )
        labelled_rows = [i for i in mine if items[i].label]
        is_shared = np.isin(labelled_rows, shared_rows)
        if is_shared.any() and not is_shared.all():  # both kinds: do the words help?
            labelled = [items[i] for i in labelled_rows]
            classes = sorted({it.label for it in labelled})
            y = np.array([classes.index(it.label) for it in labelled])
            pred = held_out_predictions(labelled, y)
            rows[scripts].append(
                f"| {corpus} | {100 * uar(y[is_shared], pred[is_shared]):.1f} "
                f"| {100 * uar(y[~is_shared], pred[~is_shared]):.1f} "
                f"| {int(is_shared.sum())} / {int((~is_shared).sum())} |"
            )
    for header, lines in rows.items():
        print(header, "|---" * header.count("|", 1) + "|", *lines, "", sep="\n")


if __name__ == "__main__":
    main()
