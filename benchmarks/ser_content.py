"""How much of the spoken words the speech-emotion features carry: a sentence probe.

    .venv/bin/python benchmarks/ser_content.py [--labels labels.csv --labels labels_extra.csv]

For every corpus whose speakers read the same sentences (the CSV's ``text_id``; sentences only
one speaker reads are left out, so emotiontts' scripts are not probed), a
linear classifier (`egvs.ser_training.fit.fit_logistic`) is trained to tell the sentence from the
shipped features (pooled Whisper layer 3, z-scored per speaker as the head sees them) and scored
on speakers it never saw (4 speaker folds). Near-perfect sentence accuracy means the features
hold the words well enough for a head to lean on them wherever a corpus's scripts differ per
emotion (emotiontts_ko's do); the emotion figures on these same-sentence corpora cannot come from
the words. Seconds, from the feature cache of `egvs.ser_training.train`.
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from pathlib import Path

import numpy as np
from ser import DEFAULT_LABELS

from egvs.ser.head import normalize_groups
from egvs.ser_training.fit import fit_logistic
from egvs.ser_training.labels import read_many
from egvs.ser_training.train import baseline_weights, clip_features, norm_groups

FOLDS = 4


def text_ids(labels: list[Path]) -> dict[Path, str]:
    """Each labelled clip's sentence id (the CSV's ``text_id``), by path as `read_many` makes it."""
    out = {}
    for csv_path in labels:
        with csv_path.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row.get("text_id"):
                    out[csv_path.parent / row["path"]] = row["text_id"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--labels", type=Path, action="append")
    args = parser.parse_args()
    labels = args.labels or DEFAULT_LABELS
    items = read_many(labels)
    texts = text_ids(labels)
    print("| corpus | sentences | speakers | sentence accuracy, held-out speakers % | majority % |")
    print("|---|---|---|---|---|")
    for corpus in sorted({it.dataset for it in items}):
        sentence = {it: texts[it.path] for it in items if it.dataset == corpus and it.path in texts}
        readers: dict[str, set[str]] = {}
        for it, text in sentence.items():
            readers.setdefault(text, set()).add(it.speaker)
        own = [it for it, text in sentence.items() if len(readers[text]) > 1]  # shared sentences
        speakers = sorted({it.speaker for it in own})
        names = sorted({sentence[it] for it in own})
        if len(speakers) < FOLDS or len(names) < 2:
            continue
        x = clip_features(own)
        groups = norm_groups(own)
        z = normalize_groups(x, groups, x.mean(0), x.std(0) + 1e-6, baseline_weights(own, groups))
        y = np.array([names.index(sentence[it]) for it in own])
        who = np.array([it.speaker for it in own])
        pred = np.zeros(len(y), dtype=int)
        for k in range(FOLDS):
            test = np.isin(who, speakers[k::FOLDS])
            w, b = fit_logistic(z[~test], y[~test], len(names), 1e-2, np.ones(int((~test).sum())))
            pred[test] = (z[test] @ w + b).argmax(1)
        majority = Counter(y.tolist()).most_common(1)[0][1] / len(y)
        print(
            f"| {corpus} | {len(names)} | {len(speakers)} | {100 * np.mean(pred == y):.1f} "
            f"| {100 * majority:.1f} |"
        )


if __name__ == "__main__":
    main()
