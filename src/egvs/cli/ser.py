"""``egvs ser``: train, evaluate and run the speech-emotion model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from egvs.atomic import write_text


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    ser = sub.add_parser(
        "ser",
        help="speech emotion model: train, eval, predict",
        description="Train, evaluate and run EGVS's speech-emotion model (Whisper-base encoder + trained head).",
    )
    cmds = ser.add_subparsers(dest="ser_command", metavar="SUBCOMMAND", required=True)

    p = cmds.add_parser(
        "train",
        parents=[common],
        help="train the head on a labelled CSV; prints speaker-grouped CV",
        description="Build a speech-emotion head from labelled CSVs (columns path, speaker, dataset, "
        "and emotion, vocalization (laughing, crying, screaming, other) or valence (negative, "
        "neutral, positive); optional kind=negative marks sounds with no voice). A positive or "
        "negative voice without an emotion also teaches the emotions that sentiment allows "
        "(the MLP head). Probabilities are calibrated on speaker-grouped out-of-fold "
        "predictions. Deterministic for a given --seed.",
    )
    _labels_options(p)
    p.add_argument("--out", type=Path, required=True, help="output folder (ser_head.npz, cv.json)")
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the folds and the MLP's initialisation (default 0)",
    )
    p.add_argument(
        "--l2", type=float, default=None, help="L2 regularisation of the linear head (--hidden 0)"
    )
    p.add_argument(
        "--hidden",
        type=int,
        default=None,
        help="size of the head's shared hidden layer (default 256, trained with PyTorch: "
        "pip install 'egvs[train]'); 0: one linear softmax per task (scipy, no torch)",
    )
    p.add_argument("--folds", type=int, default=None, help="speaker-grouped CV folds (default 8)")
    p.add_argument("--no-cv", action="store_true", help="skip cross-validation, only fit the head")
    p.add_argument(
        "--no-context",
        action="store_true",
        help="train on isolated clips only (default: also on each clip as analysis sees it, "
        "among the speaker's other clips)",
    )
    p.add_argument(
        "--no-augment",
        action="store_true",
        help="no augmented copies (default: each clip also under music/noise, a room, a codec "
        "band limit and another level)",
    )
    p.set_defaults(func=_train)

    p = cmds.add_parser(
        "eval",
        parents=[common],
        help="evaluate a model on a labelled CSV",
        description="Accuracy, UAR, confusion, arousal UAR, valence UAR, vocalization recall, "
        "false vocalization and false voice rates on non-voice sounds, and calibration error, per "
        "dataset and overall; features are normalised per speaker, against a baseline in which "
        "the speaker's neutral and calm clips weigh 90% (as a video's mostly calm talk does).",
    )
    _labels_options(p)
    p.add_argument(
        "--model",
        type=Path,
        help="a trained head (ser_head.npz or its folder); default: the shipped one",
    )
    p.add_argument("--json", type=Path, help="write the metrics here as JSON")
    p.set_defaults(func=_eval)

    p = cmds.add_parser(
        "predict",
        parents=[common],
        help="per-window emotion of an audio or video file",
        description="Emotion probabilities, arousal, valence and vocalizations per 0.5 s step "
        "(3 s windows centred on each step).",
    )
    p.add_argument("file", type=Path, help="audio or video file")
    p.add_argument(
        "--model",
        type=Path,
        help="a trained head (ser_head.npz or its folder); default: the shipped one",
    )
    p.add_argument("--json", type=Path, help="write the per-window output here as JSON")
    p.set_defaults(func=_predict)


def _labels_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--labels",
        type=Path,
        required=True,
        action="append",
        help="labels CSV (repeat for several, e.g. labels.csv and labels_extra.csv)",
    )
    p.add_argument(
        "--root",
        type=Path,
        help="folder the CSV's paths are relative to (default: the CSV's folder)",
    )


def _read(args: argparse.Namespace) -> list:
    """Every --labels CSV's rows, each relative to --root or its own folder."""
    from egvs.ser_training.labels import read_labels

    return [item for path in args.labels for item in read_labels(path, args.root)]


def _head_path(path: Path | None) -> Path | None:
    if path is not None and path.is_dir():
        return path / "ser_head.npz"
    return path


def _train(args: argparse.Namespace) -> int:
    from egvs.ser_training import train
    from egvs.ser_training.evaluate import format_table

    items = _read(args)
    head, result = train.train(
        items,
        args.out,
        seed=args.seed,
        l2=args.l2 if args.l2 is not None else train.DEFAULT_L2,
        n_folds=args.folds or train.DEFAULT_FOLDS,
        cv=not args.no_cv,
        context=not args.no_context,
        augment_views=0 if args.no_augment else train.DEFAULT_AUGMENT_VIEWS,
        hidden=train.DEFAULT_HIDDEN if args.hidden is None else args.hidden,
    )
    if result is not None and not args.quiet:
        print("speaker-grouped cross-validation (unseen speakers per fold):")
        print(format_table(result))
    print(
        f"wrote {args.out / 'ser_head.npz'} ({len(items)} clips, classes: {', '.join(head.classes)})"
    )
    return 0


def _eval(args: argparse.Namespace) -> int:
    from egvs.ser.head import SerHead
    from egvs.ser.model import shipped_head_path
    from egvs.ser_training.evaluate import format_table
    from egvs.ser_training.train import clip_features, evaluate_head

    items = _read(args)
    head = SerHead.load(_head_path(args.model) or shipped_head_path())
    result = evaluate_head(head, clip_features(items), items)
    if args.json:
        write_text(args.json, json.dumps(result, indent=2))
    print(format_table(result))
    return 0


def _predict(args: argparse.Namespace) -> int:
    import numpy as np

    from egvs.features.emotion import EMOTION_CLASSES, VOCALIZATIONS
    from egvs.ser import analyze_audio, default_model
    from egvs.ser.audio import load_audio

    model = default_model(_head_path(args.model))
    step, track = analyze_audio(load_audio(args.file), model)
    windows: list[dict[str, Any]] = []
    for i in range(len(track.voiced)):
        windows.append(
            {
                "start": round(i * step, 3),
                "end": round((i + 1) * step, 3),
                "voiced": round(float(track.voiced[i]), 3),
                "emotion": EMOTION_CLASSES[int(np.argmax(track.probs[i]))],
                "probs": {
                    c: round(float(p), 4)
                    for c, p in zip(EMOTION_CLASSES, track.probs[i], strict=True)
                },
                "arousal": round(float(track.arousal[i]), 4),
                "valence": round(float(track.valence[i]), 4),
                "vocalizations": {
                    c: round(float(p), 4)
                    for c, p in zip(VOCALIZATIONS, track.vocalizations[i], strict=True)
                },
            }
        )
    if args.json:
        doc = {
            "schema": "egvs.ser.predict/1",
            "file": str(args.file),
            "step": step,
            "window": model.window,
            "windows": windows,
        }
        write_text(args.json, json.dumps(doc, indent=2))
    if not args.quiet:
        print(
            f"{'time':>7} {'voiced':>6} {'emotion':<10} {'p':>5} {'arousal':>7} {'valence':>7}  vocalization"
        )
        for w in windows:
            top_vocal = max(w["vocalizations"], key=w["vocalizations"].get)
            vocal = (
                f"{top_vocal} {w['vocalizations'][top_vocal]:.2f}"
                if w["vocalizations"][top_vocal] >= 0.5
                else ""
            )
            print(
                f"{w['start']:7.1f} {w['voiced']:6.2f} {w['emotion']:<10} {w['probs'][w['emotion']]:5.2f} "
                f"{w['arousal']:7.2f} {w['valence']:7.2f}  {vocal}"
            )
    return 0
